"""Tasmota telemetry on ``.../tele/<device>/SENSOR`` and its ``LWT``."""

from __future__ import annotations

from datetime import datetime

from fridge_monitor.core.parsers.common import (
    as_number,
    availability,
    decode_json,
    decode_text,
    describe,
    ignored,
    received_utc,
    rejected,
    to_celsius,
    to_utc,
    topic_levels,
)
from fridge_monitor.core.readings import ParseContext, ParseResult, Reading, Rejection, sensor_id

FMT = "tasmota"
# Tasmota on ESP32 reports the chip's own temperature under this key; it is no fridge probe.
CHIP_KEYS = frozenset(("ESP32",))


def parse(topic: str, payload: bytes, ctx: ParseContext) -> ParseResult:
    """Every probe's temperature in a SENSOR message, or an LWT availability."""
    segments = topic_levels(topic)
    if len(segments) < 2 or segments[-1] not in ("SENSOR", "LWT"):
        return ignored(f'topic "{topic}" is not a Tasmota .../SENSOR or .../LWT message')
    device = segments[-2]
    if not device:
        return rejected(f'topic "{topic}" has no device name before "{segments[-1]}"')
    if segments[-1] == "LWT":
        text = decode_text(payload)
        if isinstance(text, Rejection):
            return ParseResult(rejections=(text,))
        return availability(FMT, device, text, "Online", "Offline")
    data = decode_json(payload)
    if isinstance(data, Rejection):
        return ParseResult(rejections=(data,))
    if not isinstance(data, dict):
        return rejected(f"payload is {describe(data)}; expected a JSON object")
    unit = data.get("TempUnit", "C")
    if unit not in ("C", "F"):
        return rejected(f'"TempUnit" is {describe(unit)}; expected "C" or "F"')
    readings, rejections = [], []
    for key, probe in data.items():
        if key in CHIP_KEYS or not isinstance(probe, dict):
            continue
        channel = probe.get("Id") if isinstance(probe.get("Id"), str) and probe.get("Id") else key
        if "Temperature" not in probe:
            if key.startswith("DS18"):  # a temperature-only probe that lost its reading
                rejections.append(Rejection(f'probe "{key}" sent no "Temperature"; is it connected?',
                                            sensor_id(FMT, device, channel)))
            continue
        sid = sensor_id(FMT, device, channel)
        value = probe["Temperature"]
        if value is None:
            rejections.append(Rejection(f'probe "{key}" reported no temperature (null)', sid))
            continue
        temperature = as_number(value, f'"{key}.Temperature"')
        if isinstance(temperature, str):
            rejections.append(Rejection(temperature, sid))
            continue
        measured_at = _measured_at(data.get("Time"), sid, ctx)
        timed = measured_at is not None
        measured_at = measured_at or received_utc(ctx)
        readings.append(Reading(sid, FMT, device, measured_at, to_celsius(temperature, unit), timed=timed))
    if not (readings or rejections):
        return ignored("message has no temperature probe")
    return ParseResult(readings=tuple(readings), rejections=tuple(rejections))


def _measured_at(time: object, sid: str, ctx: ParseContext) -> datetime | None:
    """The device's local "Time" as UTC, or None (use arrival time) when it is missing or has drifted.

    A drifted clock and an old (retained) message look alike; either way the
    message's own time is not to be trusted.
    """
    if not isinstance(time, str):
        return None
    try:
        local = datetime.fromisoformat(time.strip())
    except ValueError:
        return None
    if local.tzinfo is None:
        local = local.replace(tzinfo=ctx.local_tz(sid), fold=0)
    measured = to_utc(local)
    if measured is None or abs(measured - received_utc(ctx)) > ctx.device_clock_tolerance:
        return None
    return measured
