"""``python -m sensors`` against a real broker: every message arrives, last wills fire, exits are clean."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from fridge_monitor.mqtt.broker import EmbeddedBroker, free_port
from fridge_monitor.mqtt.client import shut_down
from sensors import FridgePlan, Simulation
from sensors.formats import FORMATS, Sample, make_format

REPO = Path(__file__).resolve().parents[2]


class Collector:
    """A subscriber to ``<prefix>#`` that keeps every message in arrival order."""

    def __init__(self, url: str, prefix: str, session: str | None = None) -> None:
        """``session`` names a persistent session that survives a broker restart."""
        host, port = url.split("://")[1].split(":")
        self.prefix = prefix
        self.messages: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=session or f"sim-test-{uuid.uuid4().hex[:8]}",
            protocol=mqtt.MQTTv311,
            clean_session=session is None,
        )
        client.reconnect_delay_set(min_delay=1, max_delay=2)
        client.on_connect = lambda c, u, f, rc, p: c.subscribe(f"{prefix}#", qos=1)
        client.on_subscribe = lambda c, u, mid, rcs, p: self._subscribed.set()
        client.on_message = self._on_message
        client.connect(host, int(port))
        client.loop_start()
        assert self._subscribed.wait(10), "the test subscriber could not subscribe"
        self._client = client

    def _on_message(self, client, userdata, message) -> None:  # noqa: ANN001
        if message.payload:  # skip our own retained-message cleanup
            with self._lock:
                self.messages.append((message.topic.removeprefix(self.prefix), message.payload))

    def wait_for(self, count: int, timeout: float = 30.0) -> list[tuple[str, bytes]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.messages) >= count:
                    break
            time.sleep(0.05)
        time.sleep(0.3)  # anything beyond the expected count would show up now
        with self._lock:
            return list(self.messages)

    def payloads(self, topic: str) -> list[bytes]:
        with self._lock:
            return [payload for t, payload in self.messages if t == topic]

    def close(self) -> None:
        """Clear the retained availability messages the run left behind."""
        with self._lock:
            topics = {topic for topic, _ in self.messages}
        for topic in topics:
            self._client.publish(self.prefix + topic, b"", qos=1, retain=True).wait_for_publish(5)
        shut_down(self._client)


@pytest.fixture
def collector(mqtt_url: str, prefix: str) -> Iterator[Collector]:
    subscriber = Collector(mqtt_url, prefix)
    yield subscriber
    subscriber.close()


def sensors_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sensors", *args], capture_output=True, text=True, timeout=timeout, cwd=REPO
    )


def test_a_count_run_delivers_every_message_before_it_exits(mqtt_url: str, prefix: str, collector: Collector) -> None:
    started = time.time()
    done = sensors_cli(
        "--broker", mqtt_url, "--fridges", "2", "--count", "20", "--interval", "60", "--speed", "1500",
        "--format", "native", "--prefix", prefix, "--seed", "3",
    )
    assert done.returncode == 0, done.stderr
    assert "40 readings in 44 messages" in done.stderr
    messages = collector.wait_for(44)
    assert Counter(topic for topic, _ in messages) == {
        "fridge-monitor/readings/sim-fridge-1": 20,
        "fridge-monitor/readings/sim-fridge-2": 20,
        "fridge-monitor/availability/sim-fridge-1": 2,
        "fridge-monitor/availability/sim-fridge-2": 2,
    }
    for n in (1, 2):
        assert collector.payloads(f"fridge-monitor/availability/sim-fridge-{n}") == [b"online", b"offline"]
        stamps = [
            datetime.fromisoformat(json.loads(p)["ts"]).timestamp()
            for p in collector.payloads(f"fridge-monitor/readings/sim-fridge-{n}")
        ]
        assert stamps == sorted(stamps) and len(set(stamps)) == 20
        assert stamps[-1] - stamps[0] == 19 * 60
        assert stamps[-1] <= time.time() and stamps[0] < started - 86000, "fast-forwarding from 24 h ago"


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_format_reaches_the_broker_on_its_topics(
    fmt: str, mqtt_url: str, prefix: str, collector: Collector
) -> None:
    done = sensors_cli("--broker", mqtt_url, "--count", "3", "--speed", "6000", "--format", fmt, "--prefix", prefix)
    assert done.returncode == 0, done.stderr
    encoder = make_format(fmt)
    sample = Sample(0.0, 5.0, 90.0 if encoder.carries_battery else None)
    per_interval = [m.topic for m in encoder.readings("sim-fridge-1", sample)]
    availability = encoder.availability("sim-fridge-1", True).topic
    messages = collector.wait_for(2 + 3 * len(per_interval))
    assert Counter(topic for topic, _ in messages) == {availability: 2, **{topic: 3 for topic in per_interval}}
    listed = sensors_cli("--list-sensors", "--format", fmt)
    assert listed.stdout.splitlines() == [encoder.sensor_id("sim-fridge-1")]


def test_bad_payloads_reach_the_broker_including_the_70_kib_one(
    mqtt_url: str, prefix: str, collector: Collector
) -> None:
    done = sensors_cli(
        "--broker", mqtt_url, "--count", "40", "--speed", "60000", "--scenario", "bad-payloads", "--prefix", prefix
    )
    assert done.returncode == 0, done.stderr
    readings = [p for t, p in collector.wait_for(42) if t.startswith("fridge-monitor/readings/")]
    assert len(readings) == 40
    summary = done.stderr.strip().splitlines()[-1]
    oversize = re.search(r"oversize (\d+)", summary)
    assert oversize, summary
    assert sum(len(p) == 70 * 1024 for p in readings) == int(oversize.group(1)) >= 1


def test_power_outage_fires_the_last_will_then_the_device_returns(
    mqtt_url: str, prefix: str, collector: Collector
) -> None:
    done = sensors_cli(
        "--broker", mqtt_url, "--count", "30", "--speed", "1500", "--scenario", "power-outage",
        "--onset", "600", "--outage", "600", "--prefix", prefix,
    )
    assert done.returncode == 0, done.stderr
    messages = collector.wait_for(2 + 20 + 2)
    sequence = [p.decode() if "availability" in t else "reading" for t, p in messages]
    assert sequence == ["online"] + ["reading"] * 10 + ["offline", "online"] + ["reading"] * 10 + ["offline"]


def test_backlog_arrives_late_as_one_list(mqtt_url: str, prefix: str, collector: Collector) -> None:
    done = sensors_cli(
        "--broker", mqtt_url, "--count", "20", "--speed", "1500", "--scenario", "backlog",
        "--onset", "300", "--outage", "600", "--prefix", prefix,
    )
    assert done.returncode == 0, done.stderr
    readings = [json.loads(p) for t, p in collector.wait_for(2 + 2 + 10) if "/readings/" in t]
    lists = [r for r in readings if isinstance(r, list)]
    assert len(lists) == 1 and len(lists[0]) == 11
    assert sum(len(r) if isinstance(r, list) else 1 for r in readings) == 20


def test_sigterm_stops_cleanly_with_an_offline_message(mqtt_url: str, prefix: str, collector: Collector) -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "sensors", "--broker", mqtt_url, "--interval", "0.2", "--prefix", prefix, "-q"],
        cwd=REPO, stderr=subprocess.PIPE, text=True,
    ) as process:
        try:
            collector.wait_for(4, timeout=15)
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=15)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 0
    assert stderr == ""
    availability = collector.payloads("fridge-monitor/availability/sim-fridge-1")
    assert availability == [b"online", b"offline"]


def test_duration_stops_after_that_much_wall_time(mqtt_url: str, prefix: str, collector: Collector) -> None:
    started = time.monotonic()
    done = sensors_cli("--broker", mqtt_url, "--interval", "0.25", "--duration", "1", "--prefix", prefix)
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 10
    readings = [t for t, _ in collector.wait_for(6) if "/readings/" in t]
    assert 3 <= len(readings) <= 5


@pytest.mark.mosquitto
def test_messages_queued_while_the_broker_restarts_are_delivered(prefix: str, private_mosquitto) -> None:
    broker = private_mosquitto()
    collector = Collector(broker.url, prefix, session=f"sim-test-{uuid.uuid4().hex[:8]}")
    with subprocess.Popen(
        [sys.executable, "-m", "sensors", "--broker", broker.url, "--interval", "0.1", "--count", "40",
         "--prefix", prefix],
        cwd=REPO, stderr=subprocess.PIPE, text=True,
    ) as process:
        try:
            collector.wait_for(5, timeout=15)
            broker.stop()
            time.sleep(1.0)
            broker.start()
            _, stderr = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 0, stderr
    assert "lost the broker" in stderr, "the outage really happened mid-run"
    collector.wait_for(42)
    stamps = {json.loads(p)["ts"] for p in collector.payloads("fridge-monitor/readings/sim-fridge-1")}
    assert len(stamps) == 40, "nothing lost (QoS 1 may deliver a duplicate)"
    collector.close()


def test_an_unreachable_broker_is_one_line_and_exit_2() -> None:
    port = free_port()
    done = sensors_cli("--broker", f"mqtt://127.0.0.1:{port}", "--count", "1")
    assert done.returncode == 2
    assert done.stderr == (
        f"python -m sensors: error: cannot reach the MQTT broker at mqtt://127.0.0.1:{port}: Connection refused\n"
    )


def test_the_library_runs_against_the_embedded_amqtt_broker(prefix: str) -> None:
    broker = EmbeddedBroker(port=free_port())
    broker.start()
    try:
        collector = Collector(broker.url, prefix)
        plans = [
            FridgePlan("sim-fridge-1", "normal", "senml"),
            FridgePlan("sim-fridge-2", "power-outage", "zigbee2mqtt", onset_s=300, outage_s=300),
        ]
        simulation = Simulation(broker.url, plans, interval_s=60, speed=600, seed=2, prefix=prefix, count=15)
        stop = threading.Event()
        stats = simulation.run(stop)
        assert stats.readings == 15 + 10 and stats.unacknowledged == 0
        collector.wait_for(2 + 15 + 4 + 10)
        assert len(collector.payloads("fridge-monitor/senml/sim-fridge-1")) == 15
        assert collector.payloads("zigbee2mqtt/sim-fridge-2/availability") == [
            b'{"state":"online"}', b'{"state":"offline"}', b'{"state":"online"}', b'{"state":"offline"}',
        ], "amqtt publishes the last will when the device vanishes"
        collector.close()
    finally:
        broker.stop()
