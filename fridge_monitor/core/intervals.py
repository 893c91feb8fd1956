"""Time between readings: each reading holds until the next one, at most ``allowed_gap``; the rest is unknown.

The alarm rules (:mod:`fridge_monitor.core.rules`), the daily records and the
statistics all cut a series into these stretches, so they agree on what was
known and when.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

ZERO = timedelta(0)


def is_number(value: Any) -> bool:
    """A finite int or float (a bool is not a number here)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclasses.dataclass(frozen=True, slots=True)
class Interval:
    """A stretch of time at one known temperature, or unknown (``temp_c`` None) where readings are too far apart."""

    start: datetime
    end: datetime
    temp_c: float | None

    @property
    def length(self) -> timedelta:
        return self.end - self.start


@dataclasses.dataclass(frozen=True, slots=True)
class Step:
    """One reading and how long it holds: known until ``held_until``, then unknown until ``until``."""

    at: datetime
    celsius: float
    held_until: datetime
    until: datetime

    @property
    def gap_after(self) -> bool:
        return self.held_until < self.until


def steps(readings: Sequence[tuple[datetime, float]], end: datetime, allowed_gap: timedelta) -> list[Step]:
    """Readings in time order (first of equal times wins; later than ``end`` dropped) with their holding times."""
    if allowed_gap <= ZERO:
        raise ValueError(f"allowed_gap must be longer than zero, not {allowed_gap}")
    ordered: list[tuple[datetime, float]] = []
    for at, celsius in sorted(readings, key=lambda r: r[0]):
        if at.tzinfo is None:
            raise ValueError(f"reading time {at.isoformat()} has no time zone; pass aware (UTC) datetimes")
        if not is_number(celsius):
            raise ValueError(f"reading at {at.isoformat()} has no usable temperature ({celsius!r})")
        if at <= end and (not ordered or at != ordered[-1][0]):
            ordered.append((at, float(celsius)))
    steps = []
    for i, (at, celsius) in enumerate(ordered):
        until = ordered[i + 1][0] if i + 1 < len(ordered) else end
        steps.append(Step(at, celsius, min(until, at + allowed_gap), until))
    return steps


def intervals(readings: Sequence[tuple[datetime, float]], end: datetime, allowed_gap: timedelta) -> list[Interval]:
    """The series as known and unknown stretches, from the first reading to ``end``.

    Each reading holds until the next one (the last until ``end``), at most
    ``allowed_gap``; the rest of a longer gap is an unknown interval. Readings
    after ``end`` are ignored; zero-length intervals are left out.
    """
    out: list[Interval] = []
    for step in steps(readings, end, allowed_gap):
        if step.held_until > step.at:
            out.append(Interval(step.at, step.held_until, step.celsius))
        if step.gap_after:
            out.append(Interval(step.held_until, step.until, None))
    return out
