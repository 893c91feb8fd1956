"""Shelly Gen1 (``shellies/<id>/sensor/...``, add-on probes ``shellies/<id>/ext_temperature/<n>``, a plug's
``relay/<n>`` and ``relay/<n>/power``, a contact wired to ``input/<n>``) and Gen2+ (``<prefix>/status/...``,
``events/rpc``; a plug's ``switch:<n>``)."""

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
    parse_timestamp,
    plain_number,
    received_utc,
    rejected,
    shorten,
    to_celsius,
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

FMT = "shelly"
NOTIFY_METHODS = ("NotifyStatus", "NotifyFullStatus")
# The temperature add-on's DS18B20 probes on a Shelly 1/1PM: the same value in °C and in °F.
PROBE_TOPICS = {"ext_temperature": "C", "ext_temperature_f": "F"}
GEN2_COMPONENTS = ("temperature", "devicepower", "switch")


def parse(topic: str, payload: bytes, ctx: ParseContext) -> ParseResult:
    """Temperature, battery or online state from any Shelly generation."""
    segments = topic_levels(topic)
    if len(segments) >= 2 and segments[-1] == "online":
        return _online(segments[-2], topic, payload)
    if len(segments) >= 4 and segments[-4] == "shellies" and segments[-2] == "sensor":
        return _gen1(segments[-3], segments[-1], payload, ctx)
    if len(segments) >= 4 and segments[-4] == "shellies" and segments[-2] in PROBE_TOPICS:
        return _gen1_probe(segments[-3], segments[-2], segments[-1], payload, ctx)
    relay = _relay_levels(segments)
    if relay is not None:
        return _gen1_relay(*relay, payload, ctx)
    if len(segments) >= 3 and segments[-2] == "status":
        return _gen2_component(segments[-3], segments[-1], payload, received_utc(ctx))
    if len(segments) >= 3 and segments[-2:] == ["events", "rpc"]:
        return _gen2_notification(segments[-3], payload, ctx)
    return ignored(f'topic "{topic}" carries no Shelly temperature, battery or online state')


def _online(device: str, topic: str, payload: bytes) -> ParseResult:
    """``true`` / ``false`` on ``.../online``."""
    if not device:
        return rejected(f'topic "{topic}" has no device name before "online"')
    text = decode_text(payload)
    if isinstance(text, Rejection):
        return ParseResult(rejections=(text,))
    return availability(FMT, device, text, "true", "false")


def _relay_levels(segments: list[str]) -> tuple[str, str, str, str] | None:
    """(device, "relay" or "input", its number, "power" or "") for ``shellies/<id>/relay/<n>[/power]`` and
    ``shellies/<id>/input/<n>``; None for any other topic."""
    if len(segments) >= 4 and segments[-4] == "shellies" and segments[-2] in ("relay", "input"):
        return segments[-3], segments[-2], segments[-1], ""
    if len(segments) >= 5 and segments[-5] == "shellies" and segments[-3] == "relay" and segments[-1] == "power":
        return segments[-4], "relay", segments[-2], "power"
    return None


def _gen1_relay(device: str, kind: str, index: str, what: str, payload: bytes, ctx: ParseContext) -> ParseResult:
    """A plug's relay state (``on``/``off``) or power (W), or a contact on an input (1: closed, the door shut)."""
    if not device:
        return rejected('topic has no Shelly device id after "shellies/"')
    if not index.isascii() or not index.isdigit():
        return rejected(f'Shelly {kind} number "{shorten(index)}" is not a number')
    sid = sensor_id(FMT, device, None if index == "0" else f"{kind}{index}")
    text = decode_text(payload)
    if isinstance(text, Rejection):
        return ParseResult(rejections=(Rejection(text.reason, sid),))
    at = received_utc(ctx)
    if what == "power":
        value = plain_number(text)
        channel = "power"
    elif kind == "relay":
        if text.strip().lower() == "overpower":  # the plug cut the power itself
            text = "off"
        value, channel = on_off(text, f'relay state "{shorten(text.strip())}"', '"on" or "off"'), "switch"
    else:
        closed = on_off(text, f'input state "{shorten(text.strip())}"', "1 or 0")
        value, channel = (closed if isinstance(closed, str) else 1.0 - closed), "door"
    if isinstance(value, str):
        return rejected(value, sid)
    return ParseResult(channels=(ChannelReading(sid, FMT, device, channel, at, value),))


def _gen1(device: str, kind: str, payload: bytes, ctx: ParseContext) -> ParseResult:
    """A Gen1 sensor value: temperature or battery (plain numbers), or a door/window's ``open``/``close``."""
    if kind not in ("temperature", "battery", "state"):
        return ignored(f'Shelly sensor "{kind}" is not a temperature, battery or door state')
    if not device:
        return rejected('topic has no Shelly device id after "shellies/"')
    sid = sensor_id(FMT, device)
    if kind == "state":
        text = decode_text(payload)
        if isinstance(text, Rejection):
            return ParseResult(rejections=(Rejection(text.reason, sid),))
        word = text.strip().lower()
        if word not in ("open", "close", "closed"):
            return rejected(f'door/window state "{shorten(text.strip())}"; expected "open" or "close"', sid)
        door = ChannelReading(sid, FMT, device, "door", received_utc(ctx), 1.0 if word == "open" else 0.0)
        return ParseResult(channels=(door,))
    value = _plain_value(payload, sid)
    if isinstance(value, ParseResult):
        return value
    if kind == "battery":
        return ParseResult(batteries=(BatteryLevel(FMT, device, value, received_utc(ctx)),))
    unit = ctx.shelly_gen1_unit.upper()
    if unit not in ("C", "F"):
        return rejected(f'shelly_gen1_unit is "{shorten(ctx.shelly_gen1_unit)}"; set it to "C" or "F"', sid)
    return ParseResult(readings=(Reading(sid, FMT, device, received_utc(ctx), to_celsius(value, unit)),))


def _plain_value(payload: bytes, sid: str) -> float | ParseResult:
    """A Gen1 topic's plain-number payload, or the rejection saying why it is not one."""
    text = decode_text(payload)
    if isinstance(text, Rejection):
        return ParseResult(rejections=(Rejection(text.reason, sid),))
    value = plain_number(text)
    if isinstance(value, str):
        return rejected(value, sid)
    return value


def _gen1_probe(device: str, kind: str, index: str, payload: bytes, ctx: ParseContext) -> ParseResult:
    """An add-on probe's plain number on ``ext_temperature/<n>`` (°C) or ``ext_temperature_f/<n>`` (°F)."""
    if not device:
        return rejected('topic has no Shelly device id after "shellies/"')
    if not index.isascii() or not index.isdigit():
        return rejected(f'Shelly add-on probe number "{shorten(index)}" is not a number; expected {kind}/0, /1 or /2')
    sid = sensor_id(FMT, device, f"ext{index}")
    value = _plain_value(payload, sid)
    if isinstance(value, ParseResult):
        return value
    reading = Reading(sid, FMT, device, received_utc(ctx), to_celsius(value, PROBE_TOPICS[kind]))
    return ParseResult(readings=(reading,))


def _gen2_component(prefix: str, component: str, payload: bytes, at: datetime) -> ParseResult:
    """One ``status/<component>`` message."""
    kind, _, _index = component.partition(":")
    if kind not in GEN2_COMPONENTS:
        return ignored(f'Shelly component "{component}" is not a temperature, device power or switch')
    if not prefix:
        return rejected(f'topic has no Shelly prefix before "status/{component}"')
    data = decode_json(payload)
    if isinstance(data, Rejection):
        return ParseResult(rejections=(data,))
    return _component(prefix, component, data, at)


def _gen2_notification(prefix: str, payload: bytes, ctx: ParseContext) -> ParseResult:
    """A NotifyStatus / NotifyFullStatus RPC carrying several components."""
    if not prefix:
        return rejected('topic has no Shelly prefix before "events/rpc"')
    data = decode_json(payload)
    if isinstance(data, Rejection):
        return ParseResult(rejections=(data,))
    if not isinstance(data, dict):
        return rejected(f"payload is {describe(data)}; expected a JSON-RPC object")
    method = data.get("method")
    if method not in NOTIFY_METHODS:
        shown = f'"{shorten(method)}"' if isinstance(method, str) else describe(method)
        return ignored(f"RPC method {shown} is not NotifyStatus or NotifyFullStatus")
    params = data.get("params")
    if not isinstance(params, dict):
        return rejected(f'"params" is {describe(params)}; expected an object')
    timed = params.get("ts") is not None
    at = parse_timestamp(params["ts"]) if timed else received_utc(ctx)
    if isinstance(at, str):
        return rejected(f'"params.ts": {at}')
    parts = [_component(prefix, key, value, at, timed) for key, value in params.items() if _is_component(key)]
    readings = tuple(r for part in parts for r in part.readings)
    batteries = tuple(b for part in parts for b in part.batteries)
    rejections = tuple(r for part in parts for r in part.rejections)
    channels = tuple(c for part in parts for c in part.channels)
    if not (readings or batteries or rejections or channels):
        return ignored(f"{method} has no temperature, battery or switch")
    return ParseResult(readings=readings, rejections=rejections, batteries=batteries, channels=channels)


def _is_component(key: str) -> bool:
    """True for the components we read, e.g. ``temperature:0``, ``devicepower:0`` or ``switch:0``."""
    return key.partition(":")[0] in GEN2_COMPONENTS


def _switch(prefix: str, index: str, data: dict[str, object], at: datetime, timed: bool) -> ParseResult:
    """A plug's ``switch:<n>``: ``output`` (on/off) and ``apower`` (W); a notification may carry either."""
    sid = sensor_id(FMT, prefix, None if index in ("", "0") else f"switch{index}")
    channels, problems = [], []
    for key, channel in (("output", "switch"), ("apower", "power")):
        if data.get(key) is None:
            continue
        value = on_off(data[key], f'"switch:{index}.output"', "true or false") if key == "output" \
            else as_number(data[key], f'"switch:{index}.apower"')
        if isinstance(value, str):
            problems.append(Rejection(value, sid))
        else:
            channels.append(ChannelReading(sid, FMT, prefix, channel, at, value, timed))
    if not (channels or problems):
        return ignored(f'"switch:{index}" has no output or power')
    return ParseResult(rejections=tuple(problems), channels=tuple(channels))


def _component(prefix: str, component: str, data: object, at: datetime, timed: bool = False) -> ParseResult:
    """A ``temperature:<n>`` or ``devicepower:<n>`` status object."""
    kind, _, index = component.partition(":")
    sid = sensor_id(FMT, prefix, index or None)
    if not isinstance(data, dict):
        return rejected(f'"{component}" is {describe(data)}; expected an object', sid)
    if kind == "switch":
        return _switch(prefix, index, data, at, timed)
    if kind == "devicepower":
        battery = data.get("battery")
        percent = battery.get("percent") if isinstance(battery, dict) else None
        if percent is None:
            return ignored(f'"{component}" has no battery percentage')
        value = as_number(percent, f'"{component}.battery.percent"')
        if isinstance(value, str):
            return rejected(value, sensor_id(FMT, prefix))
        return ParseResult(batteries=(BatteryLevel(FMT, prefix, value, at, timed),))
    if "tC" in data:
        celsius, unit = data["tC"], "C"
    else:
        celsius, unit = data.get("tF"), "F"
    if celsius is None:
        errors = data.get("errors")
        detail = f" (errors: {shorten(', '.join(map(str, errors)))})" if isinstance(errors, list) and errors else ""
        return rejected(f"probe reported no value{detail}; is it connected?", sid)
    value = as_number(celsius, f'"{component}.t{unit}"')
    if isinstance(value, str):
        return rejected(value, sid)
    return ParseResult(readings=(Reading(sid, FMT, prefix, at, to_celsius(value, unit), timed=timed),))
