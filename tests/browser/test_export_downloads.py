"""The export page's downloads in a real browser: both are POST forms with the CSRF token (issue 12, item 14).

An auditor downloads a CSV and a finished bundle by clicking the page's own
buttons, under the Content-Security-Policy; each download writes exactly one
audit event, and the files are what they should be.
"""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.core import manifest
from fridge_monitor.core.readings import Reading
from fridge_monitor.ingest.batches import Batch, Store
from fridge_monitor.mqtt.broker import free_port
from fridge_monitor.store import accounts, migrate
from fridge_monitor.store import models as m
from fridge_monitor.store.db import create_engine
from fridge_monitor.store.sync import sync_declarations
from fridge_monitor.web import create_app
from fridge_monitor.web.server import WebServer

DAY = datetime(2026, 11, 10, tzinfo=UTC)


def exports_audited(engine: sa.Engine) -> list[tuple[str, str, str]]:
    a = m.AuditEvent
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(a.actor, a.action, a.record_type)
                                               .where(a.action.in_(["export", "download"])).order_by(a.id))]


def test_an_auditor_downloads_a_csv_and_a_bundle_through_the_pages_forms(browser, artifacts, tmp_path,
                                                                         make_config):
    port = free_port()
    config, _ = make_config(f"sqlite:///{tmp_path / 'fm.db'}",
                            sections={"web": {"port": port}, "reports": {"exports_dir": str(tmp_path / "exports")}},
                            sites=[{"name": "Ward 3", "timezone": "Europe/Berlin"}],
                            fridges=[{"name": "Vaccines", "site": "Ward 3", "sensors": ["native:vac-probe"]}])
    engine = create_engine(config.database)
    migrate.upgrade(engine)
    sync_declarations(engine, config, DAY - timedelta(days=2))
    Store(engine).write(Batch(readings=[
        (Reading("native:vac-probe", "native", "vac-probe", DAY + timedelta(minutes=15 * i), 4.5), DAY)
        for i in range(96)
    ]))
    with so.Session(engine) as session, session.begin():
        accounts.create_user(session, "otto", "auditor", "auditor-password-1", actor="test", now=DAY)
    server = WebServer(create_app(config, engine=engine), "127.0.0.1", port, 4)
    server.start()
    base = server.url
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(f"pageerror: {error}"))
        page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        page.goto(f"{base}/login?next=/exports/")
        page.fill("#name", "otto")
        page.fill("#password", "auditor-password-1")
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/exports/")

        one_csv = page.locator("section", has=page.get_by_role("heading", name="One CSV file"))
        one_csv.locator("input[name=from]").fill("2026-11-10")
        one_csv.locator("input[name=to]").fill("2026-11-10")
        one_csv.locator("#fridge").select_option("Vaccines")
        with page.expect_download() as csv_download:
            one_csv.get_by_role("button", name="Download CSV").click()
        download = csv_download.value
        assert download.suggested_filename == "fridge-monitor-readings-20261110-20261110-Vaccines.csv"
        lines = Path(download.path()).read_text().splitlines()
        assert len(lines) == 1 + 96 and all(",Vaccines," in line for line in lines[1:])
        assert exports_audited(engine) == [("otto", "export", "readings")]

        bundle = page.locator("section", has=page.get_by_role("heading", name="Bundle for an inspection"))
        bundle.locator("input[name=from]").fill("2026-11-10")
        bundle.locator("input[name=to]").fill("2026-11-10")
        bundle.get_by_role("button", name="Make the bundle").click()
        page.wait_for_url(f"{base}/exports/#job-1")
        # The list refreshes itself every 3 s: the download button appears once the bundle is made.
        button = page.locator("#jobs").get_by_role("button", name="Download (")
        button.wait_for(timeout=60_000)
        page.screenshot(path=str(artifacts / "export-downloads.png"))
        with page.expect_download() as zip_download:
            button.click()
        with zipfile.ZipFile(io.BytesIO(Path(zip_download.value.path()).read_bytes())) as archive:
            assert manifest.verify_bundle(archive) == []
        assert exports_audited(engine) == [("otto", "export", "readings"), ("otto", "export", "bundle"),
                                           ("otto", "download", "export_bundle")]
        assert errors == []
    finally:
        context.close()
        server.stop()
        engine.dispose()
