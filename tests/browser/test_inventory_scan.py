"""A nurse receives vials by typing scans into the scan box, takes the next vial first-expiry-first-out,
and is refused an under-review lot — in headless Chromium against a real server."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.core import gs1
from fridge_monitor.store import models as m

from support import add_users

NOW = datetime.now(UTC).replace(microsecond=0)
GTIN = "09506000134352"  # GS1's example GTIN (check digit 2)
BOTOX = "Botox 100 U (onabotulinumtoxinA)"


def scanned(lot: str, expiry: date, serial: str) -> str:
    """What a keyboard-wedge scanner types for a vial's DataMatrix: ]d2, the fields, a GS after the lot."""
    return f"]d201{GTIN}17{expiry:%y%m%d}10{lot}{gs1.GS}21{serial}"


def enter_on_the_focused_button(page) -> None:
    """The scanner's next Enter, once the page has put the focus on its record button (as a person sees
    it), not before the page has finished loading."""
    page.locator("button.primary-action:focus").wait_for()
    page.keyboard.press("Enter")


def test_receive_by_scan_take_next_and_an_under_review_lot_refused(artifacts, clinic, serve, signed_in_page):
    config, engine = clinic("Derm Clinic", "Europe/Berlin", "Botox", "native:botox-probe", now=NOW)
    add_users(engine, {"nina": "nurse"}, NOW, password="nurse-password-1")
    today = NOW.astimezone(ZoneInfo("Europe/Berlin")).date()  # the pages count expiry days at the site
    late, early = today + timedelta(days=500), today + timedelta(days=45)
    base = serve(config, engine)
    page = signed_in_page(base, "nina", "nurse-password-1")

    # First scan of a new GTIN: the scanner types the code and Enter; the page asks for its product once.
    page.goto(f"{base}/stock/receive?fridge=Botox")
    page.click("#scan")
    page.keyboard.type(scanned("LATE-9", late, "SN-1") + "\n")
    page.get_by_text(f"GTIN {GTIN} is not linked to a product yet").wait_for()
    page.get_by_label("This GTIN is").select_option(label=BOTOX)
    page.get_by_role("button", name="Link and continue").click()
    page.get_by_text(f"Read {BOTOX}, lot LATE-9, expiry {late.isoformat()}, serial SN-1").wait_for()
    assert page.input_value("#lot_number") == "LATE-9"
    page.fill("#quantity", "3")
    page.screenshot(path=str(artifacts / "inventory-scan-read.png"), full_page=True)
    page.keyboard.press("Enter")  # Enter in any field records what was read
    page.get_by_text(f"Received 3 vials of {BOTOX} lot LATE-9").wait_for()
    assert "Botox now holds 3 vials of this lot" in page.locator(".flash").inner_text()

    # The GTIN is known now: scan, Enter to read, Enter to record.
    page.click("#scan")
    page.keyboard.type(scanned("EARLY-2", early, "SN-2") + "\n")
    page.get_by_text(f"Read {BOTOX}, lot EARLY-2").wait_for()
    enter_on_the_focused_button(page)
    page.get_by_text(f"Received 1 vial of {BOTOX} lot EARLY-2").wait_for()

    # Take next: the lot that expires first, one click.
    page.goto(f"{base}/inventory?fridge=Botox")
    section = page.locator('[data-fridge="Botox"]')
    assert "Expiring in 45 days" in section.inner_text()
    section.get_by_role("button", name="Take next").click()
    page.get_by_text(f"Next to use: {BOTOX} lot EARLY-2").wait_for()
    page.get_by_role("button", name="Use one", exact=True).click()
    page.get_by_text(f"Used 1 vial of {BOTOX} lot EARLY-2 from Botox").wait_for()
    page.get_by_text(f"Next to use: {BOTOX} lot LATE-9").wait_for()
    page.screenshot(path=str(artifacts / "inventory-take-next.png"), full_page=True)

    # An excursion puts LATE-9 under review: it shows DO NOT USE, and using it is refused with the reason.
    with so.Session(engine) as session, session.begin():
        lot_id = session.scalar(sa.select(m.Lot.id).where(m.Lot.lot_number == "LATE-9"))
        fridge_id = session.scalar(sa.select(m.Fridge.id).where(m.Fridge.name == "Botox"))
        session.add(m.LotReview(lot_id=lot_id, fridge_id=fridge_id, started_at=NOW - timedelta(hours=2),
                                ended_at=NOW - timedelta(minutes=20), exposure_s=4800.0, peak_c=10.4,
                                low_c=5.1, mkt_c=8.9, reason="heat excursion in Botox", created_at=NOW,
                                created_by="system", updated_at=NOW))
    page.goto(f"{base}/inventory?fridge=Botox")
    row = page.locator('tr[data-lot="LATE-9"]')
    assert "DO NOT USE — under review" in row.inner_text()
    page.screenshot(path=str(artifacts / "inventory-under-review.png"), full_page=True)

    page.goto(f"{base}/stock/use?fridge=Botox")
    page.click("#scan")
    page.keyboard.type(scanned("LATE-9", late, "SN-1") + "\n")
    page.get_by_text(f"Read {BOTOX}, lot LATE-9").wait_for()
    enter_on_the_focused_button(page)
    error = page.locator("#lot_number-errors")
    error.wait_for()
    assert "is under review after an excursion (DO NOT USE until a disposition is recorded)" in error.inner_text()
    assert page.input_value("#lot_number") == "LATE-9"
    page.screenshot(path=str(artifacts / "inventory-under-review-refused.png"), full_page=True)

    page.goto(f"{base}/")
    stock = page.locator('[data-stock="Botox"]')
    assert "Stock: 3 units in 1 lot" in stock.inner_text() and "1 under review — DO NOT USE" in stock.inner_text()
    page.screenshot(path=str(artifacts / "inventory-dashboard.png"), full_page=True)

    page.goto(f"{base}/lots/{lot_id}")
    assert "DO NOT USE" in page.locator(".do-not-use").inner_text()
    page.get_by_text("Record the manufacturer's disposition").wait_for()
    # No sensor reported while it was stored: its time out of range is unknown, never "none".
    assert "unknown: no readings while it was stored" in page.locator("#history").inner_text()
    page.screenshot(path=str(artifacts / "inventory-lot.png"), full_page=True)
