"""An admin changes a fridge's range with a reason; an auditor finds it in the audit trail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fridge_monitor.core.readings import Reading
from fridge_monitor.ingest.batches import Batch, Store

from support import add_users

NOW = datetime.now(UTC).replace(microsecond=0)


def test_admin_range_change_with_reason_is_in_the_audit_trail(artifacts, clinic, serve, signed_in_page):
    config, engine = clinic("Derm Clinic", "America/New_York", "Toxins", "native:toxins-probe", now=NOW)
    Store(engine).write(Batch(readings=[
        (Reading("native:toxins-probe", "native", "toxins-probe", NOW - timedelta(minutes=10 * i), 4.0 + (i % 7) / 5),
         NOW)
        for i in range(24 * 6)
    ]))
    add_users(engine, {"ada": "admin"}, NOW, password="admin-password-1")
    add_users(engine, {"otto": "auditor"}, NOW, password="auditor-password-1")
    base = serve(config, engine)
    page = signed_in_page(base, "ada", "admin-password-1")
    page.goto(f"{base}/fridges/Toxins?range=day")
    page.locator("svg").first.wait_for()
    page.screenshot(path=str(artifacts / "fridge-detail.png"), full_page=True)

    page.goto(f"{base}/admin/fridges")
    page.get_by_role("link", name="Edit Toxins").click()
    page.locator("#reason").wait_for()  # the edit form has loaded
    assert page.locator('form input[name="csrf_token"]').count() >= 1
    page.select_option("#kind", "custom")
    page.fill("#low_c", "2")
    page.fill("#high_c", "6")
    # The reason is required before the browser even sends the form.
    assert page.locator("#reason").evaluate("el => el.required")
    page.fill("#reason", "Botox label: keep at 2–6 °C in this clinic")
    page.get_by_role("button", name="Save changes").click()
    page.get_by_text("Fridge Toxins saved.").wait_for()

    page = signed_in_page(base, "otto", "auditor-password-1")
    page.goto(f"{base}/audit")
    row = page.locator("tr", has_text="high_c").filter(has_text="ada").first
    row.wait_for()
    text = row.inner_text()
    assert "8.0" in text and "6.0" in text and "Botox label: keep at 2–6 °C in this clinic" in text
    assert "intact" in page.locator("body").inner_text()
    page.screenshot(path=str(artifacts / "audit-trail.png"), full_page=True)
    assert page.goto(f"{base}/admin/fridges").status == 403
