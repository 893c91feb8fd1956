"""What a sensor message means once understood: plain values, no I/O.

Every parser in :mod:`fridge_monitor.parsers` turns one MQTT message into a
:class:`ParseResult`. Ingest stores what it finds there; nothing here knows
about MQTT clients or databases.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta, timezone, tzinfo

FORMATS = ("native", "senml", "zigbee2mqtt", "tasmota", "esphome", "shelly")


def sensor_id(fmt: str, device: str, channel: str | None = None) -> str:
    """The stable sensor identifier ``<format>:<device>[:<channel>]``."""
    return f"{fmt}:{device}:{channel}" if channel else f"{fmt}:{device}"


@dataclasses.dataclass(frozen=True, slots=True)
class Reading:
    """One temperature measured by one sensor at one instant (UTC, aware)."""

    sensor_id: str
    fmt: str
    device: str
    measured_at: datetime
    temperature_c: float
    battery_pct: float | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Rejection:
    """Part (or all) of a message that could not be accepted, and why.

    ``reason`` is a sentence an installer can act on, e.g.
    ``"temperature 150.0 °C is outside the plausible range -100..100 °C"``.
    """

    reason: str
    sensor_id: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Availability:
    """A device announced itself online (birth) or offline (last will)."""

    fmt: str
    device: str
    online: bool


@dataclasses.dataclass(frozen=True, slots=True)
class BatteryLevel:
    """A battery report that came without a temperature (e.g. Shelly)."""

    fmt: str
    device: str
    battery_pct: float
    at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class ParseResult:
    """Everything one message said.

    A message may carry several readings (a logger's buffer), some of which
    are rejected; or only an availability or battery update; or nothing of
    interest (``ignored`` names why, e.g. a humidity-only message).
    """

    readings: tuple[Reading, ...] = ()
    rejections: tuple[Rejection, ...] = ()
    availability: Availability | None = None
    batteries: tuple[BatteryLevel, ...] = ()
    ignored: str | None = None


def _utc(_sensor_id: str) -> tzinfo:
    return timezone.utc


@dataclasses.dataclass(frozen=True, slots=True)
class ParseContext:
    """What a parser may know besides the message itself.

    ``local_tz`` answers the time zone for a sensor id: devices that send
    local clock time without an offset (Tasmota) are read in the site time
    zone of the fridge the sensor belongs to.
    """

    received_at: datetime
    local_tz: Callable[[str], tzinfo] = _utc
    shelly_gen1_unit: str = "C"
    min_temperature_c: float = -100.0
    max_temperature_c: float = 100.0
    future_tolerance: timedelta = timedelta(minutes=5)
    device_clock_tolerance: timedelta = timedelta(minutes=5)
    max_payload_bytes: int = 64 * 1024
