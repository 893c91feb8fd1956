"""The calibration certificate register on both databases: an admin records certificates with their files on the
sensor's page; an expired one turns the fridge's tile to "not calibrated", raises `calibration-expired` and marks
the sensor's readings in `export readings`; a current one clears all three; auditors read certificates and their
files but cannot record one; bundles carry the files with their hashes."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from test_alert_pages import text as text_of

from fridge_monitor.alerts.evaluate import Evaluator
from fridge_monitor.core.readings import Reading
from fridge_monitor.ingest.batches import Batch, Store
from fridge_monitor.reports import bundle
from fridge_monitor.store import models as m
from sensors.calibration_certificates import certificate_pdf

from support import STAFF, cli, client_for, clinic_app, clinic_config, csrf

NOW = datetime.now(UTC).replace(microsecond=0)
TODAY = NOW.date()


def form(number: str, calibrated: date, due: date, points: list[tuple[str, str]], *, uncertainty: str = "0.2",
         pdf: bytes | None = None, file_name: str = "certificate.pdf") -> dict[str, object]:
    body: dict[str, object] = {
        "number": number, "laboratory": "Thermo Lab GmbH", "accreditation_body": "DAkkS",
        "accreditation_number": "D-K-15070-01-00", "calibrated_on": calibrated.isoformat(),
        "due_on": due.isoformat(), "model": "TempTrak 5", "serial": "SN-88412", "uncertainty_c": uncertainty,
        "lab_result": "pass"}
    for index, (reference, measured) in enumerate(points):
        body[f"reference-{index}"], body[f"measured-{index}"] = reference, measured
    if pdf is not None:
        body["file"] = (io.BytesIO(pdf), file_name)
    return body


def test_certificates_judge_the_sensor_on_tile_alerts_and_exports(database_url, engine_for, tmp_path: Path):
    engine = engine_for(database_url)
    config = clinic_config([{"name": "A1", "site": "Clinic A", "sensors": ["native:a1"]}], database_url,
                           web={"secret_key": "s" * 40})
    app = clinic_app(engine, config, STAFF, NOW, NOW - timedelta(days=800))
    year_ago = NOW - timedelta(days=365)
    Store(engine).write(Batch(readings=[(Reading("native:a1", "native", "a1", at, 5.0, 90), at)
                                        for at in (year_ago, NOW - timedelta(minutes=1))]))
    admin, auditor = client_for(app, engine, "ada"), client_for(app, engine, "aldo")
    url = "/calibration/native:a1"

    def tile() -> str:
        return text_of(auditor.get("/dashboard/tiles"))

    def export_flags() -> list[str]:
        done = cli("export", "readings", "--from", (TODAY - timedelta(days=400)).isoformat(), "--to",
                   TODAY.isoformat(), env={"FRIDGE_MONITOR_DATABASE_URL": database_url})
        assert done.returncode == 0, done.stderr
        return [row["calibrated_device"] for row in csv.DictReader(io.StringIO(done.stdout))]

    assert "Not calibrated: native:a1" in tile()
    assert "not calibrated: no certificate recorded" in text_of(auditor.get(url))
    assert export_flags() == ["false", "false"]

    # Refused with the error next to its field: no file; then a file that is no certificate.
    expired = form("CAL-2024-117", TODAY - timedelta(days=500), TODAY - timedelta(days=10),
                   [("0", "0.2"), ("5", "5.3"), ("8", "7.7")])
    missing = admin.post(url, data={**expired, "csrf_token": csrf(admin)}, content_type="multipart/form-data")
    assert missing.status_code == 400 and "Attach the certificate (PDF, PNG or JPEG)." in text_of(missing)
    wrong = admin.post(url, data={**expired, "csrf_token": csrf(admin), "file": (io.BytesIO(b"MZ..."), "x.exe")},
                       content_type="multipart/form-data")
    assert wrong.status_code == 400 and "The file is not a PDF, PNG or JPEG" in text_of(wrong)

    old_pdf = certificate_pdf("CAL-2024-117", laboratory="Thermo Lab GmbH", accreditation="DAkkS D-K-15070-01-00",
                              model="TempTrak 5", serial="SN-88412", calibrated_on=TODAY - timedelta(days=500),
                              due_on=TODAY - timedelta(days=10), points=[(0, 0.2), (5, 5.3), (8, 7.7)],
                              uncertainty_c=0.2)
    done = admin.post(url, data={**expired, "csrf_token": csrf(admin), "file": (io.BytesIO(old_pdf), "cal-117.pdf")},
                      content_type="multipart/form-data", follow_redirects=True)
    assert done.status_code == 200 and "Certificate CAL-2024-117 recorded for native:a1." in text_of(done)
    assert (f"not calibrated: certificate CAL-2024-117 expired on {(TODAY - timedelta(days=10)).isoformat()}"
            in text_of(done))
    assert "Not calibrated: native:a1" in tile()
    assert export_flags() == ["true", "false"]  # a year ago it was in force; today it has expired
    Evaluator(engine, config).everything()
    with engine.connect() as conn:
        kinds = conn.execute(sa.select(m.Alert.kind, m.Alert.severity, m.Alert.state)
                             .where(m.Alert.kind.like("calibration%"))).all()
    assert [tuple(k) for k in kinds] == [("calibration-expired", "alarm", "open")]

    # An auditor reads the certificate and its file, unaltered, but may not record one.
    page = auditor.get(url).get_data(as_text=True)
    assert "CAL-2024-117" in page and hashlib.sha256(old_pdf).hexdigest() in page and "Record a certificate" not in page
    with engine.connect() as conn:
        first_id = conn.scalar(sa.select(m.CalibrationCertificate.id))
    got = auditor.get(f"/calibration-certificates/{first_id}/file")
    assert got.data == old_pdf and got.headers["X-Content-SHA256"] == hashlib.sha256(old_pdf).hexdigest()
    assert auditor.post(url, data={"csrf_token": csrf(auditor)}).status_code == 403

    # A new certificate with a point 0.6 °C off is recorded, and fails; then a passing one calibrates the sensor.
    off = admin.post(url, data={**form("CAL-2026-5", TODAY - timedelta(days=2), TODAY + timedelta(days=730),
                                       [("5", "5.6")], pdf=old_pdf), "csrf_token": csrf(admin)},
                     content_type="multipart/form-data", follow_redirects=True)
    assert "not calibrated: certificate CAL-2026-5 fails (at 5 °C it measured 5.6 °C, off by 0.60 °C" in text_of(off)
    good = admin.post(url, data={**form("CAL-2026-6", TODAY - timedelta(days=1), TODAY + timedelta(days=730),
                                        [("0", "0.1"), ("5", "4.8")], pdf=old_pdf), "csrf_token": csrf(admin)},
                      content_type="multipart/form-data", follow_redirects=True)
    assert "calibrated (certificate CAL-2026-6, due " in text_of(good)
    assert "Not calibrated" not in tile()
    assert export_flags() == ["true", "true"]
    Evaluator(engine, config).everything()
    with engine.connect() as conn:
        states = conn.execute(sa.select(m.Alert.kind, m.Alert.state).where(m.Alert.kind.like("calibration%"))).all()
    assert [tuple(s) for s in states] == [("calibration-expired", "resolved")]
    # The fridge page flags the missing backup device.
    assert "This fridge has no backup sensor" in text_of(auditor.get("/fridges/A1"))

    # Exports: the register as CSV, and the files in a bundle under their recorded hashes.
    listed = cli("export", "calibrations", "--from", (TODAY - timedelta(days=30)).isoformat(), "--to",
                 TODAY.isoformat(), env={"FRIDGE_MONITOR_DATABASE_URL": database_url})
    assert listed.returncode == 0, listed.stderr
    rows = list(csv.DictReader(io.StringIO(listed.stdout)))
    assert [(r["number"], r["passes"]) for r in rows] == [
        ("CAL-2024-117", "true"), ("CAL-2026-5", "false"), ("CAL-2026-6", "true")]
    made = bundle.build(engine, config, bundle.Request(NOW - timedelta(days=20), NOW + timedelta(hours=1)),
                        tmp_path / "b.zip", actor="aldo")
    with zipfile.ZipFile(made.path) as archive:
        document = json.loads(archive.read("manifest.json"))
        files = [name for name in archive.namelist() if name.startswith("calibration_certificates/")]
        assert len(files) == 3
        for name in files:
            assert document["files"][name]["sha256"] == hashlib.sha256(archive.read(name)).hexdigest()
        assert archive.read(files[0]) == old_pdf
    assert cli("audit", "verify", str(made.path)).returncode == 0
