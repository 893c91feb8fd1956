"""An admin changes a fridge's range with a reason; an auditor finds it in the audit trail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy.orm as so

from fridge_monitor.core.readings import Reading
from fridge_monitor.ingest.batches import Batch, Store
from fridge_monitor.mqtt.broker import free_port
from fridge_monitor.store import accounts, migrate
from fridge_monitor.store.db import create_engine
from fridge_monitor.web import create_app
from fridge_monitor.web.server import WebServer

NOW = datetime.now(UTC).replace(microsecond=0)


def sign_in(page, base: str, name: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#name", name)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_admin_range_change_with_reason_is_in_the_audit_trail(browser, artifacts, tmp_path, make_config):
    db_url = f"sqlite:///{tmp_path / 'fm.db'}"
    port = free_port()
    config, _ = make_config(db_url, sections={"web": {"port": port}},
                            sites=[{"name": "Derm Clinic", "timezone": "America/New_York"}],
                            fridges=[{"name": "Toxins", "site": "Derm Clinic", "sensors": ["native:toxins-probe"]}])
    engine = create_engine(config.database)
    migrate.upgrade(engine)
    from fridge_monitor.store.sync import sync_declarations

    sync_declarations(engine, config, NOW - timedelta(days=2))
    Store(engine).write(Batch(readings=[
        (Reading("native:toxins-probe", "native", "toxins-probe", NOW - timedelta(minutes=10 * i), 4.0 + (i % 7) / 5), NOW)
        for i in range(24 * 6)
    ]))
    with so.Session(engine) as session, session.begin():
        accounts.create_user(session, "ada", "admin", "admin-password-1", actor="test", now=NOW)
        accounts.create_user(session, "otto", "auditor", "auditor-password-1", actor="test", now=NOW)
    server = WebServer(create_app(config, engine=engine), "127.0.0.1", port, 4)
    server.start()
    base = server.url
    try:
        admin = browser.new_context(viewport={"width": 1280, "height": 900})
        page = admin.new_page()
        sign_in(page, base, "ada", "admin-password-1")
        page.goto(f"{base}/fridges/Toxins?range=day")
        page.locator("svg").first.wait_for()
        page.screenshot(path=str(artifacts / "fridge-detail.png"), full_page=True)

        page.goto(f"{base}/admin/fridges")
        page.get_by_role("link", name="Edit Toxins").click()
        assert page.locator('form input[name="csrf_token"]').count() >= 1
        page.select_option("#kind", "custom")
        page.fill("#low_c", "2")
        page.fill("#high_c", "6")
        # The reason is required before the browser even sends the form.
        assert page.locator("#reason").evaluate("el => el.required")
        page.fill("#reason", "Botox label: keep at 2–6 °C in this clinic")
        page.get_by_role("button", name="Save changes").click()
        page.get_by_text("Fridge Toxins saved.").wait_for()
        admin.close()

        auditor = browser.new_context(viewport={"width": 1280, "height": 900})
        page = auditor.new_page()
        sign_in(page, base, "otto", "auditor-password-1")
        page.goto(f"{base}/audit")
        row = page.locator("tr", has_text="high_c").filter(has_text="ada").first
        row.wait_for()
        text = row.inner_text()
        assert "8.0" in text and "6.0" in text and "Botox label: keep at 2–6 °C in this clinic" in text
        assert "intact" in page.locator("body").inner_text()
        page.screenshot(path=str(artifacts / "audit-trail.png"), full_page=True)
        assert page.goto(f"{base}/admin/fridges").status == 403
        auditor.close()
    finally:
        server.stop()
        engine.dispose()
