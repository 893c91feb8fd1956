"""zigbee2mqtt device state on ``<base topic>/<friendly name>`` and its availability.

The friendly name may itself contain ``/`` (``zigbee2mqtt/kitchen/fridge``):
everything after the base topic names the device, so the base topic must be
known. Ingest passes the fixed part of the subscription filter that matched
(``zigbee2mqtt`` for ``zigbee2mqtt/#``) as ``ctx.base_topic``.
"""

from __future__ import annotations

from fridge_monitor.core.parsers.common import (
    as_number,
    availability,
    decode_json,
    decode_text,
    describe,
    ignored,
    optional_battery,
    received_utc,
    rejected,
    topic_levels,
)
from fridge_monitor.core.readings import ParseContext, ParseResult, Reading, Rejection, sensor_id

FMT = "zigbee2mqtt"
DEFAULT_BASE = "zigbee2mqtt"
# Topics that address a device rather than report from it (``<name>/set``, ``<name>/get/<attribute>``).
COMMAND_LEVELS = ("set", "get")


def parse(topic: str, payload: bytes, ctx: ParseContext) -> ParseResult:
    """A temperature (with battery) from a device, or its availability."""
    levels = name_levels(topic, ctx.base_topic)
    if levels[:1] == ["bridge"]:
        return ignored("zigbee2mqtt bridge message, not a device")
    command = next((level for level in levels[1:] if level in COMMAND_LEVELS), None)
    if command:
        return ignored(f'zigbee2mqtt "{command}" command, not a report')
    if len(levels) >= 2 and levels[-1] == "availability":
        levels, kind = levels[:-1], "availability"
    else:
        kind = "state"
    if not levels or not all(levels):
        return rejected(f'topic "{topic}" has no device name (or an empty level in it) after the base topic')
    name = "/".join(levels)
    if kind == "availability":
        return _availability(name, payload)
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


def name_levels(topic: str, base_topic: str | None) -> list[str]:
    """The topic levels after the base topic: the friendly name, perhaps with a suffix.

    Without a known base (``fridge-monitor parse`` on a topic no subscription
    matches), the base is taken to end at the first ``zigbee2mqtt`` level, or
    else to be the first level (zigbee2mqtt's default base is one level).
    """
    segments = topic_levels(topic)
    if base_topic:
        fixed = base_topic.split("/")
        if segments[: len(fixed)] == fixed:
            return segments[len(fixed):]
    if DEFAULT_BASE in segments[:-1]:
        return segments[segments.index(DEFAULT_BASE) + 1:]
    return segments[1:] if len(segments) > 1 else segments


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
