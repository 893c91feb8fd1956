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
import re
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fridge_monitor.config.alert_channels import ChannelDecl, parse_channels
from fridge_monitor.config.declarations import (
    FridgeDecl,
    SiteDecl,
    Subscription,
    parse_alarm_profiles,
    parse_esphome_entities,
    parse_fridges,
    parse_sites,
    parse_subscriptions,
)
from fridge_monitor.config.errors import ConfigError, resolve_secret, zone
from fridge_monitor.config.redact import SECRET_SETTINGS, shown
from fridge_monitor.core.readings import EntityKind
from fridge_monitor.core.rules import PRESETS, AlarmProfile

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
        "heartbeat_s": 5.0,
        "max_drain_s": 3600.0,
        "max_unassigned_sensors": 100,
        "inbox_max_messages": 10000,
    },
    "web": {
        "host": "127.0.0.1",
        "port": 8000,
        "secret_key": "",
        "secret_key_file": "",
        "https": False,
        "threads": 8,
        "session_hours": 12,
        "max_failed_logins": 5,
        "lockout_minutes": 15,
        "login_attempts_per_minute": 10,
    },
    "alerts": {
        "tier_delay_min": 15.0,
        "reminder_min": 30.0,
        "max_attempts": 8,
        "base_url": "",
        "calibration_warning_days": 30,
        "disagreement_c": 1.0,
        "disagreement_min": 30.0,
    },
    "inventory": {
        "expiry_warning_days": [90, 30, 7],
    },
    "scheduler": {
        "interval_s": 30.0,
        "lease_s": 15.0,
    },
    "reports": {
        "workday_start": "00:00",
        "exports_dir": "",
    },
    "logging": {
        "level": "INFO",
    },
    "storage": {
        "data_dir": "",
    },
    "audit": {
        "anchor_topic": "fridge-monitor/audit/anchor",
        "anchor_file": "",
        "anchor_interval_min": 60.0,
    },
}


CHOICES: dict[tuple[str, str], tuple[str, ...]] = {
    ("database", "sqlite_synchronous"): ("full", "normal", "extra"),
    ("mqtt", "protocol"): ("5", "3.1.1"),
    ("ingest", "shelly_gen1_unit"): ("C", "F"),
    ("logging", "level"): ("DEBUG", "INFO", "WARNING", "ERROR"),
}


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
    alerts: Mapping[str, Any] = dataclasses.field(default_factory=lambda: dict(SETTINGS["alerts"]))
    inventory: Mapping[str, Any] = dataclasses.field(default_factory=lambda: _inventory_defaults())
    scheduler: Mapping[str, Any] = dataclasses.field(default_factory=lambda: dict(SETTINGS["scheduler"]))
    channels: tuple[ChannelDecl, ...] = ()
    alarm_profiles: tuple[AlarmProfile, ...] = ()
    reports: Mapping[str, Any] = dataclasses.field(default_factory=lambda: dict(SETTINGS["reports"]))
    esphome_entities: Mapping[str, EntityKind] = dataclasses.field(default_factory=dict)
    """[[mqtt.esphome_entities]]: what an ESPHome entity measures, by sensor id."""
    storage: Mapping[str, Any] = dataclasses.field(default_factory=lambda: dict(SETTINGS["storage"]))
    audit: Mapping[str, Any] = dataclasses.field(default_factory=lambda: dict(SETTINGS["audit"]))

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
    esphome_entities_raw: Any = None
    for top, value in raw.items():
        if top in ("sites", "fridges", "alarm_profiles"):
            continue
        if top not in SETTINGS:
            known = ", ".join([*SETTINGS, "sites", "fridges", "alarm_profiles"])
            raise ConfigError(f"{source}: unknown section [{top}] (known: {known})")
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: [{top}] must be a table")
        for key, item in value.items():
            if top == "mqtt" and key == "subscriptions":
                subscriptions_raw = item
                continue
            if top == "mqtt" and key == "esphome_entities":
                esphome_entities_raw = item
                continue
            if top == "alerts" and key == "channels":
                continue  # [[alerts.channels]] is read by parse_channels below
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

    if isinstance(sections["inventory"]["expiry_warning_days"], list):  # the default, not given
        sections["inventory"]["expiry_warning_days"] = tuple(sections["inventory"]["expiry_warning_days"])
    for section, values in sections.items():
        _check_section(section, values, lambda key, s=section: origins.get((s, key), source))

    subscriptions = parse_subscriptions(subscriptions_raw, source)
    esphome_entities = parse_esphome_entities(esphome_entities_raw, source)
    sites = parse_sites(raw.get("sites", []), source)
    profiles = parse_alarm_profiles(raw.get("alarm_profiles", []), source)
    known_profiles = set(PRESETS) | {p.name for p in profiles}
    fridges = parse_fridges(raw.get("fridges", []), {s.name for s in sites}, known_profiles, source)
    channels = parse_channels(raw.get("alerts", {}).get("channels", []), source)
    return Config(
        database=sections["database"],
        mqtt=sections["mqtt"],
        ingest=sections["ingest"],
        web=sections["web"],
        logging=sections["logging"],
        alerts=sections["alerts"],
        inventory=sections["inventory"],
        scheduler=sections["scheduler"],
        reports=sections["reports"],
        storage=sections["storage"],
        audit=sections["audit"],
        subscriptions=subscriptions,
        sites=sites,
        fridges=fridges,
        source=source,
        channels=channels,
        alarm_profiles=profiles,
        esphome_entities=esphome_entities,
    )


def _inventory_defaults() -> dict[str, Any]:
    return {"expiry_warning_days": tuple(SETTINGS["inventory"]["expiry_warning_days"])}


def _days(value: Any, where: str, from_env: bool) -> tuple[int, ...]:
    """A list of whole numbers of days (env: comma-separated), kept widest first."""
    if from_env and isinstance(value, str):
        try:
            value = [int(part) for part in value.replace(" ", "").split(",") if part]
        except ValueError:
            pass
    if (not isinstance(value, (list, tuple)) or not value
            or any(isinstance(v, bool) or not isinstance(v, int) or v <= 0 for v in value)):
        raise ConfigError(f"{where} must be a list of whole numbers of days greater than 0, e.g. [90, 30, 7], "
                          f"not {value!r}")
    return tuple(sorted(set(value), reverse=True))


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
    if isinstance(default, list):
        return _days(value, where, from_env)
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
        raise ConfigError(f"{where} must be a string, not {shown(value, (section, key) in SECRET_SETTINGS)}")
    return resolve_secret(value, where)


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
            _ = parts.port  # raises ValueError for a port that is not a number in range
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
        for key in ("port", "threads", "session_hours", "max_failed_logins", "lockout_minutes",
                    "login_attempts_per_minute"):
            _positive(values, section, key, origin)
        if values["port"] > 65535:
            raise ConfigError(f"{origin('port')}: [web] port must be at most 65535")
        if values["secret_key"] and len(values["secret_key"]) < 32:
            raise ConfigError(f"{origin('secret_key')}: [web] secret_key must be at least 32 characters")
    elif section == "alerts":
        for key in ("tier_delay_min", "max_attempts", "calibration_warning_days", "disagreement_c",
                    "disagreement_min"):
            _positive(values, section, key, origin)
        if values["reminder_min"] < 0:
            raise ConfigError(f"{origin('reminder_min')}: [alerts] reminder_min must be 0 (no reminders) or more")
        url = values["base_url"]
        if url and (urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname):
            raise ConfigError(f"{origin('base_url')}: [alerts] base_url must look like https://HOST[/PATH], not {url!r}")
    elif section == "reports":
        if not re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]", values["workday_start"]):
            raise ConfigError(f"{origin('workday_start')}: [reports] workday_start must be a local time of day "
                              f"as HH:MM (24-hour clock, e.g. \"08:00\"), not {values['workday_start']!r}")
    elif section == "audit":
        _positive(values, section, "anchor_interval_min", origin)
        topic = values["anchor_topic"]
        if topic and (any(ch in topic for ch in "+#") or topic.startswith("$")):
            raise ConfigError(f"{origin('anchor_topic')}: [audit] anchor_topic must be a plain topic "
                              f"(no '+', '#' or leading '$'), not {topic!r}")
    elif section == "scheduler":
        _positive(values, section, "interval_s", origin)
        _positive(values, section, "lease_s", origin)
    elif section == "ingest":
        _positive(values, section, "batch_size", origin)
        _positive(values, section, "max_payload_bytes", origin)
        _positive(values, section, "heartbeat_s", origin)
        _positive(values, section, "max_drain_s", origin)
        _positive(values, section, "inbox_max_messages", origin)
        if values["max_unassigned_sensors"] < 0:
            raise ConfigError(f"{origin('max_unassigned_sensors')}: [ingest] max_unassigned_sensors must be 0 "
                              f"(register no unknown sensor) or more, not {values['max_unassigned_sensors']!r}")
        if values["min_temperature_c"] >= values["max_temperature_c"]:
            raise ConfigError(f"{origin('min_temperature_c')}: [ingest] min_temperature_c must be below max_temperature_c")
        zone(values["default_timezone"], f"{origin('default_timezone')}: [ingest] default_timezone")
        group = values["shared_group"]
        if any(ch in group for ch in "/+#"):
            raise ConfigError(f"{origin('shared_group')}: [ingest] shared_group must not contain '/', '+' or '#'")


def _positive(values: Mapping[str, Any], section: str, key: str, origin: Callable[[str], str]) -> None:
    if values[key] <= 0:
        raise ConfigError(f"{origin(key)}: [{section}] {key} must be greater than 0, not {values[key]!r}")
