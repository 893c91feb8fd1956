"""SenML (RFC 8428) JSON packs on ``.../senml/<device>``."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from fridge_monitor.core.parsers.common import (
    as_number,
    availability,
    decode_json,
    decode_text,
    describe,
    epoch_to_utc,
    ignored,
    merge,
    prefixed,
    received_utc,
    rejected,
    seconds_after,
    to_celsius,
    topic_levels,
)
from fridge_monitor.core.parsers.validate import check
from fridge_monitor.core.readings import (
    BatteryLevel,
    ChannelReading,
    ParseContext,
    ParseResult,
    Reading,
    Rejection,
    sensor_id,
)

FMT = "senml"
TEMPERATURE_UNITS = {"Cel": "C", "K": "K", "degF": "F"}
BATTERY_UNIT = "%EL"
# Units of the other channels a fridge's sensors may send (RFC 8428 §12.1).
CHANNEL_UNITS = {"%RH": "humidity", "W": "power"}
NON_NUMERIC = frozenset(("vs", "vb", "vd"))
# RFC 8428 §4.5.3: times below 2**28 are relative to now.
RELATIVE_LIMIT = 2**28


@dataclasses.dataclass(frozen=True, slots=True)
class Base:
    """The base fields that carry forward from record to record."""

    name: str = ""
    time: float = 0.0
    unit: str | None = None
    value: float = 0.0


def parse(topic: str, payload: bytes, ctx: ParseContext) -> ParseResult:
    """Temperature, battery, humidity and power records of a pack, or a ``.../status`` availability."""
    segments = topic_levels(topic)
    if len(segments) >= 3 and segments[-3] == "senml" and segments[-1] == "status":
        text = decode_text(payload)
        if isinstance(text, Rejection):
            return ParseResult(rejections=(text,))
        return availability(FMT, segments[-2], text, "online", "offline")
    if len(segments) < 2 or segments[-2] != "senml":
        return ignored(f'topic "{topic}" is not .../senml/<device> or .../senml/<device>/status')
    if not segments[-1]:
        return rejected(f'topic "{topic}" has no device name after "senml/"')
    pack = decode_json(payload)
    if isinstance(pack, Rejection):
        return ParseResult(rejections=(pack,))
    if not isinstance(pack, list):
        return rejected(f"payload is {describe(pack)}; a SenML pack is a JSON array of records")
    parts = []
    base = Base()
    for n, record in enumerate(pack, 1):
        base, part = _record(record, base, segments[-1], ctx)
        parts.append(prefixed(check(part, ctx), f"item {n}: "))
    return merge(parts, "SenML pack has no temperature, battery, humidity or power records")


def _record(record: object, base: Base, topic_device: str, ctx: ParseContext) -> tuple[Base, ParseResult]:
    """The base carried on after ``record``, and what the record itself says."""
    if not isinstance(record, dict):
        return base, rejected(f"expected a SenML record (JSON object), got {describe(record)}")
    base, problem = _updated_base(record, base)
    if problem:
        return base, rejected(problem)
    if any(key.endswith("_") for key in record):
        # RFC 8428 §4.4: a field ending in "_" must be understood or the record rejected.
        return base, rejected("record has a must-understand field (ending in \"_\") this parser does not support")
    unit = record.get("u", base.unit)
    if unit is not None and not isinstance(unit, str):
        return base, rejected(f'"u" is {describe(unit)}; expected a string')
    if not NON_NUMERIC.isdisjoint(record) or (unit not in TEMPERATURE_UNITS and unit != BATTERY_UNIT
                                               and unit not in CHANNEL_UNITS):
        return base, ParseResult()
    if "v" not in record and "s" not in record:
        # RFC 8428 §4.2: a record carries a value or a sum; a temperature without one is broken.
        return base, rejected(f'record with unit "{unit}" has no value ("v")')
    if "v" not in record:
        return base, ParseResult()
    name = record.get("n", "")
    if not isinstance(name, str):
        return base, rejected(f'"n" is {describe(name)}; expected a string')
    device = base.name.rstrip(":/") or topic_device
    sid = sensor_id(FMT, device, name or None)
    value = as_number(record["v"], '"v"')
    if isinstance(value, str):
        return base, rejected(value, sid)
    offset = as_number(record.get("t", 0), '"t"')
    if isinstance(offset, str):
        return base, rejected(offset, sid)
    seconds = base.time + offset
    measured_at = _time(seconds, ctx)
    if isinstance(measured_at, str):
        return base, rejected(measured_at, sid)
    timed = seconds >= RELATIVE_LIMIT  # a relative time counts from arrival: the pack had no clock
    value += base.value
    if unit == BATTERY_UNIT:
        return base, ParseResult(batteries=(BatteryLevel(FMT, device, value, measured_at, timed),))
    if unit in CHANNEL_UNITS:
        return base, ParseResult(channels=(ChannelReading(sid, FMT, device, CHANNEL_UNITS[unit], measured_at, value,
                                                          timed),))
    reading = Reading(sid, FMT, device, measured_at, to_celsius(value, TEMPERATURE_UNITS[unit]), timed=timed)
    return base, ParseResult(readings=(reading,))


def _updated_base(record: dict[str, object], base: Base) -> tuple[Base, str | None]:
    """``base`` with the record's bn/bu/bt/bv applied, or the first bad one named."""
    texts: dict[str, str] = {}
    for key in ("bn", "bu"):
        if key in record:
            text = record[key]
            if not isinstance(text, str):
                return base, f'"{key}" is {describe(text)}; expected a string'
            texts[key] = text
    numbers: dict[str, float] = {}
    for key in ("bt", "bv"):
        if key in record:
            number = as_number(record[key], f'"{key}"')
            if isinstance(number, str):
                return base, number
            numbers[key] = number
    return Base(name=texts.get("bn", base.name), unit=texts.get("bu", base.unit), time=numbers.get("bt", base.time),
                value=numbers.get("bv", base.value)), None


def _time(seconds: float, ctx: ParseContext) -> datetime | str:
    """A SenML time: relative to arrival below 2**28, else epoch seconds."""
    if seconds < RELATIVE_LIMIT:
        return seconds_after(received_utc(ctx), seconds)
    return epoch_to_utc(seconds)
