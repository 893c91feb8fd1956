"""zigbee2mqtt device state on ``<base topic>/<friendly name>`` and its availability.

The friendly name may itself contain ``/`` (``zigbee2mqtt/kitchen/fridge``):
everything after the base topic names the device, so the base topic must be
known. Ingest passes the fixed part of the subscription filter that matched
(``zigbee2mqtt`` for ``zigbee2mqtt/#``) as ``ctx.base_topic``.
"""

from __future__ import annotations

from datetime import datetime

from fridge_monitor.core.parsers.common import (
    as_number,
    availability,
    decode_json,
    decode_text,
    describe,
    ignored,
    on_off,
    optional_battery,
    received_utc,
    rejected,
    topic_levels,
)
from fridge_monitor.core.readings import (
    BatteryLevel,
    ChannelReading,
    ParseContext,
    ParseResult,
    Reading,
    Rejection,
    sensor_id,
)

FMT = "zigbee2mqtt"
DEFAULT_BASE = "zigbee2mqtt"
# Topics that address a device rather than report from it (``<name>/set``, ``<name>/get/<attribute>``).
COMMAND_LEVELS = ("set", "get")
# The device name an availability of the bridge itself carries (no device is named "").
BRIDGE = ""


def parse(topic: str, payload: bytes, ctx: ParseContext) -> ParseResult:
    """A temperature (with battery), door contact, plug power or humidity from a device, or its availability."""
    levels = name_levels(topic, ctx.base_topic)
    if levels == ["bridge", "state"]:  # the bridge's own availability speaks for every device behind it
        return _availability(BRIDGE, payload)
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
    # last_seen depends on a bridge setting and may be absent or a local time; arrival is reliable.
    at = received_utc(ctx)
    channels, problems = _channels(data, sid, name, at)
    if "temperature" not in data:
        if channels or problems:  # a door contact or a plug: its battery, if it has one, as a report of its own
            battery, battery_problems = optional_battery(data, "battery", sid)
            reports = (BatteryLevel(FMT, name, battery, at),) if battery is not None else ()
            return ParseResult(rejections=(*battery_problems, *problems), channels=tuple(channels), batteries=reports)
        return ignored("message has no temperature, contact, power or humidity")
    if data["temperature"] is None:
        return ParseResult(rejections=(Rejection("sensor reported no temperature (null)", sid), *problems),
                           channels=tuple(channels))
    temperature = as_number(data["temperature"], '"temperature"')
    if isinstance(temperature, str):
        return ParseResult(rejections=(Rejection(temperature, sid), *problems), channels=tuple(channels))
    battery, battery_problems = optional_battery(data, "battery", sid)
    reading = Reading(sid, FMT, name, at, temperature, battery)
    return ParseResult(readings=(reading,), rejections=(*battery_problems, *problems), channels=tuple(channels))


def _channels(data: dict[str, object], sid: str, name: str, at: datetime) -> tuple[list[ChannelReading],
                                                                                   list[Rejection]]:
    """A door contact (``contact``: true is closed), a metering plug (``power`` W, with ``state`` ON/OFF)
    and ``humidity``. A plug's ``state`` is kept only beside its power: a lamp's is none of our business."""
    found: list[ChannelReading] = []
    problems: list[Rejection] = []

    def add(channel: str, value: float | str) -> None:
        if isinstance(value, str):
            problems.append(Rejection(f"{value}; the rest of the message kept", sid))
        else:
            found.append(ChannelReading(sid, FMT, name, channel, at, value))

    if data.get("contact") is not None:
        closed = on_off(data["contact"], '"contact"', "true or false")
        add("door", closed if isinstance(closed, str) else 1.0 - closed)
    if data.get("power") is not None:
        add("power", as_number(data["power"], '"power"'))
        if data.get("state") is not None:
            add("switch", on_off(data["state"], '"state"'))
    if data.get("humidity") is not None:
        add("humidity", as_number(data["humidity"], '"humidity"'))
    return found, problems


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
