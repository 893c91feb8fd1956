"""The retained alert state of a fridge on MQTT follows all of its alerts, not only the last one sent."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as paho
import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.alerts import handling as alerts
from fridge_monitor.alerts.evaluate import Evaluator
from fridge_monitor.config import build_config
from fridge_monitor.core.readings import Reading
from fridge_monitor.ingest.batches import Batch, Store
from fridge_monitor.mqtt.client import shut_down
from fridge_monitor.store import accounts
from fridge_monitor.store import models as m
from fridge_monitor.store.sync import sync_config

from support import retained

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def retained_state(mqtt_url: str, topic: str) -> dict:
    return json.loads(retained(mqtt_url, topic))


def test_clearing_one_alert_leaves_the_fridge_active_while_another_is_in_play(sqlite_url, engine_for, mqtt_url,
                                                                             mqtt_protocol, prefix):
    engine = engine_for(sqlite_url)
    fridge = f"F-{uuid.uuid4().hex[:6]}"
    topic_prefix = prefix + "alerts"
    config = build_config({
        "database": {"url": sqlite_url},
        "mqtt": {"url": mqtt_url, "protocol": mqtt_protocol},
        "sites": [{"name": "Ward 3", "timezone": "Europe/Berlin"}],
        "fridges": [{"name": fridge, "site": "Ward 3", "sensors": ["native:p"]}],
        "alerts": {"channels": [{"name": "state", "type": "mqtt", "topic_prefix": topic_prefix, "timeout_s": 5.0}]},
    }, {}, {}, "test")
    with so.Session(engine) as session, session.begin():
        sync_config(session, config, T0 - timedelta(days=1))
        nurse_id = accounts.create_user(session, "nina", "nurse", "correct horse battery", actor="test", now=T0).id
    store = Store(engine)

    def judge(minutes: float, *points: tuple[float, float]) -> None:
        store.write(Batch(readings=[(Reading("native:p", "native", "p", T0 + timedelta(minutes=t), c),
                                     T0 + timedelta(minutes=t)) for t, c in points]))
        evaluator = Evaluator(engine, config, clock=lambda: T0 + timedelta(minutes=minutes))
        evaluator.marked()
        evaluator.outbox.wait_idle(20)
        evaluator.outbox.close()

    def ack(rule: str, minutes: float) -> None:
        with so.Session(engine) as session, session.begin():
            alert_id = session.scalar(sa.select(m.Alert.id).where(m.Alert.rule == rule))
            alerts.acknowledge(session, alert_id, session.get(m.User, nurse_id), "Moved the vials.", [],
                               T0 + timedelta(minutes=minutes))
        evaluator = Evaluator(engine, config, clock=lambda: T0 + timedelta(minutes=minutes))
        evaluator.outbox.plan_pending(T0 + timedelta(minutes=minutes))
        evaluator.outbox.send_due(T0 + timedelta(minutes=minutes), wait=True)
        evaluator.outbox.close()

    topic = f"{topic_prefix}/{fridge}"
    try:
        judge(5, (0, 5.0), (5, 1.5))  # freezing: an out-of-range warning and a freeze alarm
        assert retained_state(mqtt_url, topic)["active"] is True
        ack("out-of-range", 6)  # the warning is acknowledged; the alarm is still open
        state = retained_state(mqtt_url, topic)
        assert (state["active"], state["kind"], state["severity"], state["state"]) == (
            True, "excursion", "alarm", "open")
        assert state["event"] == "opened"  # the alarm's own last event, not the warning's acknowledgement
        judge(30, (10, 5.0), (15, 5.0), (20, 5.0), (25, 5.0), (30, 5.0))  # back in range, past the clear delay
        ack("freeze", 31)
        state = retained_state(mqtt_url, topic)
        assert (state["active"], state["state"], state["acknowledged_by"]) == (False, "resolved", "nina")
        assert state["event"] == "acknowledged"
    finally:
        host, port = mqtt_url.split("://")[1].split(":")
        client = paho.Client(paho.CallbackAPIVersion.VERSION2)
        client.connect(host, int(port))
        client.loop_start()
        client.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)
        shut_down(client)
