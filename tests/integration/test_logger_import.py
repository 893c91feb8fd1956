"""Issue #14's must-show: a Fridge-tag 2 L download joins the fridge's record, on both databases.

Its logged readings are stored once (again: nothing added), its daily history
is kept as device days that agree with the daily log computed from the
readings, its own alarm opens exactly one alert, and a Botox lot in the
fridge goes under review as it would for live readings.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
import zipfile
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so
from test_monthly_report import pdf_text

from fridge_monitor.alerts.evaluate import Evaluator
from fridge_monitor.core import lots, manifest
from fridge_monitor.inventory import catalog
from fridge_monitor.inventory import ledger as inventory
from fridge_monitor.loggers.importing import Importer, ImportRefused, Request
from fridge_monitor.reports import bundle
from fridge_monitor.reports import monthly as report
from fridge_monitor.reports.temperature_log import daily_log
from fridge_monitor.store import logger_files
from fridge_monitor.store import models as m
from fridge_monitor.store.sync import sync_declarations
from sensors.logger_files import fridge_tag_report, logtag_csv

from lot_state import lot_status
from support import STAFF, client_for, clinic_app, clinic_config, csrf

BERLIN = ZoneInfo("Europe/Berlin")
SERIAL = "130500109088"


def trace(days: int, extra_minutes: int) -> list[float]:
    """Minute temperatures from local midnight: 4-6 °C, with 11 h at 9.5 °C from 08:00 on the second day."""
    values = []
    for i in range(days * 1440 + extra_minutes):
        warm = 1440 + 8 * 60 <= i < 1440 + 19 * 60
        values.append(9.5 if warm else round(5.0 + math.sin(i / 97) * 0.9, 1))
    return values


@pytest.fixture
def clinic(database_url: str, make_config: Callable[..., Any], engine_for: Callable[[str], sa.Engine]) -> Any:
    config, _ = make_config(database_url, sites=[{"name": "Clinic", "timezone": "Europe/Berlin"}],
                            fridges=[{"name": "F1", "site": "Clinic", "sensors": []}])
    engine = engine_for(database_url)
    sync_declarations(engine, config, datetime.now(UTC) - timedelta(days=10))
    return config, engine


def test_a_fridge_tag_download_joins_the_record_once(clinic: Any) -> None:
    config, engine = clinic
    start = datetime.combine(datetime.now(BERLIN).date() - timedelta(days=4), datetime.min.time())
    minutes = trace(3, 600)
    report = fridge_tag_report(SERIAL, start, minutes)
    with so.Session(engine, expire_on_commit=False) as session, session.begin():
        fridge_id = session.scalar(sa.select(m.Fridge.id).where(m.Fridge.name == "F1"))
        botox = session.scalar(sa.select(m.Product.id).where(m.Product.catalogue_key == "botox"))
        lot = catalog.lot_for(session, product_id=botox, lot_number="C1234", expiry=date(2028, 1, 31),
                              actor="nurse.ana", now=datetime.now(UTC) - timedelta(days=6))
        inventory.receive(session, lot_id=lot.id, fridge_id=fridge_id, quantity=4, actor="nurse.ana",
                          now=datetime.now(UTC) - timedelta(days=6))
    importer = Importer(engine, config)

    first = importer.import_file("F1", Request(f"{SERIAL}_x.txt", report), "nurse.ana")
    rows = len(range(0, len(minutes), 5))
    assert (first.data_rows, first.new_readings, first.days, first.new_days) == (rows, rows, 4, 4)
    assert (first.sensor_id, first.role, first.already) == (f"fridgetag:{SERIAL}", "primary", None)
    assert first.signature == "no device signature"
    again = importer.import_file("F1", Request(f"{SERIAL}_x.txt", report), "nurse.ana")
    assert (again.new_readings, again.new_days) == (0, 0)
    assert again.already is not None and again.already[1] == "nurse.ana"

    with so.Session(engine) as session:
        stored = session.scalar(sa.select(sa.func.count()).select_from(m.Reading)
                                .where(m.Reading.sensor_id == f"fridgetag:{SERIAL}"))
        kept = session.execute(sa.select(m.LoggerFile.file_name, m.LoggerFile.content)).all()
        alerts = session.execute(sa.select(m.Alert.rule, m.Alert.started_at, m.Alert.state)
                                 .where(m.Alert.rule == "logger-heat")).all()
        other_alerts = session.scalars(sa.select(m.Alert.kind).where(m.Alert.kind == "no-data")).all()
        status = lot_status(session, lot.id, now=datetime.now(UTC), tz=BERLIN)
        audited = session.scalars(sa.select(m.AuditEvent.reason).where(m.AuditEvent.action == "import")).all()
    assert stored == rows
    assert kept == [(f"{SERIAL}_x.txt", report)]  # once, byte for byte
    assert len(audited) == 2 and audited[1].endswith("(the same file again)")
    # The device counted 660 min above 8 °C on the second day, alarming at 600: one alert, from 18:00 that day.
    warm_day = start.date() + timedelta(days=1)
    assert alerts == [("logger-heat", datetime.combine(warm_day, datetime.min.time().replace(hour=18))
                       .replace(tzinfo=BERLIN).astimezone(UTC), "resolved")]
    assert other_alerts == []  # a logger is read when downloaded: its silence is no alarm
    assert status == lots.Status.UNDER_REVIEW

    # Each complete day's extremes from the logged readings lie within the device's own (it sampled every minute).
    with engine.connect() as conn:
        device = {d.day: d for d in logger_files.device_days(conn, [f"fridgetag:{SERIAL}"], start.date(),
                                                             start.date() + timedelta(days=3))}
    log = {d.day: d for d in daily_log(engine, fridge_id, start.date(), start.date() + timedelta(days=2),
                                       config=config)}
    assert sorted(log) == [start.date() + timedelta(days=k) for k in range(3)]
    for day, logged in log.items():
        assert device[day].complete
        assert logged.stats.min_c is not None and logged.stats.max_c is not None
        assert device[day].min_c <= logged.stats.min_c <= logged.stats.max_c <= device[day].max_c, day
    assert not device[start.date() + timedelta(days=3)].complete


def test_a_damaged_file_writes_nothing_and_names_its_line(clinic: Any) -> None:
    config, engine = clinic
    start = datetime.combine(datetime.now(BERLIN).date() - timedelta(days=2), datetime.min.time())
    report = fridge_tag_report(SERIAL, start, trace(1, 60)).replace(b"\t5.0\r\n", b"\tfive\r\n", 1)
    with pytest.raises(ImportRefused, match=r"^damaged.txt: line \d+: temperature 'five' is not a number$"):
        Importer(engine, config).import_file("F1", Request("damaged.txt", report), "nurse.ana")
    with engine.connect() as conn:
        counts = [conn.scalar(sa.select(sa.func.count()).select_from(table))
                  for table in (m.Reading, m.LoggerFile, m.DeviceDay)]
        sensors = conn.scalars(sa.select(m.Sensor.id)).all()
    assert counts == [0, 0, 0] and sensors == []


def test_a_fridge_with_only_a_logger_is_overdue_without_a_weekly_download(clinic: Any) -> None:
    config, engine = clinic
    now = datetime.now(UTC)
    start = datetime.combine(datetime.now(BERLIN).date() - timedelta(days=12), datetime.min.time())

    def import_at(moment: datetime, report: bytes, name: str) -> None:
        Importer(engine, config, clock=lambda: moment).import_file("F1", Request(name, report), "nurse.ana")

    def overdue() -> list[tuple[str, str]]:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sa.select(m.Alert.severity, m.Alert.state)
                                                      .where(m.Alert.kind == "logger-overdue"))]

    import_at(now - timedelta(days=9), fridge_tag_report(SERIAL, start, trace(2, 0), data=False), "first.txt")
    Evaluator(engine, config).everything()
    assert overdue() == [("warning", "open")]  # nine days since the last download, more than the week allowed
    later = datetime.combine(datetime.now(BERLIN).date() - timedelta(days=3), datetime.min.time())
    import_at(now, fridge_tag_report(SERIAL, later, trace(2, 0), data=False), "second.txt")
    assert overdue() == [("warning", "resolved")]
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(m.DeviceDay)) == 4


def test_nurses_upload_several_files_on_the_fridge_page_and_auditors_may_only_read(
        database_url: str, engine_for: Callable[[str], sa.Engine]) -> None:
    engine = engine_for(database_url)
    config = clinic_config([{"name": "F1", "site": "Clinic A", "sensors": []}], database_url)
    app = clinic_app(engine, config, STAFF, datetime.now(UTC), datetime.now(UTC) - timedelta(days=10))
    start = datetime.combine(datetime.now(BERLIN).date() - timedelta(days=4), datetime.min.time())
    tag = fridge_tag_report(SERIAL, start, trace(3, 600)) + b"Cert:\r\n Vers: 1.0\r\nSig: 00ff\r\n"
    backup = logtag_csv("D0C500100160", start, [5.0 + (k % 7) * 0.1 for k in range(12 * 24 * 3)])
    nurse, auditor = client_for(app, engine, "nina"), client_for(app, engine, "aldo")
    token = csrf(nurse)

    answer = nurse.post("/fridges/F1/logger-files", data={
        "csrf_token": token, "format": "auto",
        "files": [(io.BytesIO(tag), f"{SERIAL}_202612021014.txt"), (io.BytesIO(backup), "logtag.csv")]},
        content_type="multipart/form-data")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200, page
    assert "984 of 984" in page and "864 of 864" in page  # new readings of each file
    assert "4 of 4" in page  # the Fridge-tag's device days
    assert "Logger alarm: above 8.0 °C for 600 min (fridgetag:130500109088)" in page
    assert "dates read day-first (15/11/2024)" in page

    dashboard = auditor.get("/").get_data(as_text=True)
    assert f"Last logger download: {datetime.now(BERLIN):%d %b %Y}" in dashboard
    fridge = auditor.get("/fridges/F1?range=week").get_data(as_text=True)
    assert f"{SERIAL}_202612021014.txt" in fridge and "logtag.csv" in fridge and "device-days" in fridge
    assert 'action="/fridges/F1/logger-files"' not in fridge  # an auditor reads, and uploads nothing
    # The Fridge-tag's signature trailer is kept and shown, and never said to be verified.
    assert "device signature present, not verified" in fridge and "Sig: 00ff" in fridge
    with engine.connect() as conn:
        file_id = conn.scalar(sa.select(m.LoggerFile.id).where(m.LoggerFile.file_name == "logtag.csv"))
    got = auditor.get(f"/fridges/F1/logger-files/{file_id}")
    assert got.status_code == 200 and got.data == backup
    assert auditor.post("/fridges/F1/logger-files", data={"csrf_token": csrf(auditor)}).status_code == 403

    refused = nurse.post("/fridges/F1/logger-files", data={
        "csrf_token": token, "files": [(io.BytesIO(b"Device: Q-tag\r\nConf:\r\n"), "broken.txt")]},
        content_type="multipart/form-data")
    assert refused.status_code == 400
    assert "broken.txt: line 2: the report&#39;s Conf section names no Serial" in refused.get_data(as_text=True)


def test_export_bundles_carry_the_files_as_imported_and_the_device_days(clinic: Any, tmp_path: Any) -> None:
    config, engine = clinic
    start = datetime.combine(datetime.now(BERLIN).date() - timedelta(days=4), datetime.min.time())
    report = fridge_tag_report(SERIAL, start, trace(3, 600))
    Importer(engine, config).import_file("F1", Request(f"{SERIAL}_x.txt", report), "nurse.ana")
    period = bundle.Request(datetime.now(UTC) - timedelta(days=7), datetime.now(UTC) + timedelta(days=1), ("F1",))
    out = tmp_path / "bundle.zip"
    bundle.build(engine, config, period, out, actor="auditor.aldo")

    with zipfile.ZipFile(out) as archive:
        assert manifest.verify_bundle(archive) == []
        document = json.loads(archive.read(manifest.MANIFEST))
        kept = archive.read(f"logger_files/F1/1_{SERIAL}_x.txt")
        index = list(csv.DictReader(io.StringIO(archive.read("logger_files.csv").decode())))
        days = list(csv.DictReader(io.StringIO(archive.read("device_days.csv").decode())))
    assert kept == report
    assert document["files"][f"logger_files/F1/1_{SERIAL}_x.txt"]["sha256"] == hashlib.sha256(report).hexdigest()
    assert [(row["file_name"], row["sha256"], row["bundle_path"]) for row in index] == [
        (f"{SERIAL}_x.txt", hashlib.sha256(report).hexdigest(), f"logger_files/F1/1_{SERIAL}_x.txt")]
    assert [row["day"] for row in days] == [(start.date() + timedelta(days=k)).isoformat() for k in range(4)]
    assert days[1]["alarms_triggered"] == "logger-heat#1" and days[1]["max_c"] == "9.50"


def test_the_monthly_pdf_shows_the_device_days_beside_the_computed_ones(clinic: Any, tmp_path: Any) -> None:
    config, engine = clinic
    start = datetime.combine(datetime.now(BERLIN).date() - timedelta(days=4), datetime.min.time())
    Importer(engine, config).import_file("F1", Request("tag.txt", fridge_tag_report(SERIAL, start, trace(3, 600))),
                                         "nurse.ana")
    warm = start.date() + timedelta(days=1)
    path = tmp_path / "month.pdf"
    path.write_bytes(report.monthly_pdf(engine, "F1", warm.year, warm.month, generated_by="aldo",
                                       now=datetime.now(UTC), config=config))
    text = " ".join(pdf_text(path).split())
    assert "Data logger's own days (device values)" in text
    # The warm day: the device's 9.5 °C maximum, its alarm minutes, and the readings' range beside them.
    assert re.search(rf"{warm:%d %a} fridgetag:{SERIAL} [\d.]+ °C \d\d:\d\d 9\.5 °C 08:00 [\d.]+ °C "
                     r"logger-heat 660 min \(alarm\) [\d.]+ °C \.\. 9\.5 °C", text), text


def test_a_fridge_tag_2_without_logging_makes_its_device_days_the_daily_log(
        database_url: str, engine_for: Callable[[str], sa.Engine], tmp_path: Any) -> None:
    engine = engine_for(database_url)
    config = clinic_config([{"name": "F1", "site": "Clinic A", "sensors": []}], database_url)
    app = clinic_app(engine, config, STAFF, datetime.now(UTC), datetime.now(UTC) - timedelta(days=10))
    start = datetime.combine(datetime.now(BERLIN).date() - timedelta(days=3), datetime.min.time())
    history_only = fridge_tag_report(SERIAL, start, trace(2, 120), model="Q-tag Fridge-tag 2", data=False)
    with so.Session(engine, expire_on_commit=False) as session, session.begin():
        fridge_id = session.scalar(sa.select(m.Fridge.id).where(m.Fridge.name == "F1"))
        botox = session.scalar(sa.select(m.Product.id).where(m.Product.catalogue_key == "botox"))
        lot = catalog.lot_for(session, product_id=botox, lot_number="C77", expiry=date(2028, 1, 31), actor="nina",
                              now=datetime.now(UTC) - timedelta(days=6))
        inventory.receive(session, lot_id=lot.id, fridge_id=fridge_id, quantity=2, actor="nina",
                          now=datetime.now(UTC) - timedelta(days=6))
    result = Importer(engine, config).import_file("F1", Request("ft2.txt", history_only), "nina")
    assert result.data_rows == 0 and result.days == 3
    assert result.alerts[0] == f"Logger alarm: above 8.0 °C for 600 min (fridgetag:{SERIAL})"
    # No readings to judge: the lot is put under review by the logger's own alarm and its 9.5 °C maximum.
    with so.Session(engine) as session:
        review = session.execute(sa.select(m.LotReview.started_at, m.LotReview.peak_c, m.LotReview.reason)
                                 .where(m.LotReview.lot_id == lot.id)).one()
        status = lot_status(session, lot.id, now=datetime.now(UTC), tz=BERLIN)
    warm_day = start.date() + timedelta(days=1)
    assert review.started_at == datetime.combine(warm_day, datetime.min.time().replace(hour=18)).replace(
        tzinfo=BERLIN).astimezone(UTC)
    assert review.peak_c == 9.5 and "as its data logger recorded the days" in review.reason
    assert status == lots.Status.UNDER_REVIEW
    assert "Lot C77" in " ".join(result.alerts)
    Evaluator(engine, config).everything()  # judging again by time (the scheduler) keeps it
    with so.Session(engine) as session:
        assert lot_status(session, lot.id, now=datetime.now(UTC), tz=BERLIN) == lots.Status.UNDER_REVIEW
    page = client_for(app, engine, "aldo").get("/fridges/F1?range=week").get_data(as_text=True)
    assert "the data logger's own days above are this fridge's daily log" in page
    warm = (start + timedelta(days=1)).date().isoformat()
    row = page[page.index(f'<tr data-day="{warm}">', page.index("device-days")):]
    assert "9.5 °C" in row[:row.index("</tr>")] and "logger-heat: 660 min (alarm)" in row[:row.index("</tr>")]

    path = tmp_path / "month.pdf"
    day = start.date() + timedelta(days=1)
    path.write_bytes(report.monthly_pdf(engine, "F1", day.year, day.month, generated_by="aldo",
                                       now=datetime.now(UTC), config=config))
    assert "these days are its daily log" in " ".join(pdf_text(path).split())
