"""zigbee2mqtt device messages on .../<friendly name>."""

from datetime import UTC, datetime

import pytest

from fridge_monitor.core.parsers import parse
from fridge_monitor.core.readings import (
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
TOPIC = "t123/zigbee2mqtt/vaccine-fridge-1"
SID = "zigbee2mqtt:vaccine-fridge-1"


def run(payload: bytes, topic: str = TOPIC) -> ParseResult:
    return parse("zigbee2mqtt", topic, payload, CTX)


def test_aqara_style_message_with_battery():
    payload = (
        b'{"battery":88,"humidity":41.52,"linkquality":134,"power_outage_count":2,'
        b'"pressure":1011.4,"temperature":4.31,"voltage":2985,"last_seen":"2026-11-25T09:58:01+01:00"}'
    )
    assert run(payload) == ParseResult(
        readings=(Reading(SID, "zigbee2mqtt", "vaccine-fridge-1", NOW, 4.31, 88.0),),
        channels=(ChannelReading(SID, "zigbee2mqtt", "vaccine-fridge-1", "humidity", NOW, 41.52),),
    )


def test_last_seen_is_ignored_in_favour_of_arrival():
    (reading,) = run(b'{"temperature":-19.5,"last_seen":1500000000000,"linkquality":60}').readings
    assert reading.measured_at == NOW
    assert reading.battery_pct is None


def test_humidity_only_message_is_a_humidity_channel_with_its_battery():
    assert run(b'{"humidity":40.1,"linkquality":120,"battery":90}') == ParseResult(
        channels=(ChannelReading(SID, "zigbee2mqtt", "vaccine-fridge-1", "humidity", NOW, 40.1),),
        batteries=(BatteryLevel("zigbee2mqtt", "vaccine-fridge-1", 90.0, NOW),),
    )


def test_message_with_nothing_to_record_is_ignored():
    assert run(b'{"linkquality":120,"action":"single"}') == ParseResult(
        ignored="message has no temperature, contact, power or humidity")


@pytest.mark.parametrize(("contact", "door"), [(b"false", 1.0), (b"true", 0.0)])
def test_door_contact_is_open_when_not_in_contact(contact, door):
    result = run(b'{"contact":' + contact + b',"battery":100,"linkquality":90,"voltage":3005}')
    assert [(c.channel, c.value) for c in result.channels] == [("door", door)]
    assert result.readings == ()


def test_metering_plug_gives_power_and_switch():
    result = run(b'{"power":0,"state":"OFF","energy":12.4,"voltage":229}')
    assert [(c.channel, c.value) for c in result.channels] == [("power", 0.0), ("switch", 0.0)]


def test_a_lamps_state_is_not_kept():
    assert run(b'{"state":"ON","brightness":200}').channels == ()


def test_bad_contact_is_rejected_and_the_temperature_kept():
    result = run(b'{"contact":"ajar","temperature":4.0}')
    assert [r.temperature_c for r in result.readings] == [4.0]
    assert [r.reason for r in result.rejections] == [
        '"contact" is a string ("ajar"); expected true or false; the rest of the message kept']


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b'{"temperature":null,"linkquality":0}', "sensor reported no temperature (null)"),
        (b'{"temperature":"4.3"}', '"temperature" is a string ("4.3"), expected a number'),
        (b'{"temperature":false}', '"temperature" is a boolean (false), expected a number'),
        (b'{"temperature":NaN}', "temperature is not a number (nan)"),
        (b'{"temperature":-Infinity}', "temperature is not a number (-inf)"),
        (b'{"temperature":150}', "temperature 150.0 °C is outside the plausible range -100..100 °C"),
        (b'["temperature", 4.3]', "payload is a list; expected a JSON object"),
        (
            b"{'temperature': 4.3}",
            "payload is not valid JSON: Expecting property name enclosed in double quotes at line 1 column 2",
        ),
        (
            b'{"temperature":4.3,"\x80":1}',
            "payload is not UTF-8 text (byte 0x80 at position 20); check the device's character encoding",
        ),
    ],
)
def test_bad_payloads_are_rejected(payload, reason):
    result = run(payload)
    assert result.readings == ()
    assert result.rejections == (Rejection(reason, SID),)


def test_bad_battery_keeps_reading():
    result = run(b'{"temperature":4.3,"battery":true}')
    assert result.readings == (Reading(SID, "zigbee2mqtt", "vaccine-fridge-1", NOW, 4.3, None),)
    assert result.rejections == (
        Rejection('"battery" is a boolean (true), expected a number; reading kept without it', SID),
    )
    result = run(b'{"temperature":4.3,"battery":250}')
    assert result.readings[0].battery_pct is None
    assert result.rejections == (Rejection("battery 250 % is outside 0..100 %; reading kept without it", SID),)


@pytest.mark.parametrize(
    "topic",
    ["zigbee2mqtt/bridge", "zigbee2mqtt/bridge/logging", "t1/zigbee2mqtt/bridge/devices"],
)
def test_bridge_messages_are_ignored(topic):
    assert run(b'{"temperature":4}', topic) == ParseResult(ignored="zigbee2mqtt bridge message, not a device")


def test_set_commands_are_ignored():
    result = run(b'{"state":"ON"}', "zigbee2mqtt/vaccine-fridge-1/set")
    assert result.ignored == 'zigbee2mqtt "set" command, not a report'


# --- friendly names with "/" ------------------------------------------------------


def nested(topic: str, payload: bytes, base: str | None = "t123/zigbee2mqtt") -> ParseResult:
    """As ingest parses it: the base topic is the fixed part of the filter ``t123/zigbee2mqtt/#``."""
    return parse("zigbee2mqtt", topic, payload, ParseContext(received_at=NOW, base_topic=base))


def test_nested_friendly_names_are_two_devices():
    kitchen = nested("t123/zigbee2mqtt/kitchen/fridge", b'{"temperature":4.1}')
    lab = nested("t123/zigbee2mqtt/lab/fridge", b'{"temperature":5.2,"battery":90}')
    assert kitchen == ParseResult(readings=(Reading("zigbee2mqtt:kitchen/fridge", "zigbee2mqtt", "kitchen/fridge",
                                                    NOW, 4.1),))
    assert lab == ParseResult(readings=(Reading("zigbee2mqtt:lab/fridge", "zigbee2mqtt", "lab/fridge",
                                                NOW, 5.2, 90.0),))


def test_a_single_level_name_keeps_its_sensor_id():
    (reading,) = nested("t123/zigbee2mqtt/c1_backup", b'{"temperature":6.1}').readings
    assert reading.sensor_id == "zigbee2mqtt:c1_backup"


def test_a_base_topic_of_several_levels():
    (reading,) = nested("site-a/z2m/cold room/fridge 2", b'{"temperature":3}', base="site-a/z2m").readings
    assert reading.sensor_id == "zigbee2mqtt:cold room/fridge 2"


def test_without_a_known_base_the_name_follows_the_zigbee2mqtt_level():
    (reading,) = nested("t9/zigbee2mqtt/lab/fridge", b'{"temperature":5}', base=None).readings
    assert reading.sensor_id == "zigbee2mqtt:lab/fridge"


def test_nested_availability():
    assert nested("t123/zigbee2mqtt/kitchen/fridge/availability", b'{"state":"offline"}') == ParseResult(
        availability=Availability("zigbee2mqtt", "kitchen/fridge", False)
    )


@pytest.mark.parametrize(
    ("topic", "reason"),
    [
        ("t123/zigbee2mqtt/kitchen/fridge/set", 'zigbee2mqtt "set" command, not a report'),
        ("t123/zigbee2mqtt/kitchen/fridge/get", 'zigbee2mqtt "get" command, not a report'),
        ("t123/zigbee2mqtt/kitchen/fridge/set/temperature_unit", 'zigbee2mqtt "set" command, not a report'),
        ("t123/zigbee2mqtt/bridge/devices", "zigbee2mqtt bridge message, not a device"),
        ("t123/zigbee2mqtt/bridge/response/device/rename", "zigbee2mqtt bridge message, not a device"),
    ],
)
def test_nested_commands_and_bridge_topics_are_not_devices(topic, reason):
    assert nested(topic, b'{"temperature":4}') == ParseResult(ignored=reason)


@pytest.mark.parametrize(("payload", "online"), [(b'{"state":"offline"}', False), (b"online", True)])
def test_the_bridge_state_is_the_availability_of_every_device_behind_it(payload, online):
    assert run(payload, "zigbee2mqtt/bridge/state") == ParseResult(
        availability=Availability("zigbee2mqtt", "", online))


def test_a_device_may_be_named_like_a_bridge_below_the_top():
    (reading,) = nested("t123/zigbee2mqtt/lab/bridge", b'{"temperature":4}').readings
    assert reading.sensor_id == "zigbee2mqtt:lab/bridge"


@pytest.mark.parametrize("topic", ["t123/zigbee2mqtt", "t123/zigbee2mqtt/", "t123/zigbee2mqtt/kitchen//fridge"])
def test_a_topic_without_a_whole_name_is_rejected(topic):
    (rejection,) = nested(topic, b'{"temperature":4}').rejections
    assert rejection.reason == f'topic "{topic}" has no device name (or an empty level in it) after the base topic'


@pytest.mark.parametrize(
    ("payload", "online"),
    [(b"online", True), (b"offline", False), (b'{"state":"online"}', True), (b'{"state": "offline"}', False)],
)
def test_availability(payload, online):
    assert run(payload, TOPIC + "/availability") == ParseResult(
        availability=Availability("zigbee2mqtt", "vaccine-fridge-1", online)
    )


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b'{"state":1}', 'availability object has no "state" text; expected {"state": "online"}'),
        (b'{"state":', "payload is not valid JSON: Expecting value at line 1 column 10"),
        (b"unknown", 'availability payload is "unknown"; expected "online" or "offline"'),
    ],
)
def test_bad_availability(payload, reason):
    assert run(payload, TOPIC + "/availability").rejections == (Rejection(reason),)
