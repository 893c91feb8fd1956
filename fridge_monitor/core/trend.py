"""The trend pre-alarm: warn that a fridge is heading out of its range before it gets there (pure).

A fridge's temperature rises and falls all day: the compressor's off-cycle,
door openings, defrost. None of that is a warning. What is: a rise (or fall)
that goes on past what this fridge's own rises have done lately — longer than
its longest recent rise, or higher than its recent ceiling — and that, at its
current slope, will cross the range within ``within``. Its history
(:func:`learn`) is the last days of readings; the current rise is read
backwards from the newest reading (:func:`current_run`); the slope is the
Theil–Sen estimate (the median of pairwise slopes, robust to a spike) over the
last ``fit`` of the run.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Sequence
from datetime import datetime, timedelta

KIND = "trend"
TOLERANCE_C = 0.15  # a run survives a dip this small (noise, the sensor's resolution)
MIN_RUN = timedelta(minutes=10)  # a door opening's spike is shorter: never a trend
FIT = timedelta(minutes=15)
MIN_POINTS = 4
TYPICAL_QUANTILE = 0.9
MARGIN_C = 0.2
LONGER_BY = timedelta(minutes=5)
NEARLY = timedelta(minutes=3)
MIN_HISTORY = timedelta(hours=2)  # less than this of readings says nothing yet of a fridge's usual cycles

Points = Sequence[tuple[datetime, float]]


@dataclasses.dataclass(frozen=True, slots=True)
class Run:
    """The current rise (direction +1) or fall (-1): from its start to the newest reading."""

    direction: int
    start: datetime
    start_c: float
    end: datetime
    end_c: float
    points: tuple[tuple[datetime, float], ...]

    @property
    def length(self) -> timedelta:
        return self.end - self.start


@dataclasses.dataclass(frozen=True, slots=True)
class Normal:
    """What this fridge's temperature has done lately without leaving its range."""

    ceiling_c: float | None  # the highest in-range reading
    floor_c: float | None  # the lowest
    typical_high_c: float | None  # the top of its usual readings (a high quantile)
    typical_low_c: float | None
    longest_rise: timedelta  # its longest rise that came back without an excursion
    longest_fall: timedelta


@dataclasses.dataclass(frozen=True, slots=True)
class Forecast:
    """A run heading out of range: where, how fast, and when it would cross."""

    direction: int
    limit_c: float
    rate_c_per_h: float
    minutes: float  # until the predicted crossing
    at: datetime  # the newest reading
    level_c: float
    run_start: datetime

    def title(self) -> str:
        verb = "Rising" if self.direction > 0 else "Falling"
        return f"{verb} toward {self.limit_c:.1f} °C: about {self.minutes:.0f} min to go"

    def detail(self, fridge: str) -> str:
        return (f"{fridge} is heading for {self.limit_c:.1f} °C in about {self.minutes:.0f} min "
                f"({'rising' if self.direction > 0 else 'falling'} {abs(self.rate_c_per_h):.1f} °C/h, now "
                f"{self.level_c:.1f} °C, for {(self.at - self.run_start).total_seconds() / 60:.0f} min), longer "
                "or further than its usual cycles go. Check the door, the power and the compressor now, and get "
                "ready to move the products before it leaves the range.")


def current_run(points: Points, direction: int) -> Run | None:
    """The rise (``direction`` +1) or fall (-1) that ends with the newest reading: walking back while the readings
    stay below (above) the lowest (highest) seen so far by at most :data:`TOLERANCE_C`."""
    return _run_ending(points, len(points) - 1, direction)


def _run_ending(points: Points, last: int, direction: int) -> Run | None:
    """:func:`current_run` of ``points[:last + 1]``, without copying the history before the run."""
    if last < 1:
        return None
    end, end_c = points[last]
    extreme, extreme_index = end_c, last
    for index in range(last - 1, -1, -1):
        value = points[index][1]
        if direction * (value - extreme) > TOLERANCE_C:
            break
        if direction * (value - extreme) < 0:
            extreme, extreme_index = value, index
    # The run starts at its lowest (highest) reading, the latest of equal ones, not at a plateau before it.
    run = points[extreme_index:last + 1]
    if len(run) < 2 or direction * (run[-1][1] - run[0][1]) <= 0:
        return None
    return Run(direction, run[0][0], run[0][1], end, end_c, tuple(run))


def slope_per_min(points: Points) -> float | None:
    """Theil–Sen: the median slope over every pair of points, in °C per minute."""
    slopes = [(b[1] - a[1]) / ((b[0] - a[0]).total_seconds() / 60)
              for i, a in enumerate(points) for b in points[i + 1:] if b[0] > a[0]]
    return statistics.median(slopes) if slopes else None


def runs(points: Points, direction: int) -> list[Run]:
    """Every completed rise (fall) in a history: each run ending at a reading after which it turns back by more than
    :data:`TOLERANCE_C`."""
    out = []
    index = 0
    while index < len(points) - 1:
        # Find where this run turns: the extreme before the readings come back by more than the tolerance.
        peak = index
        for later in range(index + 1, len(points)):
            if direction * (points[later][1] - points[peak][1]) >= 0:
                peak = later
            elif direction * (points[peak][1] - points[later][1]) > TOLERANCE_C:
                break
        else:
            break  # still running at the end of the history: not a completed run
        run = _run_ending(points, peak, direction)
        if run is not None:
            out.append(run)
        index = peak + 1
    return out


def learn(history: Points, low_c: float, high_c: float) -> Normal:
    """A fridge's usual behaviour from its recent readings: the quantiles of its in-range readings, and the longest
    rises and falls that did not leave the range. Nothing is known (all None) from less than :data:`MIN_HISTORY`
    or fewer than 20 readings in range."""
    inside = sorted(c for _, c in history if low_c <= c <= high_c)
    if len(inside) < 20 or history[-1][0] - history[0][0] < MIN_HISTORY:
        return Normal(None, None, None, None, timedelta(0), timedelta(0))
    rises = [r.length for r in runs(history, 1) if r.end_c <= high_c]
    falls = [r.length for r in runs(history, -1) if r.end_c >= low_c]
    return Normal(inside[-1], inside[0], inside[int(TYPICAL_QUANTILE * (len(inside) - 1))],
                  inside[int((1 - TYPICAL_QUANTILE) * (len(inside) - 1))], max(rises, default=timedelta(0)),
                  max(falls, default=timedelta(0)))


def forecast(recent: Points, normal: Normal, low_c: float, high_c: float, within: timedelta) -> Forecast | None:
    """A warning when the run ending now has gone on past this fridge's usual ones (longer than its longest recent
    run, or beyond its ceiling), has lasted at least :data:`MIN_RUN`, is still inside the range, and at its
    Theil–Sen slope over the last :data:`FIT` crosses the range within ``within``."""
    for direction, limit, bound, typical, longest in (
            (1, high_c, normal.ceiling_c, normal.typical_high_c, normal.longest_rise),
            (-1, low_c, normal.floor_c, normal.typical_low_c, normal.longest_fall)):
        run = current_run(recent, direction)
        if run is None or run.length < MIN_RUN or direction * (run.end_c - limit) >= 0:
            continue
        # Beyond its ceiling, and as long as its long rises (a defrost) nearly: a spike on a rise is neither.
        beyond = (bound is not None and direction * (run.end_c - bound) > MARGIN_C
                  and run.length >= longest - NEARLY)
        longer = run.length > longest + LONGER_BY and (typical is None or direction * (run.end_c - typical) > 0)
        if not (beyond or longer):
            continue
        fitted = [p for p in run.points if p[0] >= run.end - FIT]
        slope = slope_per_min(fitted) if len(fitted) >= MIN_POINTS else None
        if slope is None or direction * slope <= 0:
            continue
        minutes = (limit - run.end_c) / slope
        if minutes <= within.total_seconds() / 60:
            return Forecast(direction, limit, slope * 60, minutes, run.end, run.end_c, run.start)
    return None


def still_heading(recent: Points, since: datetime, direction: int) -> bool:
    """Whether the rise (fall) a warning was raised on at ``since`` goes on: the run ending now began by then."""
    run = current_run(recent, direction)
    return run is not None and run.start <= since
