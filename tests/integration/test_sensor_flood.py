"""A publisher inventing sensor ids cannot flood the sensor list (issue 12 item 15).

At most ``[ingest] max_unassigned_sensors`` unknown sensors are registered at a
time; a message from a further new id is kept as a rejected message saying
why (nothing is lost, no sensor row, no audit event) and counted in /metrics.
Assigning or retiring a sensor makes room again. Published to the real
broker, stored by a real ingest, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import sqlalchemy as sa

from fridge_monitor.core.readings import Reading
from fridge_monitor.ingest.batches import Batch, Store
from fridge_monitor.ingest.subscriber import Ingest
from fridge_monitor.store import models as m

from support import Publisher, post, signed_in, user_with_token, wait_until, web_app

CAP = 5
REASON = "too many unassigned sensors (5): assign or retire sensors to accept new ones"


def sensor_ids(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.scalars(sa.select(m.Sensor.id).order_by(m.Sensor.id)))


def rejected(engine: sa.Engine) -> list[tuple[str | None, str, bytes]]:
    r = m.RejectedMessage
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.select(r.sensor_id, r.reason, r.payload).order_by(r.id))]


def registrations(engine: sa.Engine) -> list[str]:
    a = m.AuditEvent
    with engine.connect() as conn:
        return list(conn.scalars(sa.select(a.record_id).where(a.record_type == "sensor", a.action == "create")
                                 .order_by(a.record_id)))


def reading(n: int) -> str:
    return json.dumps({"temperature_c": 4.0 + n / 10, "ts": datetime.now(UTC).isoformat()})


def test_new_sensor_ids_past_the_cap_are_kept_as_rejected_until_room_is_made(
        database_url, make_config, engine_for, mqtt_url, mqtt_protocol, prefix):
    engine = engine_for(database_url)
    config, _ = make_config(database_url, sections={"ingest": {"max_unassigned_sensors": CAP}},
                            sites=[{"name": "Clinic A", "timezone": "Europe/Berlin"}],
                            fridges=[{"name": "A1", "site": "Clinic A", "sensors": []}])
    ingest = Ingest(config)
    ingest.start()
    publisher = Publisher(mqtt_url, f"pub-{prefix.strip('/')}", mqtt_protocol)
    topic = f"{prefix}fridge-monitor/readings/flood-{{}}"
    try:
        assert ingest.wait_connected(10)
        publisher.publish([(topic.format(n), reading(n)) for n in range(8)])
        wait_until(lambda: len(rejected(engine)) == 3 and not ingest.backlog, 30, what="3 rejected messages")
        flood = [f"native:flood-{n}" for n in range(5)]
        assert sensor_ids(engine) == flood
        assert registrations(engine) == flood  # the refused ids left no audit event
        assert [(sid, why) for sid, why, _ in rejected(engine)] == [(f"native:flood-{n}", REASON) for n in (5, 6, 7)]
        assert json.loads(rejected(engine)[0][2])["temperature_c"] == 4.5  # the message is kept whole

        app, token = web(database_url, engine)
        metrics = app.test_client().get("/metrics", headers={"Authorization": f"Bearer {token}"}).get_data(as_text=True)
        assert "fridge_monitor_rejected_new_sensors_total 3.0" in metrics
        assert "fridge_monitor_sensors_unassigned 5.0" in metrics

        # An admin assigns one sensor and retires another: room for two new ids.
        admin = signed_in(app, "ada", "correct horse battery")
        a1 = str(engine_scalar(engine, sa.select(m.Fridge.id).where(m.Fridge.name == "A1")))
        assert post(admin, "/admin/sensors/native:flood-0",
                    {"fridge": a1, "role": "primary", "reason": "the real probe"}).status_code == 302
        assert post(admin, "/admin/sensors/native:flood-1/retire",
                    {"retire-reason": "invented by a broken gateway"}).status_code == 302
        publisher.publish([(topic.format(n), reading(n)) for n in (5, 8, 9)])
        wait_until(lambda: len(rejected(engine)) == 4 and not ingest.backlog, 30, what="a fourth rejected message")
    finally:
        publisher.close()
        ingest.stop()
    assert sensor_ids(engine) == [*flood, "native:flood-5", "native:flood-8"]
    assert rejected(engine)[-1][:2] == ("native:flood-9", REASON)
    with engine.connect() as conn:
        retired = conn.scalar(sa.select(m.Sensor.retired_at).where(m.Sensor.id == "native:flood-1"))
    assert retired is not None


def test_a_cap_of_zero_registers_no_unknown_sensor(database_url, make_config, engine_for, mqtt_url, mqtt_protocol,
                                                    prefix):
    engine = engine_for(database_url)
    config, _ = make_config(database_url, sections={"ingest": {"max_unassigned_sensors": 0}})
    ingest = Ingest(config)
    ingest.start()
    publisher = Publisher(mqtt_url, f"pub-{prefix.strip('/')}", mqtt_protocol)
    try:
        assert ingest.wait_connected(10)
        publisher.publish([(f"{prefix}fridge-monitor/readings/stranger", reading(1)),
                           # a right-to-left override in the id: refused whatever the cap (item 14)
                           (f"{prefix}fridge-monitor/readings/probe\u202e1", reading(2))])
        wait_until(lambda: len(rejected(engine)) == 2 and not ingest.backlog, 30, what="2 rejected messages")
    finally:
        publisher.close()
        ingest.stop()
    assert sensor_ids(engine) == []
    assert sorted(why for _, why, _ in rejected(engine)) == [
        "sensor id native:probe\\u202e1: a sensor id must not contain control, format or bidirectional characters "
        "(found U+202E)",
        "too many unassigned sensors (0): assign or retire sensors to accept new ones",
    ]


# -- the web side ---------------------------------------------------------------


def web(database_url: str, engine: sa.Engine):
    token = user_with_token(engine, "ada", "admin", datetime.now(UTC), "correct horse battery")
    return web_app(engine, database_url, web={"secret_key": "k" * 40}), token


def engine_scalar(engine: sa.Engine, query: sa.Select):
    with engine.connect() as conn:
        return conn.scalar(query)


def test_long_sensor_lists_come_a_page_at_a_time(database_url, engine_for):
    engine = engine_for(database_url)
    now = datetime.now(UTC)
    Store(engine).write(Batch(readings=[(Reading(f"native:s{n:03}", "native", f"s{n:03}", now, 4.0), now)
                                        for n in range(120)]))
    app, _token = web(database_url, engine)
    admin = signed_in(app, "ada", "correct horse battery")

    for url in ("/", "/dashboard/tiles"):  # the page, and what its live refresh fetches every 10 s
        page = admin.get(url).get_data(as_text=True)
        assert len(re.findall(r">native:s\d{3}<", page)) == 50, url
        assert "showing 1–50 of 120" in page
        assert 'href="/?page=2" rel="next"' in page
    last = admin.get("/dashboard/tiles?page=3").get_data(as_text=True)
    assert re.findall(r">(native:s\d{3})<", last) == [f"native:s{n:03}" for n in range(100, 120)]
    assert "showing 101–120 of 120" in last and 'rel="next"' not in last
    assert 'data-refresh="/dashboard/tiles?page=3"' in admin.get("/?page=3").get_data(as_text=True)

    listing = admin.get("/admin/sensors").get_data(as_text=True)
    assert listing.count('href="/admin/sensors/native:s') == 50
    assert "Showing 1–50 of 120" in listing and 'href="/admin/sensors?page=2" rel="next"' in listing
    assert "120 unassigned sensors in service" in listing

    # A retired sensor leaves the dashboard's list, and stays on the admin's, marked.
    assert post(admin, "/admin/sensors/native:s000/retire", {"retire-reason": "not ours"}).status_code == 302
    assert "showing 1–50 of 119" in admin.get("/").get_data(as_text=True)
    assert ">native:s000<" not in admin.get("/").get_data(as_text=True)
    last_admin = admin.get("/admin/sensors?page=3").get_data(as_text=True)
    assert "native:s000" in last_admin and "⏻ Retired" in last_admin
