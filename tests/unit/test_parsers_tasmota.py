"""Tasmota telemetry on .../tele/<device>/SENSOR and LWT."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from fridge_monitor.core.parsers import parse
from fridge_monitor.core.readings import Availability, ParseContext, ParseResult, Reading, Rejection

BERLIN = ZoneInfo("Europe/Berlin")
WINTER = datetime(2026, 11, 25, 10, 0, 20, tzinfo=UTC)
SUMMER = datetime(2026, 7, 1, 10, 0, 20, tzinfo=UTC)
TOPIC = "t123/tele/fridge-a/SENSOR"


def berlin_ctx(received_at: datetime, **overrides) -> ParseContext:
    return ParseContext(received_at=received_at, local_tz=lambda _sid: BERLIN, **overrides)


def run(payload: bytes, ctx: ParseContext, topic: str = TOPIC) -> ParseResult:
    return parse("tasmota", topic, payload, ctx)


def test_single_ds18b20_in_berlin_winter():
    payload = (
        b'{"Time":"2026-11-25T11:00:00","Switch1":"OFF",'
        b'"DS18B20":{"Id":"01144A0CB2AA","Temperature":4.2},"TempUnit":"C"}'
    )
    assert run(payload, berlin_ctx(WINTER)) == ParseResult(
        readings=(
            Reading(
                "tasmota:fridge-a:01144A0CB2AA", "tasmota", "fridge-a", datetime(2026, 11, 25, 10, 0, tzinfo=UTC), 4.2,
                timed=True,
            ),
        )
    )


def test_berlin_summer_time_is_two_hours_ahead():
    payload = b'{"Time":"2026-07-01T12:00:00","DS18B20":{"Id":"01144A0CB2AA","Temperature":5.0},"TempUnit":"C"}'
    (reading,) = run(payload, berlin_ctx(SUMMER)).readings
    assert reading.measured_at == datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
    assert reading.measured_at.tzinfo is UTC


def test_local_tz_is_asked_per_sensor_id():
    asked = []

    def local_tz(sid):
        asked.append(sid)
        return BERLIN

    payload = b'{"Time":"2026-11-25T11:00:00","DS18B20":{"Id":"AA","Temperature":4.2}}'
    run(payload, ParseContext(received_at=WINTER, local_tz=local_tz))
    assert asked == ["tasmota:fridge-a:AA"]


def test_default_context_reads_time_as_utc():
    payload = b'{"Time":"2026-11-25T10:00:00","DS18B20":{"Temperature":4.2}}'
    (reading,) = run(payload, ParseContext(received_at=WINTER)).readings
    assert reading.measured_at == datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def test_drifted_device_clock_falls_back_to_arrival_time():
    # Berlin 10:54 is 09:54 UTC: over six minutes before arrival, beyond the 5-minute tolerance.
    payload = b'{"Time":"2026-11-25T10:54:00","DS18B20":{"Id":"01144A0CB2AA","Temperature":4.2}}'
    (reading,) = run(payload, berlin_ctx(WINTER)).readings
    assert reading.measured_at == WINTER
    (reading,) = run(payload, berlin_ctx(WINTER, device_clock_tolerance=timedelta(minutes=10))).readings
    assert reading.measured_at == datetime(2026, 11, 25, 9, 54, tzinfo=UTC)


def test_unsynchronised_clock_in_1970_falls_back_to_arrival_time():
    payload = b'{"Time":"1970-01-01T00:03:12","DS18B20":{"Temperature":4.2}}'
    (reading,) = run(payload, berlin_ctx(WINTER)).readings
    assert reading.measured_at == WINTER


@pytest.mark.parametrize("time", [b'"soon"', b"null", b"1795600800", b'"0001-01-01T00:00:00"'])
def test_unreadable_time_means_arrival_time(time):
    payload = b'{"Time":' + time + b',"DS18B20":{"Temperature":4.2}}'
    (reading,) = run(payload, berlin_ctx(WINTER)).readings
    assert reading.measured_at == WINTER


def test_missing_time_means_arrival_time():
    (reading,) = run(b'{"DS18B20":{"Temperature":4.2}}', berlin_ctx(WINTER)).readings
    assert reading.measured_at == WINTER
    assert reading.sensor_id == "tasmota:fridge-a:DS18B20"


def test_several_probes_and_fahrenheit():
    payload = b"""{"Time":"2026-11-25T11:00:10",
        "DS18B20-1":{"Id":"01144A0CB2AA","Temperature":39.6},
        "DS18B20-2":{"Id":"0316A2797B0E","Temperature":-0.4},
        "DS18B20-3":{"Temperature":41.0},
        "AM2301":{"Temperature":40.1,"Humidity":45.2,"DewPoint":20.1},
        "ESP32":{"Temperature":51.1},
        "Switch1":"ON",
        "TempUnit":"F"}"""
    result = run(payload, berlin_ctx(WINTER))
    assert [(r.sensor_id, r.temperature_c) for r in result.readings] == [
        ("tasmota:fridge-a:01144A0CB2AA", 4.2222),
        ("tasmota:fridge-a:0316A2797B0E", -18.0),
        ("tasmota:fridge-a:DS18B20-3", 5.0),
        ("tasmota:fridge-a:AM2301", 4.5),
    ]
    assert {r.measured_at for r in result.readings} == {datetime(2026, 11, 25, 10, 0, 10, tzinfo=UTC)}


def test_bme280_and_si7021_count_as_probes():
    payload = (
        b'{"BME280":{"Temperature":3.9,"Humidity":50,"Pressure":1010},'
        b'"SI7021":{"Temperature":4.1,"Humidity":40},"PressureUnit":"hPa","TempUnit":"C"}'
    )
    result = run(payload, berlin_ctx(WINTER))
    assert [r.sensor_id for r in result.readings] == ["tasmota:fridge-a:BME280", "tasmota:fridge-a:SI7021"]


def test_bad_probes_are_rejected_and_good_ones_kept():
    payload = b"""{"Time":"2026-11-25T11:00:00",
        "DS18B20-1":{"Id":"AA","Temperature":null},
        "DS18B20-2":{"Id":"BB","Temperature":"4.3"},
        "DS18B20-3":{"Id":"CC","Temperature":true},
        "DS18B20-4":{"Id":"DD","Temperature":150},
        "DS18B20-5":{"Id":"EE","Temperature":4.4}}"""
    result = run(payload, berlin_ctx(WINTER))
    assert [r.sensor_id for r in result.readings] == ["tasmota:fridge-a:EE"]
    assert result.rejections == (
        Rejection('probe "DS18B20-1" reported no temperature (null)', "tasmota:fridge-a:AA"),
        Rejection('"DS18B20-2.Temperature" is a string ("4.3"), expected a number', "tasmota:fridge-a:BB"),
        Rejection('"DS18B20-3.Temperature" is a boolean (true), expected a number', "tasmota:fridge-a:CC"),
        Rejection("temperature 150.0 °C is outside the plausible range -100..100 °C", "tasmota:fridge-a:DD"),
    )


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (
            b'{"Time":"2026-11-25T11:00:00","DS18B20":{"Temperature":4.2},"TempUnit":"K"}',
            '"TempUnit" is a string ("K"); expected "C" or "F"',
        ),
        (b"[4.2]", "payload is a list; expected a JSON object"),
        (b'{"Time":', "payload is not valid JSON: Expecting value at line 1 column 9"),
        (
            b'{"DS18B20":{"Temperature":4.2,"Id":"\xfe"}}',
            "payload is not UTF-8 text (byte 0xfe at position 36); check the device's character encoding",
        ),
    ],
)
def test_bad_messages_are_rejected(payload, reason):
    assert run(payload, berlin_ctx(WINTER)) == ParseResult(rejections=(Rejection(reason),))


def test_message_without_probe_is_ignored():
    payload = b'{"Time":"2026-11-25T11:00:00","Switch1":"ON","ANALOG":{"A0":512}}'
    assert run(payload, berlin_ctx(WINTER)) == ParseResult(ignored="message has no temperature probe or energy meter")


@pytest.mark.parametrize(("payload", "online"), [(b"Online", True), (b"Offline", False), (b"online", True)])
def test_lwt(payload, online):
    assert run(payload, berlin_ctx(WINTER), "t123/tele/fridge-a/LWT") == ParseResult(
        availability=Availability("tasmota", "fridge-a", online)
    )


@pytest.mark.parametrize("suffix", ["INFO1", "UPTIME"])
def test_other_tele_topics_are_ignored(suffix):
    result = run(b'{"Uptime":"0T00:01:00"}', berlin_ctx(WINTER), f"tele/fridge-a/{suffix}")
    assert result.ignored == (f'topic "tele/fridge-a/{suffix}" is not a Tasmota .../SENSOR, STATE, POWER, RESULT '
                              "or LWT message")


@pytest.mark.parametrize("suffix", ["STATE", "RESULT"])
def test_state_without_relay_is_ignored(suffix):
    result = run(b'{"Uptime":"0T00:01:00"}', berlin_ctx(WINTER), f"tele/fridge-a/{suffix}")
    assert result.ignored == f"Tasmota {suffix} message has no relay state (POWER)"


def channels(result: ParseResult) -> list[tuple[str, str, float, bool]]:
    return [(c.sensor_id, c.channel, c.value, c.timed) for c in result.channels]


def test_plug_energy_is_a_power_channel_at_the_device_time():
    payload = b'{"Time":"2026-11-25T11:00:00","ENERGY":{"Total":1.2,"Power":47,"Voltage":231}}'
    result = run(payload, berlin_ctx(WINTER), "tele/plug-a/SENSOR")
    assert channels(result) == [("tasmota:plug-a", "power", 47.0, True)]
    assert result.channels[0].measured_at == datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    assert result.readings == ()


@pytest.mark.parametrize(
    ("topic", "payload", "value"),
    [
        ("tele/plug-a/STATE", b'{"Time":"2026-11-25T11:00:00","POWER":"ON"}', 1.0),
        ("stat/plug-a/RESULT", b'{"POWER":"OFF"}', 0.0),
        ("stat/plug-a/POWER", b"OFF", 0.0),
        ("stat/plug-a/POWER", b"ON", 1.0),
    ],
)
def test_relay_state_is_a_switch_channel(topic, payload, value):
    result = run(payload, berlin_ctx(WINTER), topic)
    assert [(c.sensor_id, c.channel, c.value) for c in result.channels] == [("tasmota:plug-a", "switch", value)]


def test_probe_humidity_is_kept_beside_its_temperature():
    payload = b'{"Time":"2026-11-25T11:00:00","AM2301":{"Temperature":4.5,"Humidity":61.0}}'
    result = run(payload, berlin_ctx(WINTER))
    assert [r.temperature_c for r in result.readings] == [4.5]
    assert channels(result) == [("tasmota:fridge-a:AM2301", "humidity", 61.0, True)]


def test_bad_power_is_rejected_and_the_probe_kept():
    payload = b'{"Time":"2026-11-25T11:00:00","ENERGY":{"Power":"n/a"},"DS18B20":{"Temperature":4.0}}'
    result = run(payload, berlin_ctx(WINTER))
    assert [r.temperature_c for r in result.readings] == [4.0]
    assert [r.reason for r in result.rejections] == ['"ENERGY.Power" is a string ("n/a"), expected a number']


def test_ambiguous_autumn_hour_is_read_as_the_first_one():
    # 02:30 happens twice in Berlin on 2026-10-25; fold=0 means the summer-time one (00:30 UTC).
    payload = b'{"Time":"2026-10-25T02:30:00","DS18B20":{"Temperature":4.2}}'
    (reading,) = run(payload, berlin_ctx(datetime(2026, 10, 25, 0, 31, tzinfo=UTC))).readings
    assert reading.measured_at == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
