"""A nurse opens an excursion's troubleshooting record from its alert, in headless Chromium: the facts are filled
in; she completes what she found and did, the lot's funding and outcome, and signs; the record turns complete."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.alerts.evaluate import Evaluator
from fridge_monitor.core.readings import Reading
from fridge_monitor.ingest.batches import Batch, Store
from fridge_monitor.inventory import catalog
from fridge_monitor.inventory import ledger as inventory
from fridge_monitor.store import models as m

from support import add_users

NOW = datetime.now(UTC).replace(microsecond=0)


def test_a_nurse_completes_and_signs_a_troubleshooting_record(artifacts, clinic, serve, signed_in_page):
    config, engine = clinic("Derm Clinic", "Europe/Berlin", "Botox", "native:botox-probe", now=NOW)
    add_users(engine, {"nina": "nurse"}, NOW, password="nurse-password-1")
    with so.Session(engine) as session, session.begin():
        botox = session.scalar(sa.select(m.Product.id).where(m.Product.catalogue_key == "botox"))
        fridge = session.scalar(sa.select(m.Fridge.id).where(m.Fridge.name == "Botox"))
        lot = catalog.lot_for(session, product_id=botox, lot_number="C7012AB", expiry=date(2028, 1, 31),
                              actor="nina", now=NOW - timedelta(hours=4))
        inventory.receive(session, lot_id=lot.id, fridge_id=fridge, quantity=6, actor="nina",
                          now=NOW - timedelta(hours=4))
    Store(engine).write(Batch(readings=[
        (Reading("native:botox-probe", "native", "botox-probe", NOW - timedelta(minutes=k), 9.4 if 30 <= k <= 100
                 else 4.6, 85), NOW) for k in range(180, -1, -5)]))
    evaluator = Evaluator(engine, config, clock=lambda: NOW)
    evaluator.everything()
    evaluator.outbox.close()
    base = serve(config, engine)
    page = signed_in_page(base, "nina", "nurse-password-1")

    page.goto(f"{base}/alerts")
    page.locator("tr", has_text="Heat alarm").get_by_role("link").first.click()
    page.get_by_role("link", name="Troubleshooting record").click()
    page.get_by_role("heading", name="Troubleshooting record: Botox", exact=False).wait_for()
    assert "9.4 °C" in page.locator("#facts").inner_text()
    page.get_by_label("When the problem was found").fill((NOW - timedelta(minutes=90)).astimezone().strftime(
        "%Y-%m-%dT%H:%M"))
    for label, value in (("Room temperature (°C)", "22.5"), ("Unit's temperature when found (°C)", "9.3"),
                         ("What else was in the unit", "Nothing else."),
                         ("Action taken, and by whom", "Moved the vials to fridge B; nina."),
                         ("Manufacturer or programme contacted", "Allergan medical information"),
                         ("Their case number", "AL-2026-4471"),
                         ("Their answer", "Stable for 72 h up to 25 °C: may be used."),
                         ("Outcome of the event", "Compressor replaced.")):
        page.get_by_label(label, exact=False).fill(value)
    page.get_by_label("Funding of lot C7012AB").select_option("private")
    page.get_by_label("Outcome for lot C7012AB").fill("Released per manufacturer")
    page.get_by_label("Your user name").fill("nina")
    page.get_by_label("Your password").fill("nurse-password-1")
    page.get_by_label("Your signature means").select_option("responsible")
    page.screenshot(path=str(artifacts / "troubleshooting-form.png"), full_page=True)
    page.get_by_role("button", name="Complete and sign").click()

    page.get_by_text("complete and signed").wait_for()
    assert "Complete" in page.locator("#record-state").inner_text()
    assert "Signed by Nina Tester (nina)" in page.locator(".signature").first.inner_text()
    page.screenshot(path=str(artifacts / "troubleshooting-signed.png"), full_page=True)
