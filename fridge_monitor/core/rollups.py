"""Hourly figures of one sensor's readings, exact enough to add up into period statistics (pure).

Each reading holds until the sensor's next one: the step ``[tᵢ, tᵢ₊₁)`` at
``Tᵢ``. An hour's *held* figures add up the parts of the closed steps that fall
in it (the newest reading, whose next one has not come, closes no step yet):
seconds, seconds × °C, seconds × the Arrhenius weight of MKT, the lowest and
highest temperature held with the first instant each held, and the longest
step that touched the hour. An hour that closed steps cover from end to end,
none longer than a fridge's allowed gap, is then known exactly as the raw
readings would give it (:func:`fridge_monitor.core.stats.from_hours`).

The *taken* figures (readings taken in the hour: count, min, max, sum) are what
the charts and the daily minimum/maximum log show.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta

from fridge_monitor.core.mkt import arrhenius_weight
from fridge_monitor.core.stats import Part

HOUR = timedelta(hours=1)
HOUR_S = HOUR.total_seconds()


@dataclasses.dataclass(frozen=True, slots=True)
class HourFigures:
    """One sensor's figures for the UTC hour starting at ``hour``."""

    hour: datetime
    count: int  # readings taken in the hour
    min_c: float | None  # of the readings taken in the hour
    max_c: float | None
    sum_c: float
    held_s: float  # seconds of the hour inside closed steps
    held_c_s: float  # Σ seconds × °C
    arrhenius_s: float  # Σ seconds × arrhenius_weight(°C)
    held_min_c: float | None
    held_min_at: datetime | None
    held_max_c: float | None
    held_max_at: datetime | None
    longest_step_s: float  # the longest closed step that overlaps the hour (0: none)


def floor_hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def distinct_in_order(readings: Iterable[tuple[datetime, float]]) -> list[tuple[datetime, float]]:
    """Readings in time order, the first of equal times kept (as :func:`fridge_monitor.core.intervals.steps`)."""
    out: list[tuple[datetime, float]] = []
    for at, celsius in sorted(readings, key=lambda r: r[0]):
        if not out or at != out[-1][0]:
            out.append((at, float(celsius)))
    return out


def hour_figures(readings: Sequence[tuple[datetime, float]], hours: Iterable[datetime]) -> list[HourFigures]:
    """The figures of each of ``hours`` (UTC hour starts) from one sensor's readings.

    ``readings`` must hold every reading of those hours, the last one before
    each hour and the first one after it (where there is one), in any order.
    """
    ordered = distinct_in_order(readings)
    times = [at for at, _ in ordered]
    out = []
    for hour in sorted(set(hours)):
        end = hour + HOUR
        first_taken = bisect.bisect_left(times, hour)
        after_taken = bisect.bisect_left(times, end)
        taken = [celsius for _, celsius in ordered[first_taken:after_taken]]
        held_s = held_c_s = arrhenius_s = longest = 0.0
        low: tuple[float, datetime] | None = None
        high: tuple[float, datetime] | None = None
        # The steps that overlap the hour start at the last reading at or before its start.
        for i in range(max(0, first_taken - 1), min(after_taken, len(ordered) - 1)):
            (at, celsius), nxt = ordered[i], times[i + 1]
            lo, hi = max(at, hour), min(nxt, end)
            if hi <= lo:
                continue
            seconds = (hi - lo).total_seconds()
            held_s += seconds
            held_c_s += seconds * celsius
            arrhenius_s += seconds * arrhenius_weight(celsius)
            longest = max(longest, (nxt - at).total_seconds())
            if low is None or celsius < low[0]:
                low = (celsius, lo)
            if high is None or celsius > high[0]:
                high = (celsius, lo)
        out.append(HourFigures(
            hour, len(taken), min(taken, default=None), max(taken, default=None), sum(taken),
            held_s, held_c_s, arrhenius_s,
            low[0] if low else None, low[1] if low else None, high[0] if high else None, high[1] if high else None,
            longest,
        ))
    return out


Band = Callable[[float, float], bool | None]
"""Whether every temperature from the first to the second °C is out of range (True), none is (False), or some are
(None)."""


def range_band(low_c: float, high_c: float) -> Band:
    """:data:`Band` for the range ``[low_c, high_c]``, bounds included."""
    def band(lowest: float, highest: float) -> bool | None:
        if low_c <= lowest and highest <= high_c:
            return False
        return True if highest < low_c or lowest > high_c else None
    return band


@dataclasses.dataclass(frozen=True, slots=True)
class HeldSpan:
    """The held figures of a run of a sensor's hours added up (a UTC day, in SQL): ``hours`` rows, ``whole`` of
    them covered by closed steps from end to end, with the lowest and highest temperatures held in any."""

    start: datetime
    hours: int
    whole: int
    count: int
    held_s: float
    held_c_s: float
    arrhenius_s: float
    held_min_c: float
    held_max_c: float
    longest_step_s: float


NOTHING = Part(0.0, 0.0, 0.0, 0.0, 0, None, None)  # an hour whose figures a longer part holds


def judged_span(span: HeldSpan, hours: int, allowed_gap: timedelta, band: Band) -> Part | None:
    """The run of ``hours`` hours as one part, when each hour would be one (:func:`judged_hour`) and the whole
    run lies on one side of the range; None: judge its hours one by one. The part's extremes carry the run's
    start, not the instant they first held."""
    if span.hours != hours or span.whole != hours or span.longest_step_s > allowed_gap.total_seconds():
        return None
    out = band(span.held_min_c, span.held_max_c)
    if out is None:
        return None
    return Part(span.held_s, span.held_c_s, span.arrhenius_s, span.held_s if out else 0.0, span.count,
                (span.held_min_c, span.start), (span.held_max_c, span.start))


def judged_hour(f: HourFigures, allowed_gap: timedelta, band: Band) -> Part | None:
    """The hour as a piece of a period's statistics (:func:`fridge_monitor.core.stats.figures`), when its held
    figures give it exactly; None when its raw readings must be read.

    Exact when closed steps cover the hour from end to end and none is longer
    than the allowed gap (nothing in it is unknown, and no backup sensor stands
    in for the primary), and when ``band`` says the temperatures held in it are
    all in range or all out (its time out of range is none or all of it).
    """
    if f.held_min_c is None or f.held_min_at is None or f.held_max_c is None or f.held_max_at is None:
        return None
    whole = 1 if f.held_s >= HOUR_S - 1e-6 else 0
    part = judged_span(HeldSpan(f.hour, 1, whole, f.count, f.held_s, f.held_c_s, f.arrhenius_s, f.held_min_c,
                                f.held_max_c, f.longest_step_s), 1, allowed_gap, band)
    if part is None:
        return None
    return dataclasses.replace(part, low=(f.held_min_c, f.held_min_at), high=(f.held_max_c, f.held_max_at))


def hour_part(f: HourFigures, low_c: float, high_c: float, allowed_gap: timedelta) -> Part | None:
    """:func:`judged_hour` against the range ``[low_c, high_c]``."""
    return judged_hour(f, allowed_gap, range_band(low_c, high_c))


MERGE_RAW_HOURS = 3  # whole hours between two raw stretches are read raw with them: one query instead of two


def ceil_hour(at: datetime) -> datetime:
    floor = floor_hour(at)
    return floor if floor == at else floor + HOUR


Stretch = tuple[datetime, datetime]


def plan(start: datetime, until: datetime,
         parts_of: Callable[[datetime, datetime], list[Part | None]]) -> tuple[list[Part], list[Stretch]]:
    """How to get the statistics of ``[start, until)``: the parts of the whole hours that the rollups give, and
    the stretches to read raw (the ragged ends, the other hours, and short runs of hours between them).

    ``parts_of(first, end)`` gives, for each whole hour from ``first`` to
    ``end``, its part (:func:`hour_part`) or None.
    """
    first, end = ceil_hour(start), floor_hour(until)
    if first >= end:
        return [], [(start, until)] if start < until else []
    parts = parts_of(first, end)
    k = 0
    while k < len(parts):  # short runs of whole hours between two raw stretches: read with them
        run = k
        while run < len(parts) and parts[run] is not None:
            run += 1
        if 0 < k < run < len(parts) and run - k <= MERGE_RAW_HOURS:
            parts[k:run] = [None] * (run - k)
        k = max(run, k + 1)
    pieces: list[Part] = []
    raw: list[Stretch] = []

    def read_raw(lo: datetime, hi: datetime) -> None:
        if raw and raw[-1][1] == lo:
            raw[-1] = (raw[-1][0], hi)
        elif lo < hi:
            raw.append((lo, hi))

    read_raw(start, first)
    for k, part in enumerate(parts):
        if part is None:
            read_raw(first + HOUR * k, first + HOUR * (k + 1))
        elif part is not NOTHING:
            pieces.append(part)
    read_raw(end, until)
    return pieces, raw
