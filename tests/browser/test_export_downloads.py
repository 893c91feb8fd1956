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

from fridge_monitor.core import manifest
from fridge_monitor.core.readings import Reading
from fridge_monitor.ingest.batches import Batch, Store
from fridge_monitor.store import models as m

from support import add_users, sign_in_page

DAY = datetime(2026, 11, 10, tzinfo=UTC)


def exports_audited(engine: sa.Engine) -> list[tuple[str, str, str]]:
    a = m.AuditEvent
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(a.actor, a.action, a.record_type)
                                               .where(a.action.in_(["export", "download"])).order_by(a.id))]


def test_an_auditor_downloads_a_csv_and_a_bundle_through_the_pages_forms(artifacts, tmp_path, clinic, serve,
                                                                         open_page):
    config, engine = clinic("Ward 3", "Europe/Berlin", "Vaccines", "native:vac-probe", now=DAY,
                            sections={"reports": {"exports_dir": str(tmp_path / "exports")}})
    Store(engine).write(Batch(readings=[
        (Reading("native:vac-probe", "native", "vac-probe", DAY + timedelta(minutes=15 * i), 4.5), DAY)
        for i in range(96)
    ]))
    add_users(engine, {"otto": "auditor"}, DAY, password="auditor-password-1")
    base = serve(config, engine)
    page = open_page(accept_downloads=True)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"pageerror: {error}"))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    sign_in_page(page, base, "otto", "auditor-password-1", next="/exports/")

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
