"""The dispatcher, validation, explain() and the shared parsing helpers."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from fridge_monitor.core import parsers
from fridge_monitor.core.parsers import explain, parse
from fridge_monitor.core.parsers.common import (
    as_number,
    decode_json,
    fahrenheit_to_celsius,
    kelvin_to_celsius,
    parse_timestamp,
    plain_number,
    to_celsius,
)
from fridge_monitor.core.parsers.validate import span
from fridge_monitor.core.readings import (
    FORMATS,
    SUBSCRIPTION_FORMATS,
    Availability,
    BatteryLevel,
    ChannelReading,
    ParseContext,
    ParseResult,
    Reading,
    Rejection,
)

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
CTX = ParseContext(received_at=NOW)


def test_every_format_has_a_parser():
    assert set(parsers.PARSERS) == set(SUBSCRIPTION_FORMATS) == {*FORMATS, "discovery"}


# --- parse_timestamp ---------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-25T10:00:00Z", datetime(2026, 11, 25, 10, 0, tzinfo=UTC)),
        ("2026-11-25T11:00:00+01:00", datetime(2026, 11, 25, 10, 0, tzinfo=UTC)),
        ("2026-11-25T05:30:00.250-04:30", datetime(2026, 11, 25, 10, 0, 0, 250000, tzinfo=UTC)),
        (1795600800, datetime(2026, 11, 25, 10, 0, tzinfo=UTC)),
        (1795600800.5, datetime(2026, 11, 25, 10, 0, 0, 500000, tzinfo=UTC)),
        (0, datetime(1970, 1, 1, tzinfo=UTC)),
    ],
)
def test_parse_timestamp_accepts_offset_iso_and_epoch(value, expected):
    parsed = parse_timestamp(value)
    assert parsed == expected
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2026-11-25T10:00:00", 'timestamp "2026-11-25T10:00:00" has no UTC offset; add "Z" or e.g. "+01:00"'),
        ("yesterday", 'timestamp "yesterday" is not ISO 8601; send e.g. "2026-11-25T10:00:00Z"'),
        (True, "timestamp is a boolean (true); send ISO 8601 with an offset or epoch seconds"),
        (None, "timestamp is null; send ISO 8601 with an offset or epoch seconds"),
        ([1], "timestamp is a list; send ISO 8601 with an offset or epoch seconds"),
        (float("nan"), "timestamp nan is not a usable epoch time in seconds"),
        (1e20, "timestamp 1e+20 is not a usable epoch time in seconds"),
        (10**400, "timestamp is a number too large to use"),
        ("0001-01-01T00:00:00+01:00", 'timestamp "0001-01-01T00:00:00+01:00" is out of range'),
    ],
)
def test_parse_timestamp_explains_what_is_wrong(value, reason):
    assert parse_timestamp(value) == reason


# --- decoding and numbers ----------------------------------------------------


def test_decode_json_returns_any_json_value():
    assert decode_json(b'{"a": [1, 2.5, null, true]}') == {"a": [1, 2.5, None, True]}
    assert decode_json(b'"online"') == "online"
    assert decode_json(b"\xef\xbb\xbf[1]") == [1]  # a UTF-8 byte order mark is tolerated


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", "payload is empty; expected JSON"),
        (
            b"{temperature: 4}",
            "payload is not valid JSON: Expecting property name enclosed in double quotes at line 1 column 2",
        ),
        (
            b'{"t": 4.3\xff}',
            "payload is not UTF-8 text (byte 0xff at position 9); check the device's character encoding",
        ),
        (b"[" * 5000 + b"]" * 5000, "payload is JSON nested too deeply to read"),
        (b"1" * 5000, "payload has a number too long to read"),
    ],
)
def test_decode_json_rejects_with_reason(payload, reason):
    assert decode_json(payload) == Rejection(reason)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (4, 4.0),
        (-18.5, -18.5),
        (True, '"t" is a boolean (true), expected a number'),
        ("4.3", '"t" is a string ("4.3"), expected a number'),
        (None, '"t" is null, expected a number'),
        ({}, '"t" is an object, expected a number'),
        (10**400, '"t" is a number too large to use'),
    ],
)
def test_as_number_refuses_bools_and_strings(value, expected):
    assert as_number(value, '"t"') == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4.3", 4.3),
        (" -18\n", -18.0),
        ("1e1", 10.0),
        (".5", 0.5),
        ("inf", 'payload "inf" is not a number; expected e.g. "4.3"'),
        ("1_000", 'payload "1_000" is not a number; expected e.g. "4.3"'),
        ("4,3", 'payload "4,3" is not a number; expected e.g. "4.3"'),
        ("٤", 'payload "٤" is not a number; expected e.g. "4.3"'),
    ],
)
def test_plain_number(text, expected):
    assert plain_number(text) == expected


def test_unit_conversions_round_to_four_decimals():
    assert fahrenheit_to_celsius(39.6) == 4.2222
    assert fahrenheit_to_celsius(32) == 0.0
    assert kelvin_to_celsius(277.45) == 4.3
    assert to_celsius(4.123456789, "C") == 4.123456789
    assert to_celsius(-40, "F") == -40.0
    assert to_celsius(0, "K") == -273.15


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(seconds=1), "1 second"),
        (timedelta(seconds=90), "90 seconds"),
        (timedelta(minutes=5), "5 minutes"),
        (timedelta(hours=3), "3 hours"),
        (timedelta(days=40), "40 days"),
        (datetime(2030, 1, 1, tzinfo=UTC) - NOW, "3 years"),
    ],
)
def test_span(delta, text):
    assert span(delta) == text


# --- dispatcher ----------------------------------------------------------------


def test_unknown_format_names_the_known_ones():
    result = parse("csv", "x/y", b"4.3", CTX)
    assert result == ParseResult(
        rejections=(
            Rejection(
                'unknown payload format "csv"; known formats: '
                "native, senml, zigbee2mqtt, tasmota, esphome, shelly, discovery"
            ),
        )
    )


def test_oversize_payload_is_rejected_before_parsing():
    payload = b'{"temperature_c": 4.3, "pad": "' + b"x" * 69967 + b'"}'
    assert len(payload) == 70000
    result = parse("native", "fridge-monitor/readings/a1", payload, CTX)
    assert result.rejections == (Rejection("payload is 70000 bytes, over the 65536-byte limit"),)
    assert result.readings == ()


def test_parser_exception_becomes_rejection(monkeypatch):
    def broken(topic, payload, ctx):
        raise KeyError("temperature")

    monkeypatch.setitem(parsers.PARSERS, "native", broken)
    result = parse("native", "fridge-monitor/readings/a1", b"{}", CTX)
    assert result.rejections == (Rejection("could not parse native payload: KeyError: 'temperature'"),)


def _native(payload: bytes, ctx: ParseContext = CTX) -> ParseResult:
    return parse("native", "t123/fridge-monitor/readings/a1", payload, ctx)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b'{"temperature_c": NaN}', "temperature is not a number (nan)"),
        (b'{"temperature_c": Infinity}', "temperature is not a number (inf)"),
        (b'{"temperature_c": -1e400}', "temperature is not a number (-inf)"),
        (b'{"temperature_c": 150}', "temperature 150.0 °C is outside the plausible range -100..100 °C"),
        (b'{"temperature_c": -100.5}', "temperature -100.5 °C is outside the plausible range -100..100 °C"),
        (
            b'{"temperature_c": 4, "ts": "2030-01-01T00:00:00Z"}',
            "timestamp 2030-01-01T00:00:00Z is 3 years ahead of the time it arrived; "
            "device clock wrong? limit is 5 minutes",
        ),
        (
            b'{"temperature_c": 4, "ts": "2026-11-25T10:06:00Z"}',
            "timestamp 2026-11-25T10:06:00Z is 6 minutes ahead of the time it arrived; "
            "device clock wrong? limit is 5 minutes",
        ),
        (
            b'{"temperature_c": 4, "ts": 0}',
            "timestamp 1970-01-01T00:00:00Z is before 2000-01-01; device clock not set?",
        ),
    ],
)
def test_implausible_readings_are_rejected_with_sensor_id(payload, reason):
    result = _native(payload)
    assert result.readings == ()
    assert result.rejections == (Rejection(reason, "native:a1"),)


def test_limits_come_from_the_context():
    ctx = ParseContext(
        received_at=NOW, min_temperature_c=-40, max_temperature_c=60, future_tolerance=timedelta(hours=1)
    )
    assert _native(b'{"temperature_c": 61}', ctx).rejections == (
        Rejection("temperature 61.0 °C is outside the plausible range -40..60 °C", "native:a1"),
    )
    assert len(_native(b'{"temperature_c": 4, "ts": "2026-11-25T10:59:00Z"}', ctx).readings) == 1


def test_boundaries_are_inclusive():
    assert len(_native(b'{"temperature_c": 100}').readings) == 1
    assert len(_native(b'{"temperature_c": 4, "ts": "2026-11-25T10:05:00Z"}').readings) == 1
    assert len(_native(b'{"temperature_c": 4, "ts": "2000-01-01T00:00:00Z"}').readings) == 1


def test_out_of_range_battery_is_dropped_but_reading_kept():
    result = _native(b'{"temperature_c": 4.3, "battery_pct": 140}')
    assert result.readings == (Reading("native:a1", "native", "a1", NOW, 4.3, None),)
    assert result.rejections == (
        Rejection("battery 140 % is outside 0..100 %; reading kept without it", "native:a1"),
    )


def test_out_of_range_battery_level_is_rejected():
    result = parse("shelly", "shellies/ht-1/sensor/battery", b"101", CTX)
    assert result.batteries == ()
    assert result.rejections == (Rejection("battery 101 % is outside 0..100 %", "shelly:ht-1"),)


def test_received_at_in_another_zone_is_normalised_to_utc():
    berlin = timezone(timedelta(hours=1))
    ctx = ParseContext(received_at=datetime(2026, 11, 25, 11, 0, tzinfo=berlin))
    (reading,) = _native(b'{"temperature_c": 4.3}', ctx).readings
    assert reading.measured_at == NOW
    assert reading.measured_at.tzinfo is UTC


# --- explain -------------------------------------------------------------------


def test_explain_lines():
    result = ParseResult(
        readings=(Reading("native:a1-probe", "native", "a1-probe", NOW, 4.3, 88.0),),
        rejections=(Rejection("item 2: temperature is not a number (nan)", "native:a1-probe"), Rejection("bad")),
        availability=Availability("tasmota", "fridge-a", True),
        batteries=(BatteryLevel("shelly", "abc", 88.0, NOW),),
    )
    assert explain(result) == [
        "online    tasmota:fridge-a",
        "reading   native:a1-probe   2026-11-25T10:00:00Z   4.3 °C   battery 88 %",
        "battery   shelly:abc 88 %",
        "rejected  item 2: temperature is not a number (nan)   [native:a1-probe]",
        "rejected  bad",
    ]


def test_explain_channels():
    at = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    result = ParseResult(channels=(ChannelReading("zigbee2mqtt:door", "zigbee2mqtt", "door", "door", at, 1.0),
                                   ChannelReading("tasmota:plug", "tasmota", "plug", "power", at, 45.5),
                                   ChannelReading("tasmota:plug", "tasmota", "plug", "switch", at, 0.0),
                                   ChannelReading("senml:h", "senml", "h", "humidity", at, 52.0)))
    assert explain(result) == [
        "door      zigbee2mqtt:door   2026-11-25T10:00:00Z   open",
        "power     tasmota:plug   2026-11-25T10:00:00Z   45.5 W",
        "switch    tasmota:plug   2026-11-25T10:00:00Z   off",
        "humidity  senml:h   2026-11-25T10:00:00Z   52 %RH",
    ]


def test_explain_offline_ignored_and_empty():
    assert explain(ParseResult(availability=Availability("esphome", "node1", False))) == ["offline   esphome:node1"]
    assert explain(ParseResult(ignored="message has no temperature")) == ["ignored   message has no temperature"]
    assert explain(ParseResult()) == ["ignored   message carried nothing to record"]


def test_explain_shows_fractional_seconds_as_milliseconds():
    at = datetime(2024, 11, 25, 10, 20, 0, 120000, tzinfo=UTC)
    lines = explain(ParseResult(readings=(Reading("shelly:p:0", "shelly", "p", at, 4.2),)))
    assert lines == ["reading   shelly:p:0   2024-11-25T10:20:00.120Z   4.2 °C"]
