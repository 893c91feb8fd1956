"""A fridge's storage state from its latest readings: pure, with an explicit ``now``."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, tzinfo
from typing import Any, NamedTuple, Protocol, TypeVar

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


# -- what a fridge shows now -------------------------------------------------------------------------------


class SensorNow(Protocol):
    """What choosing a fridge's current temperature reads of a sensor (a store ``SensorInfo`` has it all)."""

    @property
    def id(self) -> str: ...
    @property
    def role(self) -> str | None: ...
    @property
    def battery_pct(self) -> float | None: ...
    @property
    def last_measured_at(self) -> datetime | None: ...
    @property
    def temperature_c(self) -> float | None: ...


S = TypeVar("S", bound=SensorNow)


class AssignedNow(Protocol):
    """Of a sensor's current assignment to a fridge, what choosing the current temperature reads (a store
    ``Segment`` has it)."""

    @property
    def sensor_id(self) -> str: ...
    @property
    def since(self) -> datetime | None: ...


class Judged(NamedTuple):
    """A fridge as :func:`latest_of` reads it: its name and the range it is judged by (its profile's)."""

    name: str
    low_c: float
    high_c: float


class Assigned(NamedTuple):
    """An :class:`AssignedNow` as a plain tuple (thousands are made for the list of sites)."""

    sensor_id: str
    since: datetime | None


def latest_of(row: Any, current: Sequence[AssignedNow], infos: Mapping[str, S], now: datetime,
              max_gap: timedelta, heard: datetime, min_c: float | None = None,
              max_c: float | None = None) -> tuple[list[S], Latest]:
    """A fridge's sensors now (primary first) and what it shows now, from its current assignments and its
    sensors by id; ``row`` has its ``name``, ``low_c`` and ``high_c``. The one place the "current temperature"
    is chosen: the primary's latest reading if it is fresh, else the newest of any sensor (readings from before
    the sensor came to this fridge do not count). One pass over the sensors: the site list runs it for
    thousands."""
    mine = [infos[seg.sensor_id] for seg in current if seg.sensor_id in infos]
    if len(mine) > 1:
        mine.sort(key=_primary_first)
    since = {seg.sensor_id: seg.since for seg in current}
    fresh: list[float] = []
    candidates: list[tuple[datetime, float, bool]] = []
    fresh_primary: tuple[datetime, float, bool] | None = None
    battery: float | None = None
    for s in mine:
        at, celsius = s.last_measured_at, s.temperature_c
        live = not is_silent(at, now, max_gap, heard)
        if celsius is not None and live:
            fresh.append(celsius)
        if s.battery_pct is not None and (battery is None or s.battery_pct < battery):
            battery = s.battery_pct
        if at is not None and celsius is not None and ((came := since.get(s.id)) is None or at >= came):
            candidate = (at, celsius, s.role == "primary")
            candidates.append(candidate)
            if fresh_primary is None and candidate[2] and live:
                fresh_primary = candidate
    shown = fresh_primary or (max(candidates) if candidates else None)
    latest = Latest(
        fridge=row.name, low_c=row.low_c, high_c=row.high_c, sensors=len(current),
        measured_at=shown[0] if shown else None, temperature_c=shown[1] if shown else None,
        min_c=min_c, max_c=max_c, battery_pct=battery, fresh_c=tuple(fresh), heard_until=heard,
    )
    return mine, latest


def _primary_first(sensor: SensorNow) -> tuple[bool, str]:
    return sensor.role != "primary", sensor.id
