"""Home Assistant discovery configs (as ESPHome publishes them): what an entity's state measures."""

import json
from datetime import UTC, datetime

import pytest

from fridge_monitor.core.parsers import explain, parse
from fridge_monitor.core.readings import Entity, ParseContext, ParseResult, Rejection

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
CTX = ParseContext(received_at=NOW)
CONFIG_TOPIC = "homeassistant/sensor/pharmacy-fridge/fridge_temperature/config"

# What ESPHome 2024.6 publishes (abbreviated keys), retained.
ESPHOME_TEMPERATURE = (
    '{"dev_cla":"temperature","unit_of_meas":"\u00b0C","stat_cla":"measurement","name":"Fridge Temperature",'
    '"stat_t":"pharmacy-fridge/sensor/fridge_temperature/state","avty_t":"pharmacy-fridge/status",'
    '"uniq_id":"ESPsensorfridge_temperature","dev":{"ids":"a4cf12b3c4d5","name":"pharmacy-fridge",'
    '"sw":"2024.6.1","mdl":"esp32dev","mf":"espressif"}}'
).encode()
ESPHOME_POWER = (
    b'{"dev_cla":"power","unit_of_meas":"W","stat_cla":"measurement","name":"Compressor Power",'
    b'"stat_t":"pharmacy-fridge/sensor/compressor_power/state","avty_t":"pharmacy-fridge/status",'
    b'"uniq_id":"ESPsensorcompressor_power"}'
)


def run(payload: bytes, topic: str = CONFIG_TOPIC, ctx: ParseContext = CTX) -> ParseResult:
    return parse("discovery", topic, payload, ctx)


def test_esphome_temperature_config():
    assert run(ESPHOME_TEMPERATURE) == ParseResult(entity=Entity(
        config_topic=CONFIG_TOPIC,
        state_topic="pharmacy-fridge/sensor/fridge_temperature/state",
        node="pharmacy-fridge",
        name="fridge_temperature",
        device_class="temperature",
        unit="°C",
    ))


def test_esphome_power_config():
    entity = run(ESPHOME_POWER, "homeassistant/sensor/pharmacy-fridge/compressor_power/config").entity
    assert (entity.state_topic, entity.device_class, entity.unit) == (
        "pharmacy-fridge/sensor/compressor_power/state", "power", "W")


def test_full_key_names_and_fahrenheit():
    payload = json.dumps({"device_class": "temperature", "unit_of_measurement": "°F",
                          "state_topic": "t9/node1/sensor/probe/state"}).encode()
    entity = run(payload, "t9/homeassistant/sensor/node1/probe/config").entity
    assert entity == Entity("t9/homeassistant/sensor/node1/probe/config", "t9/node1/sensor/probe/state",
                            "node1", "probe", "temperature", "°F")


def test_tilde_stands_for_the_base_topic():
    payload = b'{"~":"node1/sensor/probe","stat_t":"~/state","dev_cla":"temperature","unit_of_meas":"K"}'
    entity = run(payload, "homeassistant/sensor/node1/probe/config").entity
    assert entity.state_topic == "node1/sensor/probe/state"
    assert entity.unit == "K"


def test_a_state_topic_of_another_shape_keeps_the_config_topics_names():
    payload = b'{"stat_t":"custom/fridge/probe","dev_cla":"temperature","unit_of_meas":"\xc2\xb0C"}'
    entity = run(payload, "homeassistant/sensor/node1/probe/config").entity
    assert (entity.node, entity.name, entity.state_topic) == ("node1", "probe", "custom/fridge/probe")


def test_empty_payload_withdraws_the_entity():
    assert run(b"") == ParseResult(entity=Entity(CONFIG_TOPIC, removed=True))


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b'{"dev_cla":"temperature"}', 'discovery config has no "state_topic" ("stat_t"); nothing to learn'),
        (b'{"stat_t":5}', '"stat_t" is a number; expected a string'),
        (b'{"stat_t":"a/#","dev_cla":"temperature"}', '"state_topic" "a/#" is not a topic name'),
        (b'{"stat_t":"a/b","unit_of_meas":["C"]}', '"unit_of_meas" is a list; expected a string'),
        (b"[1]", "payload is a list; a discovery config is a JSON object"),
        (b"{", "payload is not valid JSON: Expecting property name enclosed in double quotes at line 1 column 2"),
    ],
)
def test_bad_configs_are_rejected(payload, reason):
    assert run(payload) == ParseResult(rejections=(Rejection(reason),))


@pytest.mark.parametrize(
    "topic",
    ["homeassistant/switch/node1/relay/config", "homeassistant/status", "homeassistant/sensor/node1/x/state"],
)
def test_other_topics_are_ignored(topic):
    assert run(b"{}", topic).ignored is not None


def test_a_retained_config_is_learnt_as_usual():
    retained = ParseContext(received_at=NOW, retained=True)
    assert run(ESPHOME_TEMPERATURE, ctx=retained) == run(ESPHOME_TEMPERATURE)


def test_explain_says_what_was_learnt():
    assert explain(run(ESPHOME_TEMPERATURE)) == [
        "entity    esphome:pharmacy-fridge:fridge_temperature   temperature in °C   "
        "(state topic pharmacy-fridge/sensor/fridge_temperature/state; "
        'discovery config: device class "temperature", unit "°C")'
    ]
    (line,) = explain(run(ESPHOME_POWER, "homeassistant/sensor/pharmacy-fridge/compressor_power/config"))
    assert "esphome:pharmacy-fridge:compressor_power   power (W), kept as a channel" in line
    (line,) = explain(run(b'{"stat_t": "n1/sensor/uptime/state"}', "homeassistant/sensor/n1/uptime/config"))
    assert "esphome:n1:uptime   not a temperature: its states are ignored" in line


def test_binary_sensor_config_is_learnt_for_a_door_contact():
    payload = b'{"stat_t": "node1/binary_sensor/fridge_door/state", "dev_cla": "door"}'
    entity = run(payload, "homeassistant/binary_sensor/node1/fridge_door/config").entity
    assert entity is not None
    assert (entity.state_topic, entity.node, entity.name, entity.device_class) == (
        "node1/binary_sensor/fridge_door/state", "node1", "fridge_door", "door")
