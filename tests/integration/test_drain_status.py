"""A draining fridge is not shown NO DATA, and /healthz and /metrics show ingest's heartbeat (defect 8).

The dashboard's and the API's status, the alarms and the silent-sensor count
all judge silence by one rule (:func:`fridge_monitor.core.status.is_silent`) at
the moment ingest's heartbeats say (:func:`fridge_monitor.core.heartbeat.heard_until`).
Through the Flask test client, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from fridge_monitor.alerts.outbox import Outbox
from fridge_monitor.alerts.scheduler import run_checks
from fridge_monitor.core.heartbeat import Heartbeat
from fridge_monitor.core.readings import Reading
from fridge_monitor.ingest.batches import Batch, Store
from fridge_monitor.store import models as m
from fridge_monitor.store.ingest_state import record_heartbeat
from fridge_monitor.store.sync import sync_declarations
from fridge_monitor.web import create_app

from support import clinic_config, user_with_token


@pytest.fixture
def clinic(database_url, engine_for):
    """Fridge A1 whose only sensor's newest stored reading is 40 minutes old (the dashboard allows 30)."""
    engine = engine_for(database_url)
    config = clinic_config([{"name": "A1", "site": "Clinic A", "sensors": ["native:a1"]}], database_url,
                           web={"secret_key": "k" * 40})
    now = datetime.now(UTC)
    sync_declarations(engine, config, now - timedelta(days=1))
    token = user_with_token(engine, "audrey", "auditor", now, "correct horse battery")
    at = now - timedelta(minutes=40)
    Store(engine).write(Batch(readings=[(Reading("native:a1", "native", "a1", at, 4.5), at)]))
    return engine, config, create_app(config, engine=engine, testing=True), token, now


def beat(now: datetime, caught_up_minutes_ago: float, *, beat_s_ago: float = 1.0) -> Heartbeat:
    return Heartbeat("ingest-1", now - timedelta(minutes=5), now - timedelta(seconds=beat_s_ago), True, 1000,
                     now - timedelta(minutes=caught_up_minutes_ago), now - timedelta(seconds=beat_s_ago), 5.0, 3600.0)


def get(app, path, token):
    return app.test_client().get(path, headers={"Authorization": f"Bearer {token}"})


def test_a_draining_fridge_is_shown_by_its_last_reading_not_no_data(clinic):
    engine, _config, app, token, now = clinic
    assert get(app, "/api/v1/fridges/A1", token).get_json()["status"] == "NO DATA"

    # Ingest is draining: everything the broker held 35 minutes ago is stored, and the reading 40 minutes old
    # is within the allowed 30 minutes of that.
    record_heartbeat(engine, beat(now, 35))
    body = get(app, "/api/v1/fridges/A1", token).get_json()
    assert (body["status"], body["temperature_c"]) == ("OK", 4.5)

    # Gone (no heartbeat for 4 beats): silence is judged as of now again.
    record_heartbeat(engine, beat(now, 35, beat_s_ago=21))
    assert get(app, "/api/v1/fridges/A1", token).get_json()["status"] == "NO DATA"


def test_healthz_and_metrics_show_each_ingest_heartbeat(clinic):
    engine, _config, app, token, now = clinic
    health = get(app, "/healthz", token).get_json()
    assert health["ingest"]["processes"] == []

    record_heartbeat(engine, beat(now, 35))
    health = get(app, "/healthz", token).get_json()
    [process] = health["ingest"]["processes"]
    assert (process["client_id"], process["connected"], process["backlog"], process["draining"]) == (
        "ingest-1", True, 1000, True)
    assert 2100 <= process["caught_up_lag_s"] < 2160 and 1 <= process["heartbeat_age_s"] < 60
    assert abs(datetime.fromisoformat(health["ingest"]["silence_judged_at"]) - (now - timedelta(minutes=35))) \
        < timedelta(seconds=1)

    metrics = get(app, "/metrics", token).get_data(as_text=True)
    lag = float(re.search(r'^fridge_monitor_ingest_caught_up_lag_seconds\{client_id="ingest-1"\} ([0-9.e+-]+)$',
                          metrics, re.M).group(1))
    assert 2100 <= lag < 2160
    assert 'fridge_monitor_ingest_backlog{client_id="ingest-1"} 1000.0' in metrics
    assert "fridge_monitor_sensors_silent 0.0" in metrics  # judged where ingest caught up
    assert 'fridge_monitor_fridges{status="NO DATA"} 0.0' in metrics


def test_the_scheduler_and_the_dashboard_judge_alike(clinic):
    """The same heartbeat: no alarm and no NO DATA while draining; both once ingest is gone."""
    engine, config, app, token, now = clinic
    outbox = Outbox(engine, config)
    try:
        record_heartbeat(engine, beat(now, 35))
        run_checks(engine, config, outbox)
        assert _no_data(engine) == []  # CDC allows 35 minutes: 40 minutes old, judged 35 minutes ago, is fine
        record_heartbeat(engine, beat(now, 35, beat_s_ago=21))
        run_checks(engine, config, outbox)
        assert _no_data(engine) == [("silence", "native:a1", "open")]
        assert get(app, "/api/v1/fridges/A1", token).get_json()["status"] == "NO DATA"
    finally:
        outbox.close()


def _no_data(engine: sa.Engine) -> list[tuple[str, str, str]]:
    a = m.Alert
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(a.rule, a.subject, a.state).where(a.kind == "no-data"))]
