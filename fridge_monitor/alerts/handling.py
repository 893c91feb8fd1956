"""Alerts as staff handle them: listing, acknowledging with the action taken, and their history.

The conditions themselves are found by :mod:`fridge_monitor.alerts.evaluate`; this
module is what the web pages, the API and the exports read and write.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.alerts.notify.message import GENERIC_STEPS, STEPS
from fridge_monitor.config import Config
from fridge_monitor.core import ack_evidence, free_text
from fridge_monitor.store import audit_trail
from fridge_monitor.store import models as m
from fridge_monitor.store.site_access import Sites, within

STATES = ("open", "acknowledged", "resolved")
# Warnings about stock that expires in weeks or months: listed and notified, but they do not turn a fridge
# that stores properly into ALERT on the dashboard (that is for its storage and its lots under review).
HOUSEKEEPING_KINDS = frozenset({"lot-expiring"})


def flags_fridge(alert: m.Alert) -> bool:
    """Whether this alert makes a fridge whose temperature is fine show ALERT: it waits for an acknowledgement."""
    return alert.acknowledged_at is None and alert.kind not in HOUSEKEEPING_KINDS
ACTION_MAX = free_text.FREE_TEXT_MAX


class AckError(ValueError):
    """An acknowledgement that cannot be recorded; the message says why.

    ``field`` names the input at fault (``action`` or ``steps``), or is None
    when the alert itself cannot take it (acknowledged already).
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def steps_for(kind: str) -> tuple[str, ...]:
    """The steps staff are asked to take for this kind of alert (DOMAIN.md), offered as choices."""
    return STEPS.get(kind, GENERIC_STEPS)


@dataclasses.dataclass(frozen=True, slots=True)
class AlertRow:
    alert: m.Alert
    fridge: str
    site: str
    timezone: str

    @property
    def needs_ack(self) -> bool:
        return self.alert.acknowledged_at is None

    @property
    def label(self) -> str:
        """The state as staff read it."""
        alert = self.alert
        if alert.state == "resolved":
            return "resolved — needs acknowledgement" if alert.acknowledged_at is None else "closed"
        return alert.state


AlertQuery = sa.Select[m.Alert, str, str, str]  # an alert with its fridge's name, its site's name and time zone


def _rows(session: so.Session, query: AlertQuery) -> list[AlertRow]:
    return [AlertRow(alert, fridge, site, tz) for alert, fridge, site, tz in session.execute(query)]


def _base() -> AlertQuery:
    a, f, s = m.Alert, m.Fridge, m.Site
    return sa.select(a, f.name, s.name, s.timezone).join(f, a.fridge_id == f.id).join(s, f.site_id == s.id)


def list_alerts(session: so.Session, *, state: str | None = None, fridge: str | None = None,
                limit: int = 500, sites: Sites = None) -> list[AlertRow]:
    """Alerts needing action first (unacknowledged, then ongoing), oldest first within each group.

    ``state`` filters by stored state, or ``active`` (needs an acknowledgement or is still going on);
    ``sites`` limits them to those sites' fridges.
    """
    a, f = m.Alert, m.Fridge
    query = _base().where(within(a.fridge_id, sites))
    if state == "active":
        query = query.where(sa.or_(a.acknowledged_at.is_(None), a.ended_at.is_(None)))
    elif state is not None:
        query = query.where(a.state == state)
    if fridge is not None:
        query = query.where(f.name == fridge)
    needs_ack = sa.case((a.acknowledged_at.is_(None), 0), else_=1)
    ongoing = sa.case((a.ended_at.is_(None), 0), else_=1)
    return _rows(session, query.order_by(needs_ack, ongoing, a.started_at, a.id).limit(limit))


def history(session: so.Session, fridge: str, limit: int = 200) -> list[AlertRow]:
    """One fridge's alerts, newest first."""
    a = m.Alert
    newest_first = _base().where(m.Fridge.name == fridge).order_by(a.started_at.desc(), a.id.desc())
    return _rows(session, newest_first.limit(limit))


def waiting_on(session: so.Session, fridge_id: int) -> tuple[int, int]:
    """(this fridge's alerts waiting for an acknowledgement, of which those that make it show ALERT), however
    many alerts it has had (its page lists only the newest)."""
    a = m.Alert
    waiting = a.acknowledged_at.is_(None)
    row = session.execute(sa.select(sa.func.count().filter(waiting),
                                    sa.func.count().filter(waiting, a.kind.not_in(HOUSEKEEPING_KINDS)))
                          .where(a.fridge_id == fridge_id)).one()
    return int(row[0]), int(row[1])


def excursions(session: so.Session, fridge_id: int, limit: int = 200) -> list[m.Excursion]:
    """One fridge's excursion records, newest first."""
    e = m.Excursion
    return list(session.scalars(sa.select(e).where(e.fridge_id == fridge_id)
                                .order_by(e.started_at.desc(), e.id.desc()).limit(limit)))


def get_alert(session: so.Session, alert_id: int) -> AlertRow | None:
    found = _rows(session, _base().where(m.Alert.id == alert_id))
    return found[0] if found else None


def waiting_count(session: so.Session, sites: Sites = None) -> tuple[int, int]:
    """(alerts waiting for an acknowledgement, of which alarms) in ``sites`` — for the banner on every page."""
    a = m.Alert
    row = session.execute(
        sa.select(sa.func.count(), sa.func.count().filter(a.severity == "alarm"))
        .where(a.acknowledged_at.is_(None), within(a.fridge_id, sites))
    ).one()
    return int(row[0]), int(row[1])


def open_by_fridge(session: so.Session, fridge_ids: Collection[int] | None = None) -> dict[int, list[m.Alert]]:
    """Alerts that need an acknowledgement or are still going on, by fridge id (for the dashboard), of
    ``fridge_ids`` (None: every fridge)."""
    a = m.Alert
    out: dict[int, list[m.Alert]] = {}
    which = sa.true() if fridge_ids is None else a.fridge_id.in_(list(fridge_ids))
    for alert in session.scalars(sa.select(a).where(sa.or_(a.acknowledged_at.is_(None), a.ended_at.is_(None)), which)
                                 .order_by(a.started_at)):
        out.setdefault(alert.fridge_id, []).append(alert)
    return out


def waiting_by_fridge(session: so.Session, sites: Sites = None) -> dict[int, int]:
    """How many alerts wait for an acknowledgement and make their fridge show ALERT (:func:`flags_fridge`),
    by fridge id, in ``sites``."""
    a = m.Alert
    rows = session.execute(sa.select(a.fridge_id, sa.func.count())
                           .where(a.acknowledged_at.is_(None), a.kind.not_in(HOUSEKEEPING_KINDS),
                                  within(a.fridge_id, sites))
                           .group_by(a.fridge_id))
    return {fridge_id: int(count) for fridge_id, count in rows}


def notifications(session: so.Session, alert_id: int) -> list[m.Notification]:
    n = m.Notification
    return list(session.scalars(sa.select(n).where(n.alert_id == alert_id).order_by(n.due_at, n.id)))


def failing_channels(session: so.Session) -> list[tuple[str, datetime, str]]:
    """Channels whose latest attempt failed: (channel, when, what went wrong)."""
    n = m.Notification
    latest = (sa.select(n.channel, sa.func.max(n.id).label("last_id"))
              .where(n.sent_at.is_not(None), n.ok.is_not(None)).group_by(n.channel).subquery())
    rows = session.execute(
        sa.select(n.channel, n.sent_at, n.detail).join(latest, n.id == latest.c.last_id).where(n.ok.is_(False))
        .order_by(n.channel)
    ).all()
    return [(channel, sent_at, detail or "") for channel, sent_at, detail in rows if sent_at is not None]


def compose_action(text: str, steps: Sequence[str], kind: str) -> str:
    """The recorded action: the chosen steps (only those offered for this kind), then the nurse's own words."""
    offered = steps_for(kind)
    chosen = [step for step in offered if step in steps]
    unknown = [step for step in steps if step not in offered]
    if unknown:
        raise AckError(f"unknown step {unknown[0]!r}; choose among the steps listed for this alert", "steps")
    text = (text or "").strip()
    if not text:
        raise AckError("describe the action taken (what you checked or did, and where the products are now)", "action")
    if len(text) > ACTION_MAX:
        raise AckError(f"the action may be at most {ACTION_MAX} characters", "action")
    lines = [f"[x] {step}" for step in chosen]
    return "\n".join([*lines, text]) if lines else text


def needs_signature(alert: m.Alert, config: Config) -> bool:
    """Whether acknowledging this alert is signed: ``alarms`` or ``warnings`` in ``[signatures] require_for``, by
    its severity when it is acknowledged."""
    return ("alarms" if alert.severity == "alarm" else "warnings") in config.signatures["require_for"]


def acknowledge(session: so.Session, alert_id: int, user: m.User, text: str, steps: Sequence[str],
                now: datetime) -> m.Alert:
    """Record who acknowledged, when and what they did, in the caller's transaction, with an audit event
    holding the same values (the only code that changes an alert's acknowledgement).

    The row is locked first, so of two nurses acknowledging at once one
    succeeds and the other is told it was done already.
    """
    a = m.Alert
    session.execute(sa.update(a).where(a.id == alert_id).values(updated_at=a.updated_at))  # take the row lock
    alert = session.get(a, alert_id, populate_existing=True)
    if alert is None:
        raise LookupError(f"there is no alert {alert_id}")
    if alert.acknowledged_at is not None:
        raise AckError(f"alert {alert_id} was already acknowledged by {alert.acknowledged_by} "
                       f"at {alert.acknowledged_at.isoformat(timespec='seconds')}")
    action = compose_action(text, steps, alert.kind)
    alert.acknowledged_by, alert.acknowledged_at, alert.action = user.name, now, action
    alert.state = "resolved" if alert.ended_at is not None else "acknowledged"
    alert.updated_at = now
    # The event carries the acknowledgement exactly as stored (who, when, the action with its steps), so that
    # `audit verify` can tell an acknowledgement changed outside the application (ack_evidence).
    audit_trail.record(session, at=now, actor=user.name, action=ack_evidence.ACTION,
                       record_type=ack_evidence.RECORD_TYPE, record_id=alert.id, field=ack_evidence.FIELD,
                       old=None, new=action,
                       reason=f"{alert.kind} {alert.rule}: {alert.title}")
    return alert
