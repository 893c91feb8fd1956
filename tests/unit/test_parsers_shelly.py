"""Shelly Gen1 and Gen2+ MQTT messages."""

import json
from datetime import UTC, datetime

import pytest

from fridge_monitor.core.parsers import parse
from fridge_monitor.core.readings import Availability, BatteryLevel, ParseContext, ParseResult, Reading, Rejection

NOW = datetime(2026, 11, 25, 10, 0, 1, tzinfo=UTC)
CTX = ParseContext(received_at=NOW)


def run(topic: str, payload: bytes, ctx: ParseContext = CTX) -> ParseResult:
    return parse("shelly", topic, payload, ctx)


# --- Gen1 ------------------------------------------------------------------------


def test_gen1_temperature_in_celsius():
    result = run("t123/shellies/shellyht-6A4F2B/sensor/temperature", b"4.25")
    assert result == ParseResult(readings=(Reading("shelly:shellyht-6A4F2B", "shelly", "shellyht-6A4F2B", NOW, 4.25),))


def test_gen1_temperature_in_fahrenheit_per_setting():
    ctx = ParseContext(received_at=NOW, shelly_gen1_unit="F")
    (reading,) = run("shellies/shellyht-6A4F2B/sensor/temperature", b"39.6", ctx).readings
    assert reading.temperature_c == 4.2222


def test_gen1_battery():
    assert run("shellies/shellyht-6A4F2B/sensor/battery", b"88") == ParseResult(
        batteries=(BatteryLevel("shelly", "shellyht-6A4F2B", 88.0, NOW),)
    )


@pytest.mark.parametrize("kind", ["humidity", "ext_power", "error", "act_reasons"])
def test_gen1_other_sensors_are_ignored(kind):
    result = run(f"shellies/shellyht-6A4F2B/sensor/{kind}", b"0")
    assert result.ignored == f'Shelly sensor "{kind}" is not a temperature, battery or door state'


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", 'payload "" is not a number; expected e.g. "4.3"'),
        (b"n/a", 'payload "n/a" is not a number; expected e.g. "4.3"'),
        (b"999", "temperature 999.0 °C is outside the plausible range -100..100 °C"),
    ],
)
def test_gen1_bad_temperature(payload, reason):
    result = run("shellies/shellyht-6A4F2B/sensor/temperature", payload)
    assert result.rejections == (Rejection(reason, "shelly:shellyht-6A4F2B"),)


def test_gen1_unknown_unit_setting_is_reported():
    ctx = ParseContext(received_at=NOW, shelly_gen1_unit="K")
    assert run("shellies/ht/sensor/temperature", b"4", ctx).rejections == (
        Rejection('shelly_gen1_unit is "K"; set it to "C" or "F"', "shelly:ht"),
    )


# --- Gen1 temperature add-on (DS18B20 probes on a Shelly 1/1PM) ---------------------


def test_gen1_addon_probe_in_celsius():
    result = run("t123/shellies/shelly1-98CDAC2F1E0A/ext_temperature/0", b"4.56")
    sid = "shelly:shelly1-98CDAC2F1E0A:ext0"
    assert result == ParseResult(readings=(Reading(sid, "shelly", "shelly1-98CDAC2F1E0A", NOW, 4.56),))


def test_gen1_addon_probe_in_fahrenheit_is_converted():
    (reading,) = run("shellies/shelly1-98CDAC2F1E0A/ext_temperature_f/2", b"40.21").readings
    assert reading.sensor_id == "shelly:shelly1-98CDAC2F1E0A:ext2"
    assert reading.temperature_c == 4.5611


def test_gen1_addon_probe_ignores_the_device_unit_setting():
    ctx = ParseContext(received_at=NOW, shelly_gen1_unit="F")
    (reading,) = run("shellies/shelly1-98CDAC2F1E0A/ext_temperature/1", b"4.5", ctx).readings
    assert reading.temperature_c == 4.5


@pytest.mark.parametrize(
    ("topic", "payload", "reason", "sid"),
    [
        ("shellies/s1/ext_temperature/0", b"", 'payload "" is not a number; expected e.g. "4.3"', "shelly:s1:ext0"),
        ("shellies/s1/ext_temperature/0", b"999", "temperature 999.0 °C is outside the plausible range -100..100 °C",
         "shelly:s1:ext0"),
        ("shellies/s1/ext_temperature/x", b"4", 'Shelly add-on probe number "x" is not a number; expected '
         "ext_temperature/0, /1 or /2", None),
        ("shellies//ext_temperature/0", b"4", 'topic has no Shelly device id after "shellies/"', None),
    ],
)
def test_gen1_addon_probe_bad_messages(topic, payload, reason, sid):
    assert run(topic, payload).rejections == (Rejection(reason, sid),)


@pytest.mark.parametrize(
    ("topic", "payload", "device", "online"),
    [
        ("shellies/shellyht-6A4F2B/online", b"true", "shellyht-6A4F2B", True),
        ("shellies/shellyht-6A4F2B/online", b"false", "shellyht-6A4F2B", False),
        ("t123/shellyhtg3-84fce63ad204/online", b"true", "shellyhtg3-84fce63ad204", True),
    ],
)
def test_online(topic, payload, device, online):
    assert run(topic, payload) == ParseResult(availability=Availability("shelly", device, online))


def test_bad_online_payload():
    assert run("shellies/ht/online", b"yes").rejections == (
        Rejection('availability payload is "yes"; expected "true" or "false"'),
    )


# --- Gen2+ status components ---------------------------------------------------


def test_gen2_temperature_status():
    result = run("t123/fridge-b-ht/status/temperature:0", b'{"id": 0, "tC": 4.2, "tF": 39.6}')
    assert result == ParseResult(readings=(Reading("shelly:fridge-b-ht:0", "shelly", "fridge-b-ht", NOW, 4.2),))


def test_gen2_temperature_falls_back_to_fahrenheit():
    (reading,) = run("fridge-b-ht/status/temperature:1", b'{"id": 1, "tF": 39.6}').readings
    assert (reading.sensor_id, reading.temperature_c) == ("shelly:fridge-b-ht:1", 4.2222)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (
            b'{"id":100,"tC":null,"tF":null,"errors":["read"]}',
            "probe reported no value (errors: read); is it connected?",
        ),
        (b'{"id":100,"tC":null,"tF":null}', "probe reported no value; is it connected?"),
        (b'{"id":100,"tC":"4.2"}', '"temperature:100.tC" is a string ("4.2"), expected a number'),
        (b'{"id":100,"tC":true}', '"temperature:100.tC" is a boolean (true), expected a number'),
        (b"[4.2]", '"temperature:100" is a list; expected an object'),
        (b'{"id":100,"tC":NaN}', "temperature is not a number (nan)"),
    ],
)
def test_gen2_bad_temperature(payload, reason):
    result = run("fridge-b-ht/status/temperature:100", payload)
    assert result.readings == ()
    assert result.rejections == (Rejection(reason, "shelly:fridge-b-ht:100"),)


def test_gen2_invalid_json():
    assert run("fridge-b-ht/status/temperature:0", b"{tC:4}").rejections == (
        Rejection("payload is not valid JSON: Expecting property name enclosed in double quotes at line 1 column 2"),
    )


def test_gen2_devicepower_battery():
    payload = b'{"id":0,"battery":{"V":2.9,"percent":88},"external":{"present":false}}'
    assert run("fridge-b-ht/status/devicepower:0", payload) == ParseResult(
        batteries=(BatteryLevel("shelly", "fridge-b-ht", 88.0, NOW),)
    )


def test_gen2_devicepower_without_battery_is_ignored():
    payload = b'{"id":0,"external":{"present":true}}'
    assert run("fridge-b-ht/status/devicepower:0", payload).ignored == '"devicepower:0" has no battery percentage'


@pytest.mark.parametrize("component", ["humidity:0", "sys", "wifi", "input:0"])
def test_gen2_other_components_are_ignored(component):
    result = run(f"fridge-b-ht/status/{component}", b"{}")
    assert result.ignored == f'Shelly component "{component}" is not a temperature, device power or switch'


# --- Gen2+ notifications ---------------------------------------------------------


def notification(method: str, params: dict) -> bytes:
    message = {"src": "shellyhtg3-84fce63ad204", "dst": "fridge-b-ht/events", "method": method, "params": params}
    return json.dumps(message).encode()


def test_notify_status_uses_params_ts():
    payload = notification(
        "NotifyStatus",
        {
            "ts": 1795600800.12,
            "temperature:0": {"id": 0, "tC": 4.2, "tF": 39.6},
            "humidity:0": {"id": 0, "rh": 45.1},
            "devicepower:0": {"id": 0, "battery": {"V": 2.9, "percent": 88}, "external": {"present": False}},
        },
    )
    at = datetime(2026, 11, 25, 10, 0, 0, 120000, tzinfo=UTC)
    assert run("t123/fridge-b-ht/events/rpc", payload) == ParseResult(
        readings=(Reading("shelly:fridge-b-ht:0", "shelly", "fridge-b-ht", at, 4.2, timed=True),),
        batteries=(BatteryLevel("shelly", "fridge-b-ht", 88.0, at, timed=True),),
    )


def test_notify_full_status_from_the_spec_example_time():
    ctx = ParseContext(received_at=datetime(2024, 11, 25, 10, 20, 1, tzinfo=UTC))
    payload = notification("NotifyFullStatus", {"ts": 1732530000.12, "temperature:0": {"id": 0, "tC": 4.2, "tF": 39.6}})
    (reading,) = run("fridge-b-ht/events/rpc", payload, ctx).readings
    assert reading.measured_at == datetime(2024, 11, 25, 10, 20, 0, 120000, tzinfo=UTC)


def test_notify_without_ts_uses_arrival_time():
    payload = notification("NotifyStatus", {"temperature:0": {"id": 0, "tC": 4.2}})
    (reading,) = run("fridge-b-ht/events/rpc", payload).readings
    assert reading.measured_at == NOW


def test_notify_with_a_bad_probe_keeps_the_good_one():
    payload = notification(
        "NotifyStatus",
        {
            "ts": 1795600800,
            "temperature:0": {"id": 0, "tC": 4.2},
            "temperature:1": {"id": 1, "tC": None, "errors": ["read"]},
        },
    )
    result = run("fridge-b-ht/events/rpc", payload)
    assert [r.sensor_id for r in result.readings] == ["shelly:fridge-b-ht:0"]
    assert result.rejections == (
        Rejection("probe reported no value (errors: read); is it connected?", "shelly:fridge-b-ht:1"),
    )


def test_notify_with_future_ts_is_rejected():
    payload = notification("NotifyStatus", {"ts": 1900000000, "temperature:0": {"id": 0, "tC": 4.2}})
    result = run("fridge-b-ht/events/rpc", payload)
    assert result.readings == ()
    assert result.rejections == (
        Rejection(
            "timestamp 2030-03-17T17:46:40Z is 3 years ahead of the time it arrived; "
            "device clock wrong? limit is 5 minutes",
            "shelly:fridge-b-ht:0",
        ),
    )


def test_notify_with_bad_ts_is_rejected():
    payload = notification("NotifyStatus", {"ts": "now", "temperature:0": {"id": 0, "tC": 4.2}})
    assert run("fridge-b-ht/events/rpc", payload).rejections == (
        Rejection('"params.ts": timestamp "now" is not ISO 8601; send e.g. "2026-11-25T10:00:00Z"'),
    )


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (
            notification("NotifyEvent", {"ts": 1795600800, "events": [{"event": "btn_down"}]}),
            ParseResult(ignored='RPC method "NotifyEvent" is not NotifyStatus or NotifyFullStatus'),
        ),
        (
            notification("NotifyStatus", {"ts": 1795600800, "sys": {"uptime": 5}}),
            ParseResult(ignored="NotifyStatus has no temperature, battery or switch"),
        ),
        (
            b'{"method":"NotifyStatus","params":[1]}',
            ParseResult(rejections=(Rejection('"params" is a list; expected an object'),)),
        ),
        (b"[]", ParseResult(rejections=(Rejection("payload is a list; expected a JSON-RPC object"),))),
    ],
)
def test_other_notifications(payload, expected):
    assert run("fridge-b-ht/events/rpc", payload) == expected


# --- plugs and door contacts -------------------------------------------------------


def channels(result: ParseResult) -> list[tuple[str, str, float]]:
    return [(c.sensor_id, c.channel, c.value) for c in result.channels]


@pytest.mark.parametrize(
    ("topic", "payload", "expected"),
    [
        ("shellies/plug-a/relay/0/power", b"52.3", [("shelly:plug-a", "power", 52.3)]),
        ("shellies/plug-a/relay/0/power", b"0", [("shelly:plug-a", "power", 0.0)]),
        ("shellies/plug-a/relay/0", b"on", [("shelly:plug-a", "switch", 1.0)]),
        ("shellies/plug-a/relay/0", b"off", [("shelly:plug-a", "switch", 0.0)]),
        ("shellies/plug-a/relay/0", b"overpower", [("shelly:plug-a", "switch", 0.0)]),
        ("shellies/plug-2/relay/1", b"on", [("shelly:plug-2:relay1", "switch", 1.0)]),
        ("shellies/shelly1-door/input/0", b"1", [("shelly:shelly1-door", "door", 0.0)]),
        ("shellies/shelly1-door/input/0", b"0", [("shelly:shelly1-door", "door", 1.0)]),
        ("shellies/shellydw2-1/sensor/state", b"open", [("shelly:shellydw2-1", "door", 1.0)]),
        ("shellies/shellydw2-1/sensor/state", b"close", [("shelly:shellydw2-1", "door", 0.0)]),
    ],
)
def test_gen1_plugs_and_contacts(topic, payload, expected):
    result = run(topic, payload)
    assert channels(result) == expected
    assert result.readings == () and result.rejections == ()


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("shellies/plug-a/relay/0/power", b"lots", 'payload "lots" is not a number; expected e.g. "4.3"'),
        ("shellies/plug-a/relay/0/power", b"-5", "power -5 W is outside the plausible range 0..100000 W"),
        ("shellies/plug-a/relay/0", b"dim", 'relay state "dim" is a string ("dim"); expected "on" or "off"'),
        ("shellies/shellydw2-1/sensor/state", b"ajar", 'door/window state "ajar"; expected "open" or "close"'),
    ],
)
def test_bad_plug_and_contact_values_are_rejected(topic, payload, reason):
    result = run(topic, payload)
    assert result.channels == ()
    assert [r.reason for r in result.rejections] == [reason]


def test_gen2_switch_status_gives_power_and_output():
    payload = b'{"id":0,"source":"init","output":true,"apower":48.2,"voltage":230.1,"aenergy":{"total":12.5}}'
    assert channels(run("plug-b/status/switch:0", payload)) == [("shelly:plug-b", "switch", 1.0),
                                                               ("shelly:plug-b", "power", 48.2)]


def test_gen2_notification_of_power_alone_is_timed():
    result = run("plug-b/events/rpc", notification("NotifyStatus", {"ts": 1795600800, "switch:0": {"apower": 0}}))
    (reading,) = result.channels
    assert (reading.channel, reading.value, reading.timed) == ("power", 0.0, True)
    assert reading.measured_at == datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def test_unrelated_topics_are_ignored():
    expected = 'topic "shellies/announce" carries no Shelly temperature, battery or online state'
    assert run("shellies/announce", b"{}").ignored == expected
