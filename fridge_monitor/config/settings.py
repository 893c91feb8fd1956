"""Settings in layers: defaults, then the TOML file, then environment variables.

Every setting is declared once in :data:`SETTINGS` with its type and default;
``config.example.toml`` documents each one (a test keeps the two in step).
Nothing is read at import time: :func:`load_config` builds a frozen
:class:`Config` and raises :class:`ConfigError` with one line naming the bad
key.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import tomllib
from collections.abc import Mapping
from typing import Any

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
from fridge_monitor.config.errors import ConfigError, resolve_secret
from fridge_monitor.config.redact import SECRET_SETTINGS, shown
from fridge_monitor.config.section_checks import check_section
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
        "trusted_proxy": "",
    },
    "alerts": {
        "tier_delay_min": 15.0,
        "reminder_min": 30.0,
        "max_attempts": 8,
        "base_url": "",
        "calibration_warning_days": [90, 30, 7],
        "disagreement_c": 1.0,
        "disagreement_min": 30.0,
        "record_due_hours": 24.0,
        "predict_within_min": 30.0,
    },
    "inventory": {
        "expiry_warning_days": [90, 30, 7],
    },
    "loggers": {
        "review_every_days": 7,
    },
    "calibration": {
        "max_error_c": 0.5,
        "max_uncertainty_c": 0.5,
    },
    "signatures": {
        "require_for": ["alarms", "dispositions", "checks", "monthly-review", "excursion-records"],
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
    alerts: Mapping[str, Any] = dataclasses.field(default_factory=lambda: _alerts_defaults())
    inventory: Mapping[str, Any] = dataclasses.field(default_factory=lambda: _inventory_defaults())
    scheduler: Mapping[str, Any] = dataclasses.field(default_factory=lambda: dict(SETTINGS["scheduler"]))
    channels: tuple[ChannelDecl, ...] = ()
    alarm_profiles: tuple[AlarmProfile, ...] = ()
    reports: Mapping[str, Any] = dataclasses.field(default_factory=lambda: dict(SETTINGS["reports"]))
    esphome_entities: Mapping[str, EntityKind] = dataclasses.field(default_factory=dict)
    """[[mqtt.esphome_entities]]: what an ESPHome entity measures, by sensor id."""
    storage: Mapping[str, Any] = dataclasses.field(default_factory=lambda: dict(SETTINGS["storage"]))
    audit: Mapping[str, Any] = dataclasses.field(default_factory=lambda: dict(SETTINGS["audit"]))
    loggers: Mapping[str, Any] = dataclasses.field(default_factory=lambda: dict(SETTINGS["loggers"]))
    signatures: Mapping[str, Any] = dataclasses.field(default_factory=lambda: _signature_defaults())
    calibration: Mapping[str, Any] = dataclasses.field(default_factory=lambda: dict(SETTINGS["calibration"]))

    def replace(self, section: str, **values: Any) -> Config:
        """A copy with some keys of one section changed (validated)."""
        merged: dict[str, Any] = {**getattr(self, section), **values}
        for key, value in values.items():
            merged[key] = _coerce(section, key, value, "override")
        check_section(section, merged, lambda _key: "override")
        changed: dict[str, Any] = {section: merged}
        return dataclasses.replace(self, **changed)


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
    if isinstance(sections["alerts"]["calibration_warning_days"], list):  # the default, not given
        sections["alerts"]["calibration_warning_days"] = tuple(sections["alerts"]["calibration_warning_days"])
    if isinstance(sections["signatures"]["require_for"], list):  # the default, not given
        sections["signatures"]["require_for"] = tuple(sections["signatures"]["require_for"])
    for section, values in sections.items():
        check_section(section, values, functools.partial(_origin, origins, section, source))

    subscriptions = parse_subscriptions(subscriptions_raw, source)
    esphome_entities = parse_esphome_entities(esphome_entities_raw, source)
    sites = parse_sites(raw.get("sites", []), source)
    profiles = parse_alarm_profiles(raw.get("alarm_profiles", []), source)
    known_profiles = set(PRESETS) | {p.name for p in profiles}
    fridges = parse_fridges(raw.get("fridges", []), {s.name for s in sites}, known_profiles, source)
    channels = parse_channels(raw.get("alerts", {}).get("channels", []), source, frozenset(s.name for s in sites))
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
        loggers=sections["loggers"],
        signatures=sections["signatures"],
        calibration=sections["calibration"],
        subscriptions=subscriptions,
        sites=sites,
        fridges=fridges,
        source=source,
        channels=channels,
        alarm_profiles=profiles,
        esphome_entities=esphome_entities,
    )


def _origin(origins: Mapping[tuple[str, str], str], section: str, source: str, key: str) -> str:
    """Where the value of ``[section] key`` came from: the file, an env variable or an override."""
    return origins.get((section, key), source)


def _signature_defaults() -> dict[str, Any]:
    return {"require_for": tuple(SETTINGS["signatures"]["require_for"])}


def _alerts_defaults() -> dict[str, Any]:
    return {**SETTINGS["alerts"], "calibration_warning_days": tuple(SETTINGS["alerts"]["calibration_warning_days"])}


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


def _words(value: Any, where: str, from_env: bool) -> tuple[str, ...]:
    """A list of names (env: comma-separated; empty for none)."""
    if from_env and isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, (list, tuple)) or any(not isinstance(v, str) for v in value):
        raise ConfigError(f"{where} must be a list of names, e.g. [\"alarms\", \"checks\"], not {value!r}")
    return tuple(dict.fromkeys(v.strip() for v in value))


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


WAS_ONE_NUMBER = {("alerts", "calibration_warning_days")}  # lists now; a config's single number still means one


def _coerce(section: str, key: str, value: Any, source: str, from_env: bool = False) -> Any:
    if key not in SETTINGS[section]:
        known = ", ".join(SETTINGS[section])
        raise ConfigError(f"{source}: unknown setting [{section}] {key} (known: {known})")
    default = SETTINGS[section][key]
    where = f"{source}: [{section}] {key}"
    if (section, key) in WAS_ONE_NUMBER and isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    if isinstance(default, list):
        return _words(value, where, from_env) if isinstance(default[0], str) else _days(value, where, from_env)
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
