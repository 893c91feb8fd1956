"""Certificates of calibration as CSV (``export calibrations``, ``calibrations.csv`` in bundles) and their files.

A period's certificates are those of the sensors that were in the chosen
fridges during it (all sensors for every fridge) whose validity, from the
calibration date to the due date, overlaps the period's days.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, TextIO
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from fridge_monitor.core import calibration, csv_cells
from fridge_monitor.core.calibration import Limits
from fridge_monitor.core.times import iso_utc
from fridge_monitor.store import calibrations
from fridge_monitor.store import models as m

CALIBRATIONS_HEADER = ["id", "sensor", "number", "laboratory", "accreditation_body", "accreditation_number",
                       "calibrated_on", "due_on", "model", "serial", "points", "uncertainty_c", "lab_result", "passes",
                       "problems", "file_name", "file_sha256", "file_bytes", "bundle_path", "recorded_by",
                       "recorded_at_utc"]


def of_period(engine: sa.Engine, start: datetime, end: datetime, fridge: str | None = None) -> list[Any]:
    """The certificates (file metadata, not the files) for [start, end), oldest first."""
    c, a, f = m.CalibrationCertificate, m.SensorAssignment, m.Fridge
    query = (sa.select(*calibrations.COLUMNS)
             .where(c.calibrated_on <= (end - timedelta(microseconds=1)).date(), c.due_on >= start.date())
             .order_by(c.sensor_id, c.calibrated_on, c.id))
    if fridge is not None:
        held = (sa.select(a.sensor_id).join(f, f.id == a.fridge_id)
                .where(f.name == fridge, sa.or_(a.since.is_(None), a.since < end),
                       sa.or_(a.until.is_(None), a.until > start)))
        query = query.where(c.sensor_id.in_(held))
    with engine.connect() as conn:
        return list(conn.execute(query))


def bundle_path(row: Any) -> str:
    """Where a certificate's file lies in a bundle: ``calibration_certificates/<sensor>/<id>_<file name>``."""
    return f"calibration_certificates/{_safe(row.sensor_id)}/{row.id}_{_safe(row.file_name)}"


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)


def export_calibrations(engine: sa.Engine, out: TextIO, start: datetime, end: datetime, *,
                        fridge: str | None = None, limits: Limits | None = None) -> int:
    """One row per certificate: what it says, whether it passes and why not, and its file's SHA-256."""
    bounds = limits or Limits()
    rows = []
    for row in of_period(engine, start, end, fridge):
        cert = calibrations.value(row)
        found = calibration.problems(cert, bounds)
        rows.append([row.id, row.sensor_id, row.number, row.laboratory, row.accreditation_body,
                     row.accreditation_number, row.calibrated_on.isoformat(), row.due_on.isoformat(), row.model,
                     row.serial, json.dumps(json.loads(row.points)), repr(row.uncertainty_c), row.lab_result,
                     "false" if found else "true", "; ".join(found), row.file_name, row.file_sha256, row.file_size,
                     bundle_path(row), row.recorded_by, iso_utc(row.recorded_at)])
    return csv_cells.write_all(out, CALIBRATIONS_HEADER, rows)


class DeviceCalibration:
    """Whether a reading was taken by a calibrated device: its sensor's calibrated spans (from its fridge's site's
    midnights), compared as ISO UTC text to the second, so that a large export pays a dictionary lookup a row."""

    def __init__(self, engine: sa.Engine, limits: Limits) -> None:
        f, s = m.Fridge, m.Site
        with engine.connect() as conn:
            ids = conn.scalars(sa.select(m.CalibrationCertificate.sensor_id).distinct()).all()
            self.certificates = calibrations.of_sensors(conn, ids)
            self.zones = {name: zone for name, zone in conn.execute(
                sa.select(f.name, s.timezone).join(s, s.id == f.site_id))}
        self.limits = limits
        self.spans: dict[tuple[str, str | None], list[tuple[str, str]]] = {}

    def flag(self, sensor: str, fridge: str | None, measured: str) -> str:
        """``true`` or ``false`` for a reading at ``measured`` (ISO UTC text)."""
        if sensor not in self.certificates:
            return "false"
        key = (sensor, fridge)
        spans = self.spans.get(key)
        if spans is None:
            zone = ZoneInfo(self.zones.get(fridge or "", "UTC"))
            spans = self.spans[key] = [
                (iso_utc(lo, "seconds")[:19], iso_utc(hi, "seconds")[:19] if hi is not None else "9999")
                for lo, hi in calibration.calibrated_spans(self.certificates[sensor], zone, self.limits)]
        second = measured[:19]
        return "true" if any(lo <= second < hi for lo, hi in spans) else "false"
