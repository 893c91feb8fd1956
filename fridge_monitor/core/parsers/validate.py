"""Plausibility checks every reading passes before anyone stores it."""

from __future__ import annotations

import dataclasses
import functools
import math
from datetime import UTC, datetime, timedelta

from fridge_monitor.core.names import refuse_hidden_characters
from fridge_monitor.core.parsers.common import received_utc, to_utc
from fridge_monitor.core.readings import (
    RETAINED_WITHOUT_TIME,
    BatteryLevel,
    ChannelReading,
    ParseContext,
    ParseResult,
    Reading,
    Rejection,
    sensor_id,
)

# Devices without a network time source boot at 1970 (or their firmware date).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
# The database column holds 300; device names and channels must fit with the format prefix.
MAX_SENSOR_ID = 250


def readable_utc(moment: datetime) -> str:
    """``moment`` for a person reading a rejection or the ``parse`` command: ISO 8601 UTC to the millisecond
    at most, e.g. 2026-11-25T10:00:00Z (records keep every digit: :func:`fridge_monitor.core.times.iso_utc`)."""
    utc = to_utc(moment) if moment.tzinfo is not None else moment
    if utc is None:
        return moment.isoformat()
    spec = "milliseconds" if utc.microsecond else "seconds"
    return utc.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def span(delta: timedelta) -> str:
    """A duration in the largest unit that still reads naturally, e.g. "3 years"."""
    seconds = abs(delta.total_seconds())
    for unit, size in (("year", 365.25 * 86400), ("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= 2 * size:
            return f"{int(seconds // size)} {unit}s"
    count = int(seconds)
    return f"{count} second{'' if count == 1 else 's'}"


def time_problem(moment: datetime, ctx: ParseContext) -> str | None:
    """Why ``moment`` cannot be when a measurement was taken, or None if it can."""
    if moment.tzinfo is None:
        return f"timestamp {moment.isoformat()} has no time zone"
    ahead = moment - received_utc(ctx)
    if ahead > ctx.future_tolerance:
        return (
            f"timestamp {readable_utc(moment)} is {span(ahead)} ahead of the time it arrived; "
            f"device clock wrong? limit is {span(ctx.future_tolerance)}"
        )
    if moment < EARLIEST:
        return f"timestamp {readable_utc(moment)} is before 2000-01-01; device clock not set?"
    return None


def battery_problem(pct: float) -> str | None:
    """Why ``pct`` cannot be a battery percentage, or None if it can."""
    if not math.isfinite(pct):
        return f"battery is not a number ({pct})"
    if not 0 <= pct <= 100:
        return f"battery {pct:g} % is outside 0..100 %"
    return None


def temperature_problem(value: float, ctx: ParseContext) -> str | None:
    """Why ``value`` °C cannot be a fridge probe's reading, or None if it can."""
    if not math.isfinite(value):
        return f"temperature is not a number ({value})"
    if not ctx.min_temperature_c <= value <= ctx.max_temperature_c:
        return (
            f"temperature {value} °C is outside the plausible range "
            f"{ctx.min_temperature_c:g}..{ctx.max_temperature_c:g} °C"
        )
    return None


@functools.lru_cache(maxsize=4096)
def sensor_problem(sid: str) -> str | None:
    """Why ``sid`` cannot be stored as a sensor id, or None if it can (remembered: every message of a sensor
    asks again about the same few ids)."""
    if len(sid) > MAX_SENSOR_ID:
        return f"sensor id is {len(sid)} characters long; the limit is {MAX_SENSOR_ID}"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in sid):
        return f"sensor id {sid.encode('unicode_escape').decode()} contains control characters"
    try:
        # A right-to-left override or a zero-width character would let one id pass for another.
        refuse_hidden_characters("a sensor id", sid)
    except ValueError as exc:
        return f"sensor id {sid.encode('unicode_escape').decode()}: {exc}"
    return None


def check_reading(reading: Reading, ctx: ParseContext) -> tuple[Reading | None, list[Rejection]]:
    """The reading if plausible (battery dropped if not), plus the rejections found."""
    if problem := sensor_problem(reading.sensor_id):
        return None, [Rejection(problem)]
    problem = temperature_problem(reading.temperature_c, ctx) or time_problem(reading.measured_at, ctx)
    if problem:
        return None, [Rejection(problem, reading.sensor_id)]
    if reading.measured_at.tzinfo is not UTC:
        reading = dataclasses.replace(reading, measured_at=reading.measured_at.astimezone(UTC))
    if reading.battery_pct is not None and (problem := battery_problem(reading.battery_pct)):
        kept = dataclasses.replace(reading, battery_pct=None)
        return kept, [Rejection(f"{problem}; reading kept without it", reading.sensor_id)]
    return reading, []


def check_battery(level: BatteryLevel, ctx: ParseContext) -> tuple[BatteryLevel | None, list[Rejection]]:
    """The battery report if plausible, plus the rejections found."""
    problem = battery_problem(level.battery_pct) or time_problem(level.at, ctx)
    if problem:
        return None, [Rejection(problem, sensor_id(level.fmt, level.device))]
    return dataclasses.replace(level, at=level.at.astimezone(UTC)), []


# What a channel's value may be: door and switch are 1 or 0; power a plug's measuring range.
MAX_POWER_W = 100_000.0


def channel_problem(channel: str, value: float) -> str | None:
    """Why ``value`` cannot be a reading of ``channel``, or None if it can."""
    if not math.isfinite(value):
        return f"{channel} is not a number ({value})"
    if channel in ("door", "switch") and value not in (0.0, 1.0):
        return f"{channel} state {value:g} is not 1 or 0"
    if channel == "power" and not 0 <= value <= MAX_POWER_W:
        return f"power {value:g} W is outside the plausible range 0..{MAX_POWER_W:g} W"
    if channel == "humidity" and not 0 <= value <= 100:
        return f"humidity {value:g} % is outside 0..100 %"
    return None


def check_channel(reading: ChannelReading, ctx: ParseContext) -> tuple[ChannelReading | None, list[Rejection]]:
    """The channel reading if plausible, plus the rejections found."""
    if problem := sensor_problem(reading.sensor_id):
        return None, [Rejection(problem)]
    problem = channel_problem(reading.channel, reading.value) or time_problem(reading.measured_at, ctx)
    if problem:
        return None, [Rejection(problem, reading.sensor_id)]
    return dataclasses.replace(reading, measured_at=reading.measured_at.astimezone(UTC)), []


def check(result: ParseResult, ctx: ParseContext) -> ParseResult:
    """``result`` with implausible readings, channel values and batteries moved to rejections."""
    readings: list[Reading] = []
    batteries: list[BatteryLevel] = []
    channels: list[ChannelReading] = []
    rejections = list(result.rejections)
    for reading in result.readings:
        kept, found = check_reading(reading, ctx)
        readings.extend([kept] if kept else [])
        rejections.extend(found)
    for level in result.batteries:
        kept_level, found = check_battery(level, ctx)
        batteries.extend([kept_level] if kept_level else [])
        rejections.extend(found)
    for value in result.channels:
        kept_value, found = check_channel(value, ctx)
        channels.extend([kept_value] if kept_value else [])
        rejections.extend(found)
    return ParseResult(tuple(readings), tuple(rejections), result.availability, tuple(batteries), result.ignored,
                       result.entity, tuple(channels))


def refuse_untimed(result: ParseResult) -> ParseResult:
    """A retained message's result: what carried no time of its own is rejected, never a reading.

    The broker hands a new subscriber the last retained message of a topic,
    however old; without its own time, its measurement time is unknown.
    """
    if all(r.timed for r in result.readings) and all(b.timed for b in result.batteries) \
            and all(c.timed for c in result.channels):
        return result
    refused = [Rejection(RETAINED_WITHOUT_TIME, r.sensor_id) for r in result.readings if not r.timed]
    refused += [Rejection(RETAINED_WITHOUT_TIME, sensor_id(b.fmt, b.device)) for b in result.batteries if not b.timed]
    refused += [Rejection(RETAINED_WITHOUT_TIME, c.sensor_id) for c in result.channels if not c.timed]
    return dataclasses.replace(
        result,
        readings=tuple(r for r in result.readings if r.timed),
        batteries=tuple(b for b in result.batteries if b.timed),
        channels=tuple(c for c in result.channels if c.timed),
        rejections=(*result.rejections, *refused),
    )
