"""Data-logger files and the devices' own days, as people and the checks read them.

:mod:`fridge_monitor.loggers` writes them (one import, one transaction); here
they are read: a fridge's imported files, the device days of its loggers (the
newest file's summary of each day), and when each fridge's loggers were last
downloaded.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import date, datetime

import sqlalchemy as sa

from fridge_monitor.core.loggers import FORMATS
from fridge_monitor.core.loggers.alarms import LoggedDay, alarms_from_json
from fridge_monitor.store import models as m


def is_logger(sensor_id: str) -> bool:
    """Whether a sensor id names a data logger whose files are imported (``fridgetag:…``, ``logtag:…``, ``csv:…``)."""
    return sensor_id.partition(":")[0] in FORMATS


def device_days(conn: sa.Connection, sensor_ids: Iterable[str], first: date, last: date) -> list[LoggedDay]:
    """The device days of these loggers from ``first`` to ``last`` (local dates), each from its newest file."""
    ids = sorted(set(sensor_ids))
    if not ids:
        return []
    d = m.DeviceDay
    newest = (sa.select(d.sensor_id, d.day, sa.func.max(d.id).label("id"))
              .where(d.sensor_id.in_(ids), d.day >= first, d.day <= last)
              .group_by(d.sensor_id, d.day).subquery())
    rows = conn.execute(sa.select(d).join(newest, newest.c.id == d.id).order_by(d.sensor_id, d.day))
    return [LoggedDay(row.sensor_id, row.day, row.complete, row.ends_at, row.min_c, row.min_at, row.max_c,
                      row.max_at, row.mean_c, alarms_from_json(row.alarms), row.events, row.file_id)
            for row in rows]


@dataclasses.dataclass(frozen=True, slots=True)
class FileInfo:
    """An imported logger file as the fridge page lists it."""

    id: int
    fridge_id: int
    file_name: str
    sha256: str
    size: int
    format: str
    model: str
    sensor_id: str
    first_at: datetime | None
    last_at: datetime | None
    data_rows: int
    new_readings: int
    days: int
    signature: str | None  # the device's Cert / Sig trailer, as written
    notes: str
    imported_at: datetime
    imported_by: str

    @property
    def signed(self) -> bool:
        return self.signature is not None


def files(conn: sa.Connection, *, fridge_id: int | None = None, since: datetime | None = None,
          until: datetime | None = None) -> list[FileInfo]:
    """Imported files, newest first: of one fridge, or whose data overlaps a period (for export bundles)."""
    f = m.LoggerFile
    query = sa.select(f.id, f.fridge_id, f.file_name, f.sha256, f.size, f.format, f.model, f.sensor_id,
                      f.first_at, f.last_at, f.data_rows, f.new_readings, f.days,
                      f.signature, f.notes, f.imported_at,
                      f.imported_by).order_by(f.imported_at.desc(), f.id.desc())
    if fridge_id is not None:
        query = query.where(f.fridge_id == fridge_id)
    if since is not None:
        query = query.where(sa.or_(f.last_at.is_(None), f.last_at >= since))
    if until is not None:
        query = query.where(sa.or_(f.first_at.is_(None), f.first_at < until))
    return [FileInfo(**row._asdict()) for row in conn.execute(query)]


def content(conn: sa.Connection, file_id: int) -> tuple[str, bytes, str | None] | None:
    """A kept file's name, its bytes exactly as imported, and its signature trailer."""
    f = m.LoggerFile
    row = conn.execute(sa.select(f.file_name, f.content, f.signature).where(f.id == file_id)).first()
    return (row.file_name, row.content, row.signature) if row is not None else None


def histories_only(conn: sa.Connection, sensor_ids: Iterable[str]) -> list[str]:
    """Of these loggers, those whose files never held a reading (a Fridge-tag 2 keeps a daily history only)."""
    ids = sorted(set(sensor_ids))
    if not ids:
        return []
    f = m.LoggerFile
    return list(conn.scalars(sa.select(f.sensor_id).where(f.sensor_id.in_(ids)).group_by(f.sensor_id)
                             .having(sa.func.max(f.data_rows) == 0)))


def last_downloads(conn: sa.Connection, fridge_ids: Iterable[int]) -> dict[int, datetime]:
    """When a logger file was last imported into each of these fridges (those with none are left out)."""
    ids = sorted(set(fridge_ids))
    if not ids:
        return {}
    f = m.LoggerFile
    rows = conn.execute(sa.select(f.fridge_id, sa.func.max(f.imported_at)).where(f.fridge_id.in_(ids))
                        .group_by(f.fridge_id))
    return {fridge_id: at for fridge_id, at in rows}
