"""A fridge's storage state from its latest readings: pure, with an explicit ``now``."""

from __future__ import annotations

import dataclasses
import enum
from datetime import datetime, timedelta, tzinfo


class State(enum.Enum):
    OK = "OK"
    OUT_OF_RANGE = "OUT OF RANGE"
    NO_DATA = "NO DATA"
    NO_SENSOR = "NO SENSOR"


@dataclasses.dataclass(frozen=True, slots=True)
class Latest:
    """What the database knows about one fridge right now."""

    fridge: str
    low_c: float
    high_c: float
    sensors: int
    measured_at: datetime | None
    temperature_c: float | None
    min_c: float | None
    max_c: float | None


def state(latest: Latest, now: datetime, max_gap: timedelta) -> State:
    """Silence is never OK: no sensor, or no reading within ``max_gap``, is its own state."""
    if latest.sensors == 0:
        return State.NO_SENSOR
    if latest.measured_at is None or latest.temperature_c is None or now - latest.measured_at > max_gap:
        return State.NO_DATA
    if not latest.low_c <= latest.temperature_c <= latest.high_c:
        return State.OUT_OF_RANGE
    return State.OK


def workday_start(now: datetime, tz: tzinfo) -> datetime:
    """Local midnight of ``now``'s day in ``tz`` (the daily min/max window starts here)."""
    local = now.astimezone(tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(now.tzinfo)


def age(now: datetime, then: datetime | None) -> str:
    """How long ago, compactly: "12 s", "4 min", "3 h", "2 d", or "never"."""
    if then is None:
        return "never"
    seconds = max(0, int((now - then).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"
