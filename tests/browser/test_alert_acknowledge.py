"""A nurse on the dashboard sees the alert banner appear, acknowledges with the action taken, and sees who and what."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fridge_monitor.alerts.evaluate import Evaluator
from fridge_monitor.core.readings import Reading
from fridge_monitor.ingest.batches import Batch, Store

from support import add_users

NOW = datetime.now(UTC).replace(microsecond=0)


def readings(start_min: int, end_min: int, temp: float) -> Batch:
    """One reading every 5 minutes, ``start_min``..``end_min`` minutes before now."""
    return Batch(readings=[
        (Reading("native:botox-probe", "native", "botox-probe", NOW - timedelta(minutes=m), temp, 85), NOW)
        for m in range(start_min, end_min - 1, -5)
    ])


def test_nurse_sees_the_banner_and_acknowledges_with_an_action(artifacts, clinic, serve, signed_in_page):
    config, engine = clinic("Derm Clinic", "Europe/Berlin", "Botox", "native:botox-probe", now=NOW)
    store = Store(engine)
    store.write(readings(180, 75, 4.5))
    add_users(engine, {"nina": "nurse"}, NOW, password="nurse-password-1")
    base = serve(config, engine)
    page = signed_in_page(base, "nina", "nurse-password-1")
    assert page.locator(".alert-banner").count() == 0

    # The compressor fails: 70 minutes above 8 °C arrive and are judged, as ingest does after a batch.
    store.write(readings(70, 0, 9.4))
    evaluator = Evaluator(engine, config, clock=lambda: NOW)
    evaluator.marked()
    evaluator.outbox.close()

    # The banner appears in place, without reloading the page.
    banner = page.locator(".alert-banner")
    banner.wait_for(timeout=20_000)
    assert "2 alerts waiting for acknowledgement (1 alarm)" in banner.inner_text()
    page.locator('[data-fridge="Botox"]').get_by_text("Heat alarm").wait_for(timeout=15_000)
    page.screenshot(path=str(artifacts / "alert-banner.png"), full_page=True)

    banner.get_by_role("link").click()
    page.wait_for_url(f"{base}/alerts")
    page.locator("tr", has_text="Heat alarm").get_by_role("link", name="Acknowledge").click()
    page.get_by_text("Steps taken").wait_for()
    page.get_by_label("Tell the vaccine coordinator or your supervisor now.").check()
    page.fill("#action", "Moved 12 Botox vials to the backup fridge, labelled DO NOT USE; Dr Lee informed.")
    # An alarm's acknowledgement is signed: her first signature in this session asks her name and password,
    # and what the signature means.
    page.get_by_label("Your user name").fill("nina")
    page.get_by_label("Your password").fill("nurse-password-1")
    page.get_by_label("Your signature means").select_option("performed")
    page.screenshot(path=str(artifacts / "alert-signing.png"), full_page=True)
    page.get_by_role("button", name="Acknowledge and sign").click()

    page.get_by_text("Acknowledged by nina").wait_for()
    recorded = page.locator(".acknowledged").inner_text()
    assert "Signed by Nina Tester (nina) on " in recorded and ", meaning: performed" in recorded
    assert "[x] Tell the vaccine coordinator or your supervisor now." in recorded
    assert "Moved 12 Botox vials to the backup fridge" in recorded
    assert "1 alert waiting for acknowledgement" in page.locator(".alert-banner").inner_text()
    page.screenshot(path=str(artifacts / "alert-acknowledged.png"), full_page=True)

    page.goto(f"{base}/fridges/Botox")
    row = page.locator("#alerts tr", has_text="Heat alarm")
    assert "nina" in row.inner_text() and "Moved 12 Botox vials" in row.inner_text()
