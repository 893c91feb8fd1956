"""A nurse at the fridge with a phone (390×844) records the morning check and signs it, in headless Chromium."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fridge_monitor.core.readings import Reading
from fridge_monitor.ingest.batches import Batch, Store

from support import add_users, sign_in_page

NOW = datetime.now(UTC).replace(microsecond=0)


def test_a_nurse_records_a_check_on_a_phone(artifacts, clinic, serve, open_page):
    config, engine = clinic("Derm Clinic", "Europe/Berlin", "Vaccines", "native:vaccines-probe", now=NOW,
                            sites_extra={"checks": ["08:00", "16:00"]})
    add_users(engine, {"nina": "nurse"}, NOW, password="nurse-password-1")
    Store(engine).write(Batch(readings=[(Reading("native:vaccines-probe", "native", "vaccines-probe",
                                                 NOW - timedelta(minutes=1), 4.6, 90), NOW)]))
    base = serve(config, engine)
    page = open_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    sign_in_page(page, base, "nina", "nurse-password-1")

    page.goto(f"{base}/checks")
    card = page.locator('.check-card[data-fridge="Vaccines"]')
    assert "Monitor: 4.6 °C" in card.inner_text()
    card.get_by_label("Now on the display (°C)").fill("4.7")
    card.get_by_label("Min since last check (°C)").fill("3.9")
    card.get_by_label("Max since last check (°C)").fill("5.8")
    page.get_by_label("Your user name").fill("nina")
    page.get_by_label("Your password").fill("nurse-password-1")
    page.screenshot(path=str(artifacts / "staff-check-phone.png"), full_page=True)
    page.get_by_role("button", name="Record and sign").click()
    page.get_by_text("Check recorded for Vaccines and signed.").wait_for()
    # Nothing sticks out sideways on the phone: the page is no wider than its viewport.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    page.goto(f"{base}/fridges/Vaccines")
    row = page.locator("table.staff-checks tbody tr").first
    assert "4.7 °C" in row.inner_text() and "Signed by Nina Tester (nina)" in row.inner_text()
