"""What a sensor message means once understood: plain values, no I/O.

Every parser in :mod:`fridge_monitor.core.parsers` turns one MQTT message into a
:class:`ParseResult`. Ingest stores what it finds there; nothing here knows
about MQTT clients or databases.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from types import MappingProxyType

FORMATS = ("native", "senml", "zigbee2mqtt", "tasmota", "esphome", "shelly")
"""The formats sensors report in: the ``<format>`` of a sensor id."""
SUBSCRIPTION_FORMATS = (*FORMATS, "discovery")
"""What a subscription may carry: a sensor format, or Home Assistant discovery configs
(which say what an ESPHome entity measures)."""
RETAINED_WITHOUT_TIME = (
    "retained message without its own time: its measurement time is unknown "
    "(the sensor may be dead); ignored as a reading"
)


def sensor_id(fmt: str, device: str, channel: str | None = None) -> str:
    """The stable sensor identifier ``<format>:<device>[:<channel>]``."""
    return f"{fmt}:{device}:{channel}" if channel else f"{fmt}:{device}"


@dataclasses.dataclass(frozen=True, slots=True)
class Reading:
    """One temperature measured by one sensor at one instant (UTC, aware).

    ``timed`` is True when the message carried its own measurement time; a
    reading stamped with its arrival time is not timed, and a retained copy of
    it (however old) is never taken as a fresh reading.
    """

    sensor_id: str
    fmt: str
    device: str
    measured_at: datetime
    temperature_c: float
    battery_pct: float | None = None
    timed: bool = False


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
    """A battery report that came without a temperature (e.g. Shelly); ``timed`` as for :class:`Reading`."""

    fmt: str
    device: str
    battery_pct: float
    at: datetime
    timed: bool = False


MEASURES = ("temperature", "battery", "power", "humidity", "door", "other")

CHANNELS = {
    "door": "door open (1) or closed (0)",
    "power": "electrical power drawn, W",
    "switch": "the plug's output on (1) or off (0)",
    "humidity": "relative humidity, %",
}
"""What a fridge's other sensors report besides temperature (door contacts, smart plugs, hygrometers),
each stored as its own typed channel (:class:`ChannelReading`), never mixed with °C."""


SENSOR_ROLES = {
    "primary": "primary temperature probe",
    "backup": "backup temperature probe",
    "aux": "door contact, smart plug or hygrometer (not a temperature)",
}
"""What a sensor assigned to a fridge is there for."""
TEMPERATURE_ROLES = ("primary", "backup")
"""The roles whose temperatures are judged, charted and exported as the fridge's."""


@dataclasses.dataclass(frozen=True, slots=True)
class ChannelReading:
    """One value of a channel other than temperature: ``channel`` is a key of :data:`CHANNELS`.

    ``door`` and ``switch`` are 1 or 0 (open/on, closed/off); ``power`` is in W;
    ``humidity`` in % RH. ``timed`` as for :class:`Reading`.
    """

    sensor_id: str
    fmt: str
    device: str
    channel: str
    measured_at: datetime
    value: float
    timed: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class EntityKind:
    """What an ESPHome entity's plain-number state measures, and in which unit.

    Learnt from the Home Assistant discovery config the node publishes, or
    declared in the config (``[[mqtt.esphome_entities]]``). ``unit`` is "C",
    "F" or "K" for a temperature; ``source`` says where this was learnt, for
    the reasons shown to people.
    """

    measures: str
    unit: str | None = None
    source: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class Entity:
    """A Home Assistant discovery config: the entity whose state is on ``state_topic``.

    ``removed`` is an empty config (Home Assistant's way to withdraw an entity);
    only ``config_topic`` is known then.
    """

    config_topic: str
    state_topic: str = ""
    node: str = ""
    name: str = ""
    device_class: str | None = None
    unit: str | None = None
    removed: bool = False


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
    entity: Entity | None = None
    channels: tuple[ChannelReading, ...] = ()


NO_ENTITIES: Mapping[str, EntityKind] = MappingProxyType({})


def _utc(_sensor_id: str) -> tzinfo:
    return UTC


@dataclasses.dataclass(frozen=True, slots=True)
class ParseContext:
    """What a parser may know besides the message itself.

    ``local_tz`` answers the time zone for a sensor id: devices that send
    local clock time without an offset (Tasmota) are read in the site time
    zone of the fridge the sensor belongs to.

    ``retained`` is set for a message the broker kept and handed over on
    subscribe. ``base_topic`` is the fixed part of the subscription filter
    that matched (e.g. ``zigbee2mqtt`` for ``zigbee2mqtt/#``): what follows it
    names the device. ``declared_entities`` (by sensor id) and
    ``discovered_entities`` (by state topic) say what ESPHome states measure.
    """

    received_at: datetime
    local_tz: Callable[[str], tzinfo] = _utc
    shelly_gen1_unit: str = "C"
    min_temperature_c: float = -100.0
    max_temperature_c: float = 100.0
    future_tolerance: timedelta = timedelta(minutes=5)
    device_clock_tolerance: timedelta = timedelta(minutes=5)
    max_payload_bytes: int = 64 * 1024
    retained: bool = False
    base_topic: str | None = None
    declared_entities: Mapping[str, EntityKind] = dataclasses.field(default_factory=lambda: NO_ENTITIES)
    discovered_entities: Mapping[str, EntityKind] = dataclasses.field(default_factory=lambda: NO_ENTITIES)


def filter_base(topic_filter: str) -> str:
    """The fixed levels of an MQTT topic filter before its first wildcard (``a/b/+/c`` gives ``a/b``)."""
    fixed = []
    for level in topic_filter.split("/"):
        if level in ("+", "#"):
            break
        fixed.append(level)
    return "/".join(fixed)
