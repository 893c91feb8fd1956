"""zigbee2mqtt device state on ``.../<friendly name>`` and its availability."""

from __future__ import annotations

from fridge_monitor.parsers.common import (
    as_number,
    availability,
    decode_json,
    decode_text,
    describe,
    ignored,
    optional_battery,
    received_utc,
    rejected,
    topic_segments,
)
from fridge_monitor.readings import ParseContext, ParseResult, Reading, Rejection, sensor_id

FMT = "zigbee2mqtt"
# Topics that address a device rather than report from it.
COMMAND_SUFFIXES = ("set", "get")


def parse(topic: str, payload: bytes, ctx: ParseContext) -> ParseResult:
    """A temperature (with battery) from a device, or its availability."""
    segments = topic_segments(topic)
    if "bridge" in segments:
        return ignored("zigbee2mqtt bridge message, not a device")
    if segments[-1] == "availability" and len(segments) >= 2:
        return _availability(segments[-2], payload)
    if segments[-1] in COMMAND_SUFFIXES:
        return ignored(f'zigbee2mqtt "{segments[-1]}" command, not a report')
    name = segments[-1]
    if not name:
        return rejected(f'topic "{topic}" has no device name at the end')
    sid = sensor_id(FMT, name)
    data = decode_json(payload)
    if isinstance(data, Rejection):
        return ParseResult(rejections=(Rejection(data.reason, sid),))
    if not isinstance(data, dict):
        return rejected(f"payload is {describe(data)}; expected a JSON object", sid)
    if "temperature" not in data:
        return ignored("message has no temperature")
    if data["temperature"] is None:
        return rejected("sensor reported no temperature (null)", sid)
    temperature = as_number(data["temperature"], '"temperature"')
    if isinstance(temperature, str):
        return rejected(temperature, sid)
    battery, problems = optional_battery(data, "battery", sid)
    # last_seen depends on a bridge setting and may be absent or a local time; arrival is reliable.
    reading = Reading(sid, FMT, name, received_utc(ctx), temperature, battery)
    return ParseResult(readings=(reading,), rejections=problems)


def _availability(name: str, payload: bytes) -> ParseResult:
    """``online`` / ``offline`` as text or as ``{"state": "online"}``."""
    text = decode_text(payload)
    if isinstance(text, Rejection):
        return ParseResult(rejections=(text,))
    if text.lstrip().startswith("{"):
        data = decode_json(payload)
        if isinstance(data, Rejection):
            return ParseResult(rejections=(data,))
        state = data.get("state") if isinstance(data, dict) else None
        if not isinstance(state, str):
            return rejected('availability object has no "state" text; expected {"state": "online"}')
        text = state
    return availability(FMT, name, text, "online", "offline")
