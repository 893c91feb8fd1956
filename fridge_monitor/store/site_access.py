"""Who works where: the sites a user belongs to, and the sites each record lies in.

A user with no sites listed is not limited (a one-site clinic never lists
them), and admins never are; :func:`sites_of` gives ``None`` for both. Every
other user sees and changes only what lies in their sites. A record lies in
the sites of the fridges it belongs to: an alert, an excursion, a check or a
logger file in its fridge's; a lot in those of every fridge that has held it
or reviewed it; a sensor in those of every fridge it has been assigned to; an
export bundle in those of the fridges it covers (all of them for "every
fridge").
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.store import audit_trail
from fridge_monitor.store import models as m

Sites = frozenset[int] | None
"""The sites a user may see: a set of site ids, or None for every site."""


def sites_of(session: so.Session, user: m.User) -> Sites:
    """The sites ``user`` is limited to, or None when they see every site."""
    if user.role == "admin":
        return None
    ids = frozenset(session.scalars(sa.select(m.UserSite.site_id).where(m.UserSite.user_id == user.id)))
    return ids or None


def site_names_of(session: so.Session, user_id: int) -> list[str]:
    """The names of the sites a user is listed at, by name (empty: none listed)."""
    return list(session.scalars(sa.select(m.Site.name).join(m.UserSite, m.UserSite.site_id == m.Site.id)
                                .where(m.UserSite.user_id == user_id).order_by(m.Site.name)))


def set_sites(session: so.Session, user: m.User, site_ids: Collection[int], *, actor: str, now: datetime,
              reason: str | None) -> bool:
    """List ``user`` at exactly ``site_ids`` (empty: every site); an audit event when it changes. True if it did."""
    before = set(session.scalars(sa.select(m.UserSite.site_id).where(m.UserSite.user_id == user.id)))
    after = set(site_ids)
    if before == after:
        return False
    names: dict[int, str] = {site_id: name for site_id, name in session.execute(sa.select(m.Site.id, m.Site.name))}
    unknown = after - names.keys()
    if unknown:
        raise ValueError(f"there is no site {min(unknown)}")
    session.execute(sa.delete(m.UserSite).where(m.UserSite.user_id == user.id, m.UserSite.site_id.in_(before - after)))
    session.add_all(m.UserSite(user_id=user.id, site_id=site_id) for site_id in sorted(after - before))

    def described(ids: set[int]) -> str:
        return ", ".join(sorted(names[i] for i in ids)) if ids else "every site"

    audit_trail.record(session, at=now, actor=actor, action="update", record_type="user", record_id=user.name,
                       field="sites", old=described(before), new=described(after), reason=reason)
    session.flush()
    return True


# -- what lies where -------------------------------------------------------------------------------------


def fridge_ids(sites: Sites) -> sa.Select[int] | None:
    """The fridges of ``sites`` as a subquery to filter by (None: no filter)."""
    if sites is None:
        return None
    return sa.select(m.Fridge.id).where(m.Fridge.site_id.in_(sorted(sites)))


def within(column: sa.ColumnElement[Any] | so.InstrumentedAttribute[Any], sites: Sites) -> sa.ColumnElement[bool]:
    """``column`` (a fridge id) is a fridge of ``sites``."""
    subquery = fridge_ids(sites)
    return sa.true() if subquery is None else column.in_(subquery)


def _one(session: so.Session, query: sa.Select[Any]) -> frozenset[int] | None:
    site = session.scalar(query)
    return None if site is None else frozenset({site})


def fridge_sites(session: so.Session, name: str) -> frozenset[int] | None:
    return _one(session, sa.select(m.Fridge.site_id).where(m.Fridge.name == name))


def _by_fridge_id(model: Any) -> Callable[[so.Session, Any], frozenset[int] | None]:
    def sites(session: so.Session, key: Any) -> frozenset[int] | None:
        if not isinstance(key, int):
            return None
        return _one(session, sa.select(m.Fridge.site_id).join(model, model.fridge_id == m.Fridge.id)
                    .where(model.id == key))
    return sites


def lot_sites(session: so.Session, lot_id: Any) -> frozenset[int] | None:
    """Every site with a fridge that has held the lot or reviewed it (empty: a lot never stocked)."""
    if not isinstance(lot_id, int) or session.get(m.Lot, lot_id) is None:
        return None
    held = sa.select(m.StockEntry.fridge_id).where(m.StockEntry.lot_id == lot_id)
    reviewed = sa.select(m.LotReview.fridge_id).where(m.LotReview.lot_id == lot_id)
    return frozenset(session.scalars(sa.select(m.Fridge.site_id).distinct()
                                     .where(m.Fridge.id.in_(held.union(reviewed)))))


def sensor_sites(session: so.Session, sensor_id: Any) -> frozenset[int] | None:
    """Every site with a fridge the sensor has been assigned to (empty: never assigned)."""
    if not isinstance(sensor_id, str) or session.get(m.Sensor, sensor_id) is None:
        return None
    return frozenset(session.scalars(
        sa.select(m.Fridge.site_id).distinct().join(m.SensorAssignment, m.SensorAssignment.fridge_id == m.Fridge.id)
        .where(m.SensorAssignment.sensor_id == sensor_id)))


def certificate_sites(session: so.Session, certificate_id: Any) -> frozenset[int] | None:
    if not isinstance(certificate_id, int):
        return None
    sensor_id = session.scalar(sa.select(m.CalibrationCertificate.sensor_id)
                               .where(m.CalibrationCertificate.id == certificate_id))
    return None if sensor_id is None else sensor_sites(session, sensor_id)


def export_job_sites(session: so.Session, job_id: Any) -> frozenset[int] | None:
    """The sites of the fridges a bundle covers; every site for "every fridge"."""
    if not isinstance(job_id, int):
        return None
    job = session.get(m.ExportJob, job_id)
    if job is None:
        return None
    query = sa.select(m.Site.id)
    if job.fridges is not None:
        query = sa.select(m.Fridge.site_id).where(m.Fridge.name.in_(json.loads(job.fridges)))
    return frozenset(session.scalars(query.distinct()))


def site_sites(session: so.Session, site_id: Any) -> frozenset[int] | None:
    if not isinstance(site_id, int) or session.get(m.Site, site_id) is None:
        return None
    return frozenset({site_id})


RESOLVERS: dict[str, Callable[[so.Session, Any], frozenset[int] | None]] = {
    "site": site_sites,
    "fridge": fridge_sites,
    "alert": _by_fridge_id(m.Alert),
    "excursion": _by_fridge_id(m.Excursion),
    "lot": lot_sites,
    "sensor": sensor_sites,
    "certificate": certificate_sites,
    "export": export_job_sites,
}
"""What a URL's argument may name, and where it lies."""

WHOLLY = frozenset({"export"})
"""Kinds a limited user sees only when every site they lie in is theirs (else: when any is)."""


def may_see(session: so.Session, sites: Sites, kind: str, key: Any) -> bool:
    """Whether a user limited to ``sites`` may see the ``kind`` record ``key`` (False also when there is none)."""
    found = RESOLVERS[kind](session, key)
    if found is None:
        return False
    if sites is None:
        return True
    return found <= sites if kind in WHOLLY else bool(found & sites)


def visible_fridge_names(session: so.Session, sites: Sites, *, retired: bool = True) -> list[str]:
    """The fridges' names a user limited to ``sites`` sees, by name."""
    query = sa.select(m.Fridge.name).order_by(m.Fridge.name)
    if sites is not None:
        query = query.where(m.Fridge.site_id.in_(sorted(sites)))
    if not retired:
        query = query.where(m.Fridge.retired_at.is_(None))
    return list(session.scalars(query))
