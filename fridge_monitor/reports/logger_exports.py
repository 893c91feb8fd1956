"""Data-logger records for export bundles: the files as imported, an index of them, and the device days."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TextIO

import sqlalchemy as sa

from fridge_monitor.core import csv_cells
from fridge_monitor.core.loggers import signature_status
from fridge_monitor.core.loggers.alarms import triggered
from fridge_monitor.core.times import iso_utc
from fridge_monitor.store import logger_files
from fridge_monitor.store import models as m

LOGGER_FILES_HEADER = ["id", "fridge", "file_name", "format", "model", "sensor", "sha256", "bytes", "first_at_utc",
                       "last_at_utc", "data_rows", "new_readings", "device_days", "signature", "notes",
                       "imported_at_utc", "imported_by", "bundle_path"]
DEVICE_DAYS_HEADER = ["fridge", "sensor", "day", "complete", "min_c", "min_at_utc", "max_c", "max_at_utc", "mean_c",
                      "alarm_minutes", "alarms_triggered", "events", "file_id"]


def _fridge_ids(conn: sa.Connection, fridge: str | None) -> dict[int, str]:
    query = sa.select(m.Fridge.id, m.Fridge.name)
    if fridge is not None:
        query = query.where(m.Fridge.name == fridge)
    return {fridge_id: name for fridge_id, name in conn.execute(query)}


def kept_files(engine: sa.Engine, start: datetime, end: datetime,
               fridges: Sequence[str] | None) -> list[tuple[str, logger_files.FileInfo]]:
    """(fridge, file) for every imported file of these fridges (None: all) whose data overlaps [start, end)."""
    with engine.connect() as conn:
        names = _fridge_ids(conn, None)
        found = logger_files.files(conn, since=start, until=end)
    return sorted(((names[f.fridge_id], f) for f in found if fridges is None or names[f.fridge_id] in fridges),
                  key=lambda pair: (pair[0], pair[1].id))


def bundle_path(fridge: str, info: logger_files.FileInfo) -> str:
    """Where a kept file lies in a bundle: ``logger_files/<fridge>/<id>_<file name>``."""
    return f"logger_files/{_safe(fridge)}/{info.id}_{_safe(info.file_name)}"


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def export_logger_files(engine: sa.Engine, out: TextIO, start: datetime, end: datetime, *,
                        fridge: str | None = None) -> int:
    """The index of the kept files: what each is, its SHA-256, and where it lies in the bundle."""
    rows = ([f.id, name, f.file_name, f.format, f.model, f.sensor_id, f.sha256, f.size,
             csv_cells.utc_or_empty(f.first_at), csv_cells.utc_or_empty(f.last_at), f.data_rows, f.new_readings,
             f.days, signature_status(f.signed), f.notes.replace("\n", "; "), iso_utc(f.imported_at),
             f.imported_by, bundle_path(name, f)]
            for name, f in kept_files(engine, start, end, None if fridge is None else [fridge]))
    return csv_cells.write_all(out, LOGGER_FILES_HEADER, rows)


def export_device_days(engine: sa.Engine, out: TextIO, start: datetime, end: datetime, *,
                       fridge: str | None = None) -> int:
    """The loggers' own days (the newest file's summary of each) from ``start``'s date to ``end``'s."""
    first, last = start.date(), (end - timedelta(microseconds=1)).date()
    rows = []
    with engine.connect() as conn:
        names = _fridge_ids(conn, fridge)
        f = m.LoggerFile
        owners = {sensor: names[fridge_id] for sensor, fridge_id in conn.execute(
            sa.select(f.sensor_id, f.fridge_id).where(f.fridge_id.in_(list(names))).distinct())}
        for day in logger_files.device_days(conn, owners, first, last):
            minutes = {f"{s.rule}#{s.number}": a.minutes for s, a in day.alarms}
            fired = [f"{s.rule}#{s.number}" for s, a in day.alarms if triggered(s, a)]
            rows.append([owners[day.sensor_id], day.sensor_id, day.day.isoformat(), day.complete,
                         _number(day.min_c), csv_cells.utc_or_empty(day.min_at), _number(day.max_c),
                         csv_cells.utc_or_empty(day.max_at), _number(day.mean_c), json.dumps(minutes, sort_keys=True),
                         " ".join(fired), "" if day.events is None else day.events, day.file_id])
    rows.sort(key=lambda row: (row[0], row[1], row[2]))
    return csv_cells.write_all(out, DEVICE_DAYS_HEADER, rows)


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"
