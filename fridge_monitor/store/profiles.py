"""Alarm profiles by name: the presets, the ones declared in the config file, and the ones made in the admin pages.

A stored profile keeps its definition as JSON in the shape of a
``[[alarm_profiles]]`` table, validated by :func:`fridge_monitor.core.profile_definitions.profile_from_config`
whenever it is saved or read, so both ways of declaring one mean the same.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.config import Config
from fridge_monitor.core.profile_definitions import profile_from_config
from fridge_monitor.core.rules import PRESETS, AlarmProfile, ProfileError
from fridge_monitor.store import audit_trail
from fridge_monitor.store import models as m

SOURCES = ("preset", "config file", "admin")


@dataclasses.dataclass(frozen=True, slots=True)
class Known:
    profile: AlarmProfile
    source: str  # one of SOURCES

    @property
    def editable(self) -> bool:
        return self.source == "admin"


def stored(session: so.Session) -> dict[str, AlarmProfile]:
    """The profiles made in the admin pages, by name (a definition that no longer validates is left out)."""
    out = {}
    for name, definition in session.execute(sa.select(m.StoredAlarmProfile.name, m.StoredAlarmProfile.definition)):
        try:
            out[name] = profile_from_config(json.loads(definition))
        except (ProfileError, ValueError):
            continue
    return out


def known(session: so.Session, config: Config) -> dict[str, Known]:
    """Every profile a fridge may name: presets, then the config file's, then the admin pages', by name."""
    out = {name: Known(p, "preset") for name, p in PRESETS.items()}
    out.update({p.name: Known(p, "config file") for p in config.alarm_profiles})
    for name, profile in stored(session).items():
        out.setdefault(name, Known(profile, "admin"))
    return out


def unusable(session: so.Session, config: Config) -> dict[str, str]:
    """Stored profiles that no fridge can use, by name, with why (so an admin can see and mend them)."""
    taken = {name: "preset" for name in PRESETS} | {p.name: "config file" for p in config.alarm_profiles}
    out = {}
    for name, text in session.execute(sa.select(m.StoredAlarmProfile.name, m.StoredAlarmProfile.definition)):
        if name in taken:
            out[name] = f"a {taken[name]} profile of the same name takes its place"
            continue
        try:
            profile_from_config(json.loads(text))
        except ProfileError as exc:
            out[name] = f"its definition no longer validates: {exc}"
        except ValueError:
            out[name] = "its definition is not readable JSON"
    return out


def stored_definition(session: so.Session, name: str) -> dict[str, Any] | None:
    """The stored ``[[alarm_profiles]]`` table of an admin-made profile as saved, valid or not (None: no such one)."""
    text = session.scalar(sa.select(m.StoredAlarmProfile.definition).where(m.StoredAlarmProfile.name == name))
    if text is None:
        return None
    try:
        table = json.loads(text)
    except ValueError:
        return {"name": name}
    return table if isinstance(table, dict) else {"name": name}


def resolve(session: so.Session, config: Config | None, name: str) -> AlarmProfile | None:
    """The profile called ``name``, as :func:`known` finds it: a preset, else the config file's (known
    when ``config`` is passed), else one made in the admin pages (read only when needed)."""
    declared = config.alarm_profiles if config is not None else ()
    return (PRESETS.get(name) or next((p for p in declared if p.name == name), None)
            or stored(session).get(name))


def to_definition(profile: AlarmProfile) -> dict[str, Any]:
    """A profile as a ``[[alarm_profiles]]`` table (for the edit form and storage)."""
    rules = []
    for rule in profile.rules:
        item: dict[str, Any] = {"name": rule.name, "direction": rule.direction, "threshold_c": rule.threshold_c,
                                "inclusive": rule.inclusive, "mode": rule.mode,
                                "duration_min": rule.duration.total_seconds() / 60, "severity": rule.severity}
        if rule.window is not None:
            item["window_min"] = rule.window.total_seconds() / 60
        rules.append(item)
    return {"name": profile.name, "low_c": profile.low_c, "high_c": profile.high_c,
            "hysteresis_c": profile.hysteresis_c, "clear_delay_min": profile.clear_delay.total_seconds() / 60,
            "settle_min": profile.settle_time.total_seconds() / 60,
            "allowed_gap_min": profile.allowed_gap.total_seconds() / 60, "low_battery_pct": profile.low_battery_pct,
            "door_open_max_min": profile.door_open_max.total_seconds() / 60, "power_lost_w": profile.power_lost_w,
            "compressor_on_w": profile.compressor_on_w,
            **({"off_cycle_max_min": profile.off_cycle_max.total_seconds() / 60} if profile.off_cycle_max else {}),
            "rules": rules}


def save(session: so.Session, config: Config, definition: Mapping[str, Any], *, actor: str, reason: str,
         now: datetime) -> AlarmProfile:
    """Create or update an admin-made profile (audited, old and new definition). Raises ProfileError."""
    profile = profile_from_config(definition)
    owner = known(session, config).get(profile.name)
    if owner is not None and not owner.editable:
        raise ProfileError(f"alarm profile {profile.name!r} is a {owner.source} profile; choose another name")
    text = json.dumps(to_definition(profile), sort_keys=True)
    row = session.scalar(sa.select(m.StoredAlarmProfile).where(m.StoredAlarmProfile.name == profile.name))
    if row is None:
        session.add(m.StoredAlarmProfile(name=profile.name, definition=text, created_at=now, updated_at=now))
        old = None
    elif row.definition == text:
        return profile
    else:
        old, row.definition, row.updated_at = row.definition, text, now
    audit_trail.record(session, at=now, actor=actor, action="create" if old is None else "update",
                       record_type="alarm_profile", record_id=profile.name, field="definition", old=old, new=text,
                       reason=reason)
    return profile
