"""Period statistics of a fridge's readings: min, max, time-weighted mean, MKT, time out of range, coverage (pure)."""

from __future__ import annotations

import bisect
import dataclasses
import math
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta

from fridge_monitor.core.intervals import Interval, intervals
from fridge_monitor.core.mkt import arrhenius_weight, mkt_from_sums

ZERO = timedelta(0)


@dataclasses.dataclass(frozen=True, slots=True)
class PeriodStats:
    """What the readings say about ``[start, end)``.

    Each reading holds until the next one, at most the allowed gap; time beyond
    that is unknown and counts nowhere but against ``coverage`` (known time ÷
    the period's length, 0..1). ``min_c``/``max_c`` are over the temperatures
    that held during the period — a reading taken before it holds into it, so
    that the extremes agree with ``time_out_of_range_s`` — and ``min_at``/
    ``max_at`` the first instant each held. ``mean_c`` is the time-weighted
    mean, ``mkt_c`` the USP mean kinetic temperature (ΔH/R = 10 000 K) with the
    same weights. The figures are None when no time is known. ``readings``
    counts the readings taken in the period. ``held_c_s`` (Σ seconds × °C) and
    ``arrhenius_s`` (Σ seconds × :func:`~fridge_monitor.core.mkt.arrhenius_weight`)
    are sums, so that periods combine exactly (:func:`combine`).
    """

    start: datetime
    end: datetime
    min_c: float | None
    max_c: float | None
    mean_c: float | None
    mkt_c: float | None
    time_out_of_range_s: float
    known_s: float
    period_s: float
    readings: int = 0
    held_c_s: float = 0.0
    arrhenius_s: float = 0.0
    min_at: datetime | None = None
    max_at: datetime | None = None

    @property
    def coverage(self) -> float:
        return min(1.0, self.known_s / self.period_s) if self.period_s > 0 else 0.0


@dataclasses.dataclass(frozen=True, slots=True)
class Part:
    """Sums over a piece of a period, which add up into the period's figures (:func:`figures`)."""

    known_s: float
    held_c_s: float
    arrhenius_s: float
    out_s: float
    readings: int
    low: tuple[float, datetime] | None  # the lowest temperature held, and the first instant it held
    high: tuple[float, datetime] | None


def _lowest(a: tuple[float, datetime] | None, b: tuple[float, datetime] | None) -> tuple[float, datetime] | None:
    """The lower temperature; of equal ones, the earlier."""
    if a is None or b is None:
        return a or b
    return min(a, b)


def _highest(a: tuple[float, datetime] | None, b: tuple[float, datetime] | None) -> tuple[float, datetime] | None:
    """The higher temperature; of equal ones, the earlier."""
    if a is None or b is None:
        return a or b
    return a if (a[0], b[1]) > (b[0], a[1]) else b


def figures(start: datetime, end: datetime, parts: Iterable[Part]) -> PeriodStats:
    """The statistics of ``[start, end)`` from the sums of the pieces that make it up."""
    parts = list(parts)
    known = math.fsum(p.known_s for p in parts)
    held = math.fsum(p.held_c_s for p in parts)
    arrhenius = math.fsum(p.arrhenius_s for p in parts)
    out = math.fsum(p.out_s for p in parts)
    readings = sum(p.readings for p in parts)
    low: tuple[float, datetime] | None = None
    high: tuple[float, datetime] | None = None
    for p in parts:
        low, high = _lowest(low, p.low), _highest(high, p.high)
    period_s = (end - start).total_seconds()
    if known <= 0 or low is None or high is None:
        return PeriodStats(start, end, None, None, None, None, 0.0, 0.0, period_s, readings)
    # Rounding must not put the mean or MKT outside the values they average (a constant series returns itself).
    mean = min(max(held / known, low[0]), high[0])
    mkt = min(max(mkt_from_sums(known, arrhenius), low[0]), high[0])
    return PeriodStats(start, end, low[0], high[0], mean, mkt, out, known, period_s, readings, held, arrhenius,
                       low[1], high[1])


def part_of(found: PeriodStats) -> Part:
    """A period's statistics as a piece of a longer one."""
    low = (found.min_c, found.min_at) if found.min_c is not None and found.min_at is not None else None
    high = (found.max_c, found.max_at) if found.max_c is not None and found.max_at is not None else None
    return Part(found.known_s, found.held_c_s, found.arrhenius_s, found.time_out_of_range_s, found.readings, low, high)


def stats_over(spans: Sequence[Interval], start: datetime, end: datetime, low_c: float, high_c: float, *,
               outside: Callable[[float], bool] | None = None) -> PeriodStats:
    """Statistics of ``[start, end)`` from the known and unknown stretches of
    :func:`fridge_monitor.core.intervals.intervals`.

    ``spans`` must be in time order (as ``intervals`` gives them); several
    periods can be cut from one list without building it again. Time out of
    range is time outside ``[low_c, high_c]``, or where ``outside(°C)`` says so
    (a lot's product ranges).
    """
    if end < start:
        raise ValueError(f"the period ends ({end.isoformat()}) before it starts ({start.isoformat()})")
    known: list[float] = []
    held: list[float] = []
    arrhenius: list[float] = []
    out = ZERO
    readings = 0  # every reading starts one known span (readings at one instant are one)
    low: tuple[float, datetime] | None = None
    high: tuple[float, datetime] | None = None
    for i in range(bisect.bisect_right(spans, start, key=lambda span: span.end), len(spans)):
        span = spans[i]
        if span.start >= end:
            break
        if span.temp_c is None:
            continue
        readings += span.start >= start
        overlap = min(span.end, end) - max(span.start, start)
        if overlap <= ZERO:
            continue
        seconds = overlap.total_seconds()
        known.append(seconds)
        held.append(seconds * span.temp_c)
        arrhenius.append(seconds * arrhenius_weight(span.temp_c))
        here = (span.temp_c, max(span.start, start))
        low, high = _lowest(low, here), _highest(high, here)
        if (outside(span.temp_c) if outside is not None else not low_c <= span.temp_c <= high_c):
            out += overlap
    part = Part(math.fsum(known), math.fsum(held), math.fsum(arrhenius), out.total_seconds(), readings, low, high)
    return figures(start, end, [part])


def period_stats(series: Sequence[tuple[datetime, float]], start: datetime, end: datetime, low_c: float,
                 high_c: float, allowed_gap: timedelta) -> PeriodStats:
    """Statistics of a fridge's series of ``(measured_at, °C)`` over ``[start, end)``, against ``[low_c, high_c]``.

    Pass the readings from at least ``allowed_gap`` before ``start`` (the last
    one before the period holds into it). For a period still going on, pass
    ``end`` = now: a reading does not hold into the future.
    """
    return stats_over(intervals(series, end, allowed_gap), start, end, low_c, high_c)


def combine(parts: Iterable[PeriodStats]) -> PeriodStats:
    """Several periods as one (a lot's stays in several fridges): known time, time out of range and
    period lengths add up; the mean and MKT weigh every second by its time.

    The combined ``start``/``end`` are the earliest start and latest end; its
    ``period_s`` is the sum of the periods' lengths. Raises ValueError on no parts.
    """
    parts = list(parts)
    if not parts:
        raise ValueError("combining statistics needs at least one period")
    found = figures(min(p.start for p in parts), max(p.end for p in parts), [part_of(p) for p in parts])
    return dataclasses.replace(found, period_s=math.fsum(p.period_s for p in parts))
