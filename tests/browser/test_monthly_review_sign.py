"""A supervisor reviews last month of a fridge in headless Chromium: reads the open items, comments, signs
(user name, password, meaning) and downloads the signed PDF, which is the copy frozen with its SHA-256."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from fridge_monitor.core.readings import Reading
from fridge_monitor.ingest.batches import Batch, Store

from support import add_users, sign_in_page

NOW = datetime.now(UTC).replace(microsecond=0)


def test_a_supervisor_signs_a_month_and_downloads_the_signed_pdf(artifacts, clinic, serve, open_page):
    config, engine = clinic("Derm Clinic", "Europe/Berlin", "Vaccines", "native:vaccines-probe", now=NOW,
                            sites_extra={"checks": ["08:00"]})
    add_users(engine, {"sam": "supervisor"}, NOW, password="supervisor-password-1")
    Store(engine).write(Batch(readings=[(Reading("native:vaccines-probe", "native", "vaccines-probe",
                                                 NOW - timedelta(minutes=1), 4.6, 90), NOW)]))
    last = NOW.astimezone(ZoneInfo("Europe/Berlin")).date().replace(day=1) - timedelta(days=1)
    month = f"{last:%Y-%m}"
    base = serve(config, engine)
    page = open_page()
    sign_in_page(page, base, "sam", "supervisor-password-1")

    page.goto(f"{base}/fridges/Vaccines")
    page.get_by_role("link", name="Monthly review").click()
    page.get_by_role("heading", name=f"Monthly review: Vaccines, {last:%B %Y}").wait_for()
    assert "Days without data:" in page.locator("#open-items").inner_text()
    page.get_by_label("Your comment on the month").fill("Fridge not yet in service last month; no vials stored.")
    page.get_by_label("Your user name").fill("sam")
    page.get_by_label("Your password").fill("supervisor-password-1")
    page.get_by_label("Your signature means").select_option("reviewed")
    page.get_by_role("button", name="Sign the month").click()

    signed = page.locator("#signed")
    signed.get_by_text("Signed by Sam Tester (sam) on ").wait_for()
    assert "meaning: reviewed" in signed.inner_text()
    assert "Fridge not yet in service last month" in signed.inner_text()
    page.screenshot(path=str(artifacts / "monthly-review-signed.png"), full_page=True)
    shown_hash = signed.locator("code").inner_text()

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the signed PDF").click()
    assert download.value.suggested_filename == f"temperature-log-Vaccines-{month}.pdf"
    pdf = (artifacts / f"monthly-review-{month}.pdf")
    download.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF")
    assert hashlib.sha256(pdf.read_bytes()).hexdigest() == shown_hash
