"""Sensors as people see them: where each one is, whether it talks, its battery, calibration and latest value;
and the unassigned ones waiting for an admin.

Ingest registers an unknown sensor unassigned, at most ``[ingest] max_unassigned_sensors``
of them at a time (:func:`unassigned_in_service` is what that cap counts and the
dashboard lists); beyond that a new id's message is kept as rejected, its reason
beginning with :data:`TOO_MANY_UNASSIGNED`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from fridge_monitor.store import models as m

# Until alarm profiles say otherwise: CDC's longest logging interval, doubled.
DEFAULT_MAX_GAP = timedelta(minutes=30)
TOO_MANY_UNASSIGNED = "too many unassigned sensors"
"""How the reason of a message refused by the cap on unassigned sensors begins (counted by /metrics)."""


def unassigned_in_service() -> sa.ColumnElement[bool]:
    """Sensors waiting for an admin: unassigned and not retired (what the cap counts, the dashboard lists)."""
    return sa.and_(m.Sensor.fridge_id.is_(None), m.Sensor.retired_at.is_(None))


def too_many_unassigned(cap: int) -> str:
    """The reason a message from a new sensor id is kept as rejected once the cap is reached."""
    return f"{TOO_MANY_UNASSIGNED} ({cap}): assign or retire sensors to accept new ones"


@dataclasses.dataclass(frozen=True, slots=True)
class SensorInfo:
    """A sensor as people see it: where it is, whether it talks, its battery and calibration."""

    id: str
    format: str
    device: str
    fridge: str | None
    role: str | None
    battery_pct: float | None
    last_seen_at: datetime | None
    last_measured_at: datetime | None
    online: bool | None
    calibration_certificate: str | None
    calibration_due: date | None
    temperature_c: float | None = None  # its latest reading, when known


def reading_at_last(sensor_id: Any, measured_at: Any) -> sa.ScalarSelect[float]:
    """The stored reading's °C at ``measured_at`` of ``sensor_id`` (SQL expressions): what
    ``sensors.last_temperature_c`` is set to whenever ``last_measured_at`` is (ingest, logger imports), so the
    two always name one stored reading — the one rule for a sensor's latest value."""
    r = m.Reading
    return sa.select(r.temperature_c).where(r.sensor_id == sensor_id, r.measured_at == measured_at).scalar_subquery()


def latest_values(conn: sa.Connection, sensor_ids: Iterable[str]) -> dict[str, tuple[datetime, float]]:
    """Each sensor's newest reading (measured time, °C): ``sensors.last_measured_at`` and the stored reading
    there (``last_temperature_c``, see :func:`reading_at_last`)."""
    s = m.Sensor
    ids = sorted(set(sensor_ids))
    if not ids:
        return {}
    rows = conn.execute(sa.select(s.id, s.last_measured_at, s.last_temperature_c)
                        .where(s.id.in_(ids), s.last_measured_at.is_not(None), s.last_temperature_c.is_not(None)))
    return {sid: (at, temp) for sid, at, temp in rows if at is not None and temp is not None}


def _sensor_query() -> sa.Select[Any]:
    return (
        sa.select(*m.Sensor.__table__.c, m.Fridge.name.label("fridge"))
        .select_from(m.Sensor)
        .outerjoin(m.Fridge, m.Fridge.id == m.Sensor.fridge_id)
    )


def _sensor_infos(conn: sa.Connection, query: sa.Select[Any]) -> list[SensorInfo]:
    rows = conn.execute(query).all()
    latest = latest_values(conn, [row.id for row in rows])
    return [
        SensorInfo(
            id=row.id, format=row.format, device=row.device, fridge=row.fridge,
            role=row.role if row.fridge else None, battery_pct=row.battery_pct, last_seen_at=row.last_seen_at,
            last_measured_at=row.last_measured_at, online=row.online,
            calibration_certificate=row.calibration_certificate, calibration_due=row.calibration_due,
            temperature_c=latest[row.id][1] if row.id in latest else None,
        )
        for row in rows
    ]


def sensors(conn: sa.Connection, *, fridge_id: int | None = None, unassigned: bool = False,
            limit: int | None = None, offset: int = 0) -> list[SensorInfo]:
    """Sensors (of one fridge, or unassigned ones in service that have reported, or all), with their
    latest value; ``limit`` and ``offset`` give one page of the list."""
    query = _sensor_query()
    if fridge_id is not None:
        query = query.where(m.Sensor.fridge_id == fridge_id).order_by(m.Sensor.role.desc(), m.Sensor.id)
    elif unassigned:
        query = query.where(*_waiting()).order_by(m.Sensor.id)
    else:
        query = query.order_by(m.Sensor.id)
    return _sensor_infos(conn, query.limit(limit).offset(offset))


def _waiting() -> tuple[sa.ColumnElement[bool], ...]:
    """Unassigned sensors the dashboard shows: in service, and heard from at least once."""
    return unassigned_in_service(), m.Sensor.last_seen_at.is_not(None)


def count_unassigned(conn: sa.Connection) -> int:
    """How many sensors :func:`sensors` lists with ``unassigned=True``, for its pages."""
    return conn.scalar(sa.select(sa.func.count()).select_from(m.Sensor).where(*_waiting())) or 0


def sensors_by_id(conn: sa.Connection, ids: Iterable[str]) -> list[SensorInfo]:
    ids = sorted(set(ids))
    if not ids:
        return []
    return _sensor_infos(conn, _sensor_query().where(m.Sensor.id.in_(ids)))
