"""The auditor's export page: a CSV streamed as it is written, a bundle made in the background; both audited."""

from __future__ import annotations

import io
import re
import time
import zipfile
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor import accounts, manifest
from fridge_monitor import models as m
from fridge_monitor.config import build_config
from fridge_monitor.readings import Reading
from fridge_monitor.store import Batch, Store
from fridge_monitor.sync import sync_config
from fridge_monitor.web import create_app
from support import client_for

DAY = datetime(2026, 11, 10, tzinfo=timezone.utc)


@pytest.fixture
def site(database_url, engine_for, tmp_path):
    engine = engine_for(database_url)
    config = build_config({
        "database": {"url": database_url}, "web": {"secret_key": "e" * 40},
        "reports": {"exports_dir": str(tmp_path / "exports")},
        "sites": [{"name": "Clinic A", "timezone": "Europe/Berlin"}],
        "fridges": [{"name": "A1", "site": "Clinic A", "sensors": ["native:a1"]},
                    {"name": "B2", "site": "Clinic A", "sensors": ["native:b2"]}],
    }, {}, {}, "test")
    with so.Session(engine) as session, session.begin():
        sync_config(session, config, DAY - timedelta(days=30))
        for name, role in (("otto", "auditor"), ("nina", "nurse")):
            accounts.create_user(session, name, role, f"{name}-password-1", actor="test", now=DAY)
    Store(engine).write(Batch(readings=[
        (Reading(sensor, "native", sensor.split(":")[1], DAY + timedelta(minutes=15 * i), 4.0 + i % 3), DAY)
        for sensor in ("native:a1", "native:b2") for i in range(96)
    ]))
    app = create_app(config, engine=engine, testing=True)
    return app, engine



def exports_audited(engine) -> list[tuple[str, str, str]]:
    a = m.AuditEvent
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(a.actor, a.action, a.record_type)
                                               .where(a.action.in_(["export", "download"])).order_by(a.id))]


def test_a_csv_streams_with_a_file_name_and_is_audited(site):
    app, engine = site
    auditor = client_for(app, engine, "otto")
    response = auditor.get("/exports/csv?kind=readings&from=2026-11-10&to=2026-11-10&fridge=A1")
    assert response.status_code == 200 and response.is_streamed
    assert response.headers["Content-Disposition"] == \
        'attachment; filename="fridge-monitor-readings-20261110-20261110-A1.csv"'
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0] == "measured_at_utc,fridge,sensor,temperature_c,received_at_utc"
    assert len(lines) == 1 + 96 and all(",A1," in line for line in lines[1:])
    assert exports_audited(engine) == [("otto", "export", "readings")]

    bad = auditor.get("/exports/csv?kind=readings&from=2026-11-12&to=2026-11-10&fridge=Z9")
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
    link = re.search(r'href="(/exports/jobs/\d+/download)"', jobs).group(1)
    with auditor.get(link) as download:
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
