"""Helpers shared by the payload parsers: decoding, numbers, times, units."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from fridge_monitor.core.readings import (
    Availability,
    BatteryLevel,
    ChannelReading,
    ParseContext,
    ParseResult,
    Reading,
    Rejection,
)

# Stricter than float(): no "inf", no "1_000", no spaces inside.
PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


def shorten(text: str, limit: int = 40) -> str:
    """``text`` cut to ``limit`` characters so a reason stays one readable line."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe(value: object) -> str:
    """What kind of JSON value ``value`` is, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return f'a string ("{shorten(value)}")'
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def too_large(size: int, limit: int) -> str:
    """Why a payload of ``size`` bytes is refused (``[ingest] max_payload_bytes`` is ``limit``)."""
    return f"payload is {size} bytes, over the {limit}-byte limit"


def decode_text(payload: bytes) -> str | Rejection:
    """The payload as text, or a rejection when it is not UTF-8."""
    try:
        return bytes(payload).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        byte = exc.object[exc.start]
        return Rejection(
            f"payload is not UTF-8 text (byte 0x{byte:02x} at position {exc.start}); "
            "check the device's character encoding"
        )


def decode_json(payload: bytes) -> object | Rejection:
    """The payload's JSON value, or a rejection saying why it is not JSON."""
    text = decode_text(payload)
    if isinstance(text, Rejection):
        return text
    if not text.strip():
        return Rejection("payload is empty; expected JSON")
    try:
        value: object = json.loads(text)
    except json.JSONDecodeError as exc:
        return Rejection(f"payload is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
    except RecursionError:
        return Rejection("payload is JSON nested too deeply to read")
    except ValueError:
        # Python refuses to read integers of more than 4300 digits.
        return Rejection("payload has a number too long to read")
    return value


def as_number(value: object, what: str) -> float | str:
    """``value`` as a float, or an error string; booleans are not numbers."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"{what} is {describe(value)}, expected a number"
    try:
        return float(value)
    except OverflowError:
        return f"{what} is a number too large to use"


def plain_number(text: str) -> float | str:
    """A plain-text payload such as "4.3" as a float, or an error string."""
    if not PLAIN_NUMBER.fullmatch(text.strip()):
        return f'payload "{shorten(text.strip())}" is not a number; expected e.g. "4.3"'
    return float(text)


def optional_battery(data: dict[str, object], key: str, sensor: str) -> tuple[float | None, tuple[Rejection, ...]]:
    """The battery percentage under ``key`` if any; a bad one is reported, not fatal."""
    if data.get(key) is None:
        return None, ()
    value = as_number(data[key], f'"{key}"')
    if isinstance(value, str):
        return None, (Rejection(f"{value}; reading kept without it", sensor),)
    return value, ()


def fahrenheit_to_celsius(value: float) -> float:
    """°F to °C, rounded to 4 decimals so conversions do not invent precision."""
    return round((value - 32.0) * 5.0 / 9.0, 4)


def kelvin_to_celsius(value: float) -> float:
    """K to °C, rounded to 4 decimals."""
    return round(value - 273.15, 4)


def to_celsius(value: float, unit: str) -> float:
    """``value`` in ``unit`` ("C", "F" or "K") as °C; °C passes through unchanged."""
    if unit == "F":
        return fahrenheit_to_celsius(value)
    if unit == "K":
        return kelvin_to_celsius(value)
    return value


def epoch_to_utc(seconds: float) -> datetime | str:
    """Unix epoch seconds as an aware UTC datetime, or an error string."""
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return f"timestamp {seconds!r} is not a usable epoch time in seconds"


def parse_timestamp(value: object) -> datetime | str:
    """ISO 8601 with offset, or epoch seconds, as aware UTC; else an error string."""
    if isinstance(value, bool):
        return f"timestamp is {describe(value)}; send ISO 8601 with an offset or epoch seconds"
    if isinstance(value, (int, float)):
        number = as_number(value, "timestamp")
        return number if isinstance(number, str) else epoch_to_utc(number)
    if not isinstance(value, str):
        return f"timestamp is {describe(value)}; send ISO 8601 with an offset or epoch seconds"
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return f'timestamp "{shorten(value)}" is not ISO 8601; send e.g. "2026-11-25T10:00:00Z"'
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        return f'timestamp "{shorten(value)}" has no UTC offset; add "Z" or e.g. "+01:00"'
    return to_utc(parsed) or f'timestamp "{shorten(value)}" is out of range'


def to_utc(moment: datetime) -> datetime | None:
    """An aware datetime in UTC, or None when the conversion leaves year 1..9999."""
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def received_utc(ctx: ParseContext) -> datetime:
    """When the message arrived, as aware UTC (a naive value is taken as UTC)."""
    at = ctx.received_at
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def seconds_after(base: datetime, seconds: float) -> datetime | str:
    """``base`` moved by ``seconds``, or an error string when that is impossible."""
    try:
        return base + timedelta(seconds=seconds)
    except (OverflowError, ValueError):
        return f"relative time {seconds!r} s is out of range"


def topic_levels(topic: str) -> list[str]:
    """The topic's levels; parsers read them from the end so any prefix works."""
    return topic.split("/")


def availability(fmt: str, device: str, text: str, online: str, offline: str) -> ParseResult:
    """An availability result for the words ``online`` / ``offline`` (any case)."""
    word = text.strip().lower()
    if word in (online.lower(), offline.lower()):
        return ParseResult(availability=Availability(fmt, device, word == online.lower()))
    return rejected(
        f'availability payload is "{shorten(text.strip())}"; expected "{online}" or "{offline}"'
    )


ON_WORDS = {"on": 1.0, "off": 0.0, "true": 1.0, "false": 0.0, "1": 1.0, "0": 0.0}


def on_off(value: object, what: str, expected: str = '"ON" or "OFF"') -> float | str:
    """A switch or contact state (``ON``/``OFF``, ``true``/``false``, 1/0) as 1.0 or 0.0, or an error string."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)) and value in (0, 1):
        return float(value)
    if isinstance(value, str) and value.strip().lower() in ON_WORDS:
        return ON_WORDS[value.strip().lower()]
    return f"{what} is {describe(value)}; expected {expected}"


def rejected(reason: str, sensor: str | None = None) -> ParseResult:
    """A result that rejects the whole message."""
    return ParseResult(rejections=(Rejection(reason, sensor),))


def ignored(reason: str) -> ParseResult:
    """A result for a message that carries nothing to record."""
    return ParseResult(ignored=reason)


def prefixed(result: ParseResult, prefix: str) -> ParseResult:
    """``result`` with ``prefix`` (e.g. "item 2: ") before every rejection reason."""
    return dataclasses.replace(
        result, rejections=tuple(Rejection(prefix + r.reason, r.sensor_id) for r in result.rejections)
    )


def merge(results: Iterable[ParseResult], empty_reason: str) -> ParseResult:
    """One result from the parts of a multi-item message; ``empty_reason`` if nothing came out."""
    readings: list[Reading] = []
    rejections: list[Rejection] = []
    batteries: list[BatteryLevel] = []
    channels: list[ChannelReading] = []
    for part in results:
        readings.extend(part.readings)
        rejections.extend(part.rejections)
        batteries.extend(part.batteries)
        channels.extend(part.channels)
    if not (readings or rejections or batteries or channels):
        return ignored(empty_reason)
    return ParseResult(readings=tuple(readings), rejections=tuple(rejections), batteries=tuple(batteries),
                       channels=tuple(channels))

