"""Every notification names its event (issue #11, defect 9), end to end on both databases: readings over the
real broker into ``fridge-monitor ingest``, ``fridge-monitor check`` for what time passing brings, an
acknowledgement through the API, and a webhook channel pointing at a real HTTP server in the test."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.alerts.evaluate import Evaluator
from fridge_monitor.store import accounts
from fridge_monitor.store import models as m
from fridge_monitor.store.marks import marked_fridges
from fridge_monitor.store.sync import sync_config
from fridge_monitor.web import create_app

from support import Publisher, cli, native, wait_until

pytestmark = [pytest.mark.slow]

FRIDGE = "Vaccines"
SENSOR = "vaccines-probe"
REMINDER_S = 3.0


def alerts(engine: sa.Engine) -> list[tuple[int, str, str, str]]:
    a = m.Alert
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(a.id, a.rule, a.severity, a.state).order_by(a.id))]


def notifications(engine: sa.Engine) -> list[tuple[int, str, int, bool | None]]:
    """Every delivery attempt: (alert id, event, attempt, ok)."""
    n = m.Notification
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(n.alert_id, n.event, n.attempt, n.ok).order_by(n.id))]


def readings_stored(engine: sa.Engine, sensor: str) -> int:
    with engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(m.Reading).where(m.Reading.sensor_id == sensor))


def test_webhooks_name_the_event_opened_reminder_acknowledged_resolved(
        database_url, make_config: Callable[..., Any], engine_for, hooks, ingest_processes, mqtt_url, prefix):
    config, path = make_config(
        database_url,
        sections={"alerts": {"reminder_min": REMINDER_S / 60, "base_url": "https://fridges.clinic.example",
                             "channels": [{"name": "ward-hook", "type": "webhook", "url": hooks.url, "tier": 1,
                                           "timeout_s": 5.0}]},
                  "web": {"secret_key": "k" * 40}},
        sites=[{"name": "Clinic", "timezone": "Europe/Berlin"}],
        fridges=[{"name": FRIDGE, "site": "Clinic", "sensors": [f"native:{SENSOR}"]}],
    )
    engine = engine_for(database_url)
    ingest = ingest_processes(path).start()
    publisher = Publisher(mqtt_url, f"pub-{prefix.strip('/')}")
    now = int(time.time())

    def at(minutes: int, celsius: float) -> tuple[str, bytes]:
        return native(prefix, SENSOR, celsius, now + minutes * 60)

    def judged(count: int) -> bool:
        assert ingest.running(), ingest.log_tail()
        return readings_stored(engine, f"native:{SENSOR}") == count and marked_fridges(engine) == []

    def all_sent() -> bool:
        return all(ok is not None for *_, ok in notifications(engine))

    def check() -> None:
        done = cli("--config", str(path), "check")
        assert done.returncode == 0, done.stderr

    try:
        def probe_stored() -> bool:
            assert ingest.running(), ingest.log_tail()
            publisher.publish([native(prefix, "probe", 5.0)])
            return readings_stored(engine, "native:probe") > 0

        wait_until(probe_stored, 30, interval=0.3, what="ingest to store a probe reading")
        with so.Session(engine) as session, session.begin():
            nurse = accounts.create_user(session, "nina", "nurse", "correct horse battery", actor="test",
                                         now=datetime.now(UTC))
            token = accounts.new_token(session, nurse, actor="test", now=datetime.now(UTC))

        # In range, then 9.5 °C from 40 to 24 minutes ago: the out-of-range warning opens.
        publisher.publish([at(k, 5.0) for k in (-46, -44, -42)] + [at(k, 9.5) for k in range(-40, -23, 2)])
        wait_until(lambda: judged(12), 30, what="ingest to store and judge the readings")
        [(alert_id, rule, severity, state)] = alerts(engine)
        assert (rule, severity, state) == ("out-of-range", "warning", "open")
        wait_until(lambda: hooks.events(), 30, what="the opened webhook")

        # Nobody acknowledges: once the reminder interval has passed, the check sends a reminder.
        time.sleep(REMINDER_S)
        check()
        wait_until(lambda: len(hooks.events()) == 2 and all_sent(), 30, what="the reminder webhook")

        # A nurse acknowledges through the API; the next check tells the channel that heard of the alert.
        client = create_app(config, engine=engine, testing=True).test_client()
        answer = client.post(f"/api/v1/alerts/{alert_id}/acknowledge", json={"action": "Moved the vials to B2."},
                             headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200, answer.get_data(as_text=True)
        check()
        wait_until(lambda: len(hooks.events()) == 3 and all_sent(), 30, what="the acknowledged webhook")

        # Back in range for longer than the clear delay: the episode ends, and the channel hears so.
        publisher.publish([at(k, 5.0) for k in range(-22, 1, 2)])
        wait_until(lambda: judged(24), 30, what="ingest to store and judge the readings back in range")
        wait_until(lambda: len(hooks.events()) == 4 and all_sent(), 30, what="the resolved webhook")
        time.sleep(REMINDER_S)
        check()  # acknowledged and over: no reminder, nothing more
        assert all_sent()
    finally:
        publisher.close()

    assert hooks.events() == [(alert_id, "opened", "open"), (alert_id, "reminder", "open"),
                              (alert_id, "acknowledged", "acknowledged"), (alert_id, "resolved", "resolved")]
    assert [(event, attempt, ok) for _, event, attempt, ok in notifications(engine)] == [
        ("opened", 1, True), ("reminder", 1, True), ("acknowledged", 1, True), ("resolved", 1, True)]
    first, reminder, acknowledged, resolved = hooks.received()
    assert {key for key in first if first[key] != reminder[key]} <= {"event", "updated_at", "detail", "title"}
    assert (acknowledged["acknowledged_by"], acknowledged["action"]) == ("nina", "Moved the vials to B2.")
    assert (resolved["acknowledged_by"], resolved["state"]) == ("nina", "resolved")
    assert all(body["version"] == 1 and body["url"] == f"https://fridges.clinic.example/alerts/{alert_id}"
               for body in hooks.received())
    assert "Traceback" not in ingest.log(), ingest.log_tail()


def test_a_warning_that_becomes_an_alarm_is_told_as_changed(database_url, engine_for, hooks):
    """A fridge watched by a data logger alone goes without a download past the week allowed (a warning) and then
    past twice that (an alarm): the same alert, its severity changed while it lasts, and every channel that heard
    of it is told."""
    from fridge_monitor.config import build_config
    from fridge_monitor.loggers.importing import Importer, Request
    from sensors.logger_files import fridge_tag_report

    engine = engine_for(database_url)
    downloaded = datetime.now(UTC).replace(microsecond=0) - timedelta(days=16)
    config = build_config({
        "database": {"url": database_url},
        "sites": [{"name": "Clinic", "timezone": "Europe/Berlin"}],
        "fridges": [{"name": FRIDGE, "site": "Clinic", "sensors": []}],
        "alerts": {"reminder_min": 0, "channels": [{"name": "ward-hook", "type": "webhook", "url": hooks.url,
                                                    "timeout_s": 5.0}]},
    }, {}, {}, "test")
    with so.Session(engine) as session, session.begin():
        sync_config(session, config, downloaded - timedelta(days=10))
    first_day = (downloaded - timedelta(days=3)).replace(tzinfo=None, hour=0, minute=0, second=0)
    report = fridge_tag_report("130500109088", first_day, [5.0] * (2 * 1440), data=False)
    Importer(engine, config, clock=lambda: downloaded).import_file(FRIDGE, Request("tag.txt", report), "nina")

    def judge(moment: datetime) -> None:
        evaluator = Evaluator(engine, config, clock=lambda: moment)
        try:
            evaluator.everything()
            evaluator.outbox.send_due(moment, wait=True)
        finally:
            evaluator.outbox.close()

    judge(downloaded + timedelta(days=8))  # more than the week allowed: a warning
    judge(downloaded + timedelta(days=8, hours=1))  # nothing new
    judge(downloaded + timedelta(days=15))  # more than twice the week: the same alert, now an alarm
    judge(downloaded + timedelta(days=15, hours=1))  # still an alarm: nothing new

    overdue = hooks.received("logger-overdue")
    assert [(b["event"], b["severity"], b["state"]) for b in overdue] == [
        ("opened", "warning", "open"), ("changed", "alarm", "open")]
    assert overdue[0]["alert_id"] == overdue[1]["alert_id"]
