"""SenML (RFC 8428) packs on .../senml/<device>."""

from datetime import UTC, datetime, timedelta

import pytest

from fridge_monitor.core.parsers import parse
from fridge_monitor.core.readings import Availability, BatteryLevel, ParseContext, ParseResult, Reading, Rejection

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
CTX = ParseContext(received_at=NOW)
TOPIC = "t123/senml/cold-room-1"


def run(payload: bytes, topic: str = TOPIC) -> ParseResult:
    return parse("senml", topic, payload, CTX)


def test_rfc_single_datapoint_uses_topic_device_and_n_as_channel():
    result = run(b'[{"n":"urn:dev:ow:10e2073a01080063","u":"Cel","v":23.1}]')
    sid = "senml:cold-room-1:urn:dev:ow:10e2073a01080063"
    assert result == ParseResult(readings=(Reading(sid, "senml", "cold-room-1", NOW, 23.1),))


def test_rfc_multiple_data_types_skips_vs_vb_vd():
    payload = b"""[
        {"bn":"urn:dev:ow:10e2073a01080063:","n":"temp","u":"Cel","v":4.1},
        {"n":"label","vs":"Machine Room"},
        {"n":"open","vb":false},
        {"n":"nfc-reader","vd":"aGkgCg"}
    ]"""
    result = run(payload)
    assert result == ParseResult(
        readings=(Reading("senml:urn:dev:ow:10e2073a01080063:temp", "senml", "urn:dev:ow:10e2073a01080063", NOW, 4.1),)
    )


def test_rfc_collection_with_base_time_and_other_units():
    payload = b"""[
        {"bn":"2001:db8::2/","bt":1.795600740e+09,"n":"temperature","u":"Cel","v":5.2},
        {"n":"humidity","u":"%RH","v":80}
    ]"""
    (reading,) = run(payload).readings
    assert reading.sensor_id == "senml:2001:db8::2:temperature"
    assert reading.device == "2001:db8::2"
    assert reading.measured_at == datetime(2026, 11, 25, 9, 59, tzinfo=UTC)


def test_base_fields_carry_forward_and_relative_times():
    payload = b"""[
        {"bn":"urn:dev:mac:0024befffe804ff1:","bt":-60,"bu":"Cel","n":"probe","v":4.2},
        {"n":"probe","t":30,"v":4.4},
        {"n":"probe","t":60,"bv":0.5,"v":4.0},
        {"n":"probe","bt":-600,"v":4.0}
    ]"""
    result = run(payload)
    assert [(r.measured_at, r.temperature_c) for r in result.readings] == [
        (NOW - timedelta(seconds=60), 4.2),
        (NOW - timedelta(seconds=30), 4.4),
        (NOW, 4.5),
        (NOW - timedelta(seconds=600), 4.5),
    ]
    assert {r.sensor_id for r in result.readings} == {"senml:urn:dev:mac:0024befffe804ff1:probe"}


def test_absolute_times_and_k_and_degf_conversions():
    payload = b"""[
        {"bn":"fridge-7/","bt":1795600800,"n":"a","u":"K","v":277.45},
        {"n":"b","u":"degF","v":39.6,"t":-120},
        {"n":"c","u":"Cel","v":3.123456789}
    ]"""
    a, b, c = run(payload).readings
    assert (a.sensor_id, a.measured_at, a.temperature_c) == ("senml:fridge-7:a", NOW, 4.3)
    assert (b.sensor_id, b.measured_at, b.temperature_c) == ("senml:fridge-7:b", NOW - timedelta(minutes=2), 4.2222)
    assert c.temperature_c == 3.123456789


def test_battery_percentage_becomes_battery_level():
    payload = b'[{"bn":"logger-3:","n":"temp","u":"Cel","v":4.0},{"n":"battery","u":"%EL","v":71}]'
    result = run(payload)
    assert result.batteries == (BatteryLevel("senml", "logger-3", 71.0, NOW),)
    assert len(result.readings) == 1


def test_no_bn_and_no_n_uses_topic_device_without_channel():
    (reading,) = run(b'[{"u":"Cel","v":4.0}]').readings
    assert reading.sensor_id == "senml:cold-room-1"


def test_humidity_and_power_records_become_channels_of_their_own():
    payload = b'[{"bn":"m:","n":"humidity","u":"%RH","v":80},{"n":"door","vb":true},{"n":"plug","u":"W","v":41.5}]'
    result = run(payload)
    assert result.readings == ()
    assert [(c.sensor_id, c.channel, c.value, c.measured_at) for c in result.channels] == [
        ("senml:m:humidity", "humidity", 80.0, NOW), ("senml:m:plug", "power", 41.5, NOW)]


def test_pack_without_anything_to_record_is_ignored():
    payload = b'[{"bn":"m:","n":"door","vb":true},{"n":"count","v":3}]'
    assert run(payload) == ParseResult(ignored="SenML pack has no temperature, battery, humidity or power records")
    assert run(b"[]") == ParseResult(ignored="SenML pack has no temperature, battery, humidity or power records")


def test_humidity_over_100_percent_is_rejected():
    result = run(b'[{"bn":"m:","n":"humidity","u":"%RH","v":130}]')
    assert result.channels == ()
    assert [r.reason for r in result.rejections] == ["item 1: humidity 130 % is outside 0..100 %"]


def test_temperature_record_without_value_is_rejected():
    result = run(b'[{"bn":"m:","n":"x","u":"Cel"}]')
    assert result.readings == ()
    assert [r.reason for r in result.rejections] == ['item 1: record with unit "Cel" has no value ("v")']


def test_bad_records_are_rejected_and_good_ones_kept():
    payload = b"""[
        {"bn":"dev:","n":"a","u":"Cel","v":4.0},
        "oops",
        {"n":"b","u":"Cel","v":"4.1"},
        {"n":"c","u":"Cel","v":150},
        {"n":"d","u":"Cel","v":4.2,"t":1900000000},
        {"bt":true,"n":"e","u":"Cel","v":4.3},
        {"n":"f","u":"Cel","v":4.4,"foo_":1},
        {"n":"g","u":"Cel","v":NaN}
    ]"""
    result = run(payload)
    assert [r.sensor_id for r in result.readings] == ["senml:dev:a"]
    assert result.rejections == (
        Rejection('item 2: expected a SenML record (JSON object), got a string ("oops")'),
        Rejection('item 3: "v" is a string ("4.1"), expected a number', "senml:dev:b"),
        Rejection("item 4: temperature 150.0 °C is outside the plausible range -100..100 °C", "senml:dev:c"),
        Rejection(
            "item 5: timestamp 2030-03-17T17:46:40Z is 3 years ahead of the time it arrived; "
            "device clock wrong? limit is 5 minutes",
            "senml:dev:d",
        ),
        Rejection('item 6: "bt" is a boolean (true), expected a number'),
        Rejection('item 7: record has a must-understand field (ending in "_") this parser does not support'),
        Rejection("item 8: temperature is not a number (nan)", "senml:dev:g"),
    )


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b'{"n":"a","u":"Cel","v":4}', "payload is an object; a SenML pack is a JSON array of records"),
        (b"[{", "payload is not valid JSON: Expecting property name enclosed in double quotes at line 1 column 3"),
        (
            b'[{"n":"caf\xe9"}]',
            "payload is not UTF-8 text (byte 0xe9 at position 10); check the device's character encoding",
        ),
    ],
)
def test_bad_packs_are_rejected(payload, reason):
    assert run(payload) == ParseResult(rejections=(Rejection(reason),))


def test_old_absolute_time_is_rejected():
    result = run(b'[{"bn":"dev:","bt":300000000,"n":"a","u":"Cel","v":4}]')
    assert result.rejections == (
        Rejection("item 1: timestamp 1979-07-05T05:20:00Z is before 2000-01-01; device clock not set?", "senml:dev:a"),
    )


@pytest.mark.parametrize(("payload", "online"), [(b"online", True), (b"offline", False)])
def test_availability(payload, online):
    assert run(payload, "t123/senml/cold-room-1/status") == ParseResult(
        availability=Availability("senml", "cold-room-1", online)
    )


def test_other_topics_are_ignored():
    expected = 'topic "senml/a/b/c" is not .../senml/<device> or .../senml/<device>/status'
    assert run(b"[]", "senml/a/b/c").ignored == expected
