"""What the config file declares besides settings: subscriptions, sites, fridges, alarm profiles."""

from __future__ import annotations

import dataclasses
import math
from datetime import time, timedelta
from typing import Any

from fridge_monitor.config.errors import ConfigError, only_keys, table_list, unique_name, zone
from fridge_monitor.core.profile_definitions import profile_from_config
from fridge_monitor.core.readings import FORMATS, MEASURES, SUBSCRIPTION_FORMATS, EntityKind
from fridge_monitor.core.rules import PRESETS, AlarmProfile, ProfileError

# (topic filter, format) pairs subscribed when [[mqtt.subscriptions]] is absent.
# The first filter a topic matches gives its format. Discovery configs come before
# ESPHome states: a broker hands over retained messages in the order of the filters.
DEFAULT_SUBSCRIPTIONS: tuple[tuple[str, str], ...] = (
    ("fridge-monitor/readings/+", "native"),
    ("fridge-monitor/availability/+", "native"),
    ("fridge-monitor/senml/#", "senml"),
    # The friendly name may contain "/": everything after the base topic names the device.
    ("zigbee2mqtt/#", "zigbee2mqtt"),
    ("tele/+/SENSOR", "tasmota"),
    ("tele/+/STATE", "tasmota"),
    ("stat/+/POWER", "tasmota"),
    ("tele/+/LWT", "tasmota"),
    ("homeassistant/sensor/+/+/config", "discovery"),
    ("homeassistant/binary_sensor/+/+/config", "discovery"),
    ("+/sensor/+/state", "esphome"),
    ("+/binary_sensor/+/state", "esphome"),
    ("+/status", "esphome"),
    ("shellies/+/sensor/+", "shelly"),
    # Shelly publishes each add-on probe in °C and again in °F (ext_temperature_f): one is enough.
    ("shellies/+/ext_temperature/+", "shelly"),
    ("shellies/+/online", "shelly"),
    # A plug's relay state and power, and a door contact wired to an input.
    ("shellies/+/relay/#", "shelly"),
    ("shellies/+/input/+", "shelly"),
    ("+/status/+", "shelly"),
    ("+/events/rpc", "shelly"),
    ("+/online", "shelly"),
)


FRIDGE_KINDS: dict[str, tuple[float, float] | None] = {
    "refrigerator": (2.0, 8.0),
    "freezer": (-50.0, -15.0),
    "ultra-cold": (-90.0, -60.0),
    "room": (20.0, 25.0),
    "custom": None,
}


DEFAULT_ALARM_PROFILES = {
    "refrigerator": "cdc-refrigerator",
    "freezer": "cdc-freezer",
}


@dataclasses.dataclass(frozen=True, slots=True)
class Subscription:
    topic: str
    fmt: str


@dataclasses.dataclass(frozen=True, slots=True)
class SiteDecl:
    name: str
    timezone: str
    # Staff temperature checks: their local times of day, and how long after each one a check may be recorded.
    checks: tuple[time, ...] = ()
    check_tolerance: timedelta = timedelta(minutes=60)


@dataclasses.dataclass(frozen=True, slots=True)
class FridgeDecl:
    name: str
    site: str
    kind: str
    low_c: float
    high_c: float
    alarm_profile: str
    sensors: tuple[str, ...]
    # Door contacts, smart plugs, hygrometers: heard for their channels, never judged as temperatures.
    aux_sensors: tuple[str, ...] = ()


def parse_subscriptions(value: Any, source: str) -> tuple[Subscription, ...]:
    if value is None:
        return tuple(Subscription(t, f) for t, f in DEFAULT_SUBSCRIPTIONS)
    subs = []
    for i, table in enumerate(table_list(value, "mqtt.subscriptions", source), 1):
        where = f"{source}: [[mqtt.subscriptions]] #{i}"
        only_keys(table, {"topic", "format"}, where)
        topic, fmt = table.get("topic"), table.get("format")
        if not isinstance(topic, str) or not topic or topic.startswith("$share/"):
            raise ConfigError(f"{where} needs a topic filter (without $share/; use [ingest] shared_group)")
        if fmt not in SUBSCRIPTION_FORMATS:
            raise ConfigError(f"{where} format must be one of {', '.join(SUBSCRIPTION_FORMATS)}, not {fmt!r}")
        subs.append(Subscription(topic, fmt))
    if not subs:
        raise ConfigError(f"{source}: [[mqtt.subscriptions]] is empty; remove it to use the defaults")
    return tuple(subs)


ENTITY_UNITS = ("C", "F", "K")
DECLARED = "declared in [[mqtt.esphome_entities]]"


def parse_esphome_entities(value: Any, source: str) -> dict[str, EntityKind]:
    """``[[mqtt.esphome_entities]]``: what an ESPHome entity measures, by sensor id.

    The operator's word wins over the node's discovery config and over the
    entity's name; e.g. a probe whose discovery config is missing, or a
    "temp_setpoint" that is no measurement.
    """
    entities: dict[str, EntityKind] = {}
    for i, table in enumerate(table_list([] if value is None else value, "mqtt.esphome_entities", source), 1):
        where = f"{source}: [[mqtt.esphome_entities]] #{i}"
        only_keys(table, {"sensor", "measures", "unit"}, where)
        sid = table.get("sensor")
        parts = sid.split(":") if isinstance(sid, str) else []
        if not isinstance(sid, str) or len(parts) != 3 or parts[0] != "esphome" or not all(parts[1:]):
            raise ConfigError(f'{where}: sensor must be an ESPHome sensor id "esphome:<node>:<name>", not {sid!r}')
        if sid in entities:
            raise ConfigError(f"{where}: sensor {sid!r} is declared twice")
        measures = table.get("measures", "temperature")
        if measures not in MEASURES:
            raise ConfigError(f"{where}: measures must be one of {', '.join(MEASURES)}, not {measures!r}")
        unit = table.get("unit", "C")
        if measures == "temperature" and unit not in ENTITY_UNITS:
            raise ConfigError(f"{where}: unit must be one of {', '.join(ENTITY_UNITS)}, not {unit!r}")
        entities[sid] = EntityKind(measures, unit if measures == "temperature" else None, DECLARED)
    return entities


def parse_sites(value: Any, source: str) -> tuple[SiteDecl, ...]:
    sites: list[SiteDecl] = []
    for i, table in enumerate(table_list(value, "sites", source), 1):
        where = f"{source}: [[sites]] #{i}"
        only_keys(table, {"name", "timezone", "checks", "check_tolerance_min"}, where)
        name = table.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"{where} needs a name")
        if any(s.name == name for s in sites):
            raise ConfigError(f"{where}: site {name!r} is declared twice")
        zone(table.get("timezone"), f"{where} ({name}) timezone")
        checks = table.get("checks", [])
        if not isinstance(checks, list) or not all(isinstance(c, str) for c in checks):
            raise ConfigError(f"{where} ({name}) checks must be a list of local times, e.g. [\"08:00\", \"16:00\"]")
        try:
            times = tuple(sorted({time.fromisoformat(c.strip()).replace(second=0, microsecond=0) for c in checks}))
        except ValueError:
            raise ConfigError(f"{where} ({name}) checks must be local times hh:mm, e.g. [\"08:00\", \"16:00\"], "
                              f"not {checks!r}") from None
        tolerance = table.get("check_tolerance_min", 60)
        if isinstance(tolerance, bool) or not isinstance(tolerance, int) or not 1 <= tolerance <= 720:
            raise ConfigError(f"{where} ({name}) check_tolerance_min must be a whole number of minutes, 1 to 720")
        sites.append(SiteDecl(name, table["timezone"], times, timedelta(minutes=tolerance)))
    return tuple(sites)


def parse_alarm_profiles(value: Any, source: str) -> tuple[AlarmProfile, ...]:
    """Custom ``[[alarm_profiles]]``; fridges name them (or a preset) in ``alarm_profile``."""
    profiles: list[AlarmProfile] = []
    for table in table_list(value, "alarm_profiles", source):
        try:
            profile = profile_from_config(table)
        except ProfileError as exc:
            raise ConfigError(f"{source}: {exc}") from None
        if profile.name in PRESETS:
            raise ConfigError(f"{source}: alarm profile {profile.name!r} has the name of a preset; choose another")
        if any(p.name == profile.name for p in profiles):
            raise ConfigError(f"{source}: alarm profile {profile.name!r} is declared twice")
        profiles.append(profile)
    return tuple(profiles)


def _sensor_ids(table: dict[str, Any], key: str, where: str, fridge: str, claimed: dict[str, str]) -> tuple[str, ...]:
    """A fridge's ``sensors`` (temperature probes) or ``aux_sensors`` (door contacts, plugs), each claimed once."""
    sensors = table.get(key, [])
    if not isinstance(sensors, list) or not all(isinstance(s, str) for s in sensors):
        raise ConfigError(f"{where}: {key} must be a list of sensor ids such as \"native:a1-probe\"")
    for sid in sensors:
        fmt, _, device = sid.partition(":")
        if fmt not in FORMATS or not device:
            raise ConfigError(
                f"{where}: sensor id {sid!r} must look like <format>:<device>[:<channel>] "
                f"with format one of {', '.join(FORMATS)}"
            )
        if sid in claimed:
            raise ConfigError(f"{where}: sensor {sid!r} is already assigned to fridge {claimed[sid]!r}")
        claimed[sid] = fridge
    return tuple(sensors)


def parse_fridges(value: Any, site_names: set[str], profiles: set[str], source: str) -> tuple[FridgeDecl, ...]:
    fridges: list[FridgeDecl] = []
    claimed: dict[str, str] = {}
    allowed = {"name", "site", "kind", "low_c", "high_c", "alarm_profile", "sensors", "aux_sensors"}
    for i, table in enumerate(table_list(value, "fridges", source), 1):
        where = f"{source}: [[fridges]] #{i}"
        only_keys(table, allowed, where)
        name, where = unique_name(table, where, source, "fridge", (f.name for f in fridges))
        site = table.get("site")
        if site not in site_names:
            raise ConfigError(f"{where}: site {site!r} is not declared in [[sites]]")
        kind = table.get("kind", "refrigerator")
        if kind not in FRIDGE_KINDS:
            raise ConfigError(f"{where}: kind must be one of {', '.join(FRIDGE_KINDS)}, not {kind!r}")
        default_range = FRIDGE_KINDS[kind]
        low, high = table.get("low_c"), table.get("high_c")
        if low is None or high is None:
            if default_range is None:
                raise ConfigError(f"{where}: kind 'custom' needs low_c and high_c")
            low = default_range[0] if low is None else low
            high = default_range[1] if high is None else high
        for key, v in (("low_c", low), ("high_c", high)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ConfigError(f"{where}: {key} must be a number, not {v!r}")
        if low >= high:
            raise ConfigError(f"{where}: low_c ({low}) must be below high_c ({high})")
        profile = table.get("alarm_profile", DEFAULT_ALARM_PROFILES.get(kind, ""))
        if not isinstance(profile, str):
            raise ConfigError(f"{where}: alarm_profile must be a string")
        if profile and profile not in profiles:
            raise ConfigError(
                f"{where}: alarm_profile {profile!r} is neither a preset ({', '.join(PRESETS)}) "
                "nor declared in [[alarm_profiles]]"
            )
        sensors = _sensor_ids(table, "sensors", where, name, claimed)
        aux = _sensor_ids(table, "aux_sensors", where, name, claimed)
        fridges.append(FridgeDecl(name, site, kind, float(low), float(high), profile, sensors, aux))
    return tuple(fridges)
