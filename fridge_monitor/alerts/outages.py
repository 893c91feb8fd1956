"""One alert per outage, from the stored sensor states: see :mod:`fridge_monitor.core.outages`.

Judged while a fridge is judged by time: when its sensors are silent and so
are all of its site's (or its gateway's), the outage's alert is filed under
the site's first fridge (:func:`outage_findings`, when that is the one
judged), and the fridge's own no-data alerts are grouped under it
(:func:`group_silence`), so they are listed but not notified.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.alerts.reconcile import Reconciler
from fridge_monitor.core import outages
from fridge_monitor.core.checks import Finding
from fridge_monitor.core.readings import TEMPERATURE_ROLES
from fridge_monitor.core.status import is_silent
from fridge_monitor.store import models as m
from fridge_monitor.store.logger_files import is_logger
from fridge_monitor.store.series import FridgeFacts


def outage_of(session: so.Session, facts: FridgeFacts, now: datetime, allowed_gap: timedelta,
              heard_until: datetime | None) -> outages.Outage | None:
    """The site or gateway outage this fridge is part of, if any."""
    s, f, site = m.Sensor, m.Fridge, m.Site
    rows = session.execute(
        sa.select(f.id, f.name, s.id, s.last_measured_at, s.format, s.device, s.online)
        .join(f, s.fridge_id == f.id).join(site, f.site_id == site.id)
        .where(site.name == facts.site, f.retired_at.is_(None), s.retired_at.is_(None),
               s.role.in_(TEMPERATURE_ROLES))).all()
    heard = [outages.Heard(fid, name, sid, last, is_silent(last, now, allowed_gap, heard_until),
                           outages.gateway_of(fmt, device, online))
             for fid, name, sid, last, fmt, device, online in rows if not is_logger(sid)]
    return next((o for o in outages.outages(facts.site, heard, allowed_gap) if facts.id in o.fridge_ids), None)


def outage_findings(fridge_id: int, outage: outages.Outage | None) -> list[Finding]:
    """The outage's own finding, filed under its first fridge: that fridge's judgement raises and ends it."""
    if outage is None or outage.anchor != fridge_id:
        return []
    return [Finding(outage.kind, "silence", outage.subject, "alarm", outage.start, None, outage.title,
                    outage.detail)]


def group_silence(session: so.Session, rec: Reconciler, outage: outages.Outage | None) -> None:
    """File the fridge's open no-data alerts under the outage's alert (open), so only that one is notified;
    once the outage is over, a sensor still silent is the fridge's own alarm again, and notified."""
    fridge_alerts = rec.alerts
    if outage is None:
        for alert in fridge_alerts:
            if alert.kind == "no-data" and alert.ended_at is None and alert.group_id is not None:
                group = session.get(m.Alert, alert.group_id)
                if group is not None and group.ended_at is not None:
                    alert.group_id = None
                    rec.outcome.changed.append(alert.id)
        return
    a = m.Alert
    group = next((x for x in fridge_alerts if x.kind == outage.kind and x.subject == outage.subject
                  and x.ended_at is None), None) or session.scalar(
        sa.select(a).where(a.kind == outage.kind, a.subject == outage.subject, a.ended_at.is_(None))
        .order_by(a.id.desc()).limit(1))
    if group is None:
        return
    for alert in fridge_alerts:
        if alert.kind == "no-data" and alert.ended_at is None and alert.group_id is None:
            alert.group_id = group.id
