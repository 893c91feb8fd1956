"""An alarm profile from its definition table: a ``[[alarm_profiles]]`` table of the config file, or the
JSON definition of a profile made on the admin pages. Errors name the table's keys (``duration_min``),
not the dataclass fields (``duration``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from fridge_monitor.core.intervals import is_number
from fridge_monitor.core.rules import MINUTE, AlarmProfile, ProfileError, Rule

PROFILE_KEYS = {"name", "low_c", "high_c", "rules", "hysteresis_c", "clear_delay_min", "settle_min",
                "allowed_gap_min", "low_battery_pct", "door_open_max_min", "power_lost_w", "compressor_on_w",
                "off_cycle_max_min"}
MAX_MINUTES = 366 * 24 * 60  # a year: longer windows or delays are typing mistakes
RULE_KEYS = {"name", "direction", "threshold_c", "inclusive", "mode", "duration_min", "window_min", "severity"}


def profile_from_config(table: Mapping[str, Any]) -> AlarmProfile:
    """An :class:`AlarmProfile` from a config table (as TOML would give it), validated.

    Keys: ``name``, ``low_c``, ``high_c`` (required); ``hysteresis_c`` (0.3),
    ``clear_delay_min`` (10), ``settle_min`` (30), ``allowed_gap_min`` (35),
    ``low_battery_pct`` (20); ``door_open_max_min`` (3), ``power_lost_w`` (0.5),
    ``compressor_on_w`` (20), ``off_cycle_max_min`` (learnt when absent); ``rules``: a list of
    tables with ``name``, ``direction`` (high|low), ``threshold_c`` (required), ``inclusive`` (true), ``mode``
    (continuous|cumulative), ``duration_min`` (0), ``window_min``
    (cumulative only), ``severity`` (warning|alarm, default alarm). Raises
    :class:`ProfileError` with one sentence naming the profile and field.
    """
    if not isinstance(table, Mapping):
        raise ProfileError(f"an alarm profile must be a table of keys, not {type(table).__name__}")
    name = table.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ProfileError("an alarm profile needs a name (a non-empty string)")
    where = f"alarm profile {name!r}"
    _only(table, PROFILE_KEYS, where)
    for key in ("low_c", "high_c"):
        if key not in table:
            raise ProfileError(f"{where}: {key} is required (°C)")
    raw_rules = table.get("rules", [])
    if not isinstance(raw_rules, Sequence) or isinstance(raw_rules, str):
        raise ProfileError(f"{where}: rules must be a list of tables")
    rules = tuple(_rule_from_config(item, i, where) for i, item in enumerate(raw_rules, 1))
    default: dict[str, Any] = {key: field.default for key, field in AlarmProfile.__dataclass_fields__.items()}
    values: dict[str, Any] = dict(
        name=name,
        low_c=_number(table, "low_c", None, where),
        high_c=_number(table, "high_c", None, where),
        rules=rules,
        hysteresis_c=_number(table, "hysteresis_c", default["hysteresis_c"], where),
        clear_delay=_minutes(table, "clear_delay_min", default["clear_delay"] / MINUTE, where),
        settle_time=_minutes(table, "settle_min", default["settle_time"] / MINUTE, where),
        allowed_gap=_minutes(table, "allowed_gap_min", default["allowed_gap"] / MINUTE, where),
        low_battery_pct=_number(table, "low_battery_pct", default["low_battery_pct"], where),
        door_open_max=_minutes(table, "door_open_max_min", default["door_open_max"] / MINUTE, where),
        power_lost_w=_number(table, "power_lost_w", default["power_lost_w"], where),
        compressor_on_w=_number(table, "compressor_on_w", default["compressor_on_w"], where),
        off_cycle_max=_minutes(table, "off_cycle_max_min", None, where),
    )
    try:
        return AlarmProfile(**values)
    except ProfileError as exc:
        raise ProfileError(_config_names(str(exc))) from None


def _rule_from_config(item: Any, index: int, where: str) -> Rule:
    if not isinstance(item, Mapping):
        raise ProfileError(f"{where}: rule #{index} must be a table of keys")
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ProfileError(f"{where}: rule #{index} needs a name, such as 'heat' or 'freeze'")
    where = f"{where}: rule {name!r}"
    _only(item, RULE_KEYS, where)
    for key in ("direction", "threshold_c"):
        if key not in item:
            raise ProfileError(f"{where}: {key} is required")
    inclusive = item.get("inclusive", True)
    if not isinstance(inclusive, bool):
        raise ProfileError(f"{where}: inclusive must be true or false, not {inclusive!r}")
    for key in ("direction", "mode", "severity"):
        if key in item and not isinstance(item[key], str):
            raise ProfileError(f"{where}: {key} must be a string, not {item[key]!r}")
    values: dict[str, Any] = dict(
        name=name,
        direction=item["direction"],
        threshold_c=_number(item, "threshold_c", None, where),
        mode=item.get("mode", "continuous"),
        duration=_minutes(item, "duration_min", 0, where),
        window=_minutes(item, "window_min", None, where),
        severity=item.get("severity", "alarm"),
        inclusive=inclusive,
    )
    try:
        return Rule(**values)
    except ProfileError as exc:
        raise ProfileError(f"{where.rsplit(': rule', 1)[0]}: {_config_names(str(exc))}") from None


def _config_names(message: str) -> str:
    """Speak of the config keys (``duration_min``) rather than the dataclass fields (``duration``)."""
    for field, key in (("clear_delay", "clear_delay_min"), ("settle_time", "settle_min"),
                       ("allowed_gap", "allowed_gap_min"), ("door_open_max", "door_open_max_min"),
                       ("off_cycle_max", "off_cycle_max_min"),
                       ("duration", "duration_min"), ("window", "window_min")):
        message = message.replace(f": {field} ", f": {key} ").replace(f"a {field} ", f"a {key} ")
    return message


def _only(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ProfileError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(allowed))})")


def _number(table: Mapping[str, Any], key: str, default: float | None, where: str) -> float:
    value = table.get(key, default)
    if not is_number(value):
        raise ProfileError(f"{where}: {key} must be a number, not {value!r}")
    return float(value)


def _minutes(table: Mapping[str, Any], key: str, default: float | None, where: str) -> timedelta | None:
    value = table.get(key, default)
    if value is None:
        return None
    if not is_number(value) or not 0 <= value <= MAX_MINUTES:
        raise ProfileError(f"{where}: {key} must be a number of minutes from 0 to {MAX_MINUTES}, not {value!r}")
    return timedelta(minutes=value)
