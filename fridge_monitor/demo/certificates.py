"""The demo's certificates of calibration: one per sensor, from a simulated accredited laboratory, each with its
PDF; most a year from due, one falling due within the month (so its `calibration-due` warning shows)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.core.calibration import Point
from fridge_monitor.store import calibrations
from fridge_monitor.store import models as m

LABORATORY = ("Kältemesstechnik Labor GmbH (simulated)", "DAkkS", "D-K-99999-01-00")
POINTS = ((-0.0, 0.1), (5.0, 5.2), (8.0, 7.8))
DUE_SOON = "Vaccines A"  # its sensors fall due within the month


def seed_certificates(engine: sa.Engine, sensors_by_fridge: dict[str, list[str]], now: datetime) -> None:
    """A passing certificate for every sensor that has none yet (the demo restarts on its own data)."""
    from sensors.calibration_certificates import certificate_pdf

    today = now.date()
    with so.Session(engine) as session, session.begin():
        have = set(session.scalars(sa.select(m.CalibrationCertificate.sensor_id)))
        number = 0
        for fridge, sensor_ids in sorted(sensors_by_fridge.items()):
            for index, sensor_id in enumerate(sensor_ids):
                number += 1
                sensor = session.get(m.Sensor, sensor_id)
                if sensor is None or sensor_id in have:
                    continue
                # Primary and backup staggered by half a year; the one fridge due soon shows the warning.
                due = today + (timedelta(days=20) if fridge == DUE_SOON else timedelta(days=400 + 180 * index))
                calibrated = date(due.year - 2, due.month, min(due.day, 28))
                serial = f"SN-{sensor_id.split(':')[-1].upper()[:12]}"
                cert = f"DEMO-CAL-{calibrated.year}-{number:04d}"
                pdf = certificate_pdf(cert, laboratory=LABORATORY[0], accreditation=f"{LABORATORY[1]} {LABORATORY[2]}",
                                      model="Demo probe", serial=serial, calibrated_on=calibrated, due_on=due,
                                      points=POINTS, uncertainty_c=0.2)
                calibrations.record(session, sensor, calibrations.Entry(
                    cert, LABORATORY[0], LABORATORY[1], LABORATORY[2], calibrated, due, "Demo probe", serial,
                    tuple(Point(ref, measured) for ref, measured in POINTS), 0.2, "pass", f"{cert}.pdf", pdf),
                    actor="demo", now=now)
