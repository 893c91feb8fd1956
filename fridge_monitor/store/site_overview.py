"""Many fridges at once, lightly: what each fridge in service shows now, for the list of sites.

The dashboard's tiles (:func:`fridge_monitor.store.overview.fridges_now`) also
chart the last 24 hours and today's min/max; a hospital group's site list
needs only each fridge's state, so this reads the fridges with their current
assignments, the few columns of their sensors that choose what a fridge shows
and the sensors' latest readings — one query, however many fridges, filtered
by site in the database rather than by lists of ids — and chooses the "current
temperature" with the tiles' own rule
(:func:`~fridge_monitor.core.status.latest_of`).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import NamedTuple

import sqlalchemy as sa

from fridge_monitor.core.readings import TEMPERATURE_ROLES
from fridge_monitor.core.rules import AlarmProfile
from fridge_monitor.core.status import Assigned, Judged, Latest, latest_of
from fridge_monitor.store import models as m
from fridge_monitor.store.ingest_state import ingest_heard_until
from fridge_monitor.store.series import ProfileOf


class FridgeState(NamedTuple):
    id: int
    name: str
    site_id: int
    latest: Latest  # judged by the fridge's profile (its range, narrowed to the fridge's own)
    max_gap: timedelta  # the profile's allowed gap
    low_battery_pct: float  # the profile's


# Tuples, not frozen dataclasses: thousands are made per request, and a frozen dataclass's __init__ costs
# several times a tuple's.
class ProbeNow(NamedTuple):
    """What :func:`~fridge_monitor.core.status.latest_of` reads of a sensor, and nothing more."""

    id: str
    role: str | None
    battery_pct: float | None
    last_measured_at: datetime | None
    temperature_c: float | None


class _Fridge(NamedTuple):
    id: int
    name: str
    site_id: int
    profile: AlarmProfile


@dataclasses.dataclass(frozen=True, slots=True)
class SiteRow:
    id: int
    name: str
    timezone: str


def sites(conn: sa.Connection, within: Collection[int] | None) -> list[SiteRow]:
    """The sites (of ``within``; None: every site), by name."""
    query = sa.select(m.Site.id, m.Site.name, m.Site.timezone).order_by(m.Site.name)
    if within is not None:
        query = query.where(m.Site.id.in_(sorted(within)))
    return [SiteRow(*row) for row in conn.execute(query)]


def fridge_states(conn: sa.Connection, now: datetime, *, within: Collection[int] | None,
                  profile_of: ProfileOf) -> list[FridgeState]:
    """Every fridge in service of the sites ``within`` (None: every site), with what it shows now, judged by its
    profile (``profile_of``: :func:`fridge_monitor.store.series.profiles_of`), as its alarms are."""
    f, a, s = m.Fridge, m.SensorAssignment, m.Sensor
    query = (
        sa.select(f.id, f.name, f.site_id, f.low_c, f.high_c, f.alarm_profile, a.sensor_id, a.since,
                  s.role, s.battery_pct, s.last_measured_at, s.last_temperature_c)
        .select_from(f)
        # The current assignments of temperature probes: the segments that are still open (series.segments).
        .outerjoin(a, sa.and_(a.fridge_id == f.id, a.until.is_(None), a.role.in_(TEMPERATURE_ROLES)))
        # Each sensor's newest reading is kept with it (as sensors.latest_values reads it).
        .outerjoin(s, s.id == a.sensor_id)
        .where(f.retired_at.is_(None))
        .order_by(f.id, a.id)
    )
    if within is not None:
        query = query.where(f.site_id.in_(sorted(within)))
    fridges: dict[int, _Fridge] = {}
    current: dict[int, list[Assigned]] = defaultdict(list)
    probes: dict[str, ProbeNow] = {}
    # One fetch, and the rows unpacked: row by row, and by attribute name, cost more than the query itself.
    for row in conn.execute(query).all():
        fridge_id, name, site_id, low_c, high_c, profile, sensor_id, since, role, battery, measured, celsius = row
        if fridge_id not in fridges:
            fridges[fridge_id] = _Fridge(fridge_id, name, site_id, profile_of(profile, low_c, high_c))
        if sensor_id is not None:
            current[fridge_id].append(Assigned(sensor_id, since))
            probes[sensor_id] = ProbeNow(sensor_id, role, battery, measured, celsius)
    if not fridges:
        return []
    heard = ingest_heard_until(conn, now)
    return [FridgeState(f.id, f.name, f.site_id,
                        latest_of(Judged(f.name, f.profile.low_c, f.profile.high_c), current[f.id], probes, now,
                                  f.profile.allowed_gap, heard)[1],
                        f.profile.allowed_gap, f.profile.low_battery_pct)
            for f in fridges.values()]
