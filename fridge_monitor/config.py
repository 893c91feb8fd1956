"""Settings in layers: defaults, then the TOML file, then environment variables.

Every setting is declared once in :data:`SETTINGS` with its type and default;
``config.example.toml`` documents each one (a test keeps the two in step).
Nothing is read at import time: :func:`load_config` builds a frozen
:class:`Config` and raises :class:`ConfigError` with one line naming the bad
key.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fridge_monitor.readings import FORMATS
from fridge_monitor.rules import PRESETS, AlarmProfile, ProfileError, profile_from_config

ENV_PREFIX = "FRIDGE_MONITOR_"
CONFIG_ENV = "FRIDGE_MONITOR_CONFIG"

# section -> key -> default. The default's type is the setting's type.
SETTINGS: dict[str, dict[str, Any]] = {
    "database": {
        "url": "sqlite:///fridge-monitor.db",
        "sqlite_synchronous": "full",
        "busy_timeout_s": 30.0,
        "retry_max_s": 30.0,
    },
    "mqtt": {
        "url": "mqtt://127.0.0.1:1883",
        "username": "",
        "password": "",
        "client_id": "fridge-monitor-ingest",
        "protocol": "5",
        "keepalive_s": 60,
        "session_expiry_s": 7 * 24 * 3600,
        "receive_maximum": 1000,
        "ca_file": "",
        "cert_file": "",
        "key_file": "",
        "embedded": False,
    },
    "ingest": {
        "batch_size": 1000,
        "shared_group": "",
        "max_payload_bytes": 64 * 1024,
        "min_temperature_c": -100.0,
        "max_temperature_c": 100.0,
        "future_tolerance_s": 300.0,
        "device_clock_tolerance_s": 300.0,
        "default_timezone": "UTC",
        "shelly_gen1_unit": "C",
    },
    "web": {
        "host": "127.0.0.1",
        "port": 8000,
        "secret_key": "",
        "https": False,
        "threads": 8,
        "session_hours": 12,
        "max_failed_logins": 5,
        "lockout_minutes": 15,
    },
    "logging": {
        "level": "INFO",
    },
}

# (topic filter, format) pairs subscribed when [[mqtt.subscriptions]] is absent.
DEFAULT_SUBSCRIPTIONS: tuple[tuple[str, str], ...] = (
    ("fridge-monitor/readings/+", "native"),
    ("fridge-monitor/availability/+", "native"),
    ("fridge-monitor/senml/#", "senml"),
    ("zigbee2mqtt/+", "zigbee2mqtt"),
    ("zigbee2mqtt/+/availability", "zigbee2mqtt"),
    ("tele/+/SENSOR", "tasmota"),
    ("tele/+/LWT", "tasmota"),
    ("+/sensor/+/state", "esphome"),
    ("+/status", "esphome"),
    ("shellies/+/sensor/+", "shelly"),
    ("shellies/+/online", "shelly"),
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

CHOICES: dict[tuple[str, str], tuple[str, ...]] = {
    ("database", "sqlite_synchronous"): ("full", "normal", "extra"),
    ("mqtt", "protocol"): ("5", "3.1.1"),
    ("ingest", "shelly_gen1_unit"): ("C", "F"),
    ("logging", "level"): ("DEBUG", "INFO", "WARNING", "ERROR"),
}


class ConfigError(Exception):
    """A setting is wrong; the message is one line naming it."""


@dataclasses.dataclass(frozen=True, slots=True)
class Subscription:
    topic: str
    fmt: str


@dataclasses.dataclass(frozen=True, slots=True)
class SiteDecl:
    name: str
    timezone: str


@dataclasses.dataclass(frozen=True, slots=True)
class FridgeDecl:
    name: str
    site: str
    kind: str
    low_c: float
    high_c: float
    alarm_profile: str
    sensors: tuple[str, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class ChannelDecl:
    """One ``[[alerts.channels]]`` entry; ``options`` holds its type's keys, defaults filled in."""

    name: str
    type: str
    tier: int
    options: Mapping[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class Config:
    """All settings, validated. Sections are plain dicts of typed values."""

    database: Mapping[str, Any]
    mqtt: Mapping[str, Any]
    ingest: Mapping[str, Any]
    web: Mapping[str, Any]
    logging: Mapping[str, Any]
    subscriptions: tuple[Subscription, ...]
    sites: tuple[SiteDecl, ...]
    fridges: tuple[FridgeDecl, ...]
    source: str = "defaults"
    channels: tuple[ChannelDecl, ...] = ()
    alarm_profiles: tuple[AlarmProfile, ...] = ()

    def replace(self, section: str, **values: Any) -> Config:
        """A copy with some keys of one section changed (validated)."""
        merged = {**getattr(self, section), **values}
        for key, value in values.items():
            merged[key] = _coerce(section, key, value, "override")
        _check_section(section, merged, lambda _key: "override")
        return dataclasses.replace(self, **{section: merged})


def load_config(
    path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Config:
    """Defaults, then the TOML file at ``path``, then ``FRIDGE_MONITOR_*`` env."""
    environ = os.environ if environ is None else environ
    if path is None:
        path = environ.get(CONFIG_ENV) or None
    raw: dict[str, Any] = {}
    source = "defaults"
    if path is not None:
        source = str(path)
        try:
            with open(path, "rb") as fh:
                raw = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return build_config(raw, environ, overrides or {}, source)


def build_config(
    raw: Mapping[str, Any],
    environ: Mapping[str, str],
    overrides: Mapping[str, Mapping[str, Any]],
    source: str,
) -> Config:
    """Validate a parsed TOML document plus env and explicit overrides."""
    sections: dict[str, dict[str, Any]] = {s: dict(keys) for s, keys in SETTINGS.items()}
    # Where each value came from, so an error names the file or the env variable.
    origins: dict[tuple[str, str], str] = {}
    subscriptions_raw: Any = None
    for top, value in raw.items():
        if top in ("sites", "fridges", "alarm_profiles"):
            continue
        if top == "alerts" and top not in SETTINGS and isinstance(value, dict) and set(value) <= {"channels"}:
            continue  # [[alerts.channels]] is read by _channels below
        if top not in SETTINGS:
            known = ", ".join([*SETTINGS, "sites", "fridges", "alarm_profiles", "alerts"])
            raise ConfigError(f"{source}: unknown section [{top}] (known: {known})")
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: [{top}] must be a table")
        for key, item in value.items():
            if top == "mqtt" and key == "subscriptions":
                subscriptions_raw = item
                continue
            if top == "alerts" and key == "channels":
                continue
            sections[top][key] = _coerce(top, key, item, source)
            origins[top, key] = source

    for name, text in environ.items():
        if not name.startswith(ENV_PREFIX) or name == CONFIG_ENV:
            continue
        section, key = _env_target(name)
        sections[section][key] = _coerce(section, key, text, f"env {name}", from_env=True)
        origins[section, key] = f"env {name}"

    for section, values in overrides.items():
        for key, value in values.items():
            if section not in SETTINGS or key not in SETTINGS[section]:
                raise ConfigError(f"override: unknown setting [{section}] {key}")
            sections[section][key] = _coerce(section, key, value, "override")
            origins[section, key] = "override"

    for section, values in sections.items():
        _check_section(section, values, lambda key, s=section: origins.get((s, key), source))

    subscriptions = _subscriptions(subscriptions_raw, source)
    sites = _sites(raw.get("sites", []), source)
    profiles = _alarm_profiles(raw.get("alarm_profiles", []), source)
    known_profiles = set(PRESETS) | {p.name for p in profiles}
    fridges = _fridges(raw.get("fridges", []), {s.name for s in sites}, known_profiles, source)
    channels = _channels(raw.get("alerts", {}).get("channels", []), source)
    return Config(
        database=sections["database"],
        mqtt=sections["mqtt"],
        ingest=sections["ingest"],
        web=sections["web"],
        logging=sections["logging"],
        subscriptions=subscriptions,
        sites=sites,
        fridges=fridges,
        source=source,
        channels=channels,
        alarm_profiles=profiles,
    )


def _env_target(name: str) -> tuple[str, str]:
    rest = name[len(ENV_PREFIX):].lower()
    for section in SETTINGS:
        if rest.startswith(section + "_"):
            key = rest[len(section) + 1:]
            if key in SETTINGS[section]:
                return section, key
            raise ConfigError(
                f"env {name}: unknown setting [{section}] {key} "
                f"(known: {', '.join(SETTINGS[section])})"
            )
    raise ConfigError(
        f"env {name}: unknown setting; expected FRIDGE_MONITOR_<SECTION>_<KEY> "
        f"with SECTION one of {', '.join(s.upper() for s in SETTINGS)}"
    )


def _coerce(section: str, key: str, value: Any, source: str, from_env: bool = False) -> Any:
    if key not in SETTINGS[section]:
        known = ", ".join(SETTINGS[section])
        raise ConfigError(f"{source}: unknown setting [{section}] {key} (known: {known})")
    default = SETTINGS[section][key]
    where = f"{source}: [{section}] {key}"
    if isinstance(default, bool):
        if from_env and isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off", ""):
                return False
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where} must be true or false, not {value!r}")
    if isinstance(default, int):
        if from_env and isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{where} must be a whole number, not {value!r}")
    if isinstance(default, float):
        if from_env and isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                pass
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
        raise ConfigError(f"{where} must be a number, not {value!r}")
    if not isinstance(value, str):
        raise ConfigError(f"{where} must be a string, not {value!r}")
    return _resolve_secret(value, where)


def _resolve_secret(value: str, where: str) -> str:
    """``$env:NAME`` and ``$file:PATH`` keep secrets out of the config file."""
    if value.startswith("$env:"):
        name = value[5:]
        if name not in os.environ:
            raise ConfigError(f"{where} refers to environment variable {name}, which is not set")
        return os.environ[name]
    if value.startswith("$file:"):
        try:
            return Path(value[6:]).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{where} refers to {value[6:]}, which cannot be read: {exc.strerror}") from None
    return value


def _check_section(section: str, values: Mapping[str, Any], origin: Callable[[str], str]) -> None:
    for (sec, key), allowed in CHOICES.items():
        if sec == section and values[key] not in allowed:
            choices = ", ".join(repr(a) for a in allowed)
            raise ConfigError(f"{origin(key)}: [{section}] {key} must be one of {choices}, not {values[key]!r}")
    if section == "database":
        url = values["url"]
        if not (url.startswith("sqlite:") or url.startswith("postgresql")):
            raise ConfigError(
                f"{origin('url')}: [database] url must start with sqlite:/// or postgresql://, not {url!r}"
            )
        _positive(values, section, "busy_timeout_s", origin)
        _positive(values, section, "retry_max_s", origin)
    elif section == "mqtt":
        parts = urlsplit(values["url"])
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ConfigError(
                f"{origin('url')}: [mqtt] url must look like mqtt://HOST:PORT or mqtts://HOST:PORT, "
                f"not {values['url']!r}"
            )
        try:
            parts.port
        except ValueError:
            raise ConfigError(f"{origin('url')}: [mqtt] url has a bad port: {values['url']!r}") from None
        if not values["client_id"]:
            raise ConfigError(f"{origin('client_id')}: [mqtt] client_id must not be empty")
        for key in ("keepalive_s", "receive_maximum"):
            _positive(values, section, key, origin)
        if values["receive_maximum"] > 65535:
            raise ConfigError(f"{origin('receive_maximum')}: [mqtt] receive_maximum must be at most 65535")
        for key in ("ca_file", "cert_file", "key_file"):
            if values[key] and not Path(values[key]).is_file():
                raise ConfigError(f"{origin(key)}: [mqtt] {key} {values[key]} is not a readable file")
    elif section == "web":
        for key in ("port", "threads", "session_hours", "max_failed_logins", "lockout_minutes"):
            _positive(values, section, key, origin)
        if values["port"] > 65535:
            raise ConfigError(f"{origin('port')}: [web] port must be at most 65535")
        if values["secret_key"] and len(values["secret_key"]) < 32:
            raise ConfigError(f"{origin('secret_key')}: [web] secret_key must be at least 32 characters")
    elif section == "ingest":
        _positive(values, section, "batch_size", origin)
        _positive(values, section, "max_payload_bytes", origin)
        if values["min_temperature_c"] >= values["max_temperature_c"]:
            raise ConfigError(f"{origin('min_temperature_c')}: [ingest] min_temperature_c must be below max_temperature_c")
        _timezone(values["default_timezone"], f"{origin('default_timezone')}: [ingest] default_timezone")
        group = values["shared_group"]
        if any(ch in group for ch in "/+#"):
            raise ConfigError(f"{origin('shared_group')}: [ingest] shared_group must not contain '/', '+' or '#'")


def _positive(values: Mapping[str, Any], section: str, key: str, origin: Callable[[str], str]) -> None:
    if values[key] <= 0:
        raise ConfigError(f"{origin(key)}: [{section}] {key} must be greater than 0, not {values[key]!r}")


def _timezone(name: Any, where: str) -> ZoneInfo:
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where} must be an IANA time zone name such as 'Europe/Berlin'")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{where}: unknown time zone {name!r} (use an IANA name such as 'Europe/Berlin')") from None


def _table_list(value: Any, name: str, source: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ConfigError(f"{source}: {name} must be an array of tables ([[{name}]])")
    return value


def _only_keys(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    for key in table:
        if key not in allowed:
            raise ConfigError(f"{where}: unknown key {key!r} (known: {', '.join(sorted(allowed))})")


def _subscriptions(value: Any, source: str) -> tuple[Subscription, ...]:
    if value is None:
        return tuple(Subscription(t, f) for t, f in DEFAULT_SUBSCRIPTIONS)
    subs = []
    for i, table in enumerate(_table_list(value, "mqtt.subscriptions", source), 1):
        where = f"{source}: [[mqtt.subscriptions]] #{i}"
        _only_keys(table, {"topic", "format"}, where)
        topic, fmt = table.get("topic"), table.get("format")
        if not isinstance(topic, str) or not topic or topic.startswith("$share/"):
            raise ConfigError(f"{where} needs a topic filter (without $share/; use [ingest] shared_group)")
        if fmt not in FORMATS:
            raise ConfigError(f"{where} format must be one of {', '.join(FORMATS)}, not {fmt!r}")
        subs.append(Subscription(topic, fmt))
    if not subs:
        raise ConfigError(f"{source}: [[mqtt.subscriptions]] is empty; remove it to use the defaults")
    return tuple(subs)


def _sites(value: Any, source: str) -> tuple[SiteDecl, ...]:
    sites: list[SiteDecl] = []
    for i, table in enumerate(_table_list(value, "sites", source), 1):
        where = f"{source}: [[sites]] #{i}"
        _only_keys(table, {"name", "timezone"}, where)
        name = table.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"{where} needs a name")
        if any(s.name == name for s in sites):
            raise ConfigError(f"{where}: site {name!r} is declared twice")
        _timezone(table.get("timezone"), f"{where} ({name}) timezone")
        sites.append(SiteDecl(name, table["timezone"]))
    return tuple(sites)


def _alarm_profiles(value: Any, source: str) -> tuple[AlarmProfile, ...]:
    """Custom ``[[alarm_profiles]]``; fridges name them (or a preset) in ``alarm_profile``."""
    profiles: list[AlarmProfile] = []
    for table in _table_list(value, "alarm_profiles", source):
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


def _fridges(value: Any, site_names: set[str], profiles: set[str], source: str) -> tuple[FridgeDecl, ...]:
    fridges: list[FridgeDecl] = []
    claimed: dict[str, str] = {}
    allowed = {"name", "site", "kind", "low_c", "high_c", "alarm_profile", "sensors"}
    for i, table in enumerate(_table_list(value, "fridges", source), 1):
        where = f"{source}: [[fridges]] #{i}"
        _only_keys(table, allowed, where)
        name = table.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"{where} needs a name")
        where = f"{source}: fridge {name!r}"
        if any(f.name == name for f in fridges):
            raise ConfigError(f"{where} is declared twice")
        site = table.get("site")
        if site not in site_names:
            raise ConfigError(f"{where}: site {site!r} is not declared in [[sites]]")
        kind = table.get("kind", "refrigerator")
        if kind not in FRIDGE_KINDS:
            raise ConfigError(f"{where}: kind must be one of {', '.join(FRIDGE_KINDS)}, not {kind!r}")
        default_range = FRIDGE_KINDS[kind]
        low, high = table.get("low_c"), table.get("high_c")
        if default_range is None and (low is None or high is None):
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
        sensors = table.get("sensors", [])
        if not isinstance(sensors, list) or not all(isinstance(s, str) for s in sensors):
            raise ConfigError(f"{where}: sensors must be a list of sensor ids such as \"native:a1-probe\"")
        for sid in sensors:
            fmt, _, device = sid.partition(":")
            if fmt not in FORMATS or not device:
                raise ConfigError(
                    f"{where}: sensor id {sid!r} must look like <format>:<device>[:<channel>] "
                    f"with format one of {', '.join(FORMATS)}"
                )
            if sid in claimed:
                raise ConfigError(f"{where}: sensor {sid!r} is already assigned to fridge {claimed[sid]!r}")
            claimed[sid] = name
        fridges.append(FridgeDecl(name, site, kind, float(low), float(high), profile, tuple(sensors)))
    return tuple(fridges)


# type -> key -> default. A type instead of a default (list, str) marks a required key.
CHANNEL_KEYS: dict[str, dict[str, Any]] = {
    "email": {
        "to": list,
        "from": "fridge-monitor@localhost",
        "smtp_host": "localhost",
        "smtp_port": 25,
        "smtp_username": "",
        "smtp_password": "",
        "starttls": False,
        "timeout_s": 10.0,
    },
    "webhook": {"url": str, "secret": "", "timeout_s": 10.0},
    "mqtt": {"topic_prefix": "fridge-monitor/alerts", "timeout_s": 10.0},
    "apprise": {"urls": list, "timeout_s": 10.0},
}
# Keys whose values may be "$env:NAME" or "$file:PATH" (apprise URLs often carry tokens).
CHANNEL_SECRETS = {"smtp_username", "smtp_password", "secret", "urls"}


def _channels(value: Any, source: str) -> tuple[ChannelDecl, ...]:
    channels: list[ChannelDecl] = []
    for i, table in enumerate(_table_list(value, "alerts.channels", source), 1):
        name = table.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"{source}: [[alerts.channels]] #{i} needs a name")
        where = f"{source}: channel {name!r}"
        if any(c.name == name for c in channels):
            raise ConfigError(f"{where} is declared twice")
        kind = table.get("type")
        if kind not in CHANNEL_KEYS:
            raise ConfigError(f"{where}: type must be one of {', '.join(CHANNEL_KEYS)}, not {kind!r}")
        defaults = CHANNEL_KEYS[kind]
        _only_keys(table, {"name", "type", "tier", *defaults}, where)
        tier = table.get("tier", 1)
        if isinstance(tier, bool) or not isinstance(tier, int) or tier < 1:
            raise ConfigError(f"{where}: tier must be a whole number of at least 1, not {tier!r}")
        options = {key: _channel_value(table, key, default, where) for key, default in defaults.items()}
        _check_channel(kind, options, where)
        channels.append(ChannelDecl(name, kind, tier, options))
    return tuple(channels)


def _channel_value(table: Mapping[str, Any], key: str, default: Any, where: str) -> Any:
    if key not in table:
        if isinstance(default, type):
            raise ConfigError(f"{where}: {key} is required")
        return default
    value = table[key]
    if default is list:
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
            raise ConfigError(f"{where}: {key} must be a non-empty list of strings")
        if key in CHANNEL_SECRETS:
            value = [_resolve_secret(v, f"{where}: {key}") for v in value]
        return list(value)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: {key} must be true or false, not {value!r}")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 65535:
            raise ConfigError(f"{where}: {key} must be a port number (1-65535), not {value!r}")
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise ConfigError(f"{where}: {key} must be a number greater than 0, not {value!r}")
        return float(value)
    if not isinstance(value, str):
        raise ConfigError(f"{where}: {key} must be a string, not {value!r}")
    return _resolve_secret(value, f"{where}: {key}") if key in CHANNEL_SECRETS else value


def _check_channel(kind: str, options: Mapping[str, Any], where: str) -> None:
    if kind == "email":
        for address in (*options["to"], options["from"]):
            if "@" not in address or any(ch.isspace() for ch in address):
                raise ConfigError(f"{where}: {address!r} is not an e-mail address")
        if not options["smtp_host"]:
            raise ConfigError(f"{where}: smtp_host must not be empty")
    elif kind == "webhook":
        parts = urlsplit(options["url"])
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"{where}: url must look like http://HOST/PATH or https://HOST/PATH, not {options['url']!r}")
    elif kind == "mqtt":
        prefix = options["topic_prefix"]
        if not prefix or prefix.endswith("/") or any(ch in prefix for ch in "+#"):
            raise ConfigError(
                f"{where}: topic_prefix must be a topic without wildcards or a trailing '/', not {prefix!r}"
            )
    elif kind == "apprise":
        for n, url in enumerate(options["urls"], 1):
            if "://" not in url:  # not quoted: the URL may carry a token
                raise ConfigError(f"{where}: urls entry #{n} is not an apprise URL such as 'json://host/path'")
