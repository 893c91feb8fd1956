"""A retained message (handed over on subscribe, however old) is a reading only with its own time."""

from datetime import UTC, datetime, timedelta

import pytest

from fridge_monitor.core.parsers import parse
from fridge_monitor.core.readings import RETAINED_WITHOUT_TIME, Availability, ParseContext, ParseResult, Rejection

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
RETAINED = ParseContext(received_at=NOW, retained=True, base_topic="zigbee2mqtt")
LIVE = ParseContext(received_at=NOW, base_topic="zigbee2mqtt")
REASON = ("retained message without its own time: its measurement time is unknown "
          "(the sensor may be dead); ignored as a reading")

UNTIMED = [
    ("esphome", "pharmacy-fridge/sensor/fridge_temperature/state", b"4.3",
     "esphome:pharmacy-fridge:fridge_temperature"),
    ("zigbee2mqtt", "zigbee2mqtt/kitchen/fridge", b'{"temperature":4.3,"battery":80}', "zigbee2mqtt:kitchen/fridge"),
    ("native", "fridge-monitor/readings/a1", b'{"temperature_c":4.3}', "native:a1"),
    ("shelly", "shellies/ht-1/sensor/temperature", b"4.3", "shelly:ht-1"),
    ("shelly", "shellies/s1/ext_temperature/0", b"4.3", "shelly:s1:ext0"),
    ("shelly", "fridge-b/status/temperature:0", b'{"id":0,"tC":4.3}', "shelly:fridge-b:0"),
    ("senml", "fridge-monitor/senml/b1", b'[{"bn":"b1:","n":"temp","u":"Cel","v":4.3}]', "senml:b1:temp"),
    # A Tasmota Time far from the arrival time is old or drifted: either way not its measurement time.
    ("tasmota", "tele/d1/SENSOR", b'{"Time":"2026-11-24T08:00:00","DS18B20":{"Temperature":4.3}}',
     "tasmota:d1:DS18B20"),
]


@pytest.mark.parametrize(("fmt", "topic", "payload", "sid"), UNTIMED)
def test_a_retained_message_without_its_own_time_is_rejected_with_the_reason(fmt, topic, payload, sid):
    assert RETAINED_WITHOUT_TIME == REASON
    assert parse(fmt, topic, payload, LIVE).readings, "the same message live is a reading"
    result = parse(fmt, topic, payload, RETAINED)
    assert result.readings == ()
    assert Rejection(REASON, sid) in result.rejections


@pytest.mark.parametrize(
    ("fmt", "topic", "payload", "measured"),
    [
        ("native", "fridge-monitor/readings/a1", b'{"temperature_c":4.3,"ts":"2026-11-20T08:00:00Z"}',
         datetime(2026, 11, 20, 8, 0, tzinfo=UTC)),
        ("senml", "fridge-monitor/senml/b1", b'[{"bn":"b1:","bt":1795600000,"n":"temp","u":"Cel","v":4.3}]',
         datetime.fromtimestamp(1795600000, UTC)),
        ("tasmota", "tele/d1/SENSOR", b'{"Time":"2026-11-25T09:58:00","DS18B20":{"Temperature":4.3}}',
         NOW - timedelta(minutes=2)),
        ("shelly", "fridge-b/events/rpc",
         b'{"method":"NotifyStatus","params":{"ts":1795600000.5,"temperature:0":{"id":0,"tC":4.3}}}',
         datetime.fromtimestamp(1795600000.5, UTC)),
    ],
)
def test_a_retained_message_with_its_own_time_is_an_ordinary_reading(fmt, topic, payload, measured):
    result = parse(fmt, topic, payload, RETAINED)
    assert result.rejections == ()
    (reading,) = result.readings
    assert reading.measured_at == measured
    assert reading.timed


def test_a_retained_logger_buffer_keeps_only_its_timed_items():
    payload = b'[{"temperature_c":4.1,"ts":1795600000},{"temperature_c":4.2}]'
    result = parse("native", "fridge-monitor/readings/a1", payload, RETAINED)
    assert [r.temperature_c for r in result.readings] == [4.1]
    assert result.rejections == (Rejection(REASON, "native:a1"),)


def test_a_retained_battery_without_time_is_rejected_too():
    result = parse("shelly", "shellies/ht-1/sensor/battery", b"88", RETAINED)
    assert result == ParseResult(rejections=(Rejection(REASON, "shelly:ht-1"),))


@pytest.mark.parametrize(
    ("fmt", "topic", "payload", "availability"),
    [
        ("esphome", "pharmacy-fridge/status", b"online", Availability("esphome", "pharmacy-fridge", True)),
        ("zigbee2mqtt", "zigbee2mqtt/kitchen/fridge/availability", b'{"state":"offline"}',
         Availability("zigbee2mqtt", "kitchen/fridge", False)),
        ("tasmota", "tele/d1/LWT", b"Offline", Availability("tasmota", "d1", False)),
        ("shelly", "shellies/ht-1/online", b"true", Availability("shelly", "ht-1", True)),
    ],
)
def test_retained_availability_is_processed_as_usual(fmt, topic, payload, availability):
    assert parse(fmt, topic, payload, RETAINED) == ParseResult(availability=availability)


def test_a_retained_ignored_entity_stays_ignored():
    result = parse("esphome", "node1/sensor/compressor_power/state", b"45.0", RETAINED)
    assert result.readings == result.rejections == ()
    assert result.ignored
