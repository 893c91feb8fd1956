"""Property tests: no payload on any topic makes a parser raise or emit an implausible reading."""

import json
import math
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fridge_monitor.core import parsers
from fridge_monitor.core.parsers import explain, parse
from fridge_monitor.core.parsers.esphome import entity_kind
from fridge_monitor.core.parsers.validate import check
from fridge_monitor.core.readings import SUBSCRIPTION_FORMATS, EntityKind, ParseContext, ParseResult

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TOPICS = {
    "native": ["t1/fridge-monitor/readings/a1", "fridge-monitor/availability/a1", "readings/", "a1"],
    "senml": ["t1/senml/dev-1", "senml/dev-1/status", "senml/", "dev-1"],
    "zigbee2mqtt": [
        "zigbee2mqtt/fridge",
        "zigbee2mqtt/fridge/availability",
        "zigbee2mqtt/bridge/state",
        "fridge/set",
        "t1/zigbee2mqtt/kitchen/fridge",
        "t1/zigbee2mqtt/kitchen/fridge/availability",
        "t1/zigbee2mqtt/kitchen/fridge/set/x",
        "t1/zigbee2mqtt",
    ],
    "tasmota": ["t1/tele/fridge-a/SENSOR", "tele/fridge-a/LWT", "tele/fridge-a/STATE", "SENSOR"],
    "esphome": [
        "node1/sensor/fridge_temp/state",
        "node1/sensor/battery_level/state",
        "node1/status",
        "sensor/x/state",
        "node1/sensor/probe_f/state",
        "node1/sensor/probe_x/state",
        "node1/sensor/compressor_power/state",
    ],
    "shelly": [
        "shellies/ht-1/sensor/temperature",
        "shellies/ht-1/sensor/battery",
        "shellies/ht-1/online",
        "shellies/s1/ext_temperature/0",
        "shellies/s1/ext_temperature_f/1",
        "shellies/s1/ext_temperature/x",
        "ht-2/status/temperature:0",
        "ht-2/status/devicepower:0",
        "t1/ht-2/events/rpc",
        "online",
    ],
    "discovery": [
        "homeassistant/sensor/node1/probe/config",
        "t1/homeassistant/sensor/probe/config",
        "homeassistant/binary_sensor/node1/door/config",
        "config",
    ],
}

KEYS = [
    "temperature_c", "ts", "battery_pct", "bn", "bt", "bu", "bv", "n", "u", "v", "t", "vs", "vb", "x_",
    "temperature", "battery", "humidity", "state", "Time", "TempUnit", "DS18B20", "DS18B20-1", "ESP32",
    "Temperature", "Id", "id", "tC", "tF", "errors", "percent", "method", "params", "temperature:0",
    "devicepower:0",
]  # fmt: skip
WORDS = [
    "Cel", "K", "degF", "%EL", "%RH", "C", "F", "online", "offline", "Online", "true", "NotifyStatus",
    "NotifyFullStatus", "2026-11-25T10:00:00Z", "2026-11-25T11:00:00", "9999-12-31T23:59:59-01:00", "nan", "",
]  # fmt: skip

leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=1_700_000_000, max_value=1_900_000_000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-150, max_value=150),
    st.sampled_from(WORDS),
    st.text(max_size=12),
)
json_values = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), children, max_size=5),
    ),
    max_leaves=25,
)
texts = st.one_of(st.sampled_from(WORDS + ["4.3", "-18", "1e999", "None", "NaN", "101"]), st.text(max_size=20))
payloads = st.one_of(
    json_values.map(lambda value: json.dumps(value).encode()),
    texts.map(str.encode),
    st.binary(max_size=64),
)
# What ingest may know about ESPHome entities: by state topic (discovered) and by sensor id (declared).
DISCOVERED = {
    "node1/sensor/probe_f/state": entity_kind("temperature", "°F"),
    "node1/sensor/probe_x/state": entity_kind("temperature", "mV"),
    "node1/sensor/compressor_power/state": entity_kind("power", "W"),
}
DECLARED = {"esphome:node1:fridge_temp": EntityKind("temperature", "K", "declared")}
contexts = st.builds(
    ParseContext,
    received_at=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
    local_tz=st.sampled_from([lambda _sid: UTC, lambda _sid: BERLIN]),
    shelly_gen1_unit=st.sampled_from(["C", "F"]),
    retained=st.booleans(),
    base_topic=st.sampled_from([None, "", "zigbee2mqtt", "t1/zigbee2mqtt", "t1"]),
    discovered_entities=st.sampled_from([{}, DISCOVERED]),
    declared_entities=st.sampled_from([{}, DECLARED]),
)
CTX = ParseContext(received_at=NOW, local_tz=lambda _sid: BERLIN)


def topics_for(fmt: str) -> st.SearchStrategy[str]:
    return st.sampled_from(TOPICS[fmt]) | st.text(alphabet="ab/#+ :", max_size=12)


def assert_plausible(result: ParseResult, ctx: ParseContext) -> None:
    assert isinstance(result, ParseResult)
    if ctx.retained:
        assert all(r.timed for r in result.readings) and all(b.timed for b in result.batteries)
    for reading in result.readings:
        assert math.isfinite(reading.temperature_c)
        assert ctx.min_temperature_c <= reading.temperature_c <= ctx.max_temperature_c
        assert reading.measured_at.tzinfo is UTC
        assert reading.measured_at - ctx.received_at <= ctx.future_tolerance
        assert reading.battery_pct is None or 0 <= reading.battery_pct <= 100
    for level in result.batteries:
        assert 0 <= level.battery_pct <= 100
        assert level.at.tzinfo is UTC
    for rejection in result.rejections:
        assert rejection.reason
        # The dispatcher's safety net caught an exception: a parser bug.
        assert not rejection.reason.startswith("could not parse"), rejection.reason
    assert all(isinstance(line, str) for line in explain(result))


@pytest.mark.parametrize("fmt", SUBSCRIPTION_FORMATS)
@FUZZ
@given(data=st.data(), payload=payloads, ctx=contexts)
def test_dispatcher_never_raises(fmt, data, payload, ctx):
    topic = data.draw(topics_for(fmt))
    assert_plausible(parse(fmt, topic, payload, ctx), ctx)


@pytest.mark.parametrize("fmt", SUBSCRIPTION_FORMATS)
@FUZZ
@given(data=st.data(), value=json_values)
def test_format_parser_itself_never_raises_on_json(fmt, data, value):
    topic = data.draw(st.sampled_from(TOPICS[fmt]))
    result = parsers.PARSERS[fmt](topic, json.dumps(value).encode(), CTX)
    assert isinstance(result, ParseResult)
    assert_plausible(check(result, CTX), CTX)


@pytest.mark.parametrize("fmt", SUBSCRIPTION_FORMATS)
@FUZZ
@given(data=st.data(), payload=st.binary(max_size=64) | texts.map(str.encode))
def test_format_parser_itself_never_raises_on_bytes(fmt, data, payload):
    topic = data.draw(st.sampled_from(TOPICS[fmt]))
    assert isinstance(parsers.PARSERS[fmt](topic, payload, CTX), ParseResult)


# Near-valid shapes reach deeper branches than uniformly random JSON does: each
# field is usually a plausible value, sometimes any leaf.


def mostly(good: st.SearchStrategy) -> st.SearchStrategy:
    return st.integers(min_value=0, max_value=3).flatmap(lambda pick: leaves if pick == 0 else good)


temperature = mostly(st.floats(min_value=-120, max_value=120))
battery = mostly(st.integers(min_value=-5, max_value=105))
epoch = mostly(st.floats(min_value=1_795_599_000, max_value=1_795_601_000))
relative = st.integers(min_value=-3600, max_value=600) | epoch
iso = st.sampled_from(["2026-11-25T10:00:00Z", "2026-11-25T11:00:00+01:00", "2026-11-25T10:00:00"]) | epoch
local_time = mostly(st.sampled_from(["2026-11-25T11:00:00", "2026-11-25T10:00:00", "2026-11-25T11:00:00+01:00"]))
native_item = st.fixed_dictionaries(
    {"temperature_c": temperature}, optional={"ts": iso, "battery_pct": battery, "fw": leaves}
) | st.dictionaries(st.sampled_from(["temperature_c", "ts", "battery_pct"]), leaves, max_size=3)
senml_record = st.fixed_dictionaries(
    {"v": temperature, "u": mostly(st.sampled_from(["Cel", "K", "degF", "%EL", "%RH"]))},
    optional={
        "bn": mostly(st.sampled_from(["urn:dev:ow:10e2073a01080063:", "fridge/", ""])),
        "bt": relative,
        "bu": mostly(st.sampled_from(["Cel", "K", "degF", "%EL"])),
        "bv": mostly(st.floats(min_value=-5, max_value=5)),
        "n": mostly(st.sampled_from(["temp", "battery", ""])),
        "t": mostly(st.integers(min_value=-600, max_value=0)),
    },
)
odd_record = st.fixed_dictionaries({"n": leaves}, optional={"vs": leaves, "vb": leaves, "x_": leaves, "v": leaves})
probe = st.fixed_dictionaries(
    {"Temperature": temperature}, optional={"Id": mostly(st.sampled_from(["01144A0CB2AA", ""])), "Humidity": leaves}
)
component = st.fixed_dictionaries(
    {},
    optional={
        "id": leaves,
        "tC": temperature,
        "tF": temperature,
        "errors": st.lists(leaves, max_size=2) | leaves,
        "battery": st.fixed_dictionaries({}, optional={"percent": battery, "V": leaves}) | leaves,
    },
)
SHAPES = {
    "native": native_item | st.lists(native_item, max_size=5),
    "senml": st.lists(mostly(senml_record | odd_record), max_size=6),
    "zigbee2mqtt": st.fixed_dictionaries(
        {}, optional={"temperature": temperature, "battery": battery, "humidity": leaves, "state": leaves}
    ),
    "tasmota": st.fixed_dictionaries(
        {},
        optional={
            "Time": local_time,
            "TempUnit": mostly(st.sampled_from(["C", "F"])),
            "DS18B20": mostly(probe),
            "DS18B20-1": probe,
            "ESP32": probe,
            "AM2301": probe,
        },
    ),
    "esphome": st.floats(min_value=-120, max_value=400).map(str) | texts,
    "discovery": st.fixed_dictionaries(
        {},
        optional={
            "stat_t": mostly(st.sampled_from(["node1/sensor/probe/state", "~/state", "a/#", ""])),
            "state_topic": mostly(st.sampled_from(["t1/node1/sensor/probe/state", "custom/topic"])),
            "~": mostly(st.sampled_from(["node1/sensor/probe", ""])),
            "dev_cla": mostly(st.sampled_from(["temperature", "power", "battery"])),
            "device_class": mostly(st.sampled_from(["temperature", "energy"])),
            "unit_of_meas": mostly(st.sampled_from(["°C", "°F", "K", "W", "%"])),
            "unit_of_measurement": mostly(st.sampled_from(["°C", "kWh"])),
        },
    )
    | st.just(""),
    "shelly": component
    | st.floats(min_value=-120, max_value=120).map(str)
    | st.fixed_dictionaries(
        {
            "method": mostly(st.sampled_from(["NotifyStatus", "NotifyFullStatus"])),
            "params": st.fixed_dictionaries(
                {},
                optional={
                    "ts": epoch,
                    "temperature:0": mostly(component),
                    "temperature:1": component,
                    "devicepower:0": component,
                    "sys": leaves,
                },
            )
            | leaves,
        }
    ),
}


def encode(value: object) -> bytes:
    return value.encode() if isinstance(value, str) else json.dumps(value).encode()


@pytest.mark.parametrize("fmt", SUBSCRIPTION_FORMATS)
@FUZZ
@given(data=st.data(), ctx=contexts)
def test_near_valid_payloads(fmt, data, ctx):
    topic = data.draw(st.sampled_from(TOPICS[fmt]))
    payload = encode(data.draw(SHAPES[fmt]))
    assert isinstance(parsers.PARSERS[fmt](topic, payload, ctx), ParseResult)
    assert_plausible(parse(fmt, topic, payload, ctx), ctx)
