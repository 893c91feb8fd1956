"""The one-line configuration error, and checks shared by every part of the config."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fridge_monitor.config.redact import redact


class ConfigError(Exception):
    """A setting is wrong; the message is one line naming it, with any URL's password hidden."""

    def __init__(self, message: str) -> None:
        super().__init__(redact(message))


def resolve_secret(value: str, where: str) -> str:
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


def zone(name: Any, where: str) -> ZoneInfo:
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where} must be an IANA time zone name such as 'Europe/Berlin'")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{where}: unknown time zone {name!r} (use an IANA name such as 'Europe/Berlin')") from None


def table_list(value: Any, name: str, source: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ConfigError(f"{source}: {name} must be an array of tables ([[{name}]])")
    return value


def only_keys(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    for key in table:
        if key not in allowed:
            raise ConfigError(f"{where}: unknown key {key!r} (known: {', '.join(sorted(allowed))})")


def unique_name(table: Mapping[str, Any], header: str, source: str, noun: str, taken: Iterable[str]) -> tuple[str, str]:
    """A declared table's name and the place later errors name, ``source: noun 'name'``.

    ``header`` (``source: [[fridges]] #3``) is where a missing name is reported; a name already in
    ``taken`` is declared twice.
    """
    name = table.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{header} needs a name")
    where = f"{source}: {noun} {name!r}"
    if any(other == name for other in taken):
        raise ConfigError(f"{where} is declared twice")
    return name, where
