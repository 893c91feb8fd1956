"""Importing a data logger's file into a fridge: the same record as live sensors.

One file, one transaction: the file is read whole first (a damaged file
writes nothing), then the logger becomes a sensor ``<format>:<serial>`` of the
fridge (a backup, unless the fridge has no primary), its logged points become
readings (idempotent on sensor and time, like ingest, so the same file or an
overlapping later download adds nothing twice), its daily history becomes
device days, the file itself is kept unaltered with its SHA-256, and the
import is an audit event. The fridge is then judged again from the file's
first day: late data counts, and the device's own alarms open alerts.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.alerts.evaluate import Evaluator
from fridge_monitor.config import Config
from fridge_monitor.core.daily import day_bounds
from fridge_monitor.core.loggers import (
    FORMAT_NAMES,
    FORMATS,
    Download,
    LoggerFileError,
    detect,
    read,
    signature_status,
)
from fridge_monitor.core.loggers.alarms import alarms_json
from fridge_monitor.core.loggers.local_time import day_time, place, to_utc
from fridge_monitor.core.parsers.validate import sensor_problem
from fridge_monitor.store import audit_trail, rollups
from fridge_monitor.store import models as m
from fridge_monitor.store.db import write_lock
from fridge_monitor.store.marks import mark_statement
from fridge_monitor.store.readings_insert import ReadingsInsert
from fridge_monitor.store.sensors import reading_at_last
from fridge_monitor.store.sync import assign_sensor

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 64 * 1024 * 1024  # a year of minute readings is under 20 MB


class ImportRefused(ValueError):
    """A file that was not imported, and why: one sentence naming the file (and the line, for a damaged one)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Imported:
    """What one file added to the record."""

    file_name: str
    file_id: int
    fridge: str
    fridge_id: int
    sensor_id: str
    role: str
    format: str
    model: str
    data_rows: int
    new_readings: int
    days: int
    new_days: int
    first_at: datetime | None
    last_at: datetime | None
    signature: str  # what the page and the CLI say about the device's signature
    notes: tuple[str, ...]
    already: tuple[datetime, str] | None = None  # this very file was imported before: when, by whom
    alerts: tuple[str, ...] = ()  # titles of the alerts the import opened

    def summary(self) -> str:
        """One line for the CLI and the upload page."""
        parts = []
        if self.data_rows or not self.days:
            parts.append(f"{self.new_readings} new readings of {self.data_rows}")
        if self.days:
            parts.append(f"{self.new_days} new device days of {self.days}")
        text = (f"{self.file_name}: {', '.join(parts)} "
                f"({self.model} {self.sensor_id.partition(':')[2]} → {self.fridge} as {self.role})")
        if self.already is not None:
            text += f"; this file was imported already on {self.already[0]:%Y-%m-%d %H:%M} UTC by {self.already[1]}"
        return text


@dataclasses.dataclass(frozen=True, slots=True)
class Request:
    """One file to import and how to read it."""

    file_name: str
    data: bytes
    fmt: str = "auto"  # or one of core.loggers.FORMATS
    tz: str | None = None  # the zone the logger's clock keeps; default: the fridge's site's
    time_format: str | None = None  # plain CSV only
    serial: str | None = None  # plain CSV only: which logger it came from


def _read(request: Request) -> Download:
    if len(request.data) > MAX_FILE_BYTES:
        raise ImportRefused(f"{request.file_name}: the file is {len(request.data)} bytes, over the "
                            f"{MAX_FILE_BYTES // (1024 * 1024)} MB limit")
    fmt = request.fmt
    if fmt == "auto":
        found = detect(request.file_name, request.data)
        if found is None:
            raise ImportRefused(f"{request.file_name}: not a logger file this version reads "
                                f"({'; '.join(FORMAT_NAMES.values())}); choose the format if it is one")
        fmt = found
    elif fmt not in FORMATS:
        raise ImportRefused(f"unknown format {fmt!r}; one of auto, {', '.join(FORMATS)}")
    try:
        download = read(fmt, request.data, time_format=request.time_format)
    except LoggerFileError as exc:
        raise ImportRefused(f"{request.file_name}: {exc}") from None
    if fmt == "csv":
        if not request.serial:
            raise ImportRefused(f"{request.file_name}: a plain CSV does not say which logger it came from; "
                                "give its serial number (--serial)")
        download = dataclasses.replace(download, serial=request.serial.strip())
    problem = sensor_problem(f"{fmt}:{download.serial}")
    if problem:
        raise ImportRefused(f"{request.file_name}: {problem}")
    return download


def _zone(request: Request, site_zone: str) -> tuple[ZoneInfo, str]:
    name = request.tz or site_zone
    try:
        return ZoneInfo(name), name
    except (ZoneInfoNotFoundError, ValueError):
        raise ImportRefused(f"unknown time zone {name!r} (an IANA name such as Europe/Berlin)") from None


class Importer:
    """Imports logger files into fridges, then judges those fridges again."""

    def __init__(self, engine: sa.Engine, config: Config, clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 evaluator: Evaluator | None = None) -> None:
        self.engine, self.config, self.clock = engine, config, clock
        self.evaluator = evaluator if evaluator is not None else Evaluator(engine, config, clock=clock)
        self._rollups = rollups.Keeper(engine.dialect.name)
        self._insert = ReadingsInsert(engine.dialect.name)

    def import_file(self, fridge_name: str, request: Request, actor: str) -> Imported:
        """Read and store one file (raises :class:`ImportRefused`), then judge the fridge again."""
        return self.judge(self.store(fridge_name, request, actor))

    def store(self, fridge_name: str, request: Request, actor: str) -> Imported:
        """Read the whole file, then store what it adds in one transaction (nothing, if it is refused)."""
        download = _read(request)
        with so.Session(self.engine, expire_on_commit=False) as session, session.begin():
            write_lock(session)
            return self._store(session, fridge_name, request, download, actor)

    def judge(self, stored: Imported) -> Imported:
        """Judge the fridge again from the file's first day (late data counts): the alerts this opened."""
        before = self._alert_ids(stored.fridge_id)
        self.evaluator.fridges([stored.fridge_id])
        return dataclasses.replace(stored, alerts=self._alert_titles(stored.fridge_id, before))

    def _alert_ids(self, fridge_id: int) -> set[int]:
        with self.engine.connect() as conn:
            return set(conn.scalars(sa.select(m.Alert.id).where(m.Alert.fridge_id == fridge_id)))

    def _alert_titles(self, fridge_id: int, before: set[int]) -> tuple[str, ...]:
        a = m.Alert
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(a.id, a.title).where(a.fridge_id == fridge_id).order_by(a.id))
            return tuple(title for alert_id, title in rows if alert_id not in before)

    def _store(self, session: so.Session, fridge_name: str, request: Request, download: Download,
               actor: str) -> Imported:
        now = self.clock()
        fridge = session.scalar(sa.select(m.Fridge).where(m.Fridge.name == fridge_name))
        if fridge is None:
            raise ImportRefused(f"no fridge named {fridge_name!r}")
        if fridge.retired_at is not None:
            raise ImportRefused(f"fridge {fridge_name} is retired; its record takes no new readings")
        tz, zone = _zone(request, fridge.site.timezone)
        try:
            placed = place(download.points, tz, zone)
        except LoggerFileError as exc:
            raise ImportRefused(f"{request.file_name}: {exc}") from None
        sensor_id = f"{download.format}:{download.serial}"
        sha = hashlib.sha256(request.data).hexdigest()
        kept = session.scalar(sa.select(m.LoggerFile).where(m.LoggerFile.sha256 == sha))
        if kept is not None and kept.fridge_id != fridge.id:
            other = session.get_one(m.Fridge, kept.fridge_id).name
            raise ImportRefused(f"{request.file_name}: this file was imported into fridge {other} on "
                                f"{kept.imported_at:%Y-%m-%d %H:%M} UTC; a logger's file belongs to one fridge")
        role = self._assign(session, sensor_id, fridge, actor, now)
        created = to_utc(download.created, tz) if download.created is not None else None
        first = placed[0][0] if placed else None
        last = placed[-1][0] if placed else None
        new = self._readings(session, sensor_id, placed, now)
        if kept is None:
            kept = m.LoggerFile(
                sha256=sha, file_name=request.file_name[:255], size=len(request.data), content=request.data,
                format=download.format, model=download.model[:200] or FORMAT_NAMES[download.format],
                sensor_id=sensor_id, fridge_id=fridge.id, timezone=zone,
                first_at=min((t for t in (first, self._first_day_start(download, tz)) if t), default=None),
                last_at=max((t for t in (last, created) if t), default=None),
                data_rows=len(placed), new_readings=new, days=len(download.days), signature=download.signature,
                notes="\n".join(download.notes), imported_at=now, imported_by=actor)
            session.add(kept)
            session.flush()
        new_days = self._days(session, sensor_id, kept.id, download, tz, created)
        earliest = kept.first_at
        if earliest is not None and (new or new_days):
            session.execute(mark_statement(session.get_bind().dialect.name), [{"sid": sensor_id, "since": earliest}])
        already = (kept.imported_at, kept.imported_by) if kept.imported_at != now else None
        audit_trail.record(
            session, at=now, actor=actor, action="import", record_type="logger_file", record_id=kept.id,
            new=f"{request.file_name} ({download.format}, sha256 {sha}) into {fridge.name}",
            reason=f"{new} new readings of {len(placed)}, {new_days} new device days of {len(download.days)}"
                   + (" (the same file again)" if already else ""))
        log.info("imported %s into fridge %s: %d new readings of %d, %d new device days", request.file_name,
                 fridge.name, new, len(placed), new_days)
        return Imported(request.file_name, kept.id, fridge.name, fridge.id, sensor_id, role, download.format,
                        kept.model, len(placed), new, len(download.days), new_days, first, last,
                        signature_status(download.signature is not None), download.notes, already)

    @staticmethod
    def _first_day_start(download: Download, tz: ZoneInfo) -> datetime | None:
        if not download.days:
            return None
        return day_bounds(download.days[0].day, tz)[0]

    def _assign(self, session: so.Session, sensor_id: str, fridge: m.Fridge, actor: str, now: datetime) -> str:
        """Make the logger a sensor of the fridge; its role there."""
        sensor = session.get(m.Sensor, sensor_id)
        if sensor is not None and sensor.fridge_id == fridge.id and sensor.role:
            return sensor.role
        if sensor is not None and sensor.fridge_id is not None:
            other = session.get_one(m.Fridge, sensor.fridge_id).name
            raise ImportRefused(f"logger {sensor_id} is in fridge {other}; move it to {fridge.name} on the "
                                "Sensors page first")
        has_primary = session.scalar(sa.select(m.Sensor.id).where(
            m.Sensor.fridge_id == fridge.id, m.Sensor.role == "primary").limit(1)) is not None
        role = "backup" if has_primary else "primary"
        assign_sensor(session, sensor_id, fridge, role, now)
        audit_trail.record(session, at=now, actor=actor, action="update", record_type="sensor", record_id=sensor_id,
                           field="assignment", old=None, new=f"{fridge.name}/{role}",
                           reason="data logger file imported")
        return role

    def _readings(self, session: so.Session, sensor_id: str, placed: list[tuple[datetime, float]],
                  now: datetime) -> int:
        """Insert the file's readings (those stored already are skipped); how many were new."""
        if not placed:
            return 0
        conn = session.connection()
        r = m.Reading
        first, last = placed[0][0], placed[-1][0]

        def count() -> int:
            return conn.scalar(sa.select(sa.func.count()).select_from(r).where(
                r.sensor_id == sensor_id, r.measured_at >= first, r.measured_at <= last)) or 0

        before = count()
        self._insert.execute_series(conn, sensor_id, now, placed)
        # The file's times are strictly increasing (placed so): into an empty span, every one is new.
        new = len(placed) if before == 0 else count() - before
        if new:
            self._rollups.series_stored(conn, sensor_id, [at for at, _celsius in placed])
        sensor = session.get_one(m.Sensor, sensor_id)
        sensor.first_seen_at = sensor.first_seen_at or now
        sensor.last_seen_at = max(sensor.last_seen_at or now, now)
        sensor.last_measured_at = max(last, sensor.last_measured_at) if sensor.last_measured_at else last
        session.flush()
        sensor.last_temperature_c = session.scalar(sa.select(reading_at_last(sensor_id, sensor.last_measured_at)))
        return new

    def _days(self, session: so.Session, sensor_id: str, file_id: int, download: Download, tz: ZoneInfo,
              created: datetime | None) -> int:
        """Keep the device days this file tells anew (a day summarised the same way before is not repeated)."""
        if not download.days:
            return 0
        d = m.DeviceDay
        known: dict[date, tuple[object, ...]] = {}
        newest = session.execute(
            sa.select(d.day, d.min_c, d.max_c, d.mean_c, d.alarms, d.events, d.complete)
            .where(d.sensor_id == sensor_id, d.day >= download.days[0].day, d.day <= download.days[-1].day)
            .order_by(d.day, d.id))
        for row in newest:
            known[row.day] = tuple(row[1:])
        rows = []
        for day in download.days:
            end = day_bounds(day.day, tz)[1]
            complete = created is None or created >= end
            alarms = alarms_json(download, day.alarms)
            values = (day.min_c, day.max_c, day.mean_c, alarms, day.events, complete)
            if known.get(day.day) == values:
                continue
            rows.append({"sensor_id": sensor_id, "file_id": file_id, "day": day.day, "complete": complete,
                         "ends_at": end if complete or created is None else created,
                         "min_c": day.min_c, "min_at": day_time(day.day, day.min_time, tz),
                         "max_c": day.max_c, "max_at": day_time(day.day, day.max_time, tz),
                         "mean_c": day.mean_c, "alarms": alarms, "events": day.events})
        if rows:
            session.execute(sa.insert(d), rows)
        return len(rows)

