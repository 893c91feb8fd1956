"""What the dashboard, fridge pages and API read: fridges now, history for charts, daily min/max.

Readings belong to the fridge their sensor was in at the time (sensor
assignments), so every query here works on *pieces*: one sensor over the
part of a time window during which it was in the fridge. Long windows are
served from the hourly rollups (exact per sensor and UTC hour) with raw
readings only for the ragged edges, so a year of minute readings stays fast.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from fridge_monitor.core.charts import Point, Series
from fridge_monitor.core.daily import day_bounds
from fridge_monitor.core.status import Judged, Latest, latest_of, workday_start
from fridge_monitor.store import models as m
from fridge_monitor.store.ingest_state import ingest_heard_until
from fridge_monitor.store.sensors import SensorInfo, sensors_by_id
from fridge_monitor.store.series import ProfileOf, Segment, epoch_seconds, segments

Hourly = dict[str, list[tuple[datetime, float, float, float, int]]]
"""Hourly rollups by sensor, hour ascending: (hour, min, max, sum, count) of the readings taken in each hour."""

HOUR = timedelta(hours=1)
RAW_FRAGMENT_CHUNK = 100


@dataclasses.dataclass(frozen=True, slots=True)
class FridgeNow:
    id: int
    name: str
    site: str
    timezone: str
    kind: str
    latest: Latest  # its range is the one the fridge is judged by (its profile's, narrowed to its own)
    sensors: tuple[SensorInfo, ...]
    history: tuple[Point, ...]  # hourly envelope of the last 24 h, all its sensors together
    max_gap: timedelta  # its profile's allowed gap: longer without a reading is silence, as its alarms judge it
    low_battery_pct: float  # its profile's

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclasses.dataclass(slots=True)
class Agg:
    """Min, max, sum and count of some readings (merged piece by piece)."""

    min_c: float | None = None
    max_c: float | None = None
    sum_c: float = 0.0
    count: int = 0

    def add(self, low: float, high: float, total: float, count: int) -> None:
        self.min_c = low if self.min_c is None else min(self.min_c, low)
        self.max_c = high if self.max_c is None else max(self.max_c, high)
        self.sum_c += total
        self.count += count

    @property
    def mean_c(self) -> float | None:
        return self.sum_c / self.count if self.count else None

    def point(self, at: datetime) -> Point:
        """These readings as one chart point (there are some: ``count`` > 0)."""
        return Point(at=at, mean=self.sum_c / self.count, low=self.min_c, high=self.max_c)


@dataclasses.dataclass(frozen=True, slots=True)
class Piece:
    """Sensor ``sensor_id`` over [lo, hi) (``hi`` None: up to now), counted under ``key``."""

    key: object
    sensor_id: str
    lo: datetime
    hi: datetime | None


def floor_hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def ceil_hour(at: datetime) -> datetime:
    floored = floor_hour(at)
    return floored if floored == at else floored + HOUR


# -- building blocks -------------------------------------------------------------


def rollups(conn: sa.Connection, sensors: Iterable[str], start: datetime,
            end: datetime | None = None) -> Hourly:
    """Hourly rollups by sensor, hour ascending: (hour, min, max, sum, count)."""
    h = m.HourlyRollup
    sensors = sorted(set(sensors))
    found: Hourly = defaultdict(list)
    if not sensors:
        return found
    # The hour as epoch seconds: a year is 8,760 rows a sensor, and parsing each time would cost more than
    # the query.
    query = sa.select(h.sensor_id, epoch_seconds(conn, h.hour), h.min_c, h.max_c, h.sum_c, h.count).where(
        h.sensor_id.in_(sensors), h.hour >= floor_hour(start)
    )
    if end is not None:
        query = query.where(h.hour < end)
    for sid, epoch, low, high, total, count in conn.execute(query.order_by(h.sensor_id, h.hour)):
        found[sid].append((datetime.fromtimestamp(int(epoch), UTC), low, high, total, count))
    return found


def aggregate(conn: sa.Connection, pieces: Sequence[Piece],
              hourly: Hourly | None = None) -> dict[object, Agg]:
    """Exact min/max/sum/count per piece key: whole hours from the rollups, ragged edges from raw readings.

    ``hourly`` may be passed when the caller has fetched the rollups already
    (they must cover every piece).
    """
    if hourly is None and pieces:
        hourly = rollups(conn, {p.sensor_id for p in pieces}, min(p.lo for p in pieces))
    result: dict[object, Agg] = defaultdict(Agg)
    fragments: list[tuple[object, str, datetime, datetime]] = []
    for piece in pieces:
        result[piece.key]  # a piece with no readings still has its (empty) entry
        lo_h, hi = ceil_hour(piece.lo), piece.hi
        hi_h = floor_hour(hi) if hi is not None else None
        if hi is not None and hi_h is not None and lo_h >= hi_h:
            fragments.append((piece.key, piece.sensor_id, piece.lo, hi))
            continue
        if piece.lo < lo_h:
            fragments.append((piece.key, piece.sensor_id, piece.lo, lo_h))
        if hi is not None and hi_h is not None and hi_h < hi:
            fragments.append((piece.key, piece.sensor_id, hi_h, hi))
        rows = hourly.get(piece.sensor_id, []) if hourly else []
        first = bisect.bisect_left(rows, (lo_h,))
        for hour, low, high, total, count in rows[first:]:
            if hi_h is not None and hour >= hi_h:
                break
            result[piece.key].add(low, high, total, count)
    r = m.Reading
    for offset in range(0, len(fragments), RAW_FRAGMENT_CHUNK):
        chunk = fragments[offset:offset + RAW_FRAGMENT_CHUNK]
        conditions = [
            sa.and_(r.sensor_id == sid, r.measured_at >= lo, r.measured_at < hi).self_group()
            for _, sid, lo, hi in chunk
        ]
        cases = [(cond, index) for index, cond in enumerate(conditions)]
        query = sa.select(
            sa.case(*cases).label("fragment"),
            sa.func.min(r.temperature_c), sa.func.max(r.temperature_c), sa.func.sum(r.temperature_c), sa.func.count(),
        ).where(sa.or_(*conditions)).group_by("fragment")
        for index, low, high, total, count in conn.execute(query):
            if count:
                result[chunk[index][0]].add(low, high, total, count)
    return result


# -- the dashboard and the API's fridge list ---------------------------------------


def fridges_now(conn: sa.Connection, now: datetime, *, profile_of: ProfileOf,
                name: str | None = None, history: timedelta = timedelta(hours=24),
                search: str | None = None, sites: Collection[int] | None = None,
                limit: int | None = None) -> list[FridgeNow]:
    """Every fridge in service (or the one called ``name``; or those whose name holds ``search``, in any
    case; of ``sites`` if given; the first ``limit``), by site then name: now, today, last 24 h; each judged
    by its profile (``profile_of``: :func:`fridge_monitor.store.series.profiles_of`), as its alarms are."""
    f, site = m.Fridge, m.Site
    query = (
        sa.select(f.id, f.name, f.kind, f.low_c, f.high_c, f.alarm_profile, site.name.label("site"), site.timezone)
        .join(site, f.site_id == site.id)
        .order_by(site.name, f.name)
    )
    query = query.where(f.name == name) if name is not None else query.where(f.retired_at.is_(None))
    if search:
        query = query.where(sa.func.lower(f.name).contains(search.lower(), autoescape=True))
    if sites is not None:
        query = query.where(f.site_id.in_(sorted(sites)))
    fridges = conn.execute(query.limit(limit)).all()
    if not fridges:
        return []
    window = now - max(history, timedelta(hours=26))  # a local day can last 25 h
    segs = segments(conn, [row.id for row in fridges], window)
    by_fridge: dict[int, list[Segment]] = defaultdict(list)
    for seg in segs:
        by_fridge[seg.fridge_id].append(seg)
    current_ids = [seg.sensor_id for seg in segs if seg.until is None]
    infos = {info.id: info for info in sensors_by_id(conn, current_ids)}
    hourly = rollups(conn, {seg.sensor_id for seg in segs}, window)

    pieces = []
    for row in fridges:
        start = workday_start(now, ZoneInfo(row.timezone))
        for seg in by_fridge[row.id]:
            clipped = seg.clip(start, None)
            if clipped is not None:
                pieces.append(Piece(row.id, seg.sensor_id, *clipped))
    today = aggregate(conn, pieces, hourly)
    heard = ingest_heard_until(conn, now)

    result = []
    for row in fridges:
        current = [seg for seg in by_fridge[row.id] if seg.until is None]
        agg = today.get(row.id, Agg())
        profile = profile_of(row.alarm_profile, row.low_c, row.high_c)
        mine, latest = latest_of(Judged(row.name, profile.low_c, profile.high_c), current, infos, now,
                                 profile.allowed_gap, heard, agg.min_c, agg.max_c)
        result.append(FridgeNow(
            id=row.id, name=row.name, site=row.site, timezone=row.timezone, kind=row.kind, latest=latest,
            sensors=tuple(mine),
            history=tuple(hourly_envelope(by_fridge[row.id], hourly, now - history, now)),
            max_gap=profile.allowed_gap, low_battery_pct=profile.low_battery_pct,
        ))
    return result


def hourly_envelope(segs: Sequence[Segment], hourly: Hourly,
                    start: datetime, end: datetime) -> list[Point]:
    """One point per UTC hour (at its middle): min, max and mean over the fridge's sensors in that hour."""
    merged: dict[datetime, Agg] = defaultdict(Agg)
    for seg in segs:
        clipped = seg.clip(floor_hour(start), end)
        if clipped is None:
            continue
        lo, hi = floor_hour(clipped[0]), clipped[1]
        rows = hourly.get(seg.sensor_id, [])
        for hour, low, high, total, count in rows[bisect.bisect_left(rows, (lo,)):]:
            if hi is not None and hour >= hi:
                break
            merged[hour].add(low, high, total, count)
    return [agg.point(hour + HOUR / 2) for hour, agg in sorted(merged.items()) if agg.count]


# -- history of one fridge -------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class History:
    """Chart series for a window and how they were made."""

    series: tuple[Series, ...]
    resolution: str  # "raw", "hourly" or "daily"
    max_gap: timedelta


RAW_UP_TO = timedelta(days=3)
HOURLY_UP_TO = timedelta(days=93)


def history(conn: sa.Connection, fridge_id: int, start: datetime, end: datetime, tz: tzinfo, *,
            max_gap: timedelta, hourly: Hourly | None = None) -> History:
    """Per-sensor series over [start, end): raw readings for short windows, hourly rollups for
    medium ones, and daily (site-local days) from the hourly rollups for long ones. ``max_gap``: the fridge's
    allowed gap (its profile's), past which a line breaks, as the rules see a gap. ``hourly``: the rollups
    of the fridge's sensors from ``start`` on, when the caller has them already."""
    segs = segments(conn, [fridge_id], start, end)
    span = end - start
    if span <= RAW_UP_TO:
        by_sensor: dict[str, list[Point]] = defaultdict(list)
        r = m.Reading
        for seg in segs:
            clipped = seg.clip(start, end)
            if clipped is None:
                continue
            readings = conn.execute(
                sa.select(r.measured_at, r.temperature_c)
                .where(r.sensor_id == seg.sensor_id, r.measured_at >= clipped[0], r.measured_at < clipped[1])
                .order_by(r.measured_at)
            )
            by_sensor[seg.sensor_id].extend(Point(at=at, mean=temp) for at, temp in readings)
        return History(_labelled(segs, by_sensor), "raw", max_gap)
    if hourly is None:
        hourly = rollups(conn, {seg.sensor_id for seg in segs}, start, end)
    if span <= HOURLY_UP_TO:
        by_sensor = defaultdict(list)
        for seg in segs:
            by_sensor[seg.sensor_id].extend(hourly_envelope([seg], hourly, start, end))
        return History(_labelled(segs, by_sensor), "hourly", HOUR + max_gap)
    daily: dict[str, dict[date, Agg]] = defaultdict(lambda: defaultdict(Agg))
    for seg in segs:
        clipped = seg.clip(floor_hour(start), end)
        if clipped is None:
            continue
        rows = hourly.get(seg.sensor_id, [])
        for hour, low, high, total, count in rows[bisect.bisect_left(rows, (floor_hour(clipped[0]),)):]:
            if clipped[1] is not None and hour >= clipped[1]:
                break
            daily[seg.sensor_id][hour.astimezone(tz).date()].add(low, high, total, count)
    points = {
        sid: [
            agg.point(datetime.combine(day, time(12), tz).astimezone(UTC))
            for day, agg in sorted(days.items()) if agg.count
        ]
        for sid, days in daily.items()
    }
    return History(_labelled(segs, points), "daily", timedelta(days=1, hours=2))


def _labelled(segs: Sequence[Segment], points: dict[str, list[Point]]) -> tuple[Series, ...]:
    roles: dict[str, str] = {}
    for seg in segs:
        roles[seg.sensor_id] = seg.role  # the latest assignment names the role
    ordered = sorted(points, key=lambda sid: (roles.get(sid) != "primary", sid))
    return tuple(Series(f"{sid} ({roles.get(sid, '?')})", sorted(points[sid], key=lambda p: p.at))
                 for sid in ordered if points[sid])


def local_days(first: date, last: date, tz: tzinfo) -> list[tuple[date, datetime, datetime]]:
    """(day, start, end) in UTC for each site-local day from ``first`` to ``last`` inclusive (DST-correct)."""
    return [(first + timedelta(days=n), *day_bounds(first + timedelta(days=n), tz))
            for n in range((last - first).days + 1)]


def daily_min_max(conn: sa.Connection, fridge_id: int, first: date, last: date, tz: tzinfo,
                  now: datetime, hourly: Hourly | None = None) -> list[tuple[date, Agg]]:
    """The daily min/max log: one row per site-local day, exact (rollups plus raw edges), newest first.
    ``hourly``: the rollups of the fridge's sensors from the first day on, when the caller has them already."""
    days = [(day, lo, hi) for day, lo, hi in local_days(first, last, tz) if lo <= now]
    if not days:
        return []
    segs = segments(conn, [fridge_id], days[0][1], days[-1][2])
    pieces = []
    for day, lo, hi in days:
        for seg in segs:
            clipped = seg.clip(lo, None if hi > now else hi)
            if clipped is not None:
                pieces.append(Piece(day, seg.sensor_id, *clipped))
    aggs = aggregate(conn, pieces, hourly)
    return [(day, aggs.get(day, Agg())) for day, _, _ in reversed(days)]


