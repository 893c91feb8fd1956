"""Human-readable lines for a :class:`ParseResult` (the ``fridge-monitor parse`` CLI)."""

from __future__ import annotations

from fridge_monitor.core.parsers.esphome import UNIT_SYMBOLS, entity_kind
from fridge_monitor.core.parsers.validate import readable_utc
from fridge_monitor.core.readings import Entity, ParseResult, sensor_id

WIDTH = 10


def explain(result: ParseResult) -> list[str]:
    """One line per thing the message said: readings, channels (door, power, switch, humidity), batteries,
    availability, entities, rejections."""
    lines = []
    if result.entity:
        lines.append(f"{'entity':<{WIDTH}}{_entity(result.entity)}")
    if result.availability:
        state = "online" if result.availability.online else "offline"
        lines.append(f"{state:<{WIDTH}}{sensor_id(result.availability.fmt, result.availability.device)}")
    for reading in result.readings:
        line = (f"{'reading':<{WIDTH}}{reading.sensor_id}   {readable_utc(reading.measured_at)}   "
                f"{reading.temperature_c} °C")
        if reading.battery_pct is not None:
            line += f"   battery {reading.battery_pct:g} %"
        lines.append(line)
    for value in result.channels:
        lines.append(f"{value.channel:<{WIDTH}}{value.sensor_id}   {readable_utc(value.measured_at)}   "
                     f"{_channel_value(value.channel, value.value)}")
    for level in result.batteries:
        lines.append(f"{'battery':<{WIDTH}}{sensor_id(level.fmt, level.device)} {level.battery_pct:g} %")
    for rejection in result.rejections:
        suffix = f"   [{rejection.sensor_id}]" if rejection.sensor_id else ""
        lines.append(f"{'rejected':<{WIDTH}}{rejection.reason}{suffix}")
    if result.ignored:
        lines.append(f"{'ignored':<{WIDTH}}{result.ignored}")
    if not lines:
        lines.append(f"{'ignored':<{WIDTH}}message carried nothing to record")
    return lines


def _channel_value(channel: str, value: float) -> str:
    """``open``/``closed``, ``on``/``off``, ``45 W``, ``52 %RH``."""
    if channel == "door":
        return "open" if value else "closed"
    if channel == "switch":
        return "on" if value else "off"
    return f"{value:g} W" if channel == "power" else f"{value:g} %RH"


def _entity(entity: Entity) -> str:
    """What a discovery config taught, e.g. ``esphome:node1:fridge_temp   temperature in °F   (...)``."""
    if entity.removed:
        return f"withdrawn by an empty config on {entity.config_topic}"
    kind = entity_kind(entity.device_class, entity.unit)
    if kind.measures == "temperature":
        what = f"temperature in {UNIT_SYMBOLS[kind.unit]}" if kind.unit in UNIT_SYMBOLS else "temperature, unit unknown"
    elif kind.measures in ("battery", "power", "humidity", "door"):
        what = {"battery": "battery", "power": "power (W), kept as a channel",
                "humidity": "humidity, kept as a channel", "door": "a door contact, kept as a channel"}[kind.measures]
    else:
        what = "not a temperature: its states are ignored"
    sid = sensor_id("esphome", entity.node, entity.name) if entity.node else entity.name
    return f"{sid}   {what}   (state topic {entity.state_topic}; {kind.source})"
