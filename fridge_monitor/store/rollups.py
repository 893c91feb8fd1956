"""The held figures of the hourly rollups (:mod:`fridge_monitor.core.rollups`): marked stale as readings arrive,
recomputed by the scheduler, read for period statistics.

A reading at ``t`` changes the step of the reading before it and starts its
own, so it changes its own hour and possibly the hours of the readings just
before and after it. Ingest marks all of those stale in the transaction that
stores the reading (:func:`_mark_stale`): ``held_s`` NULL and ``revision``
moved on. :func:`refresh` recomputes stale hours from the readings and writes
each only where ``revision`` is still the one it read, so an hour that a
reading changed meanwhile stays stale for the next round. Readers take the
held figures of hours that are not stale and read raw readings elsewhere, so
they are exact at every moment, only slower while hours wait.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from fridge_monitor.core.rollups import HOUR, HeldSpan, HourFigures, floor_hour, hour_figures
from fridge_monitor.store import models as m
from fridge_monitor.store.db import dialect_insert
from fridge_monitor.store.many import ManyRows
from fridge_monitor.store.series import epoch_seconds

log = logging.getLogger(__name__)

ROLLUPS = m.HourlyRollup.__table__
READINGS = m.Reading.__table__
BATCH_HOURS = 2000  # stale hours recomputed per round


def _mark_stale(row: Any, _multirow: bool = False) -> sa.Update:
    """Mark stale the hours whose steps a sensor's new readings can change (``row.sid``; ``row.lo`` and
    ``row.hi``, the first and last of their hours; ``row.first_at`` and ``row.last_at``, the first and last of
    them; ``row.after_hi``, ``hi`` + 1 h).

    Their own hours from ``lo`` to ``hi``; the hour of the reading before the
    first, when that is in an earlier hour (no reading in ``[lo, first_at)``):
    the first new reading ends its step; and the hour of the reading after the
    last, when that is in a later hour (none in ``(last_at, after_hi)``): the
    last new reading now holds at its start. Rows exist exactly for the hours
    with readings, so those are the nearest rows before ``lo`` and after ``hi``.
    Readings arriving in time order mark only their own hour, and once an
    hour, the one before.
    """
    r, rd = ROLLUPS, READINGS
    earlier, later = r.alias("earlier"), r.alias("later")
    sid, lo, hi = row.sid, row.lo, row.hi
    before = (sa.select(sa.func.max(earlier.c.hour)).where(earlier.c.sensor_id == sid, earlier.c.hour < lo)
              .correlate_except(earlier))
    after = (sa.select(sa.func.min(later.c.hour)).where(later.c.sensor_id == sid, later.c.hour > hi)
             .correlate_except(later))
    first_of_hour = ~sa.exists().where(rd.c.sensor_id == sid, rd.c.measured_at >= lo,
                                       rd.c.measured_at < row.first_at).correlate_except(rd)
    last_of_hour = ~sa.exists().where(rd.c.sensor_id == sid, rd.c.measured_at > row.last_at,
                                      rd.c.measured_at < row.after_hi).correlate_except(rd)
    return (
        sa.update(r)
        .where(r.c.sensor_id == sid, sa.or_(
            sa.and_(r.c.hour >= lo, r.c.hour <= hi),
            sa.and_(r.c.hour == before.scalar_subquery(), first_of_hour),
            sa.and_(r.c.hour == after.scalar_subquery(), last_of_hour),
        ))
        .values(held_s=None, revision=r.c.revision + 1)
    )


def _taken(dialect: str, row: Any, multirow: bool) -> sa.Insert:
    """Recompute the taken figures (min, max, sum, count) of sensor ``row.sid``'s hour from ``row.hour`` to
    ``row.next_hour`` from its readings."""
    rd = READINGS
    figures = (sa.func.min(rd.c.temperature_c).label("min_c"), sa.func.max(rd.c.temperature_c).label("max_c"),
               sa.func.sum(rd.c.temperature_c).label("sum_c"), sa.func.count().label("count"))
    in_hour = (rd.c.sensor_id == row.sid, rd.c.measured_at >= row.hour, rd.c.measured_at < row.next_hour)
    if multirow:
        # Each row's hour read by an index range of its own (LATERAL), whatever the planner would guess of a
        # join of the rows with the whole table.
        hour = sa.select(*figures).where(*in_hour).lateral("hour_figures")
        select = sa.select(row.sid, row.hour, *hour.c)
    else:
        select = sa.select(row.sid, row.hour, *figures).where(*in_hour)
    taken = dialect_insert(dialect, ROLLUPS).from_select(["sensor_id", "hour", "min_c", "max_c", "sum_c", "count"],
                                                         select)
    return taken.on_conflict_do_update(
        index_elements=["sensor_id", "hour"],
        set_={c: taken.excluded[c] for c in ("min_c", "max_c", "sum_c", "count")},
    )


class Keeper:
    """Keeps the rollups exact as readings are stored, in the transaction that stores them.

    The taken figures (min, max, sum, count) of each hour a reading fell in are
    recomputed from that hour's readings, so late and duplicate readings leave
    them exact; the held figures those readings can change are marked stale
    (:func:`_mark_stale`). Used by ingest and by the logger-file import.
    """

    def __init__(self, dialect: str) -> None:
        moment = m.UTCDateTime()
        self._taken = ManyRows(dialect, lambda row, multirow: _taken(dialect, row, multirow),
                               sid=sa.String(300), hour=moment, next_hour=moment)
        self._mark = ManyRows(dialect, _mark_stale, sid=sa.String(300), lo=moment, hi=moment, first_at=moment,
                              last_at=moment, after_hi=moment)

    def series_stored(self, conn: sa.Connection, sensor_id: str, times: Sequence[datetime]) -> None:
        """:meth:`readings_stored` for one sensor's readings in time order (a logger file)."""
        if not times:
            return
        hours: list[datetime] = []
        next_hour = times[0]
        for at in times:
            if at >= next_hour:
                hours.append(floor_hour(at))
                next_hour = hours[-1] + HOUR
        self._write(conn, [(sensor_id, hour) for hour in hours], {sensor_id: (times[0], times[-1])})

    def readings_stored(self, conn: sa.Connection, stored: Iterable[tuple[str, datetime]]) -> None:
        """Readings (sensor id, measured time) were just inserted (or found there already) in ``conn``'s
        transaction: recompute their hours' taken figures and mark the held figures they change stale."""
        spans: dict[str, tuple[datetime, datetime]] = {}
        hours: set[tuple[str, datetime]] = set()
        sensor, hour, next_hour = "", datetime.min.replace(tzinfo=UTC), datetime.min.replace(tzinfo=UTC)
        for sensor_id, at in stored:
            if sensor_id != sensor or not hour <= at < next_hour:  # readings mostly come in order
                sensor, hour = sensor_id, floor_hour(at)
                next_hour = hour + HOUR
                hours.add((sensor_id, hour))
            span = spans.get(sensor_id)
            if span is None:
                spans[sensor_id] = (at, at)
            elif at < span[0] or at > span[1]:
                spans[sensor_id] = (min(span[0], at), max(span[1], at))
        if hours:
            self._write(conn, sorted(hours), spans)

    def _write(self, conn: sa.Connection, hours: Sequence[tuple[str, datetime]],
               spans: dict[str, tuple[datetime, datetime]]) -> None:
        self._taken.execute(conn, [(sid, hour, hour + HOUR) for sid, hour in hours])
        # The held figures of these hours, and of the hours of the readings just before and after, go stale.
        self._mark.execute(conn, [(sid, floor_hour(first), floor_hour(last), first, last, floor_hour(last) + HOUR)
                                  for sid, (first, last) in sorted(spans.items())])


def _stale(conn: sa.Connection, limit: int) -> dict[str, list[tuple[datetime, int]]]:
    """Up to ``limit`` stale hours, by sensor: (hour, revision) in hour order."""
    r = ROLLUPS
    found: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
    query = (sa.select(r.c.sensor_id, r.c.hour, r.c.revision).where(r.c.held_s.is_(None))
             .order_by(r.c.sensor_id, r.c.hour).limit(limit))
    for sensor_id, hour, revision in conn.execute(query):
        found[sensor_id].append((hour, revision))
    return found


def sensor_readings(conn: sa.Connection, sensor_id: str, first_hour: datetime,
                    last_hour: datetime) -> list[tuple[datetime, float]]:
    """The sensor's readings of the hours from ``first_hour`` to ``last_hour``, with the one before and the one
    after them: what :func:`fridge_monitor.core.rollups.hour_figures` needs."""
    rd = READINGS
    end = last_hour + HOUR
    before = sa.select(sa.func.max(rd.c.measured_at)).where(rd.c.sensor_id == sensor_id, rd.c.measured_at < first_hour)
    after = sa.select(sa.func.min(rd.c.measured_at)).where(rd.c.sensor_id == sensor_id, rd.c.measured_at >= end)
    query = (
        sa.select(rd.c.measured_at, rd.c.temperature_c)
        .where(rd.c.sensor_id == sensor_id,
               rd.c.measured_at >= sa.func.coalesce(before.scalar_subquery(), first_hour),
               rd.c.measured_at <= sa.func.coalesce(after.scalar_subquery(), end))
        .order_by(rd.c.measured_at)
    )
    return [(at, celsius) for at, celsius in conn.execute(query)]


def _update_statement() -> sa.Update:
    r = ROLLUPS
    return (
        sa.update(r)
        .where(r.c.sensor_id == sa.bindparam("sid"), r.c.hour == sa.bindparam("at_hour"),
               r.c.revision == sa.bindparam("seen"))
        .values({c: sa.bindparam(f"v_{c}") for c in (
            "min_c", "max_c", "sum_c", "count", "held_s", "held_c_s", "arrhenius_s", "held_min_c", "held_min_at",
            "held_max_c", "held_max_at", "longest_step_s")})
    )


def _rows(sensor_id: str, figures: Sequence[HourFigures], revisions: dict[datetime, int]) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for f in figures:
        if f.count == 0:
            continue  # no reading taken in it (cannot be: rows exist for hours with readings): left stale
        rows.append({
            "sid": sensor_id, "at_hour": f.hour, "seen": revisions[f.hour],
            "v_min_c": f.min_c, "v_max_c": f.max_c, "v_sum_c": f.sum_c, "v_count": f.count,
            "v_held_s": f.held_s, "v_held_c_s": f.held_c_s, "v_arrhenius_s": f.arrhenius_s,
            "v_held_min_c": f.held_min_c, "v_held_min_at": f.held_min_at,
            "v_held_max_c": f.held_max_c, "v_held_max_at": f.held_max_at, "v_longest_step_s": f.longest_step_s,
        })
    return rows


def _recompute(conn: sa.Connection, sensor_id: str, hours: list[tuple[datetime, int]]) -> list[dict[str, object]]:
    revisions = dict(hours)
    readings = sensor_readings(conn, sensor_id, hours[0][0], hours[-1][0])
    return _rows(sensor_id, hour_figures(readings, revisions), revisions)


def refresh(engine: sa.Engine, limit: int = BATCH_HOURS) -> int:
    """Recompute up to ``limit`` stale hours; how many were written (an hour a reading changed meanwhile is
    left stale for the next round). Reads and writes in separate short transactions, one sensor at a time,
    so that ingest is never held up for long."""
    with engine.connect() as conn:
        stale = _stale(conn, limit)
    written = 0
    for sensor_id, hours in stale.items():
        with engine.connect() as conn:
            rows = _recompute(conn, sensor_id, hours)
        if rows:
            with engine.begin() as conn:
                written += conn.execute(_update_statement(), rows).rowcount
    return written


def refresh_all(conn: sa.Connection) -> int:
    """Recompute every stale hour on this connection, in its transaction (the migration that adds the held
    figures); how many were written."""
    written = 0
    while stale := _stale(conn, BATCH_HOURS):
        round_written = 0
        for sensor_id, hours in stale.items():
            rows = _recompute(conn, sensor_id, hours)
            if rows:
                round_written += conn.execute(_update_statement(), rows).rowcount
        if round_written == 0:
            break  # nothing left that can be computed
        written += round_written
        log.info("hourly rollups: %d hours recomputed", written)
    return written


def held_hours(conn: sa.Connection, sensor_id: str, first_hour: datetime,
               last_hour: datetime) -> dict[datetime, HourFigures]:
    """The sensor's hours from ``first_hour`` to ``last_hour`` whose held figures are up to date.

    For speed (a year is 8,760 rows) the figures come without the instants the
    lowest and highest temperatures first held: ``held_min_at`` and
    ``held_max_at`` are the hour's start, and :func:`first_held` gives them.
    """
    r = ROLLUPS
    query = sa.select(epoch_seconds(conn, r.c.hour), r.c.count, r.c.held_s, r.c.held_c_s, r.c.arrhenius_s,
                      r.c.held_min_c, r.c.held_max_c, r.c.longest_step_s).where(
        r.c.sensor_id == sensor_id, r.c.hour >= first_hour, r.c.hour <= last_hour, r.c.held_s.is_not(None))
    found = {}
    for epoch, count, held_s, held_c_s, arrhenius_s, low, high, longest in conn.execute(query):
        hour = datetime.fromtimestamp(int(epoch), UTC)
        found[hour] = HourFigures(hour, count, None, None, 0.0, held_s, held_c_s, arrhenius_s, low, hour, high, hour,
                                  longest)
    return found


DAY_S = 86_400
WHOLE_S = 3600 - 1e-6  # an hour's held seconds, to within rounding


def held_days(conn: sa.Connection, sensor_id: str, first_day: datetime, end_day: datetime) -> dict[datetime, HeldSpan]:
    """The sensor's up-to-date held figures added up per UTC day, from ``first_day`` to before ``end_day``
    (both midnights): 365 rows for a year instead of 8,760."""
    r = ROLLUPS
    day = (epoch_seconds(conn, r.c.hour) // DAY_S).label("day")
    query = (
        sa.select(day, sa.func.count(), sa.func.sum(sa.case((r.c.held_s >= WHOLE_S, 1), else_=0)),
                  sa.func.sum(r.c.count), sa.func.sum(r.c.held_s), sa.func.sum(r.c.held_c_s),
                  sa.func.sum(r.c.arrhenius_s), sa.func.min(r.c.held_min_c), sa.func.max(r.c.held_max_c),
                  sa.func.max(r.c.longest_step_s))
        .where(r.c.sensor_id == sensor_id, r.c.hour >= first_day, r.c.hour < end_day, r.c.held_s.is_not(None))
        .group_by(day)
    )
    found = {}
    for number, hours, whole, count, held_s, held_c_s, arrhenius_s, low, high, longest in conn.execute(query):
        start = datetime.fromtimestamp(int(number) * DAY_S, UTC)
        found[start] = HeldSpan(start, int(hours), int(whole), int(count), float(held_s), float(held_c_s),
                                float(arrhenius_s), low, high, float(longest))
    return found


def first_held(conn: sa.Connection, sensor_id: str, start: datetime, end: datetime, celsius: float, *,
               lowest: bool) -> datetime | None:
    """When ``celsius``, the lowest (or highest) temperature held in the sensor's hours ``[start, end)``,
    first held."""
    r = ROLLUPS
    value, at = (r.c.held_min_c, r.c.held_min_at) if lowest else (r.c.held_max_c, r.c.held_max_at)
    return conn.scalar(sa.select(at).where(r.c.sensor_id == sensor_id, r.c.hour >= start, r.c.hour < end,
                                           r.c.held_s.is_not(None), value == celsius).order_by(r.c.hour).limit(1))


def stale_count(conn: sa.Connection) -> int:
    return int(conn.scalar(sa.select(sa.func.count()).select_from(ROLLUPS).where(ROLLUPS.c.held_s.is_(None))) or 0)

