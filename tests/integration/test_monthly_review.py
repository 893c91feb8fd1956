"""The monthly review on both databases: a supervisor sees a fridge-month's open items, comments and signs; the
month's PDF is frozen (the bundle holds that very copy, its hash the stored one, and `audit verify` checks it
offline); a data-logger file imported later shows up in an addendum, never in the signed copy."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from test_alert_pages import text as text_of
from test_monthly_report import pdf_text

from fridge_monitor.core.readings import Reading
from fridge_monitor.ingest.batches import Batch, Store
from fridge_monitor.loggers.importing import Importer, Request
from fridge_monitor.reports import bundle
from fridge_monitor.store import models as m
from fridge_monitor.store.sync import sync_declarations
from fridge_monitor.web import create_app

from support import STAFF, add_users, cli, client_for, csrf, user_with_token

BERLIN = ZoneInfo("Europe/Berlin")
SITE = {"name": "Clinic A", "timezone": "Europe/Berlin", "checks": ["08:00"], "check_tolerance_min": 60}


def last_month(now: datetime) -> tuple[date, date]:
    """The first and last local day of the month before ``now``'s, at the site."""
    last = now.astimezone(BERLIN).date().replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


def local(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=BERLIN).astimezone(UTC)


def declared_before_last_month(database_url: str, make_config: Callable[..., Any],
                               engine_for: Callable[[str], sa.Engine], now: datetime) -> tuple[Any, sa.Engine]:
    """Clinic A (a check at 08:00) with fridge A1, declared before last month began."""
    config, _ = make_config(database_url, sites=[SITE],
                            fridges=[{"name": "A1", "site": "Clinic A", "sensors": ["native:a1"]}],
                            sections={"web": {"secret_key": "s" * 40}})
    engine = engine_for(database_url)
    sync_declarations(engine, config, local(last_month(now)[0], 0) - timedelta(days=3))
    return config, engine


def test_a_supervisor_signs_a_month_its_pdf_freezes_and_a_later_import_is_an_addendum(
        database_url: str, make_config: Callable[..., Any], engine_for: Callable[[str], sa.Engine],
        tmp_path: Path) -> None:
    now = datetime.now(UTC)
    first, last = last_month(now)
    month = f"{first:%Y-%m}"
    config, engine = declared_before_last_month(database_url, make_config, engine_for, now)
    add_users(engine, {**STAFF, "sam": "supervisor"}, now)
    # Every 2 hours of the month but its last day (no data), 5.0 °C; one check, on the 2nd at 08:10.
    days = (last - first).days
    Store(engine).write(Batch(readings=[(Reading("native:a1", "native", "a1", local(first, 0) + timedelta(hours=h),
                                                 5.0, 90), local(first, 0) + timedelta(hours=h))
                                        for h in range(0, 24 * days, 2)]))
    with engine.begin() as conn:
        a1 = conn.scalar(sa.select(m.Fridge.id).where(m.Fridge.name == "A1"))
        conn.execute(sa.insert(m.TemperatureCheck).values(
            fridge_id=a1, day=first + timedelta(days=1), slot="08:00",
            checked_at=local(first + timedelta(days=1), 8) + timedelta(minutes=10), checked_by="nina",
            current_c=5.1, min_c=4.2, max_c=5.6, monitor_c=5.0, comment=None))
    app = create_app(config, engine=engine, testing=True)

    # A nurse may read the review page but not sign it.
    nurse = client_for(app, engine, "nina")
    assert "Waiting for a supervisor or an admin" in text_of(nurse.get(f"/fridges/A1/review?month={month}"))
    assert nurse.post(f"/fridges/A1/review?month={month}", data={"csrf_token": csrf(nurse)}).status_code == 403

    sam = client_for(app, engine, "sam")
    page = text_of(sam.get(f"/fridges/A1/review?month={month}"))
    missed = days  # one check a day, recorded on the 2nd only
    assert f"Staff checks missed: {missed} (" in page
    assert f"Days without data: 1 ({last:%d})" in page
    assert "This month is not over" not in page
    this_month = now.astimezone(BERLIN).strftime("%Y-%m")
    assert "is not over yet" in text_of(sam.get(f"/fridges/A1/review?month={this_month}"))

    form = {"csrf_token": csrf(sam), "comment": "Checks were kept on paper until the 2nd; see binder.",
            "meaning": "reviewed", "sign_name": "sam", "sign_password": "wrong-password"}
    refused = sam.post(f"/fridges/A1/review?month={month}", data=form)
    assert refused.status_code == 400 and "Wrong password" in text_of(refused)
    signed = sam.post(f"/fridges/A1/review?month={month}", data={**form, "sign_password": "sam-password-1"},
                      follow_redirects=True)
    assert signed.status_code == 200, text_of(signed)
    shown = text_of(signed)
    assert "Signed by Sam Tester (sam) on " in shown and "meaning: reviewed" in shown
    assert "None: the month reads today exactly as its signed copy." in shown
    again = sam.post(f"/fridges/A1/review?month={month}", data={**form, "sign_password": "sam-password-1"})
    assert again.status_code == 409 and "was already reviewed by sam" in text_of(again)

    with engine.connect() as conn:
        review = conn.execute(sa.select(m.MonthlyReview)).one()
    assert hashlib.sha256(review.pdf).hexdigest() == review.pdf_sha256
    assert json.loads(review.open_items)[0].startswith(f"Staff checks missed: {missed}")
    # Every later download of the month is the frozen copy, with the review, its signature and the checks table.
    download = sam.get(f"/fridges/A1/report.pdf?month={month}")
    assert download.status_code == 200 and download.data == review.pdf
    (tmp_path / "signed.pdf").write_bytes(review.pdf)
    frozen = " ".join(pdf_text(tmp_path / "signed.pdf").split())
    assert "Monthly review (signed)" in frozen and "Checks were kept on paper until the 2nd" in frozen
    assert "Signed by Sam Tester (sam) on " in frozen and "meaning: reviewed" in frozen
    start = frozen.index("Staff temperature checks")
    checks = frozen[start:frozen.index("Excursions", start)]
    assert "08:10 5.1 4.2 5.6 5.0 NT (nina)" in checks and checks.count("08:00 MISSED") == missed

    period = bundle.Request(local(first, 0), local(last, 0) + timedelta(days=1))
    made = bundle.build(engine, config, period, tmp_path / "month.zip", actor="aldo")
    with zipfile.ZipFile(made.path) as archive:
        document = json.loads(archive.read("manifest.json"))
        pdf_name = f"reports/A1_{month}.pdf"
        assert archive.read(pdf_name) == review.pdf
        assert document["files"][pdf_name]["sha256"] == review.pdf_sha256
        assert f"reports/A1_{month}_addendum.pdf" not in archive.namelist()
        rows = list(csv.DictReader(io.StringIO(archive.read("monthly_reviews.csv").decode())))
        assert [(r["fridge"], r["month"], r["pdf_file"], r["pdf_sha256"]) for r in rows] == [
            ("A1", month, pdf_name, review.pdf_sha256)]
        assert ",monthly-review," in archive.read("signatures.csv").decode()
    verified = cli("audit", "verify", str(made.path))
    assert verified.returncode == 0, verified.stderr

    # The backup logger's file, imported after signing, fills the last day: the signed copy stays as it was,
    # and the changes are the addendum's.
    logged = "time,temperature_c\n" + "".join(f"{last.isoformat()} {h:02d}:00,{9.5 if h == 12 else 5.2}\n"
                                               for h in range(0, 24))
    Importer(engine, config).import_file("A1", Request("backup.csv", logged.encode(), fmt="csv", serial="LOG-7"),
                                         "nina")
    page = text_of(sam.get(f"/fridges/A1/review?month={month}"))
    assert "The records of this month changed after it was signed" in page
    assert f"day {last.isoformat()}: was no data; now min 5.2 °C, max 9.5 °C, 24 readings" in page
    assert "24 reading(s) of this month received after signing" in page
    assert "data-logger file backup.csv (" in page
    assert sam.get(f"/fridges/A1/report.pdf?month={month}").data == review.pdf
    addendum = sam.get(f"/fridges/A1/report-addendum.pdf?month={month}")
    assert addendum.status_code == 200
    (tmp_path / "addendum.pdf").write_bytes(addendum.data)
    listed = " ".join(pdf_text(tmp_path / "addendum.pdf").split())
    assert f"The signed copy (SHA-256 {review.pdf_sha256})" in listed
    assert f"day {last.isoformat()}: was no data; now min 5.2 °C" in listed

    later = bundle.build(engine, config, period, tmp_path / "later.zip", actor="aldo")
    with zipfile.ZipFile(later.path) as archive:
        assert archive.read(f"reports/A1_{month}.pdf") == review.pdf
        assert f"reports/A1_{month}_addendum.pdf" in archive.namelist()
    assert cli("audit", "verify", str(later.path)).returncode == 0

    # The stored copy altered in the database (its append-only trigger lifted first): audit verify names it.
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER monthly_reviews_no_update")
        else:
            conn.exec_driver_sql("ALTER TABLE monthly_reviews DISABLE TRIGGER monthly_reviews_append_only")
        conn.execute(sa.update(m.MonthlyReview.__table__).values(pdf=review.pdf + b"%"))
    result = cli("audit", "verify", env={"FRIDGE_MONITOR_DATABASE_URL": database_url})
    assert result.returncode == 1
    assert (f"monthly review {review.id}: its stored PDF is no longer the copy that was signed"
            in result.stderr)


def test_the_api_signs_a_month_with_the_password_in_the_body(
        database_url: str, make_config: Callable[..., Any], engine_for: Callable[[str], sa.Engine]) -> None:
    now = datetime.now(UTC)
    month = f"{last_month(now)[0]:%Y-%m}"
    config, engine = declared_before_last_month(database_url, make_config, engine_for, now)
    tokens = {name: user_with_token(engine, name, role, now) for name, role in (("sam", "supervisor"),
                                                                                ("nina", "nurse"))}
    client = create_app(config, engine=engine, testing=True).test_client()

    def call(who: str, path: str, body: dict[str, Any] | None = None) -> Any:
        auth = {"Authorization": f"Bearer {tokens[who]}"}
        return client.post(path, json=body, headers=auth) if body is not None else client.get(path, headers=auth)

    url = f"/api/v1/reviews/A1/{month}"
    signature = {"password": "sam-password-1", "meaning": "approved"}
    before = call("sam", url).get_json()
    assert (before["signed"], before["ended"]) == (False, True)
    assert any(item.startswith("Days without data: ") for item in before["open_items"])
    assert call("nina", url, {"signature": {**signature, "password": "nina-password-1"}}).status_code == 403
    unsigned = call("sam", url, {"comment": "fine"})
    assert unsigned.status_code == 403 and "a monthly review is signed" in unsigned.get_json()["error"]["message"]
    wrong = call("sam", url, {"signature": {**signature, "password": "not-it"}})
    assert wrong.status_code == 403 and "Wrong password" in wrong.get_json()["error"]["message"]
    this_month = now.astimezone(BERLIN).strftime("%Y-%m")
    assert call("sam", f"/api/v1/reviews/A1/{this_month}", {"signature": signature}).status_code == 409
    assert call("sam", "/api/v1/reviews/A1/2026-13", {"signature": signature}).status_code == 400
    assert call("sam", f"/api/v1/reviews/Nowhere/{month}").status_code == 404

    done = call("sam", url, {"comment": "No data all month: the fridge was not in use.", "signature": signature})
    assert done.status_code == 201, done.get_json()
    body = done.get_json()
    assert body["signed"] and body["reviewed_by"] == "sam" and body["changes_since_signing"] == []
    assert body["signatures"][0].startswith("Signed by Sam Tester (sam) on ")
    assert body["signatures"][0].endswith("meaning: approved")
    with engine.connect() as conn:
        stored = conn.scalar(sa.select(m.MonthlyReview.pdf_sha256))
    assert body["pdf_sha256"] == stored
    again = call("sam", url, {"signature": signature})
    assert again.status_code == 409 and "already reviewed by sam" in again.get_json()["error"]["message"]
    assert call("nina", url).get_json()["pdf_sha256"] == stored
