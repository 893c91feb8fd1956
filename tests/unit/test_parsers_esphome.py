"""ESPHome state topics .../<node>/sensor/<name>/state and .../<node>/status."""

from datetime import datetime, timezone

import pytest

from fridge_monitor.parsers import parse
from fridge_monitor.readings import Availability, BatteryLevel, ParseContext, ParseResult, Reading, Rejection

UTC = timezone.utc
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
CTX = ParseContext(received_at=NOW)


def run(topic: str, payload: bytes) -> ParseResult:
    return parse("esphome", topic, payload, CTX)


def test_temperature_state():
    result = run("t123/pharmacy-fridge/sensor/fridge_temperature/state", b"4.3")
    sid = "esphome:pharmacy-fridge:fridge_temperature"
    assert result == ParseResult(readings=(Reading(sid, "esphome", "pharmacy-fridge", NOW, 4.3),))


@pytest.mark.parametrize(("payload", "value"), [(b"-18.25", -18.25), (b"5", 5.0), (b" 4.3\n", 4.3)])
def test_number_forms(payload, value):
    (reading,) = run("node1/sensor/probe_1/state", payload).readings
    assert reading.temperature_c == value


def test_any_name_that_is_not_classified_otherwise_is_a_temperature():
    (reading,) = run("node1/sensor/dallas_28ff641e8216c3a1/state", b"3.9").readings
    assert reading.sensor_id == "esphome:node1:dallas_28ff641e8216c3a1"


def test_battery_sensor_becomes_battery_level():
    result = run("node1/sensor/battery_level/state", b"87")
    assert result == ParseResult(batteries=(BatteryLevel("esphome", "node1", 87.0, NOW),))


@pytest.mark.parametrize(
    "name",
    [
        "humidity", "wifi_signal", "rssi", "battery_voltage", "supply_voltage",
        "pressure", "uptime", "illuminance", "co2", "lux_sensor",
    ],  # fmt: skip
)
def test_non_temperature_sensors_are_ignored(name):
    assert run(f"node1/sensor/{name}/state", b"42").ignored == f'sensor "{name}" is not a temperature'


@pytest.mark.parametrize(("payload", "shown"), [(b"nan", "nan"), (b"NaN", "NaN"), (b"None", "None"), (b"", "empty")])
def test_failed_probe_is_rejected(payload, shown):
    result = run("node1/sensor/fridge_temperature/state", payload)
    assert result.rejections == (
        Rejection(
            f"sensor reported no value ({shown}): probe failed or disconnected?", "esphome:node1:fridge_temperature"
        ),
    )


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"warm", 'payload "warm" is not a number; expected e.g. "4.3"'),
        (b"4,3", 'payload "4,3" is not a number; expected e.g. "4.3"'),
        (b"inf", 'payload "inf" is not a number; expected e.g. "4.3"'),
        (b"4.3 \xc2", "payload is not UTF-8 text (byte 0xc2 at position 4); check the device's character encoding"),
        (b"150.0", "temperature 150.0 °C is outside the plausible range -100..100 °C"),
        (b"1e999", "temperature is not a number (inf)"),
    ],
)
def test_bad_values_are_rejected(payload, reason):
    result = run("node1/sensor/fridge_temperature/state", payload)
    assert result.readings == ()
    assert result.rejections == (Rejection(reason, "esphome:node1:fridge_temperature"),)


@pytest.mark.parametrize(("payload", "online"), [(b"online", True), (b"offline", False)])
def test_status(payload, online):
    assert run("t123/node1/status", payload) == ParseResult(availability=Availability("esphome", "node1", online))


@pytest.mark.parametrize(
    "topic",
    ["node1/binary_sensor/door/state", "node1/switch/relay/state", "node1/sensor/temp/command", "node1/debug"],
)
def test_other_topics_are_ignored(topic):
    assert run(topic, b"ON").ignored == f'topic "{topic}" is not an ESPHome .../<node>/sensor/<name>/state topic'
