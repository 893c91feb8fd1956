"""A channel URL's secret (a Slack-style webhook's path, a token in its query) is never stored or shown: not in
the delivery log, the alert page, the API or the bundle's notifications CSV; on SQLite and PostgreSQL."""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from fridge_monitor.alerts.evaluate import Evaluator
from fridge_monitor.core.readings import Reading
from fridge_monitor.ingest.batches import Batch, Store
from fridge_monitor.mqtt.broker import free_port
from fridge_monitor.reports import bundle
from fridge_monitor.store import models as m
from fridge_monitor.store.sync import sync_declarations
from fridge_monitor.web import create_app

from support import client_for, clinic_config, user_with_token

NOW = datetime.now(UTC).replace(microsecond=0)
START = NOW - timedelta(hours=3)
SECRETS = ("SECRET123", "T000", "TOKEN456", "hunter2")


def test_a_webhook_secret_is_nowhere_a_nurse_or_inspector_can_read(database_url, engine_for, hooks, tmp_path):
    engine = engine_for(database_url)
    down = f"http://nobody:hunter2@127.0.0.1:{free_port()}/hook/T000/SECRET123?token=TOKEN456"
    config = clinic_config([{"name": "A1", "site": "Clinic A", "sensors": ["native:a1"]}], database_url,
                           web={"secret_key": "s" * 40}, alerts={"channels": [
        {"name": "slack", "type": "webhook", "url": hooks.url + "/T000/SECRET123", "tier": 1, "timeout_s": 5.0},
        {"name": "down", "type": "webhook", "url": down, "tier": 1, "timeout_s": 5.0}]})
    sync_declarations(engine, config, NOW - timedelta(days=2))
    token = user_with_token(engine, "nina", "nurse", NOW)
    points = [(t, 9.5 if 30 <= t < 120 else 5.0) for t in range(0, 181, 5)]
    Store(engine).write(Batch(readings=[
        (Reading("native:a1", "native", "a1", START + timedelta(minutes=t), temp, 90), START + timedelta(minutes=t))
        for t, temp in points]))
    evaluator = Evaluator(engine, config, clock=lambda: NOW)
    evaluator.everything()
    evaluator.outbox.send_due(NOW + timedelta(minutes=1), wait=True)
    evaluator.outbox.close()
    assert hooks.received(), "the webhook was not called"

    n = m.Notification
    with engine.connect() as conn:
        rows = conn.execute(sa.select(n.alert_id, n.channel, n.ok, n.detail).where(n.sent_at.is_not(None))).all()
    assert {(channel, ok) for _, channel, ok, _ in rows} >= {("slack", True), ("down", False)}
    assert f"http://127.0.0.1:{hooks.server_address[1]} answered HTTP 204" in {d for *_, d in rows}
    alert_id = rows[0].alert_id

    page = client_for(create_app(config, engine=engine, testing=True), engine, "nina").get(f"/alerts/{alert_id}")
    assert page.status_code == 200 and "answered HTTP 204" in page.get_data(as_text=True)
    api = create_app(config, engine=engine, testing=True).test_client().get(
        f"/api/v1/alerts/{alert_id}", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200 and api.get_json()["notifications"]
    made = bundle.build(engine, config, bundle.Request(NOW - timedelta(days=1), NOW + timedelta(hours=1)),
                        tmp_path / "bundle.zip", actor="nina", now=NOW)
    with zipfile.ZipFile(made.path) as archive:
        notifications_csv = archive.read("notifications.csv").decode()
    assert "answered HTTP 204" in notifications_csv

    for where, text in [("notifications", repr(rows)), ("page", page.get_data(as_text=True)),
                        ("api", api.get_data(as_text=True)), ("bundle", notifications_csv)]:
        for secret in SECRETS:
            assert secret not in text, f"{secret} shown in {where}"
