"""Archiving years of readings: one verified export bundle per UTC month, then (PostgreSQL) the month detached.

``fridge-monitor archive`` writes, for every UTC month before the one given that holds readings, the same export
bundle as ``export bundle`` (:mod:`fridge_monitor.reports.bundle`) for that month, and checks it as ``audit
verify FILE.zip`` does (:func:`fridge_monitor.core.manifest.verify_bundle`), and that its ``readings.csv`` holds
as many readings as the month. Only a month whose bundle verified in the same run may then have its partition
detached (:func:`fridge_monitor.store.partitions.detach_month`): the readings leave the ``readings`` table but
stay in a table of their own until someone drops it. The run and each detachment are audit events.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import zipfile
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.config import Config
from fridge_monitor.core import manifest
from fridge_monitor.reports import bundle
from fridge_monitor.store import audit_trail, partitions
from fridge_monitor.store.db import first_line

ARCHIVE_ACTION = "archive"
DETACH_ACTION = "detach"


@dataclasses.dataclass(frozen=True, slots=True)
class MonthBundle:
    """One month's bundle as written and checked in this run."""

    month: date
    readings: int  # the readings the month held when its bundle was written
    path: Path
    sha256: str
    problems: tuple[str, ...]  # none: it verified

    @property
    def verified(self) -> bool:
        return not self.problems


@dataclasses.dataclass(frozen=True, slots=True)
class Detached:
    month: date
    table: str  # the detached partition, kept as a table of this name
    readings: int


class ArchiveError(ValueError):
    """An archive step that could not be done; the message says why and what to do."""


def bundle_name(month: date) -> str:
    """``fridge-monitor-2025-01.zip``."""
    return f"fridge-monitor-{partitions.month_text(month)}.zip"


def write_bundles(engine: sa.Engine, config: Config, before: date, out_dir: Path, *, actor: str,
                  now: datetime | None = None,
                  done: Callable[[MonthBundle], None] | None = None) -> list[MonthBundle]:
    """A bundle of each UTC month before ``before`` that holds readings, written to ``out_dir`` and checked; the
    run recorded in the audit trail. ``done`` hears of each month as soon as its bundle is checked."""
    with engine.connect() as conn:
        months = partitions.readings_per_month(conn, before)
    out_dir.mkdir(parents=True, exist_ok=True)
    made = []
    for month, count in months:
        path = out_dir / bundle_name(month)
        start, end = partitions.bounds(month)
        bundle.build(engine, config, bundle.Request(start, end), path, actor=actor, now=now)
        result = check(path, month, count)
        made.append(result)
        if done is not None:
            done(result)
    _record_run(engine, before, out_dir, made, actor, now or datetime.now(UTC))
    return made


def check(path: Path, month: date, readings: int) -> MonthBundle:
    """``path`` checked as ``audit verify FILE.zip`` checks a bundle, and for holding the month's ``readings``."""
    try:
        with zipfile.ZipFile(path) as archive:
            problems = manifest.verify_bundle(archive)
            document = json.loads(archive.read(manifest.MANIFEST)) if not problems else {}
    except (zipfile.BadZipFile, OSError) as exc:
        problems = [f"not a readable zip file ({exc})"]
    if not problems:
        rows = document["files"]["readings.csv"]["rows"]
        if rows != readings:
            problems.append(f"readings.csv holds {rows} readings, the month {readings}")
    return MonthBundle(month, readings, path, file_sha256(path), tuple(problems))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def detach(engine: sa.Engine, archived: MonthBundle, *, actor: str, now: datetime | None = None) -> Detached:
    """Detach the month of a bundle verified in this run (PostgreSQL), and record it, in one transaction.

    The detached table must hold exactly the readings the bundle holds: a reading of that month stored since
    the bundle was written (a logger's late upload) undoes the whole step, and the month is archived again.
    """
    if not archived.verified:
        raise ArchiveError(f"{partitions.month_text(archived.month)}: its bundle did not verify; nothing detached")
    month = partitions.month_text(archived.month)
    with so.Session(engine) as session, session.begin():
        conn = session.connection()
        if not partitions.partitioned(conn):
            raise ArchiveError("detaching a month needs PostgreSQL, where readings are partitioned by month")
        partitions.lock_timeout(conn)
        try:
            table = partitions.detach_month(conn, archived.month)
        except sa.exc.OperationalError as exc:
            raise ArchiveError(f"{month}: nothing detached: the readings table stayed busy for "
                               f"{partitions.LOCK_TIMEOUT} ({first_line(exc)}); run the archive again") from None
        held = conn.scalar(sa.select(sa.func.count()).select_from(sa.table(table)))
        if held != archived.readings:
            raise ArchiveError(f"{month}: the month now holds {held} readings, its bundle {archived.readings}; "
                               "nothing detached: run the archive again")
        audit_trail.record(
            session, at=now or datetime.now(UTC), actor=actor, action=DETACH_ACTION, record_type="readings_partition",
            record_id=table, field="month",
            new=f"{month} (UTC): {held} readings, archived in {archived.path.name} sha256 {archived.sha256}",
            reason=f"archived readings of {month} detached from readings; kept as table {table} until dropped")
    return Detached(archived.month, table, held)


def _record_run(engine: sa.Engine, before: date, out_dir: Path, made: list[MonthBundle], actor: str,
                now: datetime) -> None:
    lines = [f"{partitions.month_text(b.month)}: {b.readings} readings, {b.path.name} sha256 {b.sha256} "
             + ("verified" if b.verified else "did NOT verify") for b in made]
    with so.Session(engine) as session, session.begin():
        audit_trail.record(
            session, at=now, actor=actor, action=ARCHIVE_ACTION, record_type="readings",
            record_id=f"before {partitions.month_text(before)}", field="bundles",
            new="; ".join(lines) or f"no readings before {partitions.month_text(before)}",
            reason=f"archive of the readings of each UTC month before {partitions.month_text(before)} to {out_dir}")
