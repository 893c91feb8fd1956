"""ESPHome state topics .../<node>/sensor/<name>/state and .../<node>/status.

A state is a number with no unit; it is a temperature only when a
[[mqtt.esphome_entities]] setting or the node's discovery config says so, or,
failing both, when the entity's name says "temp".
"""

from datetime import UTC, datetime

import pytest

from fridge_monitor.core.parsers import parse
from fridge_monitor.core.parsers.esphome import entity_kind
from fridge_monitor.core.readings import (
    Availability,
    BatteryLevel,
    EntityKind,
    ParseContext,
    ParseResult,
    Reading,
    Rejection,
)

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
CTX = ParseContext(received_at=NOW)
NO_DISCOVERY = ('its name does not say "temp", and neither a discovery config nor '
                "[[mqtt.esphome_entities]] says it is one")


def run(topic: str, payload: bytes, ctx: ParseContext = CTX) -> ParseResult:
    return parse("esphome", topic, payload, ctx)


def discovered(**kinds: EntityKind) -> ParseContext:
    """A context that knows the entities of node1 by their state topics."""
    return ParseContext(received_at=NOW, discovered_entities={f"node1/sensor/{n}/state": k for n, k in kinds.items()})


# --- without discovery: the name says "temp", in °C -----------------------------------


def test_temperature_state():
    result = run("t123/pharmacy-fridge/sensor/fridge_temperature/state", b"4.3")
    sid = "esphome:pharmacy-fridge:fridge_temperature"
    assert result == ParseResult(readings=(Reading(sid, "esphome", "pharmacy-fridge", NOW, 4.3),))


@pytest.mark.parametrize(("payload", "value"), [(b"-18.25", -18.25), (b"5", 5.0), (b" 4.3\n", 4.3)])
def test_number_forms(payload, value):
    (reading,) = run("node1/sensor/probe_temp_1/state", payload).readings
    assert reading.temperature_c == value


@pytest.mark.parametrize(
    ("name", "payload"),
    [("compressor_power", b"45.0"), ("door_open_count", b"3"), ("energy_total", b"12.7"),
     ("dallas_28ff641e8216c3a1", b"3.9"), ("probe_1", b"4.1")],
)
def test_a_number_whose_name_does_not_say_temp_is_ignored_not_a_temperature(name, payload):
    result = run(f"node1/sensor/{name}/state", payload)
    assert result == ParseResult(ignored=f'sensor "{name}" is not a temperature ({NO_DISCOVERY})')


def test_battery_sensor_becomes_battery_level():
    result = run("node1/sensor/battery_level/state", b"87")
    assert result == ParseResult(batteries=(BatteryLevel("esphome", "node1", 87.0, NOW),))


@pytest.mark.parametrize(
    "name",
    ["humidity", "wifi_signal", "rssi", "battery_voltage", "supply_voltage", "pressure", "uptime",
     "illuminance", "co2", "lux_sensor", "temp_humidity"],
)
def test_non_temperature_names_are_ignored(name):
    assert run(f"node1/sensor/{name}/state", b"42").ignored == (
        f'sensor "{name}" is not a temperature (its name says so)')


# --- what the discovery config says wins over the name ---------------------------------


def test_discovered_temperature_with_any_name():
    ctx = discovered(dallas_28ff641e8216c3a1=entity_kind("temperature", "°C"))
    (reading,) = run("node1/sensor/dallas_28ff641e8216c3a1/state", b"3.9", ctx).readings
    assert reading == Reading("esphome:node1:dallas_28ff641e8216c3a1", "esphome", "node1", NOW, 3.9)


def test_discovered_fahrenheit_entity_is_converted():
    ctx = discovered(fridge_temperature=entity_kind("temperature", "°F"))
    (reading,) = run("node1/sensor/fridge_temperature/state", b"39.2", ctx).readings
    assert reading.temperature_c == 4.0


def test_discovered_kelvin_entity_is_converted():
    ctx = discovered(probe=entity_kind(None, "K"))
    (reading,) = run("node1/sensor/probe/state", b"277.15", ctx).readings
    assert reading.temperature_c == 4.0


def test_discovered_power_entity_is_a_power_channel_never_a_temperature_even_if_named_temp():
    ctx = discovered(temp_controller_power=entity_kind("power", "W"))
    result = run("node1/sensor/temp_controller_power/state", b"45.0", ctx)
    assert result.readings == ()
    assert [(c.sensor_id, c.channel, c.value) for c in result.channels] == [
        ("esphome:node1:temp_controller_power", "power", 45.0)]


def test_discovered_humidity_entity_is_a_humidity_channel():
    ctx = discovered(fridge_humidity=entity_kind("humidity", "%"))
    result = run("node1/sensor/fridge_humidity/state", b"48.5", ctx)
    assert [(c.channel, c.value) for c in result.channels] == [("humidity", 48.5)]
    assert result.readings == ()


@pytest.mark.parametrize(("payload", "value"), [(b"ON", 1.0), (b"OFF", 0.0)])
def test_binary_sensor_named_door_is_a_door_contact(payload, value):
    result = run("node1/binary_sensor/fridge_door/state", payload)
    assert [(c.sensor_id, c.channel, c.value) for c in result.channels] == [
        ("esphome:node1:fridge_door", "door", value)]


def test_binary_sensor_with_a_door_class_is_a_door_contact_whatever_its_name():
    ctx = ParseContext(received_at=NOW,
                       discovered_entities={"node1/binary_sensor/contact_1/state": entity_kind("opening", None)})
    assert [(c.channel, c.value) for c in run("node1/binary_sensor/contact_1/state", b"ON", ctx).channels] == [
        ("door", 1.0)]


def test_other_binary_sensors_are_ignored():
    result = run("node1/binary_sensor/motion/state", b"ON")
    assert result.channels == () and result.ignored is not None and "does not say door" in result.ignored


def test_door_state_that_is_not_on_or_off_is_rejected():
    result = run("node1/binary_sensor/fridge_door/state", b"maybe")
    assert [r.reason for r in result.rejections] == ['door state "maybe" is a string ("maybe"); expected "ON" or "OFF"']


def test_discovered_counter_without_device_class_is_ignored():
    ctx = discovered(door_open_count=entity_kind(None, None))
    result = run("node1/sensor/door_open_count/state", b"3", ctx)
    assert result.readings == ()
    assert result.ignored == 'sensor "door_open_count" is not a temperature (discovery config: no device class or unit)'


def test_discovered_temperature_without_a_known_unit_is_rejected_not_guessed():
    ctx = discovered(fridge_temp=entity_kind("temperature", "°Ré"))
    assert run("node1/sensor/fridge_temp/state", b"3.2", ctx).rejections == (
        Rejection('sensor "fridge_temp" is a temperature in an unknown unit (discovery config: device class '
                  '"temperature", unit "°Ré"); declare its unit in [[mqtt.esphome_entities]]',
                  "esphome:node1:fridge_temp"),
    )


def test_discovered_battery():
    ctx = discovered(charge=entity_kind("battery", "%"))
    assert run("node1/sensor/charge/state", b"55", ctx).batteries == (BatteryLevel("esphome", "node1", 55.0, NOW),)


def test_discovery_is_matched_by_the_whole_state_topic():
    ctx = discovered(probe=entity_kind("temperature", "°F"))
    # Another node's entity of the same name is not the discovered one: name fallback ignores it.
    assert run("node2/sensor/probe/state", b"39.2", ctx).readings == ()


# --- the operator's setting wins over everything ----------------------------------------


def test_declared_entity_overrides_discovery_and_name():
    declared = {"esphome:node1:compressor_temp": EntityKind("other", source="declared in [[mqtt.esphome_entities]]"),
                "esphome:node1:probe_a": EntityKind("temperature", "F", "declared in [[mqtt.esphome_entities]]")}
    ctx = ParseContext(received_at=NOW, declared_entities=declared,
                       discovered_entities={"node1/sensor/probe_a/state": entity_kind("temperature", "°C")})
    assert run("node1/sensor/compressor_temp/state", b"40", ctx).ignored == (
        'sensor "compressor_temp" is not a temperature (declared in [[mqtt.esphome_entities]])')
    (reading,) = run("node1/sensor/probe_a/state", b"39.2", ctx).readings
    assert reading.temperature_c == 4.0


# --- discovery vocabulary ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("device_class", "unit", "measures", "unit_code"),
    [
        ("temperature", "°C", "temperature", "C"),
        ("temperature", "°F", "temperature", "F"),
        ("temperature", "K", "temperature", "K"),
        (None, "°C", "temperature", "C"),
        ("temperature", None, "temperature", None),
        ("battery", "%", "battery", None),
        ("power", "W", "power", "W"),
        ("humidity", "%", "humidity", "%"),
        (None, None, "other", None),
        ("energy", "kWh", "other", None),
    ],
)
def test_entity_kind_from_discovery(device_class, unit, measures, unit_code):
    kind = entity_kind(device_class, unit)
    assert (kind.measures, kind.unit) == (measures, unit_code)


# --- failures and other topics -----------------------------------------------------------


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
    ["node1/binary_sensor/door/command", "node1/switch/relay/state", "node1/sensor/temp/command", "node1/debug"],
)
def test_other_topics_are_ignored(topic):
    assert run(topic, b"ON").ignored == f'topic "{topic}" is not an ESPHome .../<node>/sensor/<name>/state topic'
