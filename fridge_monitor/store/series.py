"""Reading one fridge's data: its facts, the profile it is judged by, its sensors' segments and its readings.

Readings belong to the fridge their sensor was in at the time (sensor
assignments): a *segment* is one assignment, and a fridge's readings are read
segment by segment. The series the rules judge is the primary sensor's
readings, with backups standing in where it is silent. Evaluation, lot safety,
the daily log, the monthly report, the dashboard and the API all read a fridge
through this module, so they all see the same readings and judge them by the
same profile.
"""

from __future__ import annotations

import bisect
import dataclasses
import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.config import Config
from fridge_monitor.core.readings import TEMPERATURE_ROLES
from fridge_monitor.core.rules import AlarmProfile, ProfileError
from fridge_monitor.store import models as m
from fridge_monitor.store import profiles

log = logging.getLogger(__name__)

Readings = list[tuple[datetime, float]]
"""(measured at, °C) pairs, oldest first: a sensor's readings, or the series a fridge is judged by."""


@dataclasses.dataclass(frozen=True, slots=True)
class FridgeFacts:
    id: int
    name: str
    site: str
    timezone: str
    low_c: float
    high_c: float
    profile_name: str
    created_at: datetime


def fridge_facts(session: so.Session, fridge_id: int) -> FridgeFacts | None:
    f, s = m.Fridge, m.Site
    row = session.execute(
        sa.select(f.id, f.name, s.name, s.timezone, f.low_c, f.high_c, f.alarm_profile, f.created_at)
        .join(s, f.site_id == s.id).where(f.id == fridge_id)
    ).first()
    return FridgeFacts(*row) if row else None


def fridge_profile(session: so.Session, facts: FridgeFacts, config: Config | None = None) -> AlarmProfile:
    """The profile the fridge is judged by: its alarm profile, the range narrowed to the fridge's own
    (the stricter of the two wins), its allowed gap and rules.

    The profile is found by name (:func:`fridge_monitor.store.profiles.resolve`: the
    presets, the config file's when ``config`` is passed, the admin pages'). An
    unknown one judges by the fridge's range alone, with the default settings.
    """
    name = facts.profile_name
    base = profiles.resolve(session, config, name)
    if base is None and name:
        log.warning("alarm profile %r is not known (any more); judging by the fridge's range only", name)
    return _narrowed(base, name, facts.low_c, facts.high_c)


ProfileOf = Callable[[str | None, float, float], AlarmProfile]


def profiles_of(session: so.Session, config: Config | None = None) -> ProfileOf:
    """:func:`fridge_profile` for many fridges (the dashboard's tiles, the list of sites), from each fridge's
    profile name and range: each name resolved once, each profile and range made once."""
    bases: dict[str, AlarmProfile | None] = {}
    made: dict[tuple[str | None, float, float], AlarmProfile] = {}

    def profile_of(name: str | None, low_c: float, high_c: float) -> AlarmProfile:
        key = (name, low_c, high_c)
        if key not in made:
            if name and name not in bases:
                bases[name] = profiles.resolve(session, config, name)
            made[key] = _narrowed(bases.get(name) if name else None, name, low_c, high_c)
        return made[key]

    return profile_of


def _narrowed(base: AlarmProfile | None, name: str | None, low_c: float, high_c: float) -> AlarmProfile:
    if base is None:
        return AlarmProfile(name or "range", low_c, high_c)
    low, high = max(base.low_c, low_c), min(base.high_c, high_c)
    if low >= high:
        low, high = low_c, high_c
    try:
        return dataclasses.replace(base, low_c=low, high_c=high)
    except ProfileError:  # a range too narrow for the hysteresis margin
        return dataclasses.replace(base, low_c=low, high_c=high, hysteresis_c=0.0)


# -- segments and readings ---------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Segment:
    """One assignment of a sensor to a fridge: [since, until), either end open."""

    sensor_id: str
    fridge_id: int
    role: str
    since: datetime | None
    until: datetime | None

    def covers(self, at: datetime) -> bool:
        """Whether ``at`` falls in this assignment."""
        return (self.since is None or self.since <= at) and (self.until is None or at < self.until)

    def clip(self, lo: datetime, hi: datetime | None) -> tuple[datetime, datetime | None] | None:
        start = lo if self.since is None else max(lo, self.since)
        ends = [e for e in (hi, self.until) if e is not None]
        end = min(ends) if ends else None
        if end is not None and end <= start:
            return None
        return start, end


def segments(conn: sa.Connection, fridge_ids: Iterable[int], start: datetime,
             end: datetime | None = None, *, roles: Sequence[str] | None = TEMPERATURE_ROLES) -> list[Segment]:
    """Assignments of sensors to these fridges that overlap [start, end): of the temperature probes, or
    of the sensors in ``roles`` (None: every sensor, door contacts and plugs too)."""
    a = m.SensorAssignment
    query = sa.select(a.sensor_id, a.fridge_id, a.role, a.since, a.until).where(
        a.fridge_id.in_(list(fridge_ids)), sa.or_(a.until.is_(None), a.until > start)
    )
    if roles is not None:
        query = query.where(a.role.in_(list(roles)))
    if end is not None:
        query = query.where(sa.or_(a.since.is_(None), a.since < end))
    return [Segment(*row) for row in conn.execute(query.order_by(a.fridge_id, a.id))]


def readings_by_segment(session: so.Session, segs: Sequence[Segment], lo: datetime,
                        hi: datetime) -> list[tuple[Segment, Readings]]:
    """Each segment's readings within [lo, hi]."""
    r = m.Reading
    out = []
    for seg in segs:
        clipped = seg.clip(lo, hi + timedelta(microseconds=1))
        if clipped is None:
            continue
        start, end = clipped
        query = sa.select(r.measured_at, r.temperature_c).where(r.sensor_id == seg.sensor_id, r.measured_at >= start)
        if end is not None:
            query = query.where(r.measured_at < end)
        out.append((seg, [(at, celsius) for at, celsius in session.execute(query.order_by(r.measured_at))]))
    return out


def fridge_series(pieces: Sequence[tuple[Segment, Readings]], allowed_gap: timedelta) -> Readings:
    """What the rules judge: the primary sensor's readings, with backups standing in where it is silent."""
    primary = sorted(x for seg, series in pieces if seg.role == "primary" for x in series)
    backups = sorted(x for seg, series in pieces if seg.role != "primary" for x in series)
    if not primary:
        return backups
    times = [at for at, _ in primary]
    merged = list(primary)
    for at, celsius in backups:
        i = bisect.bisect_right(times, at)
        if i == 0 or at - times[i - 1] > allowed_gap:
            merged.append((at, celsius))
    merged.sort()
    return merged


def load_series(session: so.Session, fridge_id: int, lo: datetime, hi: datetime, allowed_gap: timedelta) -> Readings:
    """The fridge's series as the rules judge it, from its readings in [lo, hi]."""
    segs = segments(session.connection(), [fridge_id], lo, hi)
    return fridge_series(readings_by_segment(session, segs, lo, hi), allowed_gap)


# -- readings for the API ------------------------------------------------------------------


def in_assignment(fridge_id: int) -> sa.ColumnElement[bool]:
    r, a = m.Reading, m.SensorAssignment
    return sa.and_(
        a.sensor_id == r.sensor_id,
        a.fridge_id == fridge_id,
        sa.or_(a.since.is_(None), a.since <= r.measured_at),
        sa.or_(a.until.is_(None), r.measured_at < a.until),
    )


def raw_readings(conn: sa.Connection, fridge_id: int, start: datetime, end: datetime,
                 limit: int) -> list[tuple[datetime, str, float]]:
    """(measured at, sensor, °C) of the fridge's readings in [start, end), at most ``limit`` of them."""
    r, a = m.Reading, m.SensorAssignment
    query = (
        sa.select(r.measured_at, r.sensor_id, r.temperature_c)
        .join(a, in_assignment(fridge_id))
        .where(r.measured_at >= start, r.measured_at < end)
        .order_by(r.measured_at, r.sensor_id)
        .limit(limit)
    )
    return [(at, sid, celsius) for at, sid, celsius in conn.execute(query)]


def epoch_seconds(conn: sa.Connection,
                  column: so.InstrumentedAttribute[datetime] | sa.ColumnElement[datetime]) -> sa.ColumnElement[int]:
    """A time column as whole seconds since the Unix epoch, in SQL."""
    if conn.dialect.name == "sqlite":
        return sa.cast(sa.func.strftime("%s", column), sa.BigInteger)
    return sa.cast(sa.func.floor(sa.extract("epoch", column)), sa.BigInteger)


def bucketed_readings(conn: sa.Connection, fridge_id: int, start: datetime, end: datetime,
                      every: int) -> list[tuple[datetime, str, float, float, float, int]]:
    """The fridge's readings in [start, end) in buckets of ``every`` seconds (aligned to the Unix epoch):
    (bucket start, sensor, min, max, mean, count), by time then sensor.

    A scan of every reading of the period: :func:`fridge_monitor.store.buckets.readings_in_buckets` gives the
    same from the hourly rollups when the buckets are whole hours.
    """
    r, a = m.Reading, m.SensorAssignment
    bucket = ((epoch_seconds(conn, r.measured_at) // every) * every).label("bucket")
    query = (
        sa.select(bucket, r.sensor_id, sa.func.min(r.temperature_c), sa.func.max(r.temperature_c),
                  sa.func.avg(r.temperature_c), sa.func.count())
        .join(a, in_assignment(fridge_id))
        .where(r.measured_at >= start, r.measured_at < end)
        .group_by(bucket, r.sensor_id)
        .order_by(bucket, r.sensor_id)
    )
    return [
        (datetime.fromtimestamp(int(b), UTC), sid, low, high, float(mean), count)
        for b, sid, low, high, mean, count in conn.execute(query)
    ]
