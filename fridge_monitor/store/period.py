"""A fridge's statistics over a period, from the hourly rollups for whole hours and raw readings elsewhere.

The figures equal :func:`fridge_monitor.core.stats.period_stats` over all the
raw readings (to within rounding), at a cost that grows with the number of
hours, not of readings: a year is 8,760 rollup rows. An hour is read raw when
it is not whole inside the period, when its held figures are stale, when its
sensor changed within the allowed gap of it, when a step in it is longer than
the allowed gap (the primary sensor was silent and part of it is unknown, or
a backup stood in), or when its temperatures straddle a limit of the range.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy.orm as so

from fridge_monitor.core import exposure, products
from fridge_monitor.core.daily import first_at_or_after
from fridge_monitor.core.intervals import intervals
from fridge_monitor.core.lots import Holding
from fridge_monitor.core.rollups import (
    HOUR,
    NOTHING,
    Band,
    ceil_hour,
    distinct_in_order,
    floor_hour,
    judged_hour,
    judged_span,
    plan,
    range_band,
)
from fridge_monitor.core.stats import Part, PeriodStats, figures, part_of, period_stats, stats_over
from fridge_monitor.store import rollups
from fridge_monitor.store.series import Segment, load_series, segments


def _primary_sensors(segs: Sequence[Segment], first: datetime, count: int, gap: timedelta) -> list[str | None]:
    """For each of ``count`` hours from ``first``: the primary sensor assigned from a gap before the hour to a gap
    after it, alone (no other primary assignment touches that stretch); else None."""
    def at(k: float) -> int:
        return min(max(int(k), 0), count)

    overlaps = [0] * (count + 1)  # differences: how many primary assignments touch each hour's stretch
    covers: list[tuple[int, int, str]] = []
    for seg in (s for s in segs if s.role == "primary"):
        # Touches: since < H + 1 h + gap and until > H - gap. Covers: since <= H - gap and until >= H + 1 h + gap.
        touch_lo = 0 if seg.since is None else at(math.floor((seg.since - gap - HOUR - first) / HOUR) + 1)
        touch_hi = count if seg.until is None else at(math.ceil((seg.until + gap - first) / HOUR))
        overlaps[touch_lo] += 1
        overlaps[touch_hi] -= 1
        cover_lo = 0 if seg.since is None else at(math.ceil((seg.since + gap - first) / HOUR))
        cover_hi = count if seg.until is None else at(math.floor((seg.until - gap - HOUR - first) / HOUR) + 1)
        covers.append((cover_lo, cover_hi, seg.sensor_id))
    sensors: list[str | None] = [None] * count
    for lo, hi, sensor_id in covers:
        sensors[lo:hi] = [sensor_id] * max(0, hi - lo)
    running = 0
    for k in range(count):
        running += overlaps[k]
        if running != 1:
            sensors[k] = None
    return sensors


Served = dict[datetime, tuple[str, datetime]]
"""The parts that came from the rollups: their start -> (sensor, end)."""

DAY = timedelta(days=1)


def _hour_parts(session: so.Session, fridge_id: int, first: datetime, end: datetime, gap: timedelta,
                band: Band, served: Served | None = None) -> list[Part | None]:
    """For each whole hour from ``first`` to ``end``: its part from the rollups, or None (read it raw).

    A UTC day whose hours all qualify comes as one part (in its first hour; the
    others hold :data:`~fridge_monitor.core.rollups.NOTHING`), added up in SQL;
    the hours of the other days are judged one by one. ``served`` gets each part
    that came from the rollups.
    """
    conn = session.connection()
    segs = segments(conn, [fridge_id], first - gap, end + gap)
    count = int((end - first) / HOUR)
    hours = [first + HOUR * k for k in range(count)]
    sensors = _primary_sensors(segs, first, count, gap)
    served = {} if served is None else served
    parts: list[Part | None] = [None] * count
    for sensor_id in sorted({s for s in sensors if s is not None}):
        day_one = first if first.hour == 0 else first.replace(hour=0) + DAY
        days = [day for day in (day_one + DAY * n for n in range(max(0, int((end - day_one) / DAY))))
                if set(sensors[int((day - first) / HOUR):int((day - first) / HOUR) + 24]) == {sensor_id}]
        by_day = rollups.held_days(conn, sensor_id, days[0], days[-1] + DAY) if days else {}
        whole_days: set[int] = set()
        for day in days:
            span = by_day.get(day)
            part = judged_span(span, 24, gap, band) if span is not None else None
            if part is not None:
                k = int((day - first) / HOUR)
                parts[k:k + 24] = [part] + [NOTHING] * 23
                whole_days.update(range(k, k + 24))
                served[day] = (sensor_id, day + DAY)
        rest = [k for k, s in enumerate(sensors) if s == sensor_id and k not in whole_days]
        for run in _runs(rest):
            held = rollups.held_hours(conn, sensor_id, hours[run[0]], hours[run[-1]])
            for k in run:
                found = held.get(hours[k])
                part = judged_hour(found, gap, band) if found is not None else None
                if part is not None:
                    parts[k] = part
                    served[hours[k]] = (sensor_id, hours[k] + HOUR)
    return parts


def _runs(indices: list[int]) -> list[list[int]]:
    """Consecutive runs of ascending indices."""
    runs: list[list[int]] = []
    for k in indices:
        if runs and runs[-1][-1] == k - 1:
            runs[-1].append(k)
        else:
            runs.append([k])
    return runs


def _first_held(session: so.Session, found: PeriodStats, served: Served) -> PeriodStats:
    """The exact instants the extremes first held, where they came from the rollups (whose parts carry their
    start: :func:`fridge_monitor.core.rollups.judged_span`)."""
    conn = session.connection()
    min_at, max_at = found.min_at, found.max_at
    if min_at is not None and min_at in served and found.min_c is not None:
        sensor_id, until = served[min_at]
        min_at = rollups.first_held(conn, sensor_id, min_at, until, found.min_c, lowest=True)
    if max_at is not None and max_at in served and found.max_c is not None:
        sensor_id, until = served[max_at]
        max_at = rollups.first_held(conn, sensor_id, max_at, until, found.max_c, lowest=False)
    return dataclasses.replace(found, min_at=min_at, max_at=max_at)


def fridge_periods_stats(session: so.Session, fridge_id: int, periods: Sequence[tuple[datetime, datetime]],
                         low_c: float, high_c: float, allowed_gap: timedelta) -> list[PeriodStats]:
    """The fridge's statistics over each of ``periods`` (``[start, until)`` in time order, none after now, not
    overlapping: the days of a log) against ``[low_c, high_c]``, reading the rollups once."""
    if not periods:
        return []
    first, end = ceil_hour(periods[0][0]), floor_hour(periods[-1][1])
    hourly: list[Part | None] = []
    served: Served = {}
    if first < end:
        hourly = _hour_parts(session, fridge_id, first, end, allowed_gap, range_band(low_c, high_c), served)

    def known(lo: datetime, hi: datetime) -> list[Part | None]:
        # Every period's whole hours lie within [first, end): a slice of the hours judged once.
        return hourly[int((lo - first) / HOUR):int((hi - first) / HOUR)]

    out = []
    for start, until in periods:
        pieces, raw = plan(start, until, known)
        for lo, hi in raw:
            series = load_series(session, fridge_id, lo - 2 * allowed_gap, hi, allowed_gap)
            pieces.append(part_of(period_stats(series, lo, hi, low_c, high_c, allowed_gap)))
        out.append(_first_held(session, figures(start, until, pieces), served))
    return out


def fridge_period_stats(session: so.Session, fridge_id: int, start: datetime, until: datetime, low_c: float,
                        high_c: float, allowed_gap: timedelta) -> PeriodStats:
    """The fridge's statistics over ``[start, until)`` (``until`` not after now) against ``[low_c, high_c]``."""
    return fridge_periods_stats(session, fridge_id, [(start, until)], low_c, high_c, allowed_gap)[0]


FIRST_READING_LOOK = timedelta(hours=2)  # how far after the workday's start the first reading is looked for first


def first_reading(session: so.Session, fridge_id: int, begins: datetime, before: datetime,
                  allowed_gap: timedelta) -> tuple[datetime, float] | None:
    """The fridge's first reading (as the rules judge its series) in ``[begins, before)``: looked for in the
    first two hours, then in the rest."""
    lo = begins
    while lo < before:
        hi = min(before, lo + FIRST_READING_LOOK) if lo == begins else before
        series = distinct_in_order(load_series(session, fridge_id, lo - 2 * allowed_gap, hi, allowed_gap))
        found = first_at_or_after(series, lo, hi)
        if found is not None:
            return found
        lo = hi
    return None


def lot_seen(session: so.Session, fridge_id: int, holding: Holding, product: products.Product,
             allowed_gap: timedelta, now: datetime) -> exposure.TemperaturesSeen:
    """What a lot saw in this fridge during one holding (``until`` None: still there, until ``now``), judged
    against its product's ranges for the units held: :func:`fridge_monitor.core.exposure.temperatures_seen`,
    from the rollups for whole hours. The reading that held when the lot arrived counts among its readings."""
    start, until = holding.since, min(holding.until or now, now)
    if until <= start:
        return exposure.temperatures_seen([], [holding], product, allowed_gap, now)
    band = exposure.band(product, holding)

    def parts_of(first: datetime, end: datetime) -> list[Part | None]:
        parts = _hour_parts(session, fridge_id, first, end, allowed_gap, band)
        if first == start:
            parts[0] = None  # read raw: the reading before the lot arrived counts
        return parts

    pieces, raw = plan(start, until, parts_of)
    arrived_during: int = 0
    for lo, hi in raw:
        spans = intervals(load_series(session, fridge_id, lo - 2 * allowed_gap, hi, allowed_gap), hi, allowed_gap)
        pieces.append(part_of(stats_over(spans, lo, hi, 0.0, 0.0,
                                         outside=lambda c: exposure.outside(product, c, holding))))
        if lo == start:
            arrived_during = sum(1 for span in spans if span.temp_c is not None and span.start < start < span.end)
    found = figures(start, until, pieces)
    return exposure.TemperaturesSeen(
        found.min_c, found.max_c, timedelta(seconds=found.known_s), timedelta(seconds=found.time_out_of_range_s),
        found.mkt_c, found.readings + arrived_during, found.arrhenius_s)
