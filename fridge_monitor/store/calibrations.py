"""The calibration certificate register: recording a certificate with its file, and reading sensors' certificates.

Judging them is :mod:`fridge_monitor.core.calibration`'s; this module stores
them (append-only, audited, the file kept unaltered with its SHA-256) and
reads them back as :class:`~fridge_monitor.core.calibration.Certificate`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.config import Config
from fridge_monitor.core import calibration, free_text
from fridge_monitor.core.calibration import Certificate, Limits, Point
from fridge_monitor.core.free_text import FieldError
from fridge_monitor.core.times import today_at
from fridge_monitor.store import audit_trail
from fridge_monitor.store import models as m

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_POINTS = 20
FILE_TYPES = {b"%PDF-": "application/pdf", b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}
PLAUSIBLE_C = (-200.0, 200.0)


class CertificateError(FieldError):
    """A certificate that cannot be recorded."""


@dataclasses.dataclass(frozen=True, slots=True)
class Entry:
    """A certificate as an admin types it in, with its file."""

    number: str
    laboratory: str
    accreditation_body: str
    accreditation_number: str
    calibrated_on: date | None
    due_on: date | None
    model: str
    serial: str
    points: tuple[Point, ...]
    uncertainty_c: float | None
    lab_result: str
    file_name: str
    content: bytes


def limits(config: Config | None) -> Limits:
    """``[calibration] max_error_c`` and ``max_uncertainty_c`` (the programme's ±0.5 °C by default)."""
    if config is None:
        return Limits()
    return Limits(config.calibration["max_error_c"], config.calibration["max_uncertainty_c"])


def file_type(content: bytes) -> str | None:
    """The certificate file's type by its first bytes (PDF, PNG or JPEG), or None for anything else."""
    return next((kind for magic, kind in FILE_TYPES.items() if content.startswith(magic)), None)


def check_entry(entry: Entry, today: date) -> str:
    """Raise CertificateError for the first field at fault; else the file's type."""
    for field, value, most in (("number", entry.number, 100), ("laboratory", entry.laboratory, 200),
                               ("accreditation_body", entry.accreditation_body, 100),
                               ("accreditation_number", entry.accreditation_number, 100),
                               ("model", entry.model, 200), ("serial", entry.serial, 100)):
        if not value.strip():
            raise CertificateError("Required: copy it from the certificate.", field)
        if len(value) > most or free_text.too_long(value):
            raise CertificateError(f"At most {most} characters.", field)
    if entry.calibrated_on is None:
        raise CertificateError("Give the calibration date (YYYY-MM-DD).", "calibrated_on")
    if entry.calibrated_on > today:
        raise CertificateError("The calibration date is in the future.", "calibrated_on")
    if entry.due_on is None:
        raise CertificateError("Give the date the next calibration is due (YYYY-MM-DD).", "due_on")
    if entry.due_on <= entry.calibrated_on:
        raise CertificateError("The due date must be after the calibration date.", "due_on")
    if not entry.points:
        raise CertificateError("Give at least one test point: the reference and the measured temperature.",
                               "points")
    if len(entry.points) > MAX_POINTS:
        raise CertificateError(f"At most {MAX_POINTS} test points.", "points")
    low, high = PLAUSIBLE_C
    for p in entry.points:
        if not all(math.isfinite(v) and low <= v <= high for v in (p.reference_c, p.measured_c)):
            raise CertificateError("A test point is not a plausible temperature in °C.", "points")
    if entry.uncertainty_c is None or not math.isfinite(entry.uncertainty_c) or not 0 <= entry.uncertainty_c < 50:
        raise CertificateError("Give the expanded uncertainty in °C, as the certificate states it (e.g. 0.2).",
                               "uncertainty_c")
    if entry.lab_result not in calibration.RESULTS:
        raise CertificateError("Say whether the laboratory passed the device.", "lab_result")
    if not entry.content:
        raise CertificateError("Attach the certificate (PDF, PNG or JPEG).", "file")
    if len(entry.content) > MAX_FILE_BYTES:
        raise CertificateError(f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB.", "file")
    kind = file_type(entry.content)
    if kind is None:
        raise CertificateError("The file is not a PDF, PNG or JPEG: attach the certificate as the laboratory sent "
                               "it, or a scan of it.", "file")
    return kind


def _points_json(points: Sequence[Point]) -> str:
    return json.dumps([[p.reference_c, p.measured_c] for p in points], separators=(",", ":"))


def record(session: so.Session, sensor: m.Sensor, entry: Entry, *, actor: str, now: datetime,
           config: Config | None = None) -> m.CalibrationCertificate:
    """Record a certificate in the caller's transaction (audited; its file kept with its SHA-256). Its dates are
    checked against today at the sensor's site (UTC's date for a sensor in no fridge)."""
    fridge = session.get(m.Fridge, sensor.fridge_id) if sensor.fridge_id is not None else None
    kind = check_entry(entry, today_at(now, *([fridge.site.timezone] if fridge is not None else [])))
    row = m.CalibrationCertificate(
        sensor_id=sensor.id, number=entry.number.strip(), laboratory=entry.laboratory.strip(),
        accreditation_body=entry.accreditation_body.strip(), accreditation_number=entry.accreditation_number.strip(),
        calibrated_on=entry.calibrated_on, due_on=entry.due_on, model=entry.model.strip(), serial=entry.serial.strip(),
        points=_points_json(entry.points), uncertainty_c=entry.uncertainty_c, lab_result=entry.lab_result,
        file_name=(entry.file_name or "certificate").strip()[:255], file_type=kind, file_size=len(entry.content),
        file_sha256=hashlib.sha256(entry.content).hexdigest(), content=entry.content, recorded_by=actor,
        recorded_at=now)
    session.add(row)
    session.flush()
    cert = value(row)
    verdict = calibration.problems(cert, limits(config))
    audit_trail.record(
        session, at=now, actor=actor, action="record", record_type="calibration_certificate", record_id=row.id,
        field=sensor.id, new=json.dumps({"number": row.number, "laboratory": row.laboratory,
                                         "accreditation": f"{row.accreditation_body} {row.accreditation_number}",
                                         "calibrated_on": row.calibrated_on.isoformat(),
                                         "due_on": row.due_on.isoformat(), "model": row.model, "serial": row.serial,
                                         "points": json.loads(row.points), "uncertainty_c": row.uncertainty_c,
                                         "lab_result": row.lab_result, "file": row.file_name,
                                         "file_sha256": row.file_sha256}, ensure_ascii=False),
        reason="certificate of calibration " + ("passes" if not verdict else f"fails: {'; '.join(verdict)}"))
    return row


def value(row: m.CalibrationCertificate | sa.Row[tuple[object, ...]]) -> Certificate:
    points = tuple(Point(float(ref), float(measured)) for ref, measured in json.loads(row.points))
    return Certificate(row.id, row.sensor_id, row.number, row.laboratory, row.accreditation_body,
                       row.accreditation_number, row.calibrated_on, row.due_on, row.model, row.serial, points,
                       row.uncertainty_c, row.lab_result)


COLUMNS = [c for c in m.CalibrationCertificate.__table__.columns if c.name != "content"]


def of_sensors(conn: sa.Connection, sensor_ids: Iterable[str]) -> dict[str, list[Certificate]]:
    """Every certificate of these sensors, oldest calibration first (files not read)."""
    ids = sorted(set(sensor_ids))
    found: dict[str, list[Certificate]] = defaultdict(list)
    if not ids:
        return found
    c = m.CalibrationCertificate
    for row in conn.execute(sa.select(*COLUMNS).where(c.sensor_id.in_(ids)).order_by(c.calibrated_on, c.id)):
        found[row.sensor_id].append(value(row))
    return found


def rows_of(conn: sa.Connection, sensor_id: str) -> list[sa.Row[tuple[object, ...]]]:
    """A sensor's certificates as stored (file metadata, not the file), newest first."""
    c = m.CalibrationCertificate
    return list(conn.execute(sa.select(*COLUMNS).where(c.sensor_id == sensor_id)
                             .order_by(c.calibrated_on.desc(), c.id.desc())))


def content(conn: sa.Connection, certificate_id: int) -> tuple[str, str, str, bytes] | None:
    """A certificate's file as recorded: (file name, type, SHA-256, bytes)."""
    c = m.CalibrationCertificate
    row = conn.execute(sa.select(c.file_name, c.file_type, c.file_sha256, c.content)
                       .where(c.id == certificate_id)).first()
    return (row.file_name, row.file_type, row.file_sha256, row.content) if row else None


def statuses(conn: sa.Connection, sensor_ids: Iterable[str], today: date,
             config: Config | None = None) -> dict[str, calibration.Status]:
    """Each sensor's calibration on ``today``."""
    return statuses_on(conn, {sid: today for sid in sensor_ids}, config)


def statuses_on(conn: sa.Connection, days: Mapping[str, date], config: Config | None = None
                ) -> dict[str, calibration.Status]:
    """Each sensor's calibration on its own day (``days``: sensor id → today at its site)."""
    certs = of_sensors(conn, list(days))
    bounds = limits(config)
    return {sid: calibration.status(certs.get(sid, []), day, bounds) for sid, day in days.items()}


def due_dates(conn: sa.Connection, sensors: Sequence[tuple[str, date | None]]) -> dict[str, date | None]:
    """The date each sensor's calibration falls due: its newest certificate's, or (with none recorded) the due
    date entered on the sensor before the register."""
    certs = of_sensors(conn, [sid for sid, _ in sensors])
    out = {}
    for sid, legacy in sensors:
        newest = calibration.in_force(certs.get(sid, []), date.max)
        out[sid] = newest.due_on if newest is not None else legacy
    return out


def not_calibrated(conn: sa.Connection, fridges: Iterable[tuple[int, Sequence[str], date]],
                   config: Config | None = None) -> dict[int, list[str]]:
    """The sensors of each fridge that are not calibrated on its site's ``today``: (fridge id, sensor ids, today)
    each."""
    wanted = list(fridges)
    certs = of_sensors(conn, [sid for _fid, ids, _today in wanted for sid in ids])
    bounds = limits(config)
    return {fid: [sid for sid in ids if not calibration.status(certs.get(sid, []), today, bounds).calibrated]
            for fid, ids, today in wanted}
