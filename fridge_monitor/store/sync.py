"""Declared sites, fridges and sensor assignments from the config file into the database.

Creates and updates; never deletes. A fridge removed from the file stays in
the database with its history; a sensor moved to another fridge gets a new
assignment from now on, and its earlier readings stay with the old fridge.
"""

from __future__ import annotations

import logging
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.config import Config
from fridge_monitor.store import audit_trail
from fridge_monitor.store import models as m

log = logging.getLogger(__name__)


ACTOR = "config-sync"


def sync_config(session: so.Session, config: Config, now: datetime) -> list[str]:
    """Apply the declarations, auditing each change; return one line per change (for logs)."""
    changes: list[str] = []

    def audit(action: str, record_type: str, record_id: object, field: str | None = None,
              old: object = None, new: object = None) -> None:
        audit_trail.record(session, at=now, actor=ACTOR, action=action, record_type=record_type,
                           record_id=record_id, field=field, old=old, new=new,
                           reason=f"declared in {config.source}")

    sites: dict[str, m.Site] = {}
    for site_decl in config.sites:
        site = session.scalar(sa.select(m.Site).where(m.Site.name == site_decl.name))
        if site is None:
            site = m.Site(name=site_decl.name, timezone=site_decl.timezone, created_at=now)
            session.add(site)
            session.flush()
            changes.append(f"site {site_decl.name!r} created ({site_decl.timezone})")
            audit("create", "site", site_decl.name, "timezone", None, site_decl.timezone)
        elif site.timezone != site_decl.timezone:
            changes.append(f"site {site_decl.name!r} timezone {site.timezone} -> {site_decl.timezone}")
            audit("update", "site", site_decl.name, "timezone", site.timezone, site_decl.timezone)
            site.timezone = site_decl.timezone
        sites[site_decl.name] = site
    session.flush()

    for decl in config.fridges:
        fridge = session.scalar(sa.select(m.Fridge).where(m.Fridge.name == decl.name))
        wanted = {
            "site_id": sites[decl.site].id,
            "kind": decl.kind,
            "low_c": decl.low_c,
            "high_c": decl.high_c,
            "alarm_profile": decl.alarm_profile,
        }
        if fridge is None:
            fridge = m.Fridge(name=decl.name, created_at=now, **wanted)
            session.add(fridge)
            session.flush()
            changes.append(f"fridge {decl.name!r} created ({decl.kind}, {decl.low_c}..{decl.high_c} °C)")
            for key, value in wanted.items():
                audit("create", "fridge", decl.name, key, None, decl.site if key == "site_id" else value)
        else:
            for key, value in wanted.items():
                if getattr(fridge, key) != value:
                    changes.append(f"fridge {decl.name!r} {key} {getattr(fridge, key)!r} -> {value!r}")
                    audit("update", "fridge", decl.name, key, getattr(fridge, key), value)
                    setattr(fridge, key, value)
        roles = [("primary" if position == 0 else "backup") for position in range(len(decl.sensors))]
        for sensor_id, role in zip((*decl.sensors, *decl.aux_sensors), (*roles, *(["aux"] * len(decl.aux_sensors))),
                                   strict=True):
            before = session.get(m.Sensor, sensor_id)
            was = None
            if before is not None and before.fridge_id is not None:
                was = f"{session.get_one(m.Fridge, before.fridge_id).name}/{before.role}"
            moved = assign_sensor(session, sensor_id, fridge, role, now)
            if moved:
                changes.extend(moved)
                audit("update", "sensor", sensor_id, "assignment", was, f"{fridge.name}/{role}")
    session.flush()
    for line in changes:
        log.info("config sync: %s", line)
    return changes


def sync_declarations(engine: sa.Engine, config: Config, now: datetime) -> list[str]:
    """:func:`sync_config` in its own transaction, tolerating a concurrent sync."""
    for attempt in (1, 2):
        try:
            with so.Session(engine, expire_on_commit=False) as session, session.begin():
                return sync_config(session, config, now)
        except sa.exc.IntegrityError:
            # Another process (a second ingest) synced the same declarations
            # at the same moment; the second pass finds its rows.
            if attempt == 2:
                raise
    return []


def assign_sensor(session: so.Session, sensor_id: str, fridge: m.Fridge, role: str, now: datetime) -> list[str]:
    """Put a sensor in a fridge (registering it if unseen), keeping the assignment history."""
    sensor = session.get(m.Sensor, sensor_id)
    if sensor is None:
        fmt, _, rest = sensor_id.partition(":")
        # Provisional: ingest records the device name the parser reports
        # when the first reading arrives (SenML device names may hold colons).
        device = rest.split(":", 1)[0]
        sensor = m.Sensor(id=sensor_id, format=fmt, device=device, created_at=now)
        session.add(sensor)
        session.flush()
    if sensor.fridge_id == fridge.id and sensor.role == role:
        return []
    current = session.scalar(
        sa.select(m.SensorAssignment).where(
            m.SensorAssignment.sensor_id == sensor_id, m.SensorAssignment.until.is_(None)
        )
    )
    had_history = current is not None or session.scalar(
        sa.select(sa.func.count()).select_from(m.SensorAssignment).where(m.SensorAssignment.sensor_id == sensor_id)
    )
    if current is not None:
        current.until = now
    # The first assignment covers everything the sensor measured before it,
    # so readings that arrived while it was unassigned belong to this fridge.
    session.add(
        m.SensorAssignment(
            sensor_id=sensor_id,
            fridge_id=fridge.id,
            role=role,
            since=now if had_history else None,
            until=None,
            created_at=now,
        )
    )
    before = f"fridge id {sensor.fridge_id} as {sensor.role}" if sensor.fridge_id else "unassigned"
    sensor.fridge_id = fridge.id
    sensor.role = role
    return [f"sensor {sensor_id!r} assigned to fridge {fridge.name!r} as {role} (was {before})"]


def assignment_problems(session: so.Session, sensor: m.Sensor, fridge: m.Fridge, role: str) -> dict[str, str]:
    """What forbids an admin putting ``sensor`` in ``fridge`` as ``role``, by what it is about (``"fridge"``,
    ``"role"``), as sentences; empty when nothing does.

    A retired fridge takes no sensor (so no reading lands in it), though a sensor
    already there may change its role; a fridge has one primary sensor, so another
    becomes primary only once that one is a backup.
    """
    problems: dict[str, str] = {}
    if fridge.retired_at is not None and fridge.id != sensor.fridge_id:
        problems["fridge"] = f"Fridge {fridge.name} is retired; choose a fridge in service."
    if role == "primary":
        other = session.scalar(sa.select(m.Sensor.id).where(
            m.Sensor.fridge_id == fridge.id, m.Sensor.role == "primary", m.Sensor.id != sensor.id))
        if other is not None:
            problems["role"] = (f"Fridge {fridge.name} already has a primary sensor ({other}); "
                                f"make this one a backup, or make {other} a backup first.")
    return problems


def unassign_sensor(session: so.Session, sensor_id: str, now: datetime) -> list[str]:
    """Take a sensor out of its fridge from ``now`` on; what it measured before stays with that fridge."""
    sensor = session.get(m.Sensor, sensor_id)
    if sensor is None or sensor.fridge_id is None:
        return []
    current = session.scalar(
        sa.select(m.SensorAssignment).where(
            m.SensorAssignment.sensor_id == sensor_id, m.SensorAssignment.until.is_(None)
        )
    )
    if current is not None:
        current.until = now
    before = f"fridge id {sensor.fridge_id} as {sensor.role}"
    sensor.fridge_id = None
    sensor.role = None
    return [f"sensor {sensor_id!r} unassigned (was {before})"]
