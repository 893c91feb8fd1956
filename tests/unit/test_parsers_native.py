"""Fridge Monitor's own JSON format on .../readings/<sensor>."""

from datetime import UTC, datetime

import pytest

from fridge_monitor.core.parsers import native, parse
from fridge_monitor.core.readings import Availability, ParseContext, ParseResult, Reading, Rejection

NOW = datetime(2026, 11, 25, 10, 0, 30, tzinfo=UTC)
CTX = ParseContext(received_at=NOW)
TOPIC = "t123/fridge-monitor/readings/a1-probe"
MISSING = 'missing "temperature_c" (or a channel: "door_open", "power_w", "switch_on", "humidity_pct")'
SID = "native:a1-probe"


def run(payload: bytes, topic: str = TOPIC) -> ParseResult:
    return parse("native", topic, payload, CTX)


def test_single_reading_with_iso_time_and_battery():
    result = run(b'{"temperature_c": 4.3, "ts": "2026-11-25T10:00:00Z", "battery_pct": 88, "fw": "1.2.0"}')
    assert result == ParseResult(
        readings=(Reading(SID, "native", "a1-probe", datetime(2026, 11, 25, 10, 0, tzinfo=UTC), 4.3, 88.0, timed=True),)
    )


def test_epoch_seconds_and_offset_times_become_utc():
    (a,) = run(b'{"temperature_c": 4.3, "ts": 1795600800}').readings
    (b,) = run(b'{"temperature_c": 4.3, "ts": "2026-11-25T11:00:00+01:00"}').readings
    assert a.measured_at == b.measured_at == datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    assert a.measured_at.tzinfo is UTC and b.measured_at.tzinfo is UTC


def test_missing_ts_means_received_at():
    (reading,) = run(b'{"temperature_c": -18.2}').readings
    assert reading.measured_at == NOW
    assert reading.temperature_c == -18.2
    assert reading.battery_pct is None


def test_any_topic_prefix_works():
    (reading,) = run(b'{"temperature_c": 4.3}', "site/clinic-7/fridge-monitor/readings/vax-2").readings
    assert reading.sensor_id == "native:vax-2"
    assert reading.device == "vax-2"


def test_logger_buffer_keeps_good_items_out_of_order():
    payload = b"""[
        {"temperature_c": 4.6, "ts": "2026-11-25T09:50:00Z"},
        {"temperature_c": 150, "ts": "2026-11-25T09:40:00Z"},
        {"temperature_c": 4.4, "ts": "2026-11-25T09:30:00Z", "battery_pct": 87},
        {"ts": "2026-11-25T09:20:00Z"},
        "4.2",
        {"temperature_c": 4.1, "ts": "2026-11-25T09:00:00"}
    ]"""
    result = run(payload)
    assert [(r.measured_at.minute, r.temperature_c, r.battery_pct) for r in result.readings] == [
        (50, 4.6, None),
        (30, 4.4, 87.0),
    ]
    assert result.rejections == (
        Rejection("item 2: temperature 150.0 °C is outside the plausible range -100..100 °C", SID),
        Rejection('item 4: ' + MISSING, SID),
        Rejection('item 5: expected a JSON object, got a string ("4.2")', SID),
        Rejection('item 6: timestamp "2026-11-25T09:00:00" has no UTC offset; add "Z" or e.g. "+01:00"', SID),
    )


def test_empty_list_is_ignored():
    assert run(b"[]") == ParseResult(ignored="empty list: no readings")


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (
            b"{temperature_c: 4.3}",
            "payload is not valid JSON: Expecting property name enclosed in double quotes at line 1 column 2",
        ),
        (
            b'{"temperature_c": 4.3, "site": "K\xf6ln"}',
            "payload is not UTF-8 text (byte 0xf6 at position 33); check the device's character encoding",
        ),
        (b"4.3", "payload is a number; expected a JSON object or a list of objects"),
        (b'"hello"', 'payload is a string ("hello"); expected a JSON object or a list of objects'),
        (b'{"temp": 4.3}', MISSING),
        (b'{"temperature_c": null}', '"temperature_c" is null, expected a number'),
        (b'{"temperature_c": "4.3"}', '"temperature_c" is a string ("4.3"), expected a number'),
        (b'{"temperature_c": true}', '"temperature_c" is a boolean (true), expected a number'),
        (b'{"temperature_c": NaN}', "temperature is not a number (nan)"),
        (b'{"temperature_c": Infinity}', "temperature is not a number (inf)"),
        (b'{"temperature_c": 150.0}', "temperature 150.0 °C is outside the plausible range -100..100 °C"),
        (
            b'{"temperature_c": 4.3, "ts": "2030-01-01T00:00:00Z"}',
            "timestamp 2030-01-01T00:00:00Z is 3 years ahead of the time it arrived; "
            "device clock wrong? limit is 5 minutes",
        ),
        (
            b'{"temperature_c": 4.3, "ts": 86400}',
            "timestamp 1970-01-02T00:00:00Z is before 2000-01-01; device clock not set?",
        ),
        (
            b'{"temperature_c": 4.3, "ts": "2026-11-25T10:00:00"}',
            'timestamp "2026-11-25T10:00:00" has no UTC offset; add "Z" or e.g. "+01:00"',
        ),
        (
            b'{"temperature_c": 4.3, "ts": false}',
            "timestamp is a boolean (false); send ISO 8601 with an offset or epoch seconds",
        ),
    ],
)
def test_bad_payloads_are_rejected_with_a_reason(payload, reason):
    result = run(payload)
    assert result.readings == ()
    assert result.rejections == (Rejection(reason, SID),)


def test_bad_battery_keeps_the_reading():
    result = run(b'{"temperature_c": 4.3, "battery_pct": "high"}')
    assert result.readings == (Reading(SID, "native", "a1-probe", NOW, 4.3, None),)
    assert result.rejections == (
        Rejection('"battery_pct" is a string ("high"), expected a number; reading kept without it', SID),
    )


def test_oversize_payload():
    items = b",".join([b'{"temperature_c": 4.3, "ts": 1795600800}'] * 2000)
    result = run(b"[" + items + b"]")
    assert result.rejections == (Rejection(f"payload is {len(items) + 2} bytes, over the 65536-byte limit"),)


@pytest.mark.parametrize(("payload", "online"), [(b"online", True), (b"offline", False), (b" Online\n", True)])
def test_availability(payload, online):
    result = run(payload, "t123/fridge-monitor/availability/a1-probe")
    assert result == ParseResult(availability=Availability("native", "a1-probe", online))


def test_bad_availability():
    assert run(b"maybe", "fridge-monitor/availability/a1").rejections == (
        Rejection('availability payload is "maybe"; expected "online" or "offline"'),
    )


def test_unrelated_and_nameless_topics():
    assert run(b"{}", "fridge-monitor/config/a1").ignored == (
        'topic "fridge-monitor/config/a1" is not .../readings/<sensor> or .../availability/<sensor>'
    )
    assert run(b"{}", "fridge-monitor/readings/").rejections == (
        Rejection('topic "fridge-monitor/readings/" has no sensor name after "readings/"'),
    )


def test_module_parse_does_not_validate_ranges_itself():
    # The dispatcher validates; the module only reads the format.
    result = native.parse(TOPIC, b'{"temperature_c": 150}', CTX)
    assert result.readings[0].temperature_c == 150.0


def test_door_contact_and_plug_in_the_native_format_are_timed_channels():
    result = parse("native", "fridge-monitor/readings/a1-door",
                   b'[{"door_open": true, "ts": "2026-11-25T09:58:00Z"}, {"door_open": false, "ts": 1795600740}]',
                   ParseContext(received_at=datetime(2026, 11, 25, 10, 0, tzinfo=UTC)))
    assert [(c.sensor_id, c.channel, c.value, c.measured_at, c.timed) for c in result.channels] == [
        ("native:a1-door", "door", 1.0, datetime(2026, 11, 25, 9, 58, tzinfo=UTC), True),
        ("native:a1-door", "door", 0.0, datetime(2026, 11, 25, 9, 59, tzinfo=UTC), True)]
    assert result.readings == () and result.rejections == ()


def test_native_plug_power_and_switch_beside_a_temperature():
    payload = b'{"temperature_c": 4.0, "power_w": 82.5, "switch_on": "ON"}'
    result = parse("native", "fridge-monitor/readings/a1", payload,
                   ParseContext(received_at=datetime(2026, 11, 25, 10, 0, tzinfo=UTC)))
    assert [r.temperature_c for r in result.readings] == [4.0]
    assert [(c.channel, c.value) for c in result.channels] == [("power", 82.5), ("switch", 1.0)]


def test_bad_native_channel_is_rejected_and_the_rest_kept():
    result = parse("native", "fridge-monitor/readings/a1", b'{"temperature_c": 4.0, "door_open": "ajar"}',
                   ParseContext(received_at=datetime(2026, 11, 25, 10, 0, tzinfo=UTC)))
    assert [r.temperature_c for r in result.readings] == [4.0]
    assert [r.reason for r in result.rejections] == ['"door_open" is a string ("ajar"); expected true or false']
