"""Alerts in /metrics and the scheduler in /healthz, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fridge_monitor.alerts.evaluate import Evaluator
from fridge_monitor.alerts.scheduler import Lease
from fridge_monitor.core.readings import Reading
from fridge_monitor.ingest.batches import Batch, Store
from fridge_monitor.store.sync import sync_declarations
from fridge_monitor.web import create_app

from support import clinic_config, user_with_token


def test_metrics_count_waiting_alerts_failed_deliveries_and_the_scheduler(database_url, engine_for):
    engine = engine_for(database_url)
    now = datetime.now(UTC)
    config = clinic_config(
        [{"name": "A1", "site": "Clinic A", "sensors": ["native:a1"]}], database_url, web={"secret_key": "k" * 40},
        # Nothing listens on port 9 of this machine: every delivery fails.
        alerts={"channels": [{"name": "dead-hook", "type": "webhook", "url": "http://127.0.0.1:9/hook",
                              "timeout_s": 2.0}]})
    sync_declarations(engine, config, now - timedelta(days=1))
    token = user_with_token(engine, "olga", "admin", now, "correct horse battery")
    Store(engine).write(Batch(readings=[
        (Reading("native:a1", "native", "a1", now - timedelta(minutes=10), 5.0), now),
        (Reading("native:a1", "native", "a1", now - timedelta(minutes=5), 1.4), now),  # freezing: an alarm at once
    ]))
    evaluator = Evaluator(engine, config)
    evaluator.marked()
    evaluator.outbox.wait_idle(30)
    evaluator.outbox.close()
    Lease(engine, timedelta(seconds=30), holder="box-1:42").acquire(datetime.now(UTC))

    client = create_app(config, engine=engine, testing=True).test_client()
    metrics = client.get("/metrics", headers={"Authorization": f"Bearer {token}"}).get_data(as_text=True)
    assert 'fridge_monitor_alerts_unacknowledged{kind="excursion",severity="alarm"} 1.0' in metrics
    assert 'fridge_monitor_alerts_unacknowledged{kind="excursion",severity="warning"} 1.0' in metrics
    assert "fridge_monitor_alerts_ongoing 2.0" in metrics
    assert 'fridge_monitor_notifications_failed_total{channel="dead-hook"} 2.0' in metrics
    assert "fridge_monitor_scheduler_active 1.0" in metrics
    health = client.get("/healthz", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert health["scheduler"]["active"] is True and health["scheduler"]["holder"] == "box-1:42"
