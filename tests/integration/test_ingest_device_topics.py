"""Real device topics over the real broker, on SQLite and PostgreSQL: nested zigbee2mqtt names,
retained messages handed over on subscribe, ESPHome entities learnt from discovery, Shelly add-on probes."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as paho
import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.core.readings import RETAINED_WITHOUT_TIME
from fridge_monitor.ingest.subscriber import Ingest
from fridge_monitor.mqtt.client import shut_down
from fridge_monitor.store import models as m
from fridge_monitor.web import create_app

from support import Publisher, client_for, user_with_token, wait_until


def publish_retained(url: str, protocol: str, client_id: str, messages: Iterable[tuple[str, bytes | str]]) -> None:
    """Publish retained at QoS 1 and wait until the broker has each one (b"" deletes a retained message)."""
    host, port = url.split("://")[1].split(":")
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=client_id,
                         protocol=paho.MQTTv5 if protocol == "5" else paho.MQTTv311)
    client.connect(host, int(port))
    client.loop_start()
    try:
        for info in [client.publish(topic, payload, qos=1, retain=True) for topic, payload in messages]:
            info.wait_for_publish(10)
            assert info.is_published()
    finally:
        shut_down(client)


def readings(engine: sa.Engine) -> dict[str, list[float]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(m.Reading.sensor_id, m.Reading.temperature_c).order_by(m.Reading.measured_at))
        found: dict[str, list[float]] = {}
        for sid, celsius in rows:
            found.setdefault(sid, []).append(celsius)
        return found


def count(engine: sa.Engine, model: type) -> int:
    with engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(model))


class Ingests:
    """In-process Ingests on the default subscriptions under this test's prefix; all stopped afterwards."""

    def __init__(self, make_config) -> None:
        self._make_config = make_config
        self._running: list[Ingest] = []

    def start(self, database_url: str, client_id: str | None = None) -> Ingest:
        config, _ = self._make_config(database_url, client_id=client_id)
        ingest = Ingest(config)
        ingest.start()
        self._running.append(ingest)
        assert ingest.wait_connected(10)
        return ingest

    def stop(self, ingest: Ingest) -> None:
        self._running.remove(ingest)
        ingest.stop()

    def stop_all(self) -> None:
        while self._running:
            self.stop(self._running[-1])


@pytest.fixture
def ingests(make_config):
    made = Ingests(make_config)
    yield made
    made.stop_all()


def test_nested_zigbee2mqtt_names_stay_two_sensors_and_a_shelly_probe_is_read(
        database_url, ingests, engine_for, mqtt_url, mqtt_protocol, prefix):
    engine = engine_for(database_url)
    ingest = ingests.start(database_url)
    p = prefix
    publisher = Publisher(mqtt_url, f"pub-{p.strip('/')}", mqtt_protocol)
    try:
        publisher.publish([
            (f"{p}zigbee2mqtt/kitchen/fridge", json.dumps({"temperature": 4.1, "battery": 90, "linkquality": 80})),
            (f"{p}zigbee2mqtt/lab/fridge", json.dumps({"temperature": 5.2, "humidity": 40})),
            (f"{p}zigbee2mqtt/c1_backup", json.dumps({"temperature": 6.1})),  # a one-level name keeps its id
            (f"{p}zigbee2mqtt/kitchen/fridge/set", json.dumps({"temperature": 99})),
            (f"{p}zigbee2mqtt/bridge/state", json.dumps({"state": "online"})),
            (f"{p}zigbee2mqtt/lab/fridge/availability", json.dumps({"state": "offline"})),
            (f"{p}shellies/shelly1-98CDAC2F1E0A/ext_temperature/0", "4.5"),
            # The same probe in °F: not subscribed by default, so never a second reading.
            (f"{p}shellies/shelly1-98CDAC2F1E0A/ext_temperature_f/0", "40.1"),
        ])
        wait_until(lambda: len(readings(engine)) == 4 and ingest.stats.ignored_messages >= 1 and not ingest.backlog
                   and count(engine, m.ChannelReading) == 1, 30, what="4 sensors' readings")
    finally:
        publisher.close()
    assert readings(engine) == {
        "zigbee2mqtt:kitchen/fridge": [4.1],
        "zigbee2mqtt:lab/fridge": [5.2],
        "zigbee2mqtt:c1_backup": [6.1],
        "shelly:shelly1-98CDAC2F1E0A:ext0": [4.5],
    }
    assert count(engine, m.RejectedMessage) == 0
    with engine.connect() as conn:
        devices = dict(conn.execute(sa.select(m.Sensor.id, m.Sensor.device)).all())
        assert devices["zigbee2mqtt:kitchen/fridge"] == "kitchen/fridge"
        assert conn.scalar(sa.select(m.Sensor.battery_pct).where(m.Sensor.id == "zigbee2mqtt:kitchen/fridge")) == 90
        # The lab sensor's humidity is kept as humidity; the bridge said every device is reachable, then the
        # lab sensor's own availability said it is not.
        assert conn.execute(sa.select(m.ChannelReading.sensor_id, m.ChannelReading.channel,
                                      m.ChannelReading.value)).all() == [("zigbee2mqtt:lab/fridge", "humidity", 40.0)]
        online = dict(conn.execute(sa.select(m.Sensor.id, m.Sensor.online)).all())
        assert (online["zigbee2mqtt:kitchen/fridge"], online["zigbee2mqtt:lab/fridge"]) == (True, False)

    # A sensor id with "/" has its admin page, linked from the sensor list.
    config, _ = make_config_with_secret(database_url, engine)
    app = create_app(config, engine=engine, testing=True)
    client = client_for(app, engine, "ada")
    listing = client.get("/admin/sensors").get_data(as_text=True)
    assert 'href="/admin/sensors/zigbee2mqtt:kitchen/fridge"' in listing
    page = client.get("/admin/sensors/zigbee2mqtt:kitchen/fridge")
    assert page.status_code == 200
    assert "zigbee2mqtt:kitchen/fridge" in page.get_data(as_text=True)


def make_config_with_secret(database_url: str, engine: sa.Engine):
    """The web side of the test: an admin "ada" and an API token, for the pages and /metrics."""
    from fridge_monitor.config import build_config

    token = user_with_token(engine, "ada", "admin", datetime.now(UTC), "correct horse battery")
    config = build_config({"database": {"url": database_url}, "web": {"secret_key": "k" * 40}}, {}, {}, "test")
    return config, token


def test_a_retained_message_without_its_own_time_gives_no_reading(
        database_url, ingests, engine_for, mqtt_url, mqtt_protocol, prefix):
    engine = engine_for(database_url)
    p = prefix
    before = datetime.now(UTC) - timedelta(hours=2)
    # A first ingest sees the ESPHome node alive once, so its sensor exists; then it stops.
    first = ingests.start(database_url, client_id=f"fm-first-{p.strip('/')}")
    publisher = Publisher(mqtt_url, f"pub-{p.strip('/')}", mqtt_protocol)
    try:
        publisher.publish([(f"{p}e1/sensor/fridge_temp/state", "4.2")])
        wait_until(lambda: readings(engine) == {"esphome:e1:fridge_temp": [4.2]} and not first.backlog, 30,
                   what="the live reading")
    finally:
        publisher.close()
    ingests.stop(first)

    # The node died long ago: what the broker retained is all that is left of it.
    retained = [
        (f"{p}e1/sensor/fridge_temp/state", b"4.3"),  # ESPHome retains its states by default
        (f"{p}e1/status", b"offline"),  # its last will, retained by design
        (f"{p}fridge-monitor/readings/r1", json.dumps({"temperature_c": 5.5, "ts": before.isoformat()}).encode()),
    ]
    publish_retained(mqtt_url, mqtt_protocol, f"ret-{p.strip('/')}", retained)
    try:
        # A new ingest (a fresh session) subscribes after the messages were retained.
        second = ingests.start(database_url, client_id=f"fm-second-{p.strip('/')}")
        wait_until(lambda: count(engine, m.RejectedMessage) >= 1 and len(readings(engine)) == 2
                   and not second.backlog, 30, what="the retained messages handled")
        ingests.stop(second)  # before the retained messages are cleared (that is a message too)
    finally:
        publish_retained(mqtt_url, mqtt_protocol, f"ret-{p.strip('/')}", [(t, b"") for t, _ in retained])

    assert readings(engine) == {"esphome:e1:fridge_temp": [4.2], "native:r1": [5.5]}
    with engine.connect() as conn:
        measured = conn.scalar(sa.select(m.Reading.measured_at).where(m.Reading.sensor_id == "native:r1"))
        assert abs(measured - before) < timedelta(seconds=1)  # a retained reading with its own time is ordinary
        r = m.RejectedMessage
        rejected = conn.execute(sa.select(r.topic, r.sensor_id, r.reason, r.payload)).all()
        assert [tuple(row) for row in rejected] == [
            (f"{p}e1/sensor/fridge_temp/state", "esphome:e1:fridge_temp", RETAINED_WITHOUT_TIME, b"4.3")]
        assert "the sensor may be dead" in rejected[0].reason
        # The retained last will is availability, processed as usual.
        assert conn.scalar(sa.select(m.Sensor.online).where(m.Sensor.id == "esphome:e1:fridge_temp")) is False


def discovery(p: str, node: str, name: str, **config: str) -> tuple[str, bytes]:
    """ESPHome's Home Assistant discovery config for one sensor entity (abbreviated keys, as ESPHome sends)."""
    body = {"name": name.replace("_", " ").title(), "stat_t": f"{p}{node}/sensor/{name}/state",
            "avty_t": f"{p}{node}/status", "uniq_id": f"ESPsensor{name}", **config}
    return f"{p}homeassistant/sensor/{node}/{name}/config", json.dumps(body).encode()


def channel_values(engine: sa.Engine) -> dict[tuple[str, str], list[float]]:
    """Stored door/power/switch/humidity values by (sensor, channel), in measured order."""
    c = m.ChannelReading
    out: dict[tuple[str, str], list[float]] = {}
    with engine.connect() as conn:
        for sid, channel, value in conn.execute(sa.select(c.sensor_id, c.channel, c.value)
                                                .order_by(c.sensor_id, c.channel, c.measured_at, c.id)):
            out.setdefault((sid, channel), []).append(value)
    return out


def test_esphome_entities_learnt_from_discovery(database_url, ingests, engine_for, mqtt_url, mqtt_protocol,
                                                 prefix):
    engine = engine_for(database_url)
    p = prefix
    configs = [
        discovery(p, "e1", "probe_a", dev_cla="temperature", unit_of_meas="°C", stat_cla="measurement"),
        discovery(p, "e1", "probe_f", dev_cla="temperature", unit_of_meas="°F"),
        discovery(p, "e1", "compressor_power", dev_cla="power", unit_of_meas="W"),
        discovery(p, "e1", "door_open_count", stat_cla="total_increasing"),
        # A "temp" in the name does not make a power a temperature once discovery says otherwise.
        discovery(p, "e1", "temp_controller_power", dev_cla="power", unit_of_meas="W"),
    ]
    # ESPHome publishes its discovery configs retained, before ingest ever subscribes.
    publish_retained(mqtt_url, mqtt_protocol, f"esp-{p.strip('/')}", configs)
    publisher = Publisher(mqtt_url, f"pub-{p.strip('/')}", mqtt_protocol)
    try:
        ingest = ingests.start(database_url)
        wait_until(lambda: count(engine, m.DiscoveredEntity) == 5, 30, what="5 discovered entities")
        states = [
            (f"{p}e1/sensor/probe_a/state", "4.5"),
            (f"{p}e1/sensor/probe_f/state", "39.2"),
            (f"{p}e1/sensor/compressor_power/state", "45.0"),
            (f"{p}e1/sensor/door_open_count/state", "3"),
            (f"{p}e1/sensor/temp_controller_power/state", "12.0"),
            (f"{p}e1/sensor/uptime_counter/state", "1234"),  # no config: its name says nothing of temperature
            # A config and its first state right behind it: read in order, the state is already understood.
            discovery(p, "e2", "cold_probe", dev_cla="temperature", unit_of_meas="K"),
            (f"{p}e2/sensor/cold_probe/state", "277.15"),
        ]
        publisher.publish(states)
        wait_until(lambda: len(readings(engine)) == 3 and ingest.stats.ignored_messages >= 2 and not ingest.backlog
                   and len(channel_values(engine)) == 2, 30, what="3 temperature readings, 2 powers, the rest ignored")
        assert readings(engine) == {"esphome:e1:probe_a": [4.5], "esphome:e1:probe_f": [4.0],
                                    "esphome:e2:cold_probe": [4.0]}
        # Powers are kept as powers, in W, never as temperatures.
        assert channel_values(engine) == {("esphome:e1:compressor_power", "power"): [45.0],
                                          ("esphome:e1:temp_controller_power", "power"): [12.0]}
        assert count(engine, m.RejectedMessage) == 0
        with so.Session(engine) as session:
            ignored = session.scalars(sa.select(m.IgnoredMessageCount)).one()
        assert (ignored.fmt, ignored.count) == ("esphome", 2)
        assert ignored.last_reason.startswith('sensor "uptime_counter" is not a temperature')

        # /metrics shows what was ignored, by format.
        config, token = make_config_with_secret(database_url, engine)
        metrics = create_app(config, engine=engine, testing=True).test_client().get(
            "/metrics", headers={"Authorization": f"Bearer {token}"}).get_data(as_text=True)
        assert 'fridge_monitor_ignored_messages_total{format="esphome"} 2.0' in metrics

        # Restarted with no retained configs left on the broker (and a new session), ingest still
        # knows every entity from the database.
        ingests.stop(ingest)
        publish_retained(mqtt_url, mqtt_protocol, f"esp-{p.strip('/')}", [(t, b"") for t, _ in configs])
        restarted = ingests.start(database_url, client_id=f"fm-restarted-{p.strip('/')}")
        publisher.publish([(f"{p}e1/sensor/probe_f/state", "41.0"), (f"{p}e1/sensor/compressor_power/state", "50")])
        wait_until(lambda: len(readings(engine)["esphome:e1:probe_f"]) == 2 and not restarted.backlog
                   and len(channel_values(engine)[("esphome:e1:compressor_power", "power")]) == 2,
                   30, what="the °F probe and the power read again")
        assert readings(engine)["esphome:e1:probe_f"] == [4.0, 5.0]
        assert channel_values(engine)[("esphome:e1:compressor_power", "power")] == [45.0, 50.0]
        assert "esphome:e1:compressor_power" not in readings(engine)
    finally:
        publisher.close()
        publish_retained(mqtt_url, mqtt_protocol, f"esp-{p.strip('/')}", [(t, b"") for t, _ in configs])
