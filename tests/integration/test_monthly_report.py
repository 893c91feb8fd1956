"""The monthly temperature log as PDF, on SQLite and PostgreSQL: read back with poppler's pdftotext.

A November in Berlin: readings every 30 minutes, one compressor failure on the
12th (judged and acknowledged), two silent days, a lot under review with its
disposition; then the PDF from the core, the CLI and the web page.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so
from click.testing import CliRunner

from fridge_monitor.alerts import handling as alerts
from fridge_monitor.alerts.evaluate import Evaluator
from fridge_monitor.cli import main
from fridge_monitor.config import build_config
from fridge_monitor.core.calibration import Point
from fridge_monitor.core.readings import Reading
from fridge_monitor.ingest.batches import Batch, Store
from fridge_monitor.inventory import catalog, lot_safety
from fridge_monitor.inventory import ledger as inventory
from fridge_monitor.reports import monthly as report
from fridge_monitor.reports.monthly.facts import gather
from fridge_monitor.reports.monthly.layout import render
from fridge_monitor.store import accounts, calibrations
from fridge_monitor.store import models as m
from fridge_monitor.store.sync import sync_config
from fridge_monitor.web import create_app

from support import REPO, missing_service

ARTIFACTS = REPO / "test-artifacts"
TZ = "Europe/Berlin"  # UTC+1 all November
MONTH_START = datetime(2026, 10, 31, 23, 0, tzinfo=UTC)  # 1 Nov 00:00 in Berlin
FAILURE = datetime(2026, 11, 12, 9, 0, tzinfo=UTC)  # 10:00 local: 9.5 °C for 90 minutes
SILENT_DAYS = (20, 21)
AFTER = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)  # when the report is made
ACTION = "Moved the vials to fridge B2 and labelled them DO NOT USE; called the manufacturer"


def temperature(at: datetime) -> float:
    if FAILURE <= at < FAILURE + timedelta(minutes=90):
        return 9.5
    return 4.0 + (at.hour % 6) * 0.3 + (at.day % 3) * 0.1  # 4.0 to 5.7 °C


def month_readings() -> list[tuple[Reading, datetime]]:
    out = []
    at = MONTH_START
    while at < MONTH_START + timedelta(days=30):
        if (at + timedelta(hours=1)).day not in SILENT_DAYS:
            out.append((Reading("native:a1", "native", "a1", at, temperature(at), 80.0), at))
        at += timedelta(minutes=30)
    return out


def need_poppler() -> None:
    if shutil.which("pdftotext") is None or shutil.which("pdftoppm") is None:
        missing_service("poppler-utils (pdftotext, pdftoppm)")


def pdf_text(path: Path) -> str:
    need_poppler()
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


@pytest.fixture
def month(database_url, engine_for):
    """(engine, config, auditor id): November 2026 of fridge A1, judged, acknowledged, with a reviewed lot."""
    engine = engine_for(database_url)
    config = build_config({
        "database": {"url": database_url},
        "web": {"secret_key": "k" * 40},
        "sites": [{"name": "Clinic Mitte", "timezone": TZ}],
        "fridges": [{"name": "A1", "site": "Clinic Mitte", "sensors": ["native:a1"]},
                    {"name": "Empty", "site": "Clinic Mitte"}],
    }, {}, {}, "test")
    with so.Session(engine) as session, session.begin():
        sync_config(session, config, MONTH_START - timedelta(days=30))
        nurse_id = accounts.create_user(session, "nurse.kim", "nurse", "long-enough-pw", actor="test",
                                        now=MONTH_START).id
        auditor_id = accounts.create_user(session, "ines.auditor", "auditor", "long-enough-pw", actor="test",
                                          now=MONTH_START).id
        a1 = session.scalar(sa.select(m.Fridge).where(m.Fridge.name == "A1"))
        calibrations.record(session, session.get(m.Sensor, "native:a1"), calibrations.Entry(
            "DAkkS-2025-0042", "Thermo Lab", "DAkkS", "D-K-1", date(2024, 11, 20), date(2026, 11, 20), "T5", "S1",
            (Point(5.0, 5.1),), 0.2, "pass", "c.pdf", b"%PDF-1.4 certificate"), actor="test",
            now=MONTH_START - timedelta(days=30))
        product = session.scalar(sa.select(m.Product).order_by(m.Product.id).limit(1))
        lot = catalog.lot_for(session, product_id=product.id, lot_number="C3456AB", expiry=date(2027, 6, 30),
                                actor="nurse.kim", now=MONTH_START - timedelta(days=2))
        inventory.receive(session, lot_id=lot.id, fridge_id=a1.id, quantity=4, actor="nurse.kim",
                          now=MONTH_START - timedelta(days=2))
        lot_id, product_name = lot.id, product.name
    Store(engine).write(Batch(readings=month_readings()))  # a logger's month, judged once after it
    evaluator = Evaluator(engine, config, clock=lambda: MONTH_START + timedelta(days=30))
    evaluator.everything()
    evaluator.outbox.close()
    with so.Session(engine) as session, session.begin():
        for alert in session.scalars(sa.select(m.Alert).where(m.Alert.excursion_id.is_not(None))):
            alerts.acknowledge(session, alert.id, session.get(m.User, nurse_id), ACTION, [],
                               FAILURE + timedelta(hours=2))
        # Evaluation put the lot under review for the episode it was exposed to.
        assert session.scalar(sa.select(m.LotReview.excursion_id).where(m.LotReview.lot_id == lot_id)) is not None
        lot_safety.record_disposition(session, lot_id=lot_id, decision="released", reference="MFR-2026-118",
                                      note=None, actor="nurse.kim", now=FAILURE + timedelta(days=1))
    return engine, config, auditor_id, product_name


def test_the_month_on_one_page_holds_days_excursion_lots_and_sensors(month, tmp_path, request):
    engine, _config, _auditor, product_name = month
    pdf = report.monthly_pdf(engine, "A1", 2026, 11, generated_by="ines.auditor", now=AFTER)
    assert pdf.startswith(b"%PDF-")
    path = tmp_path / "a1.pdf"
    path.write_bytes(pdf)
    text = pdf_text(path)
    flat = re.sub(r"\s+", " ", text)

    # Header
    for fact in ("Monthly temperature log", "Clinic Mitte", "A1", "refrigerator", "2.0 °C to 8.0 °C",
                 "November 2026", TZ, "cdc-refrigerator"):
        assert fact in flat, fact
    # Every day of the month, with min/max; the silent days say so.
    for day in range(1, 31):
        weekday = date(2026, 11, day).strftime("%a")
        assert f"{weekday} {day:02d}" in text, day
    twelfth = next(line for line in text.splitlines() if "Thu 12" in line)
    assert re.search(r"Thu 12\s+00:00 5\.7\s+4\.0\s+9\.5\s+1 h 30 min\s+1\s+OUT", twelfth), twelfth
    for day in SILENT_DAYS:
        line = next(line for line in text.splitlines() if date(2026, 11, day).strftime("%a") + f" {day}" in line)
        assert re.search(rf"{date(2026, 11, day):%a} {day}\s+no data", line), line
    assert re.search(r"Sun 01\s+00:00 5\.6\s+4\.1\s+5\.6\s+0 min\s+ok", text)
    # The excursion, who acknowledged it, when, and what they did.
    for rule in ("out-of-range", "heat"):
        line = next(line for line in text.splitlines() if line.startswith(rule))
        assert re.search(r"12 Nov 10:00\s+12 Nov 11:30\s+1 h 30 min\s+9\.5\s+9\.5\s+9\.5\s+nurse\.kim", line), line
    assert "12 Nov 12:00" in text  # when nurse.kim acknowledged
    assert "Moved the vials to fridge B2" in flat and "called the manufacturer" in flat
    # The lot and its disposition.
    assert "C3456AB" in text and product_name.split()[0] in flat
    assert "released, manufacturer's ref. MFR-2026-118" in flat
    # Sensors and calibration; summary; footer.
    assert "native:a1" in text and "DAkkS-2025-0042" in text
    assert "not calibrated: certificate DAkkS-2025-0042 expired on 2026-11-20" in flat
    assert re.search(r"Minimum\s+Maximum\s+Mean\s+MKT", text)
    assert "Generated 2026-12-02 08:00:00 UTC by ines.auditor" in flat
    with engine.connect() as conn:
        head = conn.execute(sa.select(m.AuditEvent.id, m.AuditEvent.hash).order_by(m.AuditEvent.id.desc())).first()
    assert f"event {head.id}, SHA-256 {head.hash}" in flat
    assert "page 1 of 1" in text
    assert "\u2212" not in text

    # Page 1 as a picture, for people to look at.
    ARTIFACTS.mkdir(exist_ok=True)
    stem = ARTIFACTS / f"monthly-report-{request.node.callspec.id}"
    subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(path), str(stem)],
                   check=True)
    assert stem.with_suffix(".png").stat().st_size > 10_000
    stem.with_suffix(".pdf").write_bytes(pdf)


def test_a_month_without_data_says_so_instead_of_an_empty_chart(month, tmp_path):
    engine, *_ = month
    path = tmp_path / "empty.pdf"
    path.write_bytes(report.monthly_pdf(engine, "Empty", 2026, 11, generated_by="ines.auditor", now=AFTER))
    flat = re.sub(r"\s+", " ", pdf_text(path))
    assert "No data: no reading was recorded for Empty in November 2026" in flat
    assert "Day of November 2026" not in flat  # the chart's axis title
    assert flat.count("no data") >= 30
    assert "No sensor was assigned to this fridge this month" in flat


def test_many_excursions_flow_onto_a_second_page(month, tmp_path):
    engine, *_ = month
    with so.Session(engine) as session:
        log = gather(session, "A1", 2026, 11, generated_by="x", now=AFTER)
    many = log.excursions * 40
    import dataclasses

    path = tmp_path / "long.pdf"
    path.write_bytes(render(dataclasses.replace(log, excursions=many)))
    text = pdf_text(path)
    pages = int(re.search(r"page 1 of (\d+)", text).group(1))
    assert pages >= 2 and f"page {pages} of {pages}" in text


def test_unknown_fridge_and_month_are_refused_in_words(month):
    engine, *_ = month
    with pytest.raises(report.ReportError, match="no fridge named 'Nope'"):
        report.monthly_pdf(engine, "Nope", 2026, 11, generated_by="x", now=AFTER)
    with pytest.raises(report.ReportError, match="has not begun yet"):
        report.monthly_pdf(engine, "A1", 2027, 1, generated_by="x", now=AFTER)
    for bad in ("2026-13", "11/2026", "2026-1", ""):
        with pytest.raises(report.ReportError, match="YYYY-MM"):
            report.parse_month(bad)
    assert report.parse_month("2026-11") == (2026, 11)


def test_an_auditor_downloads_the_pdf_from_the_fridge_page(month):
    engine, config, auditor_id, _ = month
    client = create_app(config, engine=engine, testing=True).test_client()
    with client.session_transaction() as session:
        session["user_id"] = auditor_id
    page = client.get("/fridges/A1").get_data(as_text=True)
    assert 'action="/fridges/A1/report.pdf"' in page and 'type="month"' in page
    response = client.get("/fridges/A1/report.pdf?month=2026-11")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == "attachment; filename=temperature-log-A1-2026-11.pdf"
    assert response.data.startswith(b"%PDF-")
    this_month = client.get("/fridges/A1/report.pdf")  # no month chosen: this month so far
    assert this_month.status_code == 200 and this_month.data.startswith(b"%PDF-")
    assert re.search(r"filename=temperature-log-A1-\d{4}-\d{2}\.pdf$", this_month.headers["Content-Disposition"])
    bad = client.get("/fridges/A1/report.pdf?month=November")
    assert bad.status_code == 400
    assert "the month must be written YYYY-MM, for example 2026-11" in bad.get_data(as_text=True)
    assert client.get("/fridges/Nope/report.pdf?month=2026-11").status_code == 404


def test_the_cli_writes_the_file_and_names_it(month, tmp_path, database_url):
    _engine, _config, _auditor, _ = month
    config_path = tmp_path / "fm.toml"
    config_path.write_text(f'[database]\nurl = "{database_url}"\n')
    out = tmp_path / "november.pdf"
    result = CliRunner().invoke(main, ["--config", str(config_path), "report", "monthly", "--fridge", "A1",
                                       "--month", "2026-11", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF-")
    assert f"written to {out}" in result.output
    bad = CliRunner().invoke(main, ["--config", str(config_path), "report", "monthly", "--fridge", "A1",
                                    "--month", "2026/11", "--out", str(out)])
    assert bad.exit_code == 2 and "YYYY-MM" in bad.output


def test_a_month_in_progress_shows_the_days_to_come(month, tmp_path):
    engine, *_ = month
    path = tmp_path / "mid.pdf"
    path.write_bytes(report.monthly_pdf(engine, "A1", 2026, 11, generated_by="x",
                                        now=MONTH_START + timedelta(days=14, hours=12)))
    text = pdf_text(path)
    assert re.search(r"Sun 15\s+00:00 5\.7\s+4\.0\s+5\.7\s+0 min\s+ok", text)  # today, so far
    assert re.search(r"Mon 16\s+not yet", text) and re.search(r"Mon 30\s+not yet", text)
