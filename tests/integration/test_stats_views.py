"""Period statistics in the API (GET /api/v1/fridges/<name>/stats) and on the fridge page, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from fridge_monitor.core.readings import Reading
from fridge_monitor.ingest.batches import Batch, Store
from fridge_monitor.store import models as m
from fridge_monitor.store.sync import sync_declarations
from fridge_monitor.web import create_app

from support import clinic_config, user_with_token

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # 10:00 in Berlin


def reading(sensor: str, minutes: int, temp: float) -> tuple[Reading, datetime]:
    fmt, device = sensor.split(":")
    at = T0 + timedelta(minutes=minutes)
    return Reading(sensor, fmt, device, at, temp), at


@pytest.fixture
def site(database_url, engine_for):
    """(app, token, user id): A1 read every 10 min from 09:00 to 10:50 UTC, at 9 °C from 09:30 to 10:00."""
    engine = engine_for(database_url)
    config = clinic_config([{"name": "A1", "site": "Clinic A", "sensors": ["native:a1", "native:a1-backup"]}],
                           database_url, web={"secret_key": "k" * 40})
    now = datetime.now(UTC)
    sync_declarations(engine, config, T0 - timedelta(days=30))
    token = user_with_token(engine, "audrey", "auditor", now, "correct horse battery")
    Store(engine).write(Batch(readings=[
        *(reading("native:a1", 10 * k, 9.0 if 3 <= k <= 5 else 5.0) for k in range(12)),
        # The backup reads warm, but the primary never falls silent: the backup does not stand in.
        *(reading("native:a1-backup", 10 * k + 1, 20.0) for k in range(12)),
    ]))
    app = create_app(config, engine=engine, testing=True)
    with engine.connect() as conn:
        user_id = conn.scalar(sa.select(m.User.id).where(m.User.name == "audrey"))
    return app, token, user_id


def get(app, path, token):
    return app.test_client().get(path, headers={"Authorization": f"Bearer {token}"})


def test_stats_of_a_period(site):
    app, token, _ = site
    response = get(app, "/api/v1/fridges/A1/stats?from=2026-11-20T09:00:00Z&to=2026-11-20T11:00:00Z", token)
    assert response.status_code == 200, response.get_json()
    # 90 min at 5 °C and 30 min at 9 °C: mean 6.0; MKT 6.195.
    assert response.get_json() == {
        "fridge": "A1", "timezone": "Europe/Berlin", "from": "2026-11-20T09:00:00Z", "to": "2026-11-20T11:00:00Z",
        "min_c": 5.0, "max_c": 9.0, "mean_c": 6.0, "mkt_c": 6.195, "time_out_of_range_s": 1800.0, "coverage": 1.0,
        "readings": 12,
    }


def test_stats_dates_are_site_days_and_no_data_gives_nulls(site):
    app, token, _ = site
    day = get(app, "/api/v1/fridges/A1/stats?from=2026-11-20&to=2026-11-20", token).get_json()
    assert (day["from"], day["to"]) == ("2026-11-19T23:00:00Z", "2026-11-20T23:00:00Z")
    # The last reading (10:50) holds for the allowed 35 minutes; the rest of the day is unknown.
    assert (day["coverage"], day["time_out_of_range_s"], day["mean_c"]) == (0.1007, 1800.0, 5.828)
    empty = get(app, "/api/v1/fridges/A1/stats?from=2026-11-01&to=2026-11-01", token).get_json()
    assert {k: empty[k] for k in ("min_c", "max_c", "mean_c", "mkt_c", "time_out_of_range_s", "coverage")} == {
        "min_c": None, "max_c": None, "mean_c": None, "mkt_c": None, "time_out_of_range_s": 0.0, "coverage": 0.0}


def test_stats_errors_and_description(site):
    app, token, _ = site
    missing = get(app, "/api/v1/fridges/Nope/stats", token)
    assert missing.status_code == 404 and "no fridge named 'Nope'" in missing.get_json()["error"]["message"]
    bad = get(app, "/api/v1/fridges/A1/stats?from=yesterday", token)
    assert bad.status_code == 400 and "parameter 'from'" in bad.get_json()["error"]["message"]
    empty = get(app, "/api/v1/fridges/A1/stats?from=2026-11-20&to=2026-11-19", token)
    assert empty.status_code == 400
    assert app.test_client().get("/api/v1/fridges/A1/stats").status_code == 401
    document = get(app, "/api/v1/openapi.json", token).get_json()
    assert document["paths"]["/api/v1/fridges/{name}/stats"]["get"]["operationId"] == "fridgeStats"
    assert set(document["components"]["schemas"]["Stats"]["properties"]) >= {
        "min_c", "max_c", "mean_c", "mkt_c", "time_out_of_range_s", "coverage", "from", "to"}


def test_fridge_page_shows_the_statistics_for_the_chosen_range(site):
    app, _, user_id = site
    client = app.test_client()
    with client.session_transaction() as session:
        session["user_id"] = user_id
    html = client.get("/fridges/A1?range=custom&from=2026-11-20&to=2026-11-20").get_data(as_text=True)
    block = html[html.index('id="period-stats"'):]
    found = re.findall(r'<dt>([^<]+)</dt><dd>([^<]+?)(?: <span class="muted">([^<]+)</span>)?</dd>',
                       block[:block.index("</dl>")])
    facts = {name: value for name, value, _ in found}
    assert facts == {"Min": "5.0 °C", "Max": "9.0 °C", "Mean": "5.8 °C", "MKT": "6.0 °C",
                     "Time out of range": "30 min", "Coverage": "10.1 %"}
    # The first time each extreme held, in the site's time (Berlin): 5 °C from the first reading, 9 °C at 09:30 UTC.
    assert {name: when for name, _, when in found if when} == {"Min": "from 20 Nov 2026 10:00",
                                                               "Max": "from 20 Nov 2026 10:30"}
    assert "From 24 readings" not in block and "From 12 readings" in block


def test_the_fridge_page_counts_every_alert_waiting_not_only_those_it_lists(site, engine_for, database_url):
    """A fridge with a long history: the page lists its 200 newest alerts, all acknowledged, but three older
    ones still wait, and the page says so."""
    app, _, user_id = site
    engine = engine_for(database_url)
    with engine.begin() as conn:
        fridge_id = conn.scalar(sa.select(m.Fridge.id).where(m.Fridge.name == "A1"))
        rows = []
        for k in range(203):
            at = T0 - timedelta(days=300) + timedelta(days=k)
            acknowledged = k >= 3
            rows.append({"fridge_id": fridge_id, "kind": "excursion", "rule": "out-of-range", "subject": "",
                         "severity": "warning", "state": "resolved", "title": f"Out of range #{k}", "detail": "",
                         "started_at": at, "ended_at": at + timedelta(hours=1), "created_at": at, "updated_at": at,
                         "acknowledged_by": "nina" if acknowledged else None,
                         "acknowledged_at": at + timedelta(hours=2) if acknowledged else None,
                         "action": "Checked the vials." if acknowledged else None})
        conn.execute(sa.insert(m.Alert), rows)
    client = app.test_client()
    with client.session_transaction() as session:
        session["user_id"] = user_id
    html = client.get("/fridges/A1").get_data(as_text=True)
    assert "3 alerts on this fridge wait for an acknowledgement" in html
    assert "Out of range #202" in html and "Out of range #2<" not in html  # the oldest are not listed
