"""Settings: layers, validation with one clear line, and the documented example."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from fridge_monitor.config import DEFAULT_SUBSCRIPTIONS, SETTINGS, ConfigError, build_config, load_config
from fridge_monitor.core.readings import EntityKind

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"


def build(raw: dict, env: dict | None = None):
    return build_config(raw, env or {}, {}, "test.toml")


def test_defaults_subscribe_to_every_format():
    config = build({})
    assert config.database["url"] == "sqlite:///fridge-monitor.db"
    assert config.mqtt["protocol"] == "5"
    assert [(s.topic, s.fmt) for s in config.subscriptions] == list(DEFAULT_SUBSCRIPTIONS)
    assert {s.fmt for s in config.subscriptions} == {
        "native", "senml", "zigbee2mqtt", "tasmota", "esphome", "shelly", "discovery"}
    assert ("zigbee2mqtt/#", "zigbee2mqtt") in DEFAULT_SUBSCRIPTIONS  # friendly names may contain "/"
    topics = [t for t, _ in DEFAULT_SUBSCRIPTIONS]
    # Retained discovery configs are handed over before retained ESPHome states.
    assert topics.index("homeassistant/sensor/+/+/config") < topics.index("+/sensor/+/state")


def test_env_overrides_file_and_is_typed():
    config = build(
        {"database": {"url": "sqlite:///a.db"}, "ingest": {"batch_size": 10}},
        {
            "FRIDGE_MONITOR_DATABASE_URL": "postgresql://u@h/db",
            "FRIDGE_MONITOR_MQTT_URL": "mqtts://broker.example:8883",
            "FRIDGE_MONITOR_INGEST_BATCH_SIZE": "250",
            "FRIDGE_MONITOR_MQTT_EMBEDDED": "yes",
            "FRIDGE_MONITOR_INGEST_FUTURE_TOLERANCE_S": "60",
        },
    )
    assert config.database["url"] == "postgresql://u@h/db"
    assert config.mqtt["url"] == "mqtts://broker.example:8883"
    assert config.ingest["batch_size"] == 250
    assert config.mqtt["embedded"] is True
    assert config.ingest["future_tolerance_s"] == 60.0


@pytest.mark.parametrize(
    ("raw", "env", "message"),
    [
        ({"mqtt": {"urll": "x"}}, {}, "test.toml: unknown setting [mqtt] urll"),
        ({"mqt": {}}, {}, "test.toml: unknown section [mqt]"),
        ({"ingest": {"batch_size": "ten"}}, {}, "[ingest] batch_size must be a whole number, not 'ten'"),
        ({"mqtt": {"url": "http://x"}}, {}, "[mqtt] url must look like mqtt://HOST:PORT"),
        ({"database": {"url": "mysql://x"}}, {}, "[database] url must start with sqlite:/// or postgresql://"),
        ({"mqtt": {"protocol": "4"}}, {}, "[mqtt] protocol must be one of '5', '3.1.1', not '4'"),
        ({"ingest": {"default_timezone": "Mars/Olympus"}}, {}, "unknown time zone 'Mars/Olympus'"),
        ({}, {"FRIDGE_MONITOR_MQTT_PORT": "1"}, "env FRIDGE_MONITOR_MQTT_PORT: unknown setting [mqtt] port"),
        ({}, {"FRIDGE_MONITOR_INGEST_BATCH_SIZE": "lots"}, "env FRIDGE_MONITOR_INGEST_BATCH_SIZE: [ingest] batch_size"),
        ({"mqtt": {"subscriptions": [{"topic": "a/+", "format": "xml"}]}}, {}, "format must be one of"),
        ({"fridges": [{"name": "A1", "site": "Nowhere"}]}, {}, "fridge 'A1': site 'Nowhere' is not declared"),
        (
            {"sites": [{"name": "S", "timezone": "UTC"}], "fridges": [{"name": "A1", "site": "S", "kind": "custom"}]},
            {},
            "kind 'custom' needs low_c and high_c",
        ),
        (
            {"sites": [{"name": "S", "timezone": "UTC"}],
             "fridges": [{"name": "A1", "site": "S", "sensors": ["probe1"]}]},
            {},
            "sensor id 'probe1' must look like <format>:<device>[:<channel>]",
        ),
    ],
)
def test_bad_settings_fail_with_one_line_naming_the_key(raw, env, message):
    with pytest.raises(ConfigError) as info:
        build(raw, env)
    text = str(info.value)
    assert message in text
    assert "\n" not in text


def test_missing_and_invalid_files(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml", environ={})
    bad = tmp_path / "bad.toml"
    bad.write_text("[mqtt\nurl = 1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad, environ={})


def test_secrets_from_env_and_file(tmp_path, monkeypatch):
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    monkeypatch.setenv("BROKER_USER", "ingest")
    config = build({"mqtt": {"username": "$env:BROKER_USER", "password": f"$file:{secret}"}})
    assert (config.mqtt["username"], config.mqtt["password"]) == ("ingest", "s3cret")
    with pytest.raises(ConfigError, match="environment variable NOT_SET_ANYWHERE, which is not set"):
        build({"mqtt": {"password": "$env:NOT_SET_ANYWHERE"}})


def test_fridges_get_kind_ranges_and_roles():
    config = build(
        {
            "sites": [{"name": "Clinic A", "timezone": "Europe/Berlin"}],
            "fridges": [
                {"name": "A1", "site": "Clinic A", "sensors": ["native:a1-probe", "zigbee2mqtt:a1_backup"]},
                {"name": "F1", "site": "Clinic A", "kind": "freezer"},
                {"name": "X1", "site": "Clinic A", "kind": "custom", "low_c": -25, "high_c": -10},
            ],
        }
    )
    a1, f1, x1 = config.fridges
    assert (a1.low_c, a1.high_c, a1.alarm_profile, a1.sensors) == (
        2.0, 8.0, "cdc-refrigerator", ("native:a1-probe", "zigbee2mqtt:a1_backup"))
    assert (f1.low_c, f1.high_c, f1.alarm_profile) == (-50.0, -15.0, "cdc-freezer")
    assert (x1.low_c, x1.high_c) == (-25.0, -10.0)


def test_a_sensor_cannot_be_in_two_fridges():
    with pytest.raises(ConfigError, match="already assigned to fridge 'A1'"):
        build(
            {
                "sites": [{"name": "S", "timezone": "UTC"}],
                "fridges": [
                    {"name": "A1", "site": "S", "sensors": ["native:p"]},
                    {"name": "A2", "site": "S", "sensors": ["native:p"]},
                ],
            }
        )


def test_example_documents_every_setting_with_its_default():
    text = EXAMPLE.read_text()
    raw = tomllib.loads(text)
    assert set(raw) == set(SETTINGS), "config.example.toml must have a section for each settings section"
    for section, keys in SETTINGS.items():
        assert raw[section] == keys, f"[{section}] in config.example.toml differs from the defaults"
    # The commented-out examples must be valid too.
    uncommented = re.sub(r"^# (\[\[|[a-z_]+ = )", r"\1", text, flags=re.MULTILINE)
    config = build_config(tomllib.loads(uncommented), {}, {}, "example")
    assert [f.name for f in config.fridges] == ["A1"]
    assert config.subscriptions[0].topic == "fridge-monitor/readings/+"
    assert config.esphome_entities["esphome:pharmacy-fridge:dallas_probe"] == EntityKind(
        "temperature", "F", "declared in [[mqtt.esphome_entities]]")


def test_esphome_entities_are_declared_by_sensor_id():
    config = build({"mqtt": {"esphome_entities": [
        {"sensor": "esphome:node1:probe", "unit": "K"},
        {"sensor": "esphome:node1:temp_setpoint", "measures": "other"},
        {"sensor": "esphome:node1:charge", "measures": "battery"},
    ]}})
    assert {sid: (k.measures, k.unit) for sid, k in config.esphome_entities.items()} == {
        "esphome:node1:probe": ("temperature", "K"),
        "esphome:node1:temp_setpoint": ("other", None),
        "esphome:node1:charge": ("battery", None),
    }
    assert build({}).esphome_entities == {}


@pytest.mark.parametrize(
    ("entities", "message"),
    [
        ([{"sensor": "node1:probe"}],
         'sensor must be an ESPHome sensor id "esphome:<node>:<name>", not \'node1:probe\''),
        ([{"sensor": "esphome:node1"}], "sensor must be an ESPHome sensor id"),
        ([{"sensor": "esphome:n:p", "unit": "°F"}], "unit must be one of C, F, K, not '°F'"),
        ([{"sensor": "esphome:n:p", "measures": "voltage"}],
             "measures must be one of temperature, battery, power, humidity, door, other"),
        ([{"sensor": "esphome:n:p"}, {"sensor": "esphome:n:p"}], "sensor 'esphome:n:p' is declared twice"),
        ([{"sensor": "esphome:n:p", "units": "F"}], "unknown key 'units'"),
        ({"sensor": "esphome:n:p"}, "mqtt.esphome_entities must be an array of tables"),
    ],
)
def test_bad_esphome_entities_name_the_problem(entities, message):
    with pytest.raises(ConfigError, match="esphome_entities") as caught:
        build({"mqtt": {"esphome_entities": entities}})
    assert message in str(caught.value)


def test_alarm_profiles_are_presets_or_declared():
    sites = [{"name": "S", "timezone": "UTC"}]
    with pytest.raises(ConfigError, match="alarm_profile 'cdc-fridge' is neither a preset"):
        build({"sites": sites, "fridges": [{"name": "A1", "site": "S", "alarm_profile": "cdc-fridge"}]})
    config = build({
        "sites": sites,
        "alarm_profiles": [{"name": "pharmacy-2-6", "low_c": 2.0, "high_c": 6.0,
                            "rules": [{"name": "heat", "direction": "high", "threshold_c": 6.0,
                                       "duration_min": 30}]}],
        "fridges": [{"name": "A1", "site": "S", "alarm_profile": "pharmacy-2-6"},
                    {"name": "A2", "site": "S", "alarm_profile": "who-30dtr"}],
    })
    assert [p.name for p in config.alarm_profiles] == ["pharmacy-2-6"]
    assert config.alarm_profiles[0].rules[0].name == "heat"
    with pytest.raises(ConfigError, match="has the name of a preset"):
        build({"alarm_profiles": [{"name": "cdc-freezer", "low_c": -50, "high_c": -15}]})
    with pytest.raises(ConfigError, match="test.toml: alarm profile 'x'"):
        build({"alarm_profiles": [{"name": "x", "low_c": 2, "high_c": 8, "colour": "red"}]})


def test_calibration_warnings_are_a_list_of_days_and_an_old_single_number_still_counts():
    assert build_config({}, {}, {}, "t").alerts["calibration_warning_days"] == (90, 30, 7)
    assert build_config({"alerts": {"calibration_warning_days": 30}}, {}, {}, "t").alerts[
        "calibration_warning_days"] == (30,)
    assert build_config({"calibration": {"max_error_c": 1.0}}, {}, {}, "t").calibration == {
        "max_error_c": 1.0, "max_uncertainty_c": 0.5}
    with pytest.raises(ConfigError, match=r"^t: \[calibration\] max_uncertainty_c must be"):
        build_config({"calibration": {"max_uncertainty_c": 0}}, {}, {}, "t")
