"""Export bundles for inspectors: every record of a period in one zip, with a manifest that verifies offline.

The bundle holds the readings, daily log, excursions, alerts with their
notification log, stock ledger, lot reviews and dispositions, rejected
messages, the data-logger files' index and the devices' own days, and the
whole audit trail as CSV, plus the monthly PDF log of every fridge-month in
the period, every data-logger file whose data overlaps it (as imported),
and ``manifest.json`` (see :mod:`fridge_monitor.core.manifest`).
Files are written to a temporary directory first and added to the zip one by
one, so memory stays flat however many readings there are.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor import __version__
from fridge_monitor.config import Config
from fridge_monitor.core import csv_cells, manifest
from fridge_monitor.core.csv_cells import utc_or_empty
from fridge_monitor.core.signatures import RECORDS_FILE, REVIEWS_FILE
from fridge_monitor.core.times import iso_utc
from fridge_monitor.reports import (
    calibration_export,
    channel_export,
    checks_export,
    export,
    logger_exports,
    record_exports,
    reviews,
    signature_export,
    troubleshooting_pdf,
)
from fridge_monitor.store import audit_trail, calibrations, logger_files
from fridge_monitor.store import models as m
from fridge_monitor.store.files import open_private

Progress = Callable[[str, float], None]  # (what is being written, share done 0..1)

NOTIFICATIONS_HEADER = ["alert_id", "fridge", "channel", "channel_type", "tier", "event", "sequence", "attempt",
                        "due_at_utc", "sent_at_utc", "ok", "detail"]
DISPOSITIONS_HEADER = ["review_id", "lot_id", "product", "lot", "expiry", "fridge", "excursion_id",
                       "exposure_started_at_utc", "exposure_ended_at_utc", "exposure_s", "peak_c", "low_c", "mkt_c",
                       "reason", "reviewed_at_utc", "disposition_id", "decision", "reference", "note",
                       "decided_at_utc", "decided_by", "supersedes_id"]


REVIEWS_HEADER = ["id", "fridge_id", "fridge", "month", "comment", "open_items", "pdf_file", "pdf_sha256",
                  "reviewed_by", "reviewed_at_utc"]


@dataclasses.dataclass(frozen=True, slots=True)
class Request:
    """What to export: a period [start, end), optionally some fridges only (None: every fridge)."""

    start: datetime
    end: datetime
    fridges: tuple[str, ...] | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Result:
    path: Path
    files: int
    bytes: int
    export_event: int
    audit_head: str


class BundleError(ValueError):
    """A bundle that cannot be made as asked; the message says why."""


def fridge_months(start: datetime, end: datetime, fridges: Sequence[tuple[str, str]]) -> list[tuple[str, int, int]]:
    """(fridge, year, month) for every site-local month the period touches, per fridge (name, time zone)."""
    out = []
    for name, tz_name in fridges:
        tz = ZoneInfo(tz_name)
        first = start.astimezone(tz).date().replace(day=1)
        last = (end - timedelta(microseconds=1)).astimezone(tz).date()
        month = first
        while month <= last:
            out.append((name, month.year, month.month))
            month = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    return out


def build(engine: sa.Engine, config: Config, request: Request, out_path: Path, *, actor: str,
          now: datetime | None = None, progress: Progress | None = None) -> Result:
    """Write the bundle to ``out_path`` (atomically) and record the export in the audit trail."""
    now = now or datetime.now(UTC)
    report = progress or (lambda _what, _share: None)
    fridges = _fridges(engine, request.fridges)
    with tempfile.TemporaryDirectory(prefix="fm-bundle-") as tmp:
        work = Path(tmp)
        files: dict[str, dict[str, int | str]] = {}
        steps = _steps(engine, config, request, fridges, actor, now)
        for number, (name, write) in enumerate(steps):
            report(name, number / (len(steps) + 2))
            target = work / name
            target.parent.mkdir(parents=True, exist_ok=True)
            rows = write(target)
            if target.exists():  # a step may find nothing to write (an addendum of an unchanged month)
                files[name] = _file_entry(target, rows)
        period = iso_utc(request.start), iso_utc(request.end)
        chosen = [name for name, _tz in fridges] if request.fridges is not None else None
        document: dict[str, object] = {
            "format": manifest.FORMAT,
            "generator": f"fridge-monitor {__version__}",
            "period": {"from": period[0], "to": period[1]},
            "fridges": chosen if chosen is not None else "all",
            "exported_by": actor,
            "exported_at": iso_utc(now),
            "files": files,
        }
        report(manifest.AUDIT_FILE, len(steps) / (len(steps) + 2))
        what = f"{', '.join(chosen) if chosen is not None else 'all'} with {len(files)} files"
        event = _record_export(engine, document, period, what, actor, now)
        audit_path = work / manifest.AUDIT_FILE
        with engine.connect() as conn:
            events = (e for e in audit_trail.stored_events(conn) if e.id <= event.id)
            data, count = manifest.audit_csv(events)
        audit_path.write_bytes(data)
        files[manifest.AUDIT_FILE] = manifest.file_entry(data, count)
        document["audit_head"] = {"id": event.id, "hash": event.hash}
        document["export_event"] = event.id
        report("bundle.zip", (len(steps) + 1) / (len(steps) + 2))
        partial = out_path.with_name(out_path.name + ".partial")
        with (open_private(partial) as fh,  # records: mode 0600, whatever the umask
              zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive):
            archive.writestr(manifest.MANIFEST, manifest.canonical(document))
            for name in sorted(files):
                archive.write(work / name, name)
        os.replace(partial, out_path)
    report("done", 1.0)
    total = sum(int(entry["bytes"]) for entry in files.values())
    return Result(out_path, len(files) + 1, total, event.id, event.hash)


def _fridges(engine: sa.Engine, names: tuple[str, ...] | None) -> list[tuple[str, str]]:
    f, s = m.Fridge, m.Site
    with engine.connect() as conn:
        rows = conn.execute(sa.select(f.name, s.timezone).join(s, s.id == f.site_id).order_by(f.name)).all()
    known = {name: tz for name, tz in rows}
    if names is None:
        return [(name, tz) for name, tz in rows]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise BundleError(f"no fridge named {unknown[0]!r}")
    return [(name, known[name]) for name in names]


Step = tuple[str, Callable[[Path], int | None]]


def _steps(engine: sa.Engine, config: Config, request: Request, fridges: list[tuple[str, str]], actor: str,
           now: datetime) -> list[Step]:

    start, end = request.start, request.end
    names = None if request.fridges is None else [name for name, _tz in fridges]

    def per_fridge(write: Callable[..., int]) -> Callable[[Path], int]:
        """One CSV over the chosen fridges: the export function once per fridge, its header once."""
        def run(path: Path) -> int:
            with open(path, "w", encoding="utf-8", newline="") as out:
                if names is None:
                    return write(engine, out, start, end, fridge=None)
                total = 0
                for number, name in enumerate(names):
                    total += write(engine, out if number == 0 else SkipFirstLine(out), start, end, fridge=name)
                return total
        return run

    def whole(write: Callable[..., int]) -> Callable[[Path], int]:
        def run(path: Path) -> int:
            with open(path, "w", encoding="utf-8", newline="") as out:
                return write(engine, out, start, end)
        return run

    def daily(engine: sa.Engine, out: TextIO, start: datetime, end: datetime, *, fridge: str | None) -> int:
        """The daily log of the days the period covers (each fridge's site-local days)."""
        first, last = start.date(), (end - timedelta(microseconds=1)).date()
        return export.export_daily(engine, out, first, last, fridge=fridge, config=config, now=now)

    def pdf(name: str, year: int, month: int) -> Callable[[Path], None]:
        """The month's log: a signed month's frozen copy (its hash the one its review holds), else made now."""
        def run(path: Path) -> None:
            path.write_bytes(reviews.copies(engine, name, year, month, generated_by=actor, now=now,
                                            config=config).pdf)
        return run

    def addendum(name: str, year: int, month: int) -> Callable[[Path], None]:
        """A signed month's addendum, when its records changed since it was signed (else no file)."""
        def run(path: Path) -> None:
            with so.Session(engine) as session:
                found = reviews.look(session, name, year, month, config=config, now=now)
            made = reviews.addendum_pdf(found, generated_by=actor, now=now)
            if made is not None:
                path.write_bytes(made)
        return run

    def stored(read: Callable[[sa.Connection], bytes]) -> Callable[[Path], None]:
        """A file exactly as it was kept (a logger file as imported, a certificate as recorded): its manifest hash
        is the one stored with it."""
        def run(path: Path) -> None:
            with engine.connect() as conn:
                path.write_bytes(read(conn))
        return run

    def record(excursion_id: int) -> Callable[[Path], None]:
        """An excursion's troubleshooting record as PDF (its newest version, or the facts so far)."""
        def run(path: Path) -> None:
            with so.Session(engine) as session:
                made, _name = troubleshooting_pdf.record_pdf(session, session.get_one(m.Excursion, excursion_id),
                                                             generated_by=actor, now=now, config=config)
            path.write_bytes(made)
        return run

    steps: list[Step] = [
        ("readings.csv", per_fridge(functools.partial(export.export_readings, limits=calibrations.limits(config)))),
        ("channels.csv", per_fridge(channel_export.export_channels)),
        ("daily.csv", per_fridge(daily)),
        ("excursions.csv", per_fridge(export.export_excursions)),
        ("alerts.csv", per_fridge(export.export_alerts)),
        ("notifications.csv", per_fridge(export_notifications)),
        ("stock.csv", per_fridge(export.export_stock)),
        ("lot_dispositions.csv", per_fridge(export_dispositions)),
        ("signatures.csv", per_fridge(signature_export.export_signatures)),
        ("checks.csv", per_fridge(checks_export.export_checks)),
        ("rejected.csv", whole(export.export_rejected)),
    ]
    signed = reviews.signed_months(engine, start, end, names)
    for name, year, month in fridge_months(start, end, fridges):
        steps.append((monthly_path(name, year, month), pdf(name, year, month)))
        if (name, f"{year:04d}-{month:02d}") in signed:
            steps.append((monthly_path(name, year, month, "_addendum"), addendum(name, year, month)))
    steps.append((REVIEWS_FILE, per_fridge(reviews_export)))
    steps.append((RECORDS_FILE, per_fridge(record_exports.export_records)))
    for excursion_id, fridge in record_exports.excursions(engine, start, end):
        if names is None or fridge in names:
            steps.append((record_exports.bundle_path(fridge, excursion_id), record(excursion_id)))
    limits = calibrations.limits(config)
    steps.append(("calibrations.csv", per_fridge(functools.partial(calibration_export.export_calibrations,
                                                                   limits=limits))))
    chosen: list[str | None] = list(names) if names is not None else [None]
    certificates = {row.id: row for name in chosen for row in calibration_export.of_period(engine, start, end, name)}
    for row in sorted(certificates.values(), key=lambda r: r.id):
        steps.append((calibration_export.bundle_path(row), stored(functools.partial(_certificate, row.id))))
    steps += [("logger_files.csv", per_fridge(logger_exports.export_logger_files)),
              ("device_days.csv", per_fridge(logger_exports.export_device_days))]
    for fridge, info in logger_exports.kept_files(engine, start, end, names):
        steps.append((logger_exports.bundle_path(fridge, info), stored(functools.partial(_logger_file, info.id))))
    return steps


def monthly_path(fridge: str, year: int, month: int, suffix: str = "") -> str:
    """Where a bundle holds a fridge-month's log (and, with ``_addendum``, the addendum of a signed one)."""
    return f"reports/{_safe(fridge)}_{year:04d}-{month:02d}{suffix}.pdf"


def reviews_export(engine: sa.Engine, out: TextIO, start: datetime, end: datetime, *,
                   fridge: str | None = None) -> int:
    """The reviews of the fridge-months the period touches (``monthly_reviews.csv``): each signed copy's path in
    the bundle and its SHA-256, which `audit verify` compares with the copy's."""
    rows = []
    for review, name in reviews.of_period(engine, start, end, fridge):
        year, month = (int(part) for part in review.month.split("-"))
        rows.append([review.id, review.fridge_id, name, review.month, review.comment or "", review.open_items,
                     monthly_path(name, year, month), review.pdf_sha256, review.reviewed_by,
                     iso_utc(review.reviewed_at)])
    return csv_cells.write_all(out, REVIEWS_HEADER, rows)


def _logger_file(file_id: int, conn: sa.Connection) -> bytes:
    found = logger_files.content(conn, file_id)
    assert found is not None  # listed by this export
    return found[1]


def _certificate(certificate_id: int, conn: sa.Connection) -> bytes:
    found = calibrations.content(conn, certificate_id)
    assert found is not None  # listed by this export
    return found[3]


class SkipFirstLine:
    """A text stream that drops the first line written to it (a repeated CSV header)."""

    def __init__(self, out: TextIO) -> None:
        self.out, self.skipping = out, True

    def write(self, text: str) -> int:
        if self.skipping:
            newline = text.find("\n")
            if newline < 0:
                return len(text)
            self.skipping = False
            text = text[newline + 1:]
        return self.out.write(text)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _file_entry(path: Path, rows: int | None) -> dict[str, int | str]:
    """The manifest's entry of a file on disk, read a block at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return manifest.entry(digest.hexdigest(), path.stat().st_size, rows)


def _record_export(engine: sa.Engine, document: dict[str, object], period: tuple[str, str], what: str, actor: str,
                   now: datetime) -> m.AuditEvent:
    """The export as an audit event vouching for the manifest's claims (see :mod:`fridge_monitor.core.manifest`)."""
    with so.Session(engine, expire_on_commit=False) as session, session.begin():
        return audit_trail.record(
            session, at=now, actor=actor, action=manifest.EXPORT_ACTION, record_type=manifest.EXPORT_RECORD,
            record_id=f"{period[0]}..{period[1]}", field="manifest_claims", new=manifest.claims_text(document),
            reason=f"export bundle of {what}")


# -- the CSV files only bundles have ---------------------------------------------------------------


def export_notifications(engine: sa.Engine, out: TextIO, start: datetime, end: datetime, *,
                         fridge: str | None = None) -> int:
    """Every notification attempt for the alerts overlapping the period: channel, tier, when, result."""
    n, a, f = m.Notification, m.Alert, m.Fridge
    query = (sa.select(n.alert_id, f.name, n.channel, n.channel_type, n.tier, n.event, n.sequence, n.attempt,
                       n.due_at, n.sent_at, n.ok, n.detail)
             .join(a, a.id == n.alert_id).join(f, f.id == a.fridge_id)
             .where(a.started_at < end, sa.or_(a.ended_at.is_(None), a.ended_at >= start))
             .order_by(n.alert_id, n.due_at, n.id))
    if fridge is not None:
        query = query.where(f.name == fridge)
    return csv_cells.write_all(out, NOTIFICATIONS_HEADER,
                               (_notification_row(row) for row in export.stream_rows(engine, query)))


def _notification_row(row: sa.Row[*tuple[Any, ...]]) -> list[Any]:
    ok = "" if row.ok is None else ("true" if row.ok else "false")
    return [row.alert_id, row.name, row.channel, row.channel_type, row.tier, row.event, row.sequence,
            row.attempt, iso_utc(row.due_at), utc_or_empty(row.sent_at), ok, row.detail or ""]


def export_dispositions(engine: sa.Engine, out: TextIO, start: datetime, end: datetime, *,
                        fridge: str | None = None) -> int:
    """Lot reviews whose exposure overlaps the period, each with every disposition recorded for it (or none)."""
    r, d, lot, p, f = m.LotReview, m.LotDisposition, m.Lot, m.Product, m.Fridge
    query = (sa.select(r.id, r.lot_id, p.name.label("product"), lot.lot_number, lot.expiry, f.name.label("fridge"),
                       r.excursion_id, r.started_at, r.ended_at, r.exposure_s, r.peak_c, r.low_c, r.mkt_c, r.reason,
                       r.created_at, d.id.label("disposition_id"), d.decision, d.reference, d.note, d.decided_at,
                       d.decided_by, d.supersedes_id)
             .join(lot, lot.id == r.lot_id).join(p, p.id == lot.product_id).join(f, f.id == r.fridge_id)
             .outerjoin(d, d.review_id == r.id)
             .where(r.started_at < end, sa.or_(r.ended_at.is_(None), r.ended_at >= start))
             .order_by(r.started_at, r.id, d.id))
    if fridge is not None:
        query = query.where(f.name == fridge)
    return csv_cells.write_all(out, DISPOSITIONS_HEADER,
                               (_disposition_row(row) for row in export.stream_rows(engine, query)))


def _disposition_row(row: sa.Row[*tuple[Any, ...]]) -> list[Any]:
    return [row.id, row.lot_id, row.product, row.lot_number, _day(row.expiry), row.fridge,
            row.excursion_id or "", iso_utc(row.started_at), utc_or_empty(row.ended_at),
            _num(row.exposure_s), _num(row.peak_c), _num(row.low_c), _num(row.mkt_c), row.reason,
            iso_utc(row.created_at), row.disposition_id or "", row.decision or "",
            row.reference or "", row.note or "", utc_or_empty(row.decided_at), row.decided_by or "",
            row.supersedes_id or ""]


def _num(value: float | None) -> str:
    return "" if value is None else repr(round(value, 3))


def _day(value: date | None) -> str:
    return value.isoformat() if value is not None else ""
