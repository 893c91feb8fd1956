"""The shipped Mosquitto setup (deploy/mosquitto.conf and deploy/mosquitto.acl) keeps forged readings out.

A private Mosquitto runs the shipped files themselves: only the paths (password
file, ACL, persistence, TLS certificate) and the ports are substituted, and a
log file added, so what is tested is what ships. Users are made with
``mosquitto_passwd`` as the conf's recipe says. A sensor user publishes its own
topics, which the ``fridge-monitor`` user reads; publishing on another sensor's
topic is refused (MQTT 5 PUBACK 0x87) and never delivered; anonymous clients are
refused; and a real ``fridge-monitor ingest`` logged in as ``fridge-monitor``
stores the sensor's reading and not the forged one (issue 12, item 17).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
import sqlalchemy as sa

from fridge_monitor.config import DEFAULT_SUBSCRIPTIONS
from fridge_monitor.mqtt.broker import free_port
from fridge_monitor.mqtt.client import shut_down
from fridge_monitor.store import models as m

from guarantees import count_readings
from support import REPO, broker_log, missing_service, reachable, wait_subscribed, wait_until

pytestmark = [pytest.mark.mosquitto]

INGEST_USER = "fridge-monitor"
USERS = {INGEST_USER: "ingest-secret", "fridge-a": "secret-a", "fridge-b": "secret-b"}
NOT_AUTHORIZED = 0x87

# Each supported format's topics for sensor {id}; the ingest user's default subscriptions read all of them.
SENSOR_TOPICS = [
    "fridge-monitor/readings/{id}",
    "fridge-monitor/availability/{id}",
    "fridge-monitor/senml/{id}",
    "fridge-monitor/senml/{id}/status",
    "tele/{id}/SENSOR",
    "tele/{id}/LWT",
    "{id}/sensor/temperature/state",
    "{id}/status",
    "homeassistant/sensor/{id}/temperature/config",
    "shellies/{id}/sensor/temperature",
    "shellies/{id}/ext_temperature/0",
    "shellies/{id}/ext_temperature_f/0",
    "shellies/{id}/online",
    "{id}/status/temperature:0",
    "{id}/events/rpc",
    "{id}/online",
]


class ShippedMosquitto:
    """deploy/mosquitto.conf with its paths and ports pointed at a private directory."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port, self.tls_port = free_port(), free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        workdir.mkdir(parents=True, exist_ok=True)
        passwd = workdir / "passwd"
        for n, (user, password) in enumerate(USERS.items()):
            # The conf's recipe: -c creates the file with the first user, the others are added.
            flags = ["-c", "-b"] if n == 0 else ["-b"]
            subprocess.run(["mosquitto_passwd", *flags, str(passwd), user, password], check=True,
                           capture_output=True)
        acl = workdir / "acl"
        shutil.copyfile(REPO / "deploy" / "mosquitto.acl", acl)
        self._make_certificate()
        conf = (REPO / "deploy" / "mosquitto.conf").read_text()
        for shipped, here in [
            ("persistence_location /var/lib/mosquitto/", f"persistence_location {workdir}/"),
            ("password_file /etc/mosquitto/passwd\n", f"password_file {passwd}\n"),
            ("acl_file /etc/mosquitto/acl\n", f"acl_file {acl}\n"),
            ("listener 1883 127.0.0.1\n", f"listener {self.port} 127.0.0.1\n"),
            ("listener 8883\n", f"listener {self.tls_port} 127.0.0.1\n"),
            ("/etc/mosquitto/certs/", f"{workdir}/"),
        ]:
            assert shipped in conf, f"deploy/mosquitto.conf no longer has {shipped!r}"
            conf = conf.replace(shipped, here)
        # Started as root, Mosquitto would drop to the `mosquitto` user, who cannot read pytest's tmp_path.
        run_as = "user root\n" if hasattr(os, "geteuid") and os.geteuid() == 0 else ""
        log = "".join(f"log_type {t}\n" for t in ("error", "warning", "notice", "information", "subscribe"))
        self.conf = workdir / "mosquitto.conf"
        self.conf.write_text(f"{conf}\n{run_as}{log}log_dest file {workdir}/mosquitto.log\n")

    def _make_certificate(self) -> None:
        """A throwaway self-signed certificate for the shipped TLS listener (server, key and CA)."""
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-keyout", str(self.workdir / "server.key"),
                        "-out", str(self.workdir / "server.crt")], check=True, capture_output=True)
        shutil.copyfile(self.workdir / "server.crt", self.workdir / "ca.crt")

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(["mosquitto", "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        try:
            wait_until(lambda: reachable("127.0.0.1", self.port) or self.proc.poll() is not None, 10,
                       what="mosquitto to listen")
        finally:
            if self.proc.poll() is not None:
                raise AssertionError(f"mosquitto refused the shipped conf: {self.proc.stderr.read().decode()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        if self.proc is not None and self.proc.stderr is not None:
            self.proc.stderr.close()


@pytest.fixture
def shipped_broker(tmp_path: Path) -> Iterator[ShippedMosquitto]:
    for tool in ("mosquitto", "mosquitto_passwd", "openssl"):
        if shutil.which(tool) is None:
            missing_service(f"the {tool} binary")
    broker = ShippedMosquitto(tmp_path / "mosquitto")
    broker.start()
    yield broker
    broker.stop()


class Client:
    """An MQTT 5 client that keeps what it receives and each QoS 1 publish's PUBACK reason code."""

    def __init__(self, broker: ShippedMosquitto, user: str | None, client_id: str, password: str | None) -> None:
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5)
        if user is not None:
            self.client.username_pw_set(user, password if password is not None else USERS[user])
        self.received: list[tuple[str, bytes]] = []
        self.acks: dict[int, int] = {}
        self.connack: int | None = None
        self._lock = threading.Lock()
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_publish = self._on_publish
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()
        wait_until(lambda: self.connack is not None, 10, what=f"{client_id}'s CONNACK")

    def _on_connect(self, _c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self.connack = reason.value

    def _on_message(self, _c: Any, _u: Any, msg: Any) -> None:
        with self._lock:
            self.received.append((msg.topic, msg.payload))

    def _on_publish(self, _c: Any, _u: Any, mid: int, reason: Any, _p: Any) -> None:
        with self._lock:
            self.acks[mid] = reason.value

    def publish(self, topic: str, payload: bytes | str) -> int:
        """Publish at QoS 1 and return the broker's PUBACK reason code."""
        mid = self.client.publish(topic, payload, qos=1).mid
        wait_until(lambda: mid in self.acks, 10, what=f"PUBACK for {topic}")
        return self.acks[mid]

    def topics(self) -> list[str]:
        with self._lock:
            return [topic for topic, _ in self.received]

    def close(self) -> None:
        shut_down(self.client)


@pytest.fixture
def clients(shipped_broker: ShippedMosquitto) -> Iterator[Callable[..., Client]]:
    made: list[Client] = []

    def factory(user: str | None, client_id: str, password: str | None = None) -> Client:
        made.append(Client(shipped_broker, user, client_id, password))
        return made[-1]

    yield factory
    for client in made:
        client.close()


def subscribed_ingest_user(clients: Callable[..., Client], broker: ShippedMosquitto) -> Client:
    """The fridge-monitor user, subscribed to every default filter and to everything else (#)."""
    reader = clients(INGEST_USER, "reader")
    for topic, _fmt in DEFAULT_SUBSCRIPTIONS:
        reader.client.subscribe(topic, qos=1)
    reader.client.subscribe("#", qos=1)
    wait_subscribed(broker, "reader", len(DEFAULT_SUBSCRIPTIONS) + 1)
    return reader


def test_a_sensor_publishes_its_own_topics_and_is_refused_on_another_sensors(shipped_broker, clients):
    reader = subscribed_ingest_user(clients, shipped_broker)
    sensor_a = clients("fridge-a", "fridge-a")

    refused = {}
    for template in SENSOR_TOPICS:
        forged = template.format(id="fridge-b")
        refused[forged] = sensor_a.publish(forged, b"21.5")
        assert sensor_a.publish(template.format(id="fridge-a"), b"4.5") == 0, template
    # Nor may a sensor write Fridge Monitor's own topics: an audit anchor, an alert state, ingest's marker.
    for forged in ("fridge-monitor/audit/anchor", "fridge-monitor/alerts/vaccines",
                   "fridge-monitor/ingest/fridge-monitor-ingest/marker", "zigbee2mqtt/fridge-b"):
        refused[forged] = sensor_a.publish(forged, b"forged")
    assert refused == {topic: NOT_AUTHORIZED for topic in refused}

    own = [template.format(id="fridge-a") for template in SENSOR_TOPICS]
    # Each own message arrived (the "#" subscription delivers a second copy); every forged one was sent before
    # the last own one on the same connection, so it would have arrived by now.
    wait_until(lambda: set(own) <= set(reader.topics()), 10, what="the sensor's own messages delivered")
    assert set(reader.topics()) == set(own)


def test_a_sensor_reads_nothing_and_anonymous_or_wrong_passwords_are_refused(shipped_broker, clients):
    sensor_b = clients("fridge-b", "fridge-b")
    sensor_b.client.subscribe("#", qos=1)
    wait_subscribed(shipped_broker, "fridge-b", 1)
    assert clients("fridge-a", "fridge-a").publish("fridge-monitor/readings/fridge-a", b"4.5") == 0
    assert clients(INGEST_USER, "scheduler").publish("fridge-monitor/audit/anchor", b"head") == 0

    assert clients(None, "anonymous").connack == NOT_AUTHORIZED
    assert clients("fridge-a", "fridge-a-guessed", password="guessed").connack == NOT_AUTHORIZED
    assert clients("fridge-c", "fridge-c", password="never-added").connack == NOT_AUTHORIZED
    # Published before the refusals were answered, both messages would have reached fridge-b by now.
    assert sensor_b.topics() == []


def test_an_oversized_publish_never_gets_past_the_broker(shipped_broker, clients):
    reader = subscribed_ingest_user(clients, shipped_broker)
    sensor_a = clients("fridge-a", "fridge-a")
    sensor_a.client.publish("fridge-monitor/readings/fridge-a", b"x" * 200_000, qos=1)
    # max_packet_size: the broker reads the fixed header, sees the length and hangs up before reading the rest.
    wait_until(lambda: "Client fridge-a disconnected due to oversize packet" in broker_log(shipped_broker), 10,
               what="the broker to cut the oversized publish")
    late = clients("fridge-b", "fridge-b")
    assert late.publish("fridge-monitor/readings/fridge-b", b"4.5") == 0
    wait_until(lambda: "fridge-monitor/readings/fridge-b" in reader.topics(), 10, what="the next reading")
    assert "fridge-monitor/readings/fridge-a" not in reader.topics()


def test_ingest_as_the_fridge_monitor_user_stores_a_sensors_reading_and_not_the_forged_one(
        database_url, shipped_broker, clients, make_config, engine_for, ingest_processes):
    """Scaled out (a shared subscription, $share/fridge-ingest/...), as a hospital would run it."""
    client_id = "fridge-monitor-ingest"
    _config, path = make_config(database_url, broker_url=shipped_broker.url, protocol="5", client_id=client_id,
                                sections={"mqtt": {
                                    "username": INGEST_USER, "password": USERS[INGEST_USER],
                                    "subscriptions": [{"topic": t, "format": f} for t, f in DEFAULT_SUBSCRIPTIONS],
                                }, "ingest": {"heartbeat_s": 1.0, "shared_group": "fridge-ingest"}})
    engine = engine_for(database_url)
    ingest = ingest_processes(path).start()
    wait_subscribed(shipped_broker, client_id, len(DEFAULT_SUBSCRIPTIONS))

    sensor_a = clients("fridge-a", "fridge-a")
    now = int(time.time())
    forged = json.dumps({"temperature_c": 21.5, "ts": now - 60}).encode()
    assert sensor_a.publish("fridge-monitor/readings/fridge-b", forged) == NOT_AUTHORIZED
    assert sensor_a.publish("fridge-monitor/readings/fridge-a",
                            json.dumps({"temperature_c": 4.5, "ts": now}).encode()) == 0

    # The forged message was sent first on the same connection: were it delivered, it would be stored by now.
    wait_until(lambda: count_readings(engine, "native:fridge-a") == 1, 30,
               what=f"fridge-a's reading stored\n{ingest.log_tail()}")
    with engine.connect() as conn:
        assert conn.scalars(sa.select(m.Sensor.id)).all() == ["native:fridge-a"]
        assert conn.scalar(sa.select(sa.func.count()).select_from(m.RejectedMessage)) == 0
        assert conn.scalar(sa.select(m.Reading.temperature_c)) == 4.5
    # Ingest's own marker, on fridge-monitor/ingest/<client id>/marker, came back: the ACL lets it through.
    wait_until(lambda: _caught_up(engine, client_id), 30, what=f"ingest's marker back\n{ingest.log_tail()}")
    assert "Traceback" not in ingest.log(), ingest.log_tail()


def _caught_up(engine: sa.Engine, client_id: str) -> bool:
    with engine.connect() as conn:
        return conn.scalar(sa.select(m.IngestHeartbeat.caught_up_at).where(
            m.IngestHeartbeat.client_id == client_id)) is not None
