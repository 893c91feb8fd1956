"""Tasmota telemetry on ``.../tele/<device>/SENSOR`` (probes; a plug's ``ENERGY``), its relay state
(``tele/<device>/STATE``, ``stat/<device>/POWER`` or ``RESULT``) and its ``LWT``."""

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
    received_utc,
    rejected,
    to_celsius,
    to_utc,
    topic_levels,
)
from fridge_monitor.core.readings import ChannelReading, ParseContext, ParseResult, Reading, Rejection, sensor_id

FMT = "tasmota"
# Tasmota on ESP32 reports the chip's own temperature under this key; it is no fridge probe.
CHIP_KEYS = frozenset(("ESP32",))


def parse(topic: str, payload: bytes, ctx: ParseContext) -> ParseResult:
    """Every probe's temperature (and humidity) and the plug's power in a SENSOR message, the relay's
    state, or an LWT availability."""
    segments = topic_levels(topic)
    if len(segments) < 2 or segments[-1] not in ("SENSOR", "LWT", "STATE", "POWER", "RESULT"):
        return ignored(f'topic "{topic}" is not a Tasmota .../SENSOR, STATE, POWER, RESULT or LWT message')
    device = segments[-2]
    if not device:
        return rejected(f'topic "{topic}" has no device name before "{segments[-1]}"')
    if segments[-1] == "LWT":
        text = decode_text(payload)
        if isinstance(text, Rejection):
            return ParseResult(rejections=(text,))
        return availability(FMT, device, text, "Online", "Offline")
    if segments[-1] in ("STATE", "POWER", "RESULT"):
        return _relay(device, segments[-1], payload, ctx)
    data = decode_json(payload)
    if isinstance(data, Rejection):
        return ParseResult(rejections=(data,))
    if not isinstance(data, dict):
        return rejected(f"payload is {describe(data)}; expected a JSON object")
    unit = data.get("TempUnit", "C")
    if unit not in ("C", "F"):
        return rejected(f'"TempUnit" is {describe(unit)}; expected "C" or "F"')
    readings: list[Reading] = []
    energy = _energy(device, data, ctx)
    channels = [x for x in energy if isinstance(x, ChannelReading)]
    rejections = [x for x in energy if isinstance(x, Rejection)]
    for key, probe in data.items():
        if key in CHIP_KEYS or key == "ENERGY" or not isinstance(probe, dict):
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
        humidity = probe.get("Humidity")
        if humidity is not None:
            value = as_number(humidity, f'"{key}.Humidity"')
            if isinstance(value, str):
                rejections.append(Rejection(f"{value}; the temperature kept", sid))
            else:
                channels.append(ChannelReading(sid, FMT, device, "humidity", measured_at, value, timed))
    if not (readings or rejections or channels):
        return ignored("message has no temperature probe or energy meter")
    return ParseResult(readings=tuple(readings), rejections=tuple(rejections), channels=tuple(channels))


def _energy(device: str, data: dict[str, object], ctx: ParseContext) -> list[ChannelReading | Rejection]:
    """A metering plug's ``ENERGY.Power`` (W), on the device's own sensor id."""
    energy = data.get("ENERGY")
    if not isinstance(energy, dict) or energy.get("Power") is None:
        return []
    sid = sensor_id(FMT, device)
    power = energy["Power"]
    if isinstance(power, list) and power:  # several relays report one power each: the first feeds the fridge
        power = power[0]
    value = as_number(power, '"ENERGY.Power"')
    if isinstance(value, str):
        return [Rejection(value, sid)]
    measured_at = _measured_at(data.get("Time"), sid, ctx)
    return [ChannelReading(sid, FMT, device, "power", measured_at or received_utc(ctx), value, measured_at is not None)]


def _relay(device: str, kind: str, payload: bytes, ctx: ParseContext) -> ParseResult:
    """The relay's state: ``ON``/``OFF`` on ``stat/<device>/POWER``, or ``POWER`` (``POWER1``) in a STATE or
    RESULT object."""
    sid = sensor_id(FMT, device)
    if kind == "POWER":
        text = decode_text(payload)
        if isinstance(text, Rejection):
            return ParseResult(rejections=(Rejection(text.reason, sid),))
        state: object = text
        when = None
    else:
        data = decode_json(payload)
        if isinstance(data, Rejection):
            return ParseResult(rejections=(Rejection(data.reason, sid),))
        if not isinstance(data, dict):
            return rejected(f"payload is {describe(data)}; expected a JSON object", sid)
        key = next((k for k in ("POWER", "POWER1") if k in data), None)
        if key is None:
            return ignored(f"Tasmota {kind} message has no relay state (POWER)")
        state, when = data[key], data.get("Time")
    value = on_off(state, f'relay state "{kind}"')
    if isinstance(value, str):
        return rejected(value, sid)
    measured_at = _measured_at(when, sid, ctx)
    at, timed = measured_at or received_utc(ctx), measured_at is not None
    reading = ChannelReading(sid, FMT, device, "switch", at, value, timed)
    return ParseResult(channels=(reading,))


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
