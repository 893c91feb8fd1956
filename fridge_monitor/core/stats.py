"""Period statistics of a fridge's readings: min, max, time-weighted mean, MKT, time out of range, coverage (pure)."""

from __future__ import annotations

import bisect
import dataclasses
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from fridge_monitor.core.intervals import Interval, intervals
from fridge_monitor.core.mkt import mean_kinetic_temperature

ZERO = timedelta(0)


@dataclasses.dataclass(frozen=True, slots=True)
class PeriodStats:
    """What the readings say about ``[start, end)``.

    Each reading holds until the next one, at most the allowed gap; time beyond
    that is unknown and counts nowhere but against ``coverage`` (known time ÷
    the period's length, 0..1). ``min_c``/``max_c`` are over the temperatures
    that held during the period — a reading taken before it holds into it, so
    that the extremes agree with ``time_out_of_range_s``. ``mean_c`` is the
    time-weighted mean, ``mkt_c`` the USP mean kinetic temperature (ΔH/R =
    10 000 K) with the same weights. The figures are None when no time is known.
    ``readings`` counts the readings taken in the period. ``samples`` holds
    the known seconds at each temperature, ``(seconds, °C)`` in °C order, so
    that periods combine exactly (:func:`combine`).
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
    samples: tuple[tuple[float, float], ...] = ()

    @property
    def coverage(self) -> float:
        return min(1.0, self.known_s / self.period_s) if self.period_s > 0 else 0.0


def _by_temperature(samples: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    """Seconds added up per temperature: exact for the mean and MKT, and a year of minute readings
    at a sensor's resolution comes down to a few hundred samples."""
    seconds: dict[float, float] = defaultdict(float)
    for weight, celsius in samples:
        seconds[celsius] += weight
    return [(weight, celsius) for celsius, weight in sorted(seconds.items())]


def _figures(start: datetime, end: datetime, samples: Sequence[tuple[float, float]], out_s: float,
             period_s: float, readings: int) -> PeriodStats:
    samples = _by_temperature(samples)
    known = math.fsum(w for w, _ in samples)
    if known <= 0:
        return PeriodStats(start, end, None, None, None, None, 0.0, 0.0, period_s, readings, ())
    values = [c for _, c in samples]
    mean = math.fsum(w * c for w, c in samples) / known
    # Rounding must not put the mean outside the values it averages (a constant series returns itself).
    mean = min(max(mean, min(values)), max(values))
    return PeriodStats(start, end, min(values), max(values), mean, mean_kinetic_temperature(samples), out_s, known,
                       period_s, readings, tuple(samples))


def stats_over(spans: Sequence[Interval], start: datetime, end: datetime, low_c: float, high_c: float) -> PeriodStats:
    """Statistics of ``[start, end)`` from the known and unknown stretches of
    :func:`fridge_monitor.core.intervals.intervals`.

    ``spans`` must be in time order (as ``intervals`` gives them); several
    periods can be cut from one list without building it again.
    """
    if end < start:
        raise ValueError(f"the period ends ({end.isoformat()}) before it starts ({start.isoformat()})")
    seconds_at: dict[float, float] = defaultdict(float)
    out = ZERO
    readings = 0  # every reading starts one known span (readings at one instant are one)
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
        seconds_at[span.temp_c] += overlap.total_seconds()
        if not low_c <= span.temp_c <= high_c:
            out += overlap
    samples = [(weight, celsius) for celsius, weight in seconds_at.items()]
    return _figures(start, end, samples, out.total_seconds(), (end - start).total_seconds(), readings)


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
    period lengths add up; the mean and MKT weigh every sample by its time.

    The combined ``start``/``end`` are the earliest start and latest end. Raises ValueError on no parts.
    """
    parts = list(parts)
    if not parts:
        raise ValueError("combining statistics needs at least one period")
    samples = [s for part in parts for s in part.samples]
    return _figures(min(p.start for p in parts), max(p.end for p in parts), samples,
                    math.fsum(p.time_out_of_range_s for p in parts), math.fsum(p.period_s for p in parts),
                    sum(p.readings for p in parts))
