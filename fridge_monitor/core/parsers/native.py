"""Fridge Monitor's own format: ``.../readings/<sensor>`` and ``.../availability/<sensor>``."""

from __future__ import annotations

from fridge_monitor.core.parsers.common import (
    as_number,
    availability,
    decode_json,
    decode_text,
    describe,
    ignored,
    merge,
    on_off,
    optional_battery,
    parse_timestamp,
    prefixed,
    received_utc,
    rejected,
    topic_levels,
)
from fridge_monitor.core.parsers.validate import check
from fridge_monitor.core.readings import ChannelReading, ParseContext, ParseResult, Reading, Rejection, sensor_id

FMT = "native"


def parse(topic: str, payload: bytes, ctx: ParseContext) -> ParseResult:
    """Readings (one object or a list of them) or an availability message."""
    segments = topic_levels(topic)
    kind, sensor = (segments[-2], segments[-1]) if len(segments) >= 2 else ("", "")
    if kind not in ("readings", "availability"):
        return ignored(f'topic "{topic}" is not .../readings/<sensor> or .../availability/<sensor>')
    if not sensor:
        return rejected(f'topic "{topic}" has no sensor name after "{kind}/"')
    if kind == "availability":
        text = decode_text(payload)
        if isinstance(text, Rejection):
            return ParseResult(rejections=(text,))
        return availability(FMT, sensor, text, "online", "offline")
    data = decode_json(payload)
    if isinstance(data, Rejection):
        return ParseResult(rejections=(Rejection(data.reason, sensor_id(FMT, sensor)),))
    if isinstance(data, dict):
        return _item(data, sensor, ctx)
    if isinstance(data, list):
        # A logger's buffer: judge each item alone so one bad line loses only itself.
        parts = (prefixed(check(_item(item, sensor, ctx), ctx), f"item {n}: ") for n, item in enumerate(data, 1))
        return merge(parts, "empty list: no readings")
    return rejected(
        f"payload is {describe(data)}; expected a JSON object or a list of objects", sensor_id(FMT, sensor)
    )


# The other channels an object may carry: key -> (channel, is it on/off).
CHANNEL_KEYS = {"door_open": ("door", True), "power_w": ("power", False), "switch_on": ("switch", True),
                "humidity_pct": ("humidity", False)}


def _item(item: object, sensor: str, ctx: ParseContext) -> ParseResult:
    """One ``{"temperature_c": ..., "ts": ..., "battery_pct": ...}`` object; a door contact or a plug sends
    ``door_open`` (true/false), ``power_w``, ``switch_on`` or ``humidity_pct`` instead of (or besides) the
    temperature."""
    sid = sensor_id(FMT, sensor)
    if not isinstance(item, dict):
        return rejected(f"expected a JSON object, got {describe(item)}", sid)
    present = [key for key in CHANNEL_KEYS if item.get(key) is not None]
    if "temperature_c" not in item and not present:
        return rejected('missing "temperature_c" (or a channel: ' + ", ".join(f'"{k}"' for k in CHANNEL_KEYS) + ")",
                        sid)
    # An absent (or null) ts means "now": small loggers often have no clock.
    timed = item.get("ts") is not None
    measured_at = parse_timestamp(item["ts"]) if timed else received_utc(ctx)
    if isinstance(measured_at, str):
        return rejected(measured_at, sid)
    channels, problems = [], []
    for key in present:
        channel, binary = CHANNEL_KEYS[key]
        value = on_off(item[key], f'"{key}"', "true or false") if binary else as_number(item[key], f'"{key}"')
        if isinstance(value, str):
            problems.append(Rejection(value, sid))
        else:
            channels.append(ChannelReading(sid, FMT, sensor, channel, measured_at, value, timed))
    if "temperature_c" not in item:
        return ParseResult(rejections=tuple(problems), channels=tuple(channels))
    temperature = as_number(item["temperature_c"], '"temperature_c"')
    if isinstance(temperature, str):
        return ParseResult(rejections=(Rejection(temperature, sid), *problems), channels=tuple(channels))
    battery, battery_problems = optional_battery(item, "battery_pct", sid)
    reading = Reading(sid, FMT, sensor, measured_at, temperature, battery, timed)
    return ParseResult(readings=(reading,), rejections=(*battery_problems, *problems), channels=tuple(channels))
