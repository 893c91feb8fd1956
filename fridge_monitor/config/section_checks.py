"""The checks of each settings section beyond the values' types: choices, ranges, URLs, topics.

:func:`check_section` runs after every layer (file, env, overrides) is merged,
so a value that is fine alone but wrong beside another is caught too; the
error names where the value came from.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fridge_monitor.config.errors import ConfigError, zone

CHOICES: dict[tuple[str, str], tuple[str, ...]] = {
    ("database", "sqlite_synchronous"): ("full", "normal", "extra"),
    ("mqtt", "protocol"): ("5", "3.1.1"),
    ("ingest", "shelly_gen1_unit"): ("C", "F"),
    ("logging", "level"): ("DEBUG", "INFO", "WARNING", "ERROR"),
}


# What can be made to need a signature: acknowledging an alarm, or a warning; a lot's disposition; a staff
# temperature check; the monthly review.
SIGNED_ACTIONS = ("alarms", "warnings", "dispositions", "checks", "monthly-review", "excursion-records")


def check_section(section: str, values: Mapping[str, Any], origin: Callable[[str], str]) -> None:
    """Raise :class:`ConfigError` naming the first value of ``section`` that is out of bounds."""
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
        proxy = values["trusted_proxy"]
        if proxy and proxy != "*":
            try:
                ipaddress.ip_address(proxy)
            except ValueError:
                raise ConfigError(f"{origin('trusted_proxy')}: [web] trusted_proxy must be the reverse proxy's IP "
                                  f"address (or * inside a private network), not {proxy!r}") from None
    elif section == "calibration":
        for key in ("max_error_c", "max_uncertainty_c"):
            _positive(values, section, key, origin)
    elif section == "loggers":
        _positive(values, section, "review_every_days", origin)
    elif section == "signatures":
        unknown = [v for v in values["require_for"] if v not in SIGNED_ACTIONS]
        if unknown:
            raise ConfigError(f"{origin('require_for')}: [signatures] require_for: unknown action {unknown[0]!r} "
                              f"(known: {', '.join(SIGNED_ACTIONS)})")
    elif section == "alerts":
        for key in ("tier_delay_min", "max_attempts", "disagreement_c", "disagreement_min", "record_due_hours",
                    "predict_within_min"):
            _positive(values, section, key, origin)
        if values["reminder_min"] < 0:
            raise ConfigError(f"{origin('reminder_min')}: [alerts] reminder_min must be 0 (no reminders) or more")
        url = values["base_url"]
        if url and (urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname):
            raise ConfigError(f"{origin('base_url')}: [alerts] base_url must look like https://HOST[/PATH], "
                              f"not {url!r}")
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
            raise ConfigError(f"{origin('min_temperature_c')}: [ingest] min_temperature_c must be below "
                              "max_temperature_c")
        zone(values["default_timezone"], f"{origin('default_timezone')}: [ingest] default_timezone")
        group = values["shared_group"]
        if any(ch in group for ch in "/+#"):
            raise ConfigError(f"{origin('shared_group')}: [ingest] shared_group must not contain '/', '+' or '#'")


def _positive(values: Mapping[str, Any], section: str, key: str, origin: Callable[[str], str]) -> None:
    if values[key] <= 0:
        raise ConfigError(f"{origin(key)}: [{section}] {key} must be greater than 0, not {values[key]!r}")
