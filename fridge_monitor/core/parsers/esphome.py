"""ESPHome state topics ``.../<node>/sensor/<name>/state``, ``.../<node>/binary_sensor/<name>/state`` and
``.../<node>/status``.

A state is a plain number with no unit, and a node publishes power, energy,
counters and humidity the same way. A number is a temperature only when we
know it is one: from the operator's ``[[mqtt.esphome_entities]]`` setting,
else from the Home Assistant discovery config the node published (see
:mod:`.discovery`), else, as a last resort, when the entity's name says
"temp" (read in °C). Power (W) and humidity (%) are kept as channels of
their own when discovery or the setting says so; a binary sensor is a door
contact when its device class (or, failing that, its name) says door.
Everything else is ignored, never stored as °C.
"""

from __future__ import annotations

from fridge_monitor.core.parsers.common import (
    availability,
    decode_text,
    ignored,
    on_off,
    plain_number,
    received_utc,
    rejected,
    to_celsius,
    topic_levels,
)
from fridge_monitor.core.readings import (
    BatteryLevel,
    ChannelReading,
    EntityKind,
    ParseContext,
    ParseResult,
    Reading,
    Rejection,
    sensor_id,
)

FMT = "esphome"
# Names the fallback never takes for a temperature, even with "temp" in them.
NOT_TEMPERATURE = ("humidity", "rssi", "signal", "wifi", "voltage", "pressure", "uptime", "illuminance", "co2", "lux")
NO_VALUE = frozenset(("", "nan", "-nan", "none", "null"))
# Home Assistant's units of measurement for temperatures, and a few spellings devices use.
TEMPERATURE_UNITS = {"°C": "C", "℃": "C", "C": "C", "degC": "C", "Cel": "C",
                     "°F": "F", "℉": "F", "F": "F", "degF": "F", "K": "K"}
UNIT_SYMBOLS = {"C": "°C", "F": "°F", "K": "K"}
# Home Assistant binary sensor classes that mean a door is open when ON.
DOOR_CLASSES = frozenset(("door", "opening", "window", "garage_door"))


def parse(topic: str, payload: bytes, ctx: ParseContext) -> ParseResult:
    """A temperature or battery state, or the node's online status."""
    segments = topic_levels(topic)
    if len(segments) >= 2 and segments[-1] == "status":
        if not segments[-2]:
            return rejected(f'topic "{topic}" has no node name before "status"')
        text = decode_text(payload)
        if isinstance(text, Rejection):
            return ParseResult(rejections=(text,))
        return availability(FMT, segments[-2], text, "online", "offline")
    if len(segments) < 4 or segments[-1] != "state" or segments[-3] not in ("sensor", "binary_sensor"):
        return ignored(f'topic "{topic}" is not an ESPHome .../<node>/sensor/<name>/state topic')
    node, name = segments[-4], segments[-2]
    if not node or not name:
        return rejected(f'topic "{topic}" lacks a node or sensor name')
    sid = sensor_id(FMT, node, name)
    binary = segments[-3] == "binary_sensor"
    kind = ctx.declared_entities.get(sid) or ctx.discovered_entities.get(topic) or kind_by_name(name, binary=binary)
    if kind.measures not in ("temperature", "battery", "power", "humidity", "door"):
        return ignored(f'sensor "{name}" is not a temperature ({kind.source})')
    text = decode_text(payload)
    if isinstance(text, Rejection):
        return ParseResult(rejections=(Rejection(text.reason, sid),))
    if kind.measures == "door":
        state = on_off(text, f'door state "{text.strip()[:40]}"')
        if isinstance(state, str):
            return rejected(state, sid)
        return ParseResult(channels=(ChannelReading(sid, FMT, node, "door", received_utc(ctx), state),))
    value = text.strip()
    if value.lower() in NO_VALUE:
        return rejected(f"sensor reported no value ({value or 'empty'}): probe failed or disconnected?", sid)
    number = plain_number(value)
    if isinstance(number, str):
        return rejected(number, sid)
    if kind.measures == "battery":
        return ParseResult(batteries=(BatteryLevel(FMT, node, number, received_utc(ctx)),))
    if kind.measures in ("power", "humidity"):
        return ParseResult(channels=(ChannelReading(sid, FMT, node, kind.measures, received_utc(ctx), number),))
    if kind.unit not in UNIT_SYMBOLS:
        return rejected(
            f'sensor "{name}" is a temperature in an unknown unit ({kind.source}); '
            f"declare its unit in [[mqtt.esphome_entities]]",
            sid,
        )
    return ParseResult(readings=(Reading(sid, FMT, node, received_utc(ctx), to_celsius(number, kind.unit)),))


def kind_by_name(name: str, *, binary: bool = False) -> EntityKind:
    """The fallback when nothing says what ``name`` measures: "temp" in the name means °C; a binary sensor
    with "door" in its name is a door contact."""
    lowered = name.lower()
    if binary:
        if "door" in lowered:
            return EntityKind("door", source='its name says "door"')
        return EntityKind("other", source="a binary sensor whose name does not say door, and no discovery config "
                                          "or [[mqtt.esphome_entities]] says it is a door contact")
    # Checked before "battery" so that "battery_voltage" (volts, not %) is ignored.
    if any(word in lowered for word in NOT_TEMPERATURE):
        return EntityKind("other", source="its name says so")
    if "battery" in lowered:
        return EntityKind("battery", source="its name says battery")
    if "temp" in lowered:
        return EntityKind("temperature", "C", source='its name says "temp"; read in °C')
    return EntityKind(
        "other",
        source='its name does not say "temp", and neither a discovery config nor '
        "[[mqtt.esphome_entities]] says it is one",
    )


def entity_kind(device_class: str | None, unit: str | None) -> EntityKind:
    """What a Home Assistant discovery config's ``device_class`` and ``unit_of_measurement`` say."""
    said = ", ".join(
        part for part in (
            f'device class "{device_class}"' if device_class else "",
            f'unit "{unit}"' if unit else "",
        ) if part
    ) or "no device class or unit"
    source = f"discovery config: {said}"
    temperature_unit = TEMPERATURE_UNITS.get(unit.strip()) if unit else None
    if device_class == "temperature" or (device_class is None and temperature_unit):
        return EntityKind("temperature", temperature_unit, source)
    if device_class == "battery":
        return EntityKind("battery", source=source)
    if device_class == "power" or (device_class is None and unit is not None and unit.strip() == "W"):
        return EntityKind("power", "W", source)
    if device_class == "humidity":
        return EntityKind("humidity", "%", source)
    if device_class in DOOR_CLASSES:
        return EntityKind("door", source=source)
    return EntityKind("other", source=source)
