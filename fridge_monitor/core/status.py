"""A fridge's storage state from its latest readings: pure, with an explicit ``now``."""

from __future__ import annotations

import dataclasses
import enum
from datetime import datetime, timedelta, tzinfo

LOW_BATTERY_PCT = 20.0  # DOMAIN.md: "Low battery (e.g. < 20 %) warns"


class State(enum.Enum):
    OK = "OK"
    OUT_OF_RANGE = "OUT OF RANGE"
    NO_DATA = "NO DATA"
    LOW_BATTERY = "LOW BATTERY"
    NO_SENSOR = "NO SENSOR"
    ALERT = "ALERT"  # storage looks fine now, but an alert still waits for an acknowledgement

    @property
    def icon(self) -> str:
        """A symbol that carries the state without colour (shown next to its text)."""
        return _ICONS[self]

    @property
    def css(self) -> str:
        return self.value.lower().replace(" ", "-")


_ICONS = {
    State.OK: "✓",
    State.OUT_OF_RANGE: "⚠",
    State.NO_DATA: "?",
    State.LOW_BATTERY: "🔋",
    State.NO_SENSOR: "∅",
    State.ALERT: "⚑",
}


@dataclasses.dataclass(frozen=True, slots=True)
class Latest:
    """What the database knows about one fridge right now.

    ``measured_at``/``temperature_c`` is the reading shown as "current";
    ``fresh_c`` holds the latest value of every sensor that reported within
    the allowed gap (any of them out of range makes the fridge out of range);
    ``battery_pct`` is the lowest battery level among its assigned sensors;
    ``heard_until``: how far ingest has caught up with the broker, while it
    still drains a backlog (:func:`fridge_monitor.core.heartbeat.heard_until`).
    """

    fridge: str
    low_c: float
    high_c: float
    sensors: int
    measured_at: datetime | None
    temperature_c: float | None
    min_c: float | None
    max_c: float | None
    battery_pct: float | None = None
    fresh_c: tuple[float, ...] | None = None
    heard_until: datetime | None = None  # silence is judged at this moment (see is_silent)


def state(latest: Latest, now: datetime, max_gap: timedelta) -> State:
    """The storage state. Silence is never OK: no sensor, or no reading within ``max_gap``, is its own state."""
    if latest.sensors == 0:
        return State.NO_SENSOR
    if latest.temperature_c is None or is_silent(latest.measured_at, now, max_gap, latest.heard_until):
        return State.NO_DATA
    values = latest.fresh_c if latest.fresh_c else (latest.temperature_c,)
    if any(not latest.low_c <= value <= latest.high_c for value in values):
        return State.OUT_OF_RANGE
    return State.OK


def status(latest: Latest, now: datetime, max_gap: timedelta, low_battery_pct: float = LOW_BATTERY_PCT, *,
           alerts_waiting: int = 0) -> State:
    """What a nurse is shown: the storage state, except that an OK fridge warns of a weak sensor battery,
    and of alerts still waiting for an acknowledgement (an excursion that is over still needs one).

    An out-of-range or silent fridge keeps that state (it matters more than either).
    """
    current = state(latest, now, max_gap)
    if current is State.OK and alerts_waiting:
        return State.ALERT
    if current is State.OK and latest.battery_pct is not None and latest.battery_pct < low_battery_pct:
        return State.LOW_BATTERY
    return current


def is_silent(measured_at: datetime | None, now: datetime, max_gap: timedelta,
              heard_until: datetime | None = None) -> bool:
    """A sensor with no reading within ``max_gap`` is silent: the one rule for alarms, dashboard and API.

    While ingest still drains a backlog from the broker, the gap is measured up to ``heard_until``
    (:func:`fridge_monitor.core.heartbeat.heard_until`), not ``now``: everything the broker held then is
    stored, but a reading sent since may still wait in the queue, and a backlog is not silence.
    """
    moment = now if heard_until is None else min(now, heard_until)
    return measured_at is None or moment - measured_at > max_gap


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
