"""ESPHome state topics ``.../<node>/sensor/<name>/state`` and ``.../<node>/status``."""

from __future__ import annotations

from fridge_monitor.parsers.common import (
    availability,
    decode_text,
    ignored,
    plain_number,
    received_utc,
    rejected,
    topic_segments,
)
from fridge_monitor.readings import BatteryLevel, ParseContext, ParseResult, Reading, Rejection, sensor_id

FMT = "esphome"
NOT_TEMPERATURE = ("humidity", "rssi", "signal", "wifi", "voltage", "pressure", "uptime", "illuminance", "co2", "lux")
NO_VALUE = frozenset(("", "nan", "-nan", "none", "null"))


def parse(topic: str, payload: bytes, ctx: ParseContext) -> ParseResult:
    """A temperature or battery state, or the node's online status."""
    segments = topic_segments(topic)
    if len(segments) >= 2 and segments[-1] == "status":
        if not segments[-2]:
            return rejected(f'topic "{topic}" has no node name before "status"')
        text = decode_text(payload)
        if isinstance(text, Rejection):
            return ParseResult(rejections=(text,))
        return availability(FMT, segments[-2], text, "online", "offline")
    if len(segments) < 4 or segments[-1] != "state" or segments[-3] != "sensor":
        return ignored(f'topic "{topic}" is not an ESPHome .../<node>/sensor/<name>/state topic')
    node, name = segments[-4], segments[-2]
    if not node or not name:
        return rejected(f'topic "{topic}" lacks a node or sensor name')
    lowered = name.lower()
    # Checked before "battery" so that "battery_voltage" (volts, not %) is ignored.
    if any(word in lowered for word in NOT_TEMPERATURE):
        return ignored(f'sensor "{name}" is not a temperature')
    sid = sensor_id(FMT, node, name)
    text = decode_text(payload)
    if isinstance(text, Rejection):
        return ParseResult(rejections=(Rejection(text.reason, sid),))
    value = text.strip()
    if value.lower() in NO_VALUE:
        return rejected(f"sensor reported no value ({value or 'empty'}): probe failed or disconnected?", sid)
    number = plain_number(value)
    if isinstance(number, str):
        return rejected(number, sid)
    if "battery" in lowered:
        return ParseResult(batteries=(BatteryLevel(FMT, node, number, received_utc(ctx)),))
    return ParseResult(readings=(Reading(sid, FMT, node, received_utc(ctx), number),))
