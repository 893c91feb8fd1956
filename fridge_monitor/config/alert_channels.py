"""``[[alerts.channels]]``: where alert notifications go (email, webhook, MQTT, apprise)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from fridge_monitor.config.errors import (
    ConfigError,
    only_keys,
    resolve_secret,
    table_list,
    unique_name,
)
from fridge_monitor.config.redact import shown


@dataclasses.dataclass(frozen=True, slots=True)
class ChannelDecl:
    """One ``[[alerts.channels]]`` entry; ``options`` holds its type's keys, defaults filled in."""

    name: str
    type: str
    tier: int
    options: Mapping[str, Any]
    # Only the alerts of these sites' fridges (empty: every site's).
    sites: tuple[str, ...] = ()


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


def parse_channels(value: Any, source: str, declared_sites: frozenset[str] = frozenset()) -> tuple[ChannelDecl, ...]:
    """The channels; a channel's ``sites`` must name sites of ``[[sites]]`` when the file declares any (a typo
    would silence the channel for the site it meant)."""
    channels: list[ChannelDecl] = []
    for i, table in enumerate(table_list(value, "alerts.channels", source), 1):
        name, where = unique_name(table, f"{source}: [[alerts.channels]] #{i}", source, "channel",
                                  (c.name for c in channels))
        kind = table.get("type")
        if kind not in CHANNEL_KEYS:
            raise ConfigError(f"{where}: type must be one of {', '.join(CHANNEL_KEYS)}, not {kind!r}")
        defaults = CHANNEL_KEYS[kind]
        only_keys(table, {"name", "type", "tier", "sites", *defaults}, where)
        tier = table.get("tier", 1)
        if isinstance(tier, bool) or not isinstance(tier, int) or tier < 1:
            raise ConfigError(f"{where}: tier must be a whole number of at least 1, not {tier!r}")
        sites = table.get("sites", [])
        if not isinstance(sites, list) or not all(isinstance(x, str) and x.strip() for x in sites):
            raise ConfigError(f"{where}: sites must be a list of site names, such as [\"Clinic A\"]")
        unknown = [x for x in sites if declared_sites and x not in declared_sites]
        if unknown:
            raise ConfigError(f"{where}: site {unknown[0]!r} is not declared in [[sites]]")
        options = {key: _channel_value(table, key, default, where) for key, default in defaults.items()}
        _check_channel(kind, options, where)
        channels.append(ChannelDecl(name, kind, tier, options, tuple(sites)))
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
            value = [resolve_secret(v, f"{where}: {key}") for v in value]
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
        raise ConfigError(f"{where}: {key} must be a string, not {shown(value, key in CHANNEL_SECRETS)}")
    return resolve_secret(value, f"{where}: {key}") if key in CHANNEL_SECRETS else value


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
            raise ConfigError(f"{where}: url must look like http://HOST/PATH or https://HOST/PATH, "
                              f"not {options['url']!r}")
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
