"""Each simulated device format: exact topics, payloads, sensor ids and malformed variants."""

from __future__ import annotations

import json

import pytest

from sensors.formats import FORMATS, Message, Sample, make_format, payload_time
from sensors.malformed import BAD_KINDS, OVERSIZE_BYTES

T0 = 1795600800.0  # 2026-11-25T10:00:00Z
SAMPLE = Sample(time_s=T0, temperature_c=4.3, battery_pct=87.6, humidity_pct=41.2, linkquality=120)
DEVICE = "sim-fridge-1"


def encoded(fmt: str, sample: Sample = SAMPLE) -> list[tuple[str, bytes]]:
    return [(m.topic, m.payload) for m in make_format(fmt).readings(DEVICE, sample)]


def test_native_reading() -> None:
    assert encoded("native") == [
        ("fridge-monitor/readings/sim-fridge-1", b'{"temperature_c":4.3,"ts":"2026-11-25T10:00:00Z","battery_pct":88}')
    ]


def test_senml_reading() -> None:
    assert encoded("senml") == [
        (
            "fridge-monitor/senml/sim-fridge-1",
            b'[{"bn":"sim-fridge-1:","bt":1795600800,"bu":"Cel","n":"temp","v":4.3},{"n":"battery","u":"%EL","v":88}]',
        )
    ]


def test_zigbee2mqtt_reading() -> None:
    assert encoded("zigbee2mqtt") == [
        (
            "zigbee2mqtt/sim-fridge-1",
            b'{"temperature":4.3,"humidity":41,"battery":88,"linkquality":120,"voltage":2938}',
        )
    ]


def test_tasmota_reading_in_device_local_time() -> None:
    assert encoded("tasmota") == [
        (
            "tele/sim-fridge-1/SENSOR",
            b'{"Time":"2026-11-25T10:00:00","DS18B20":{"Id":"E8BE043EE818","Temperature":4.3},"TempUnit":"C"}',
        )
    ]
    berlin = make_format("tasmota", device_tz="Europe/Berlin").readings(DEVICE, SAMPLE)[0]
    assert json.loads(berlin.payload)["Time"] == "2026-11-25T11:00:00"


def test_tasmota_prints_ds18b20_steps_with_one_decimal() -> None:
    assert make_format("tasmota").resolution_c == 0.0625
    message = make_format("tasmota").readings(DEVICE, Sample(T0, 4.3125))[0]
    assert json.loads(message.payload)["DS18B20"]["Temperature"] == 4.3


def test_esphome_readings() -> None:
    assert encoded("esphome") == [
        ("sim-fridge-1/sensor/temperature/state", b"4.3"),
        ("sim-fridge-1/sensor/battery/state", b"88"),
    ]


def test_shelly_gen2_readings() -> None:
    assert encoded("shelly") == [
        ("sim-fridge-1/status/temperature:0", b'{"id":0,"tC":4.3,"tF":39.7}'),
        (
            "sim-fridge-1/status/devicepower:0",
            b'{"id":0,"battery":{"V":2.94,"percent":88},"external":{"present":false}}',
        ),
    ]


def test_shelly_gen1_readings() -> None:
    assert encoded("shelly-gen1") == [
        ("shellies/sim-fridge-1/sensor/temperature", b"4.3"),
        ("shellies/sim-fridge-1/sensor/battery", b"88"),
    ]


def test_a_format_without_battery_omits_it() -> None:
    assert encoded("native", Sample(T0, -0.5)) == [
        ("fridge-monitor/readings/sim-fridge-1", b'{"temperature_c":-0.5,"ts":"2026-11-25T10:00:00Z"}')
    ]
    assert encoded("esphome", Sample(T0, -0.5)) == [("sim-fridge-1/sensor/temperature/state", b"-0.5")]


@pytest.mark.parametrize(
    ("fmt", "sensor_id", "online", "offline"),
    [
        ("native", "native:sim-fridge-1", ("fridge-monitor/availability/sim-fridge-1", b"online"), b"offline"),
        ("senml", "senml:sim-fridge-1:temp", ("fridge-monitor/senml/sim-fridge-1/status", b"online"), b"offline"),
        (
            "zigbee2mqtt",
            "zigbee2mqtt:sim-fridge-1",
            ("zigbee2mqtt/sim-fridge-1/availability", b'{"state":"online"}'),
            b'{"state":"offline"}',
        ),
        ("tasmota", "tasmota:sim-fridge-1:E8BE043EE818", ("tele/sim-fridge-1/LWT", b"Online"), b"Offline"),
        ("esphome", "esphome:sim-fridge-1:temperature", ("sim-fridge-1/status", b"online"), b"offline"),
        ("shelly", "shelly:sim-fridge-1:0", ("sim-fridge-1/online", b"true"), b"false"),
        ("shelly-gen1", "shelly:sim-fridge-1", ("shellies/sim-fridge-1/online", b"true"), b"false"),
    ],
)
def test_sensor_id_and_retained_availability(
    fmt: str, sensor_id: str, online: tuple[str, bytes], offline: bytes
) -> None:
    encoder = make_format(fmt)
    assert encoder.sensor_id(DEVICE) == sensor_id
    assert encoder.availability(DEVICE, True) == Message(online[0], online[1], retain=True)
    assert encoder.availability(DEVICE, False) == Message(online[0], offline, retain=True)


def test_iso_timestamps_keep_milliseconds_only_when_present() -> None:
    assert payload_time(T0) == "2026-11-25T10:00:00Z"
    assert payload_time(T0 + 0.25) == "2026-11-25T10:00:00.250Z"


# -- backlog lists ---------------------------------------------------------------

BACKLOG = [Sample(T0 + 120, 9.1, 88.0), Sample(T0, 4.3, 88.0), Sample(T0 + 60, 6.2, 87.6)]


def test_native_backlog_is_one_json_list_in_the_given_order() -> None:
    message = make_format("native").backlog(DEVICE, BACKLOG)
    assert message.topic == "fridge-monitor/readings/sim-fridge-1"
    assert json.loads(message.payload) == [
        {"temperature_c": 9.1, "ts": "2026-11-25T10:02:00Z", "battery_pct": 88},
        {"temperature_c": 4.3, "ts": "2026-11-25T10:00:00Z", "battery_pct": 88},
        {"temperature_c": 6.2, "ts": "2026-11-25T10:01:00Z", "battery_pct": 88},
    ]


def test_senml_backlog_is_one_pack_with_times_relative_to_the_newest() -> None:
    message = make_format("senml").backlog(DEVICE, BACKLOG)
    assert json.loads(message.payload) == [
        {"bn": "sim-fridge-1:", "bt": 1795600920, "bu": "Cel", "n": "temp", "v": 9.1, "t": 0},
        {"n": "temp", "v": 4.3, "t": -120},
        {"n": "temp", "v": 6.2, "t": -60},
        {"n": "battery", "u": "%EL", "v": 88},
    ]


@pytest.mark.parametrize("fmt", ["zigbee2mqtt", "tasmota", "esphome", "shelly", "shelly-gen1"])
def test_formats_without_lists_refuse_a_backlog(fmt: str) -> None:
    encoder = make_format(fmt)
    assert not encoder.carries_list
    with pytest.raises(ValueError, match="cannot carry a list"):
        encoder.backlog(DEVICE, BACKLOG)


# -- malformed payloads -----------------------------------------------------------

ALL_BAD = [(fmt, kind) for fmt in FORMATS for kind in make_format(fmt).bad_kinds]


def test_each_format_has_the_bad_kinds_it_can_express() -> None:
    kinds = {fmt: make_format(fmt).bad_kinds for fmt in FORMATS}
    assert kinds["native"] == kinds["senml"] == BAD_KINDS
    assert "future-timestamp" not in kinds["tasmota"], "a far-off Tasmota Time is clock drift, not malformed"
    assert "missing-field" not in kinds["zigbee2mqtt"], "zigbee2mqtt messages without temperature are legitimate"
    assert kinds["esphome"] == kinds["shelly-gen1"] == (
        "not-utf8", "text-temperature", "nan", "out-of-range", "missing-field", "oversize",
    )


@pytest.mark.parametrize(("fmt", "kind"), ALL_BAD)
def test_malformed_payload_goes_to_the_reading_topic(fmt: str, kind: str) -> None:
    encoder = make_format(fmt)
    message = encoder.malformed(DEVICE, SAMPLE, kind)
    assert message.topic == encoder.reading_topic(DEVICE)
    assert not message.retain
    payload = message.payload
    if kind == "oversize":
        assert len(payload) == OVERSIZE_BYTES
        return
    if kind == "not-utf8":
        with pytest.raises(UnicodeDecodeError):
            payload.decode()
        return
    if kind == "invalid-json":
        with pytest.raises(json.JSONDecodeError):
            json.loads(payload)
        return
    text = payload.decode()
    expected_fragment = {
        "text-temperature": "warm",
        "nan": "NaN" if fmt not in ("esphome", "shelly-gen1") else "nan",
        "out-of-range": "150.0",
        "future-timestamp": "1890208800" if fmt == "senml" else "2029-11-24",  # three years on
        "missing-field": "",
    }[kind]
    assert expected_fragment in text
    if kind == "missing-field":
        assert "4.3" not in text


def test_exact_native_malformed_payloads() -> None:
    native = make_format("native")
    bad = {kind: native.malformed(DEVICE, SAMPLE, kind).payload for kind in BAD_KINDS if kind != "oversize"}
    assert bad == {
        "invalid-json": b'{"temperature_c":4.3,"ts":"2026-1',
        "not-utf8": b'{"temperature_c":4.3,"ts":"2026-11-25T10:00:00Z","battery_pct":88,"unit":"\xb0C"}',
        "text-temperature": b'{"temperature_c":"warm","ts":"2026-11-25T10:00:00Z","battery_pct":88}',
        "nan": b'{"temperature_c":NaN,"ts":"2026-11-25T10:00:00Z","battery_pct":88}',
        "out-of-range": b'{"temperature_c":150.0,"ts":"2026-11-25T10:00:00Z","battery_pct":88}',
        "future-timestamp": b'{"temperature_c":4.3,"ts":"2029-11-24T10:00:00Z","battery_pct":88}',
        "missing-field": b'{"ts":"2026-11-25T10:00:00Z","battery_pct":88}',
    }
    oversize = json.loads(native.malformed(DEVICE, SAMPLE, "oversize").payload)
    assert oversize["temperature_c"] == 4.3 and len(oversize["padding"]) > 60_000


def test_shelly_gen2_malformed_temperature_changes_both_units() -> None:
    shelly = make_format("shelly")
    assert shelly.malformed(DEVICE, SAMPLE, "out-of-range").payload == b'{"id":0,"tC":150.0,"tF":302.0}'
    assert shelly.malformed(DEVICE, SAMPLE, "missing-field").payload == b'{"id":0}'


def test_plain_malformed_payloads() -> None:
    esphome = make_format("esphome")
    assert esphome.malformed(DEVICE, SAMPLE, "not-utf8").payload == b"4.3\xb0C"
    assert esphome.malformed(DEVICE, SAMPLE, "missing-field").payload == b""
    assert esphome.malformed(DEVICE, SAMPLE, "oversize").payload.strip() == b"4.3"
    with pytest.raises(ValueError, match="format esphome has no bad payload kind 'invalid-json'"):
        esphome.malformed(DEVICE, SAMPLE, "invalid-json")
    with pytest.raises(ValueError, match="format zigbee2mqtt has no bad payload kind 'missing-field'"):
        make_format("zigbee2mqtt").malformed(DEVICE, SAMPLE, "missing-field")


def test_unknown_format_and_zone_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="unknown format 'homie'; choose one of native, senml"):
        make_format("homie")
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        make_format("tasmota", device_tz="Mars/Olympus")
