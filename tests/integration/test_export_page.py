"""The auditor's export page: a CSV streamed as it is written, a bundle made in the background; both audited."""

from __future__ import annotations

import io
import re
import time
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from fridge_monitor.core import manifest
from fridge_monitor.core.readings import Reading
from fridge_monitor.ingest.batches import Batch, Store
from fridge_monitor.store import models as m

from support import client_for, clinic_app, clinic_config

DAY = datetime(2026, 11, 10, tzinfo=UTC)


@pytest.fixture
def site(database_url, engine_for, tmp_path):
    engine = engine_for(database_url)
    config = clinic_config([{"name": "A1", "site": "Clinic A", "sensors": ["native:a1"]},
                            {"name": "B2", "site": "Clinic A", "sensors": ["native:b2"]}], database_url,
                           web={"secret_key": "e" * 40}, reports={"exports_dir": str(tmp_path / "exports")})
    app = clinic_app(engine, config, {"otto": "auditor", "nina": "nurse"}, DAY, DAY - timedelta(days=30))
    Store(engine).write(Batch(readings=[
        (Reading(sensor, "native", sensor.split(":")[1], DAY + timedelta(minutes=15 * i), 4.0 + i % 3), DAY)
        for sensor in ("native:a1", "native:b2") for i in range(96)
    ]))
    return app, engine



def form_token(client) -> str:
    """The CSRF token of the export page's forms, as a browser would send it."""
    page = client.get("/exports/").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def exports_audited(engine) -> list[tuple[str, str, str]]:
    a = m.AuditEvent
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(a.actor, a.action, a.record_type)
                                               .where(a.action.in_(["export", "download"])).order_by(a.id))]


def test_a_csv_streams_with_a_file_name_and_is_audited(site):
    app, engine = site
    auditor = client_for(app, engine, "otto")
    token = form_token(auditor)
    response = auditor.post("/exports/csv", data={"csrf_token": token, "kind": "readings", "from": "2026-11-10",
                                                  "to": "2026-11-10", "fridge": "A1"})
    assert response.status_code == 200 and response.is_streamed
    assert response.headers["Content-Disposition"] == \
        'attachment; filename="fridge-monitor-readings-20261110-20261110-A1.csv"'
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0] == "measured_at_utc,fridge,sensor,temperature_c,received_at_utc,calibrated_device"
    assert len(lines) == 1 + 96 and all(",A1," in line for line in lines[1:])
    assert exports_audited(engine) == [("otto", "export", "readings")]

    bad = auditor.post("/exports/csv", data={"csrf_token": token, "kind": "readings", "from": "2026-11-12",
                                             "to": "2026-11-10", "fridge": "Z9"})
    assert bad.status_code == 400
    page = bad.get_data(as_text=True)
    assert "There is no fridge named &#39;Z9&#39;." in page and "empty" in page
    assert exports_audited(engine) == [("otto", "export", "readings")]
    assert client_for(app, engine, "nina").get("/exports/").status_code == 403


def test_a_bundle_is_made_in_the_background_and_downloads_verified(site):
    app, engine = site
    auditor = client_for(app, engine, "otto")
    page = auditor.get("/exports/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    queued = auditor.post("/exports/bundle", data={"csrf_token": token, "from": "2026-11-10", "to": "2026-11-10",
                                                  "fridges": ["B2"]})
    assert queued.status_code == 302
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        jobs = auditor.get("/exports/jobs").get_data(as_text=True)
        if 'data-state="done"' in jobs or 'data-state="failed"' in jobs:
            break
        time.sleep(0.2)
    assert 'data-state="done"' in jobs, jobs
    link = re.search(r'<form method="post" action="(/exports/jobs/\d+/download)"', jobs).group(1)
    with auditor.post(link, data={"csrf_token": token}) as download:
        assert download.status_code == 200 and download.mimetype == "application/zip"
        data = download.data
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert manifest.verify_bundle(archive) == []
        readings = archive.read("readings.csv").decode().splitlines()
        assert "reports/B2_2026-11.pdf" in archive.namelist()
    assert len(readings) == 1 + 96 and all(",B2," in line for line in readings[1:])
    assert exports_audited(engine) == [("otto", "export", "bundle"), ("otto", "download", "export_bundle")]

    refused = auditor.post("/exports/bundle", data={"csrf_token": token, "from": "2026-11-10", "to": "2026-11-10",
                                                   "fridges": ["Nope"]})
    assert refused.status_code == 400 and "There is no fridge named" in refused.get_data(as_text=True)


def finished_bundle(auditor, token: str) -> str:
    """The download URL of a bundle asked for and made."""
    assert auditor.post("/exports/bundle", data={"csrf_token": token, "from": "2026-11-10",
                                                 "to": "2026-11-10"}).status_code == 302
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = re.search(r'action="(/exports/jobs/\d+/download)"', auditor.get("/exports/jobs").get_data(as_text=True))
        if found:
            return found.group(1)
        time.sleep(0.2)
    raise AssertionError("the bundle was not made within 60 s")


def test_downloads_that_write_audit_events_are_posts_with_the_form_token(site):
    """A link, an image or a prefetch on another site (a GET) never writes an export into the audit trail in
    someone's name (issue 12, item 14): GET answers 405 naming POST, a POST without the form's token is refused,
    and a POST with it downloads and writes exactly one event."""
    app, engine = site
    auditor = client_for(app, engine, "otto")
    token = form_token(auditor)
    csv_form = {"kind": "readings", "from": "2026-11-10", "to": "2026-11-10", "fridge": "A1"}
    bundle_url = finished_bundle(auditor, token)
    before = exports_audited(engine)
    assert before == [("otto", "export", "bundle")]

    for url, query in (("/exports/csv", "?kind=readings&from=2026-11-10&to=2026-11-10&fridge=A1"), (bundle_url, "")):
        got = auditor.get(url + query)
        assert got.status_code == 405, url
        assert "POST" in got.headers["Allow"] and "GET" not in got.headers["Allow"], url
        refused = auditor.post(url, data=csv_form if url == "/exports/csv" else {})
        assert refused.status_code == 400 and "security token" in refused.get_data(as_text=True), url
        forged = auditor.post(url, data={**(csv_form if url == "/exports/csv" else {}), "csrf_token": "forged"})
        assert forged.status_code == 400, url
    assert exports_audited(engine) == before

    csv_download = auditor.post("/exports/csv", data={**csv_form, "csrf_token": token})
    assert csv_download.status_code == 200 and len(csv_download.get_data(as_text=True).splitlines()) == 1 + 96
    assert exports_audited(engine) == [*before, ("otto", "export", "readings")]
    with auditor.post(bundle_url, data={"csrf_token": token}) as zip_download:
        assert zip_download.status_code == 200 and zip_download.mimetype == "application/zip"
    assert exports_audited(engine) == [*before, ("otto", "export", "readings"), ("otto", "download", "export_bundle")]
    # The page's forms are what a browser sends: both POST, both carry the token.
    page = auditor.get("/exports/").get_data(as_text=True)
    assert '<form method="post" action="/exports/csv"' in page
    assert f'<form method="post" action="{bundle_url}" class="inline"><input type="hidden" name="csrf_token"' in page
