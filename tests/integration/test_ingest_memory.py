"""A huge publish cannot blow up ingest's memory (issue 12 item 16).

Under MQTT 5 ingest tells the broker its Maximum Packet Size
(``[ingest] max_payload_bytes`` plus room for the topic), so the broker drops
a 10 MiB message instead of delivering it. Under MQTT 3.1.1 there is no such
property: the message arrives, ingest keeps only what a rejected message
stores of it, and the writer never sees the rest. Either way the readings
after it are stored, and the ingest process with its writer stays under the
ingest benchmark's 120 MB. A real ``fridge-monitor ingest`` process and a
private Mosquitto; peak RSS read from /proc (VmHWM).
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from fridge_monitor.config import DEFAULT_SUBSCRIPTIONS
from fridge_monitor.store import models as m

from support import Publisher, broker_log, wait_subscribed, wait_until

LIMIT_MB = 120
BIG = 10 * 1024 * 1024


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmHWM for process {pid}")


def start_ingest(protocol, database_url, broker, make_config, ingest_processes, prefix):
    """A ``fridge-monitor ingest`` process subscribed on ``broker``, and its writer process's pid."""
    client_id = f"fm-ingest-{prefix.strip('/')}"
    _, path = make_config(database_url, broker_url=broker.url, protocol=protocol, client_id=client_id)
    ingest = ingest_processes(path)
    mark = len(broker_log(broker))
    ingest.start()
    wait_subscribed(broker, client_id, len(DEFAULT_SUBSCRIPTIONS), since=mark)
    writer = next(pid for pid in ingest.wait_for_writer() if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text())
    return ingest, writer


def warm_up(broker, prefix, engine) -> None:
    """One ordinary reading through ingest and its writer, stored."""
    publisher = Publisher(broker.url, f"warm-{prefix.strip('/')}", "3.1.1")
    try:
        publisher.publish([(f"{prefix}fridge-monitor/readings/warm-up", json.dumps({"temperature_c": 4.0}))])
        with engine.connect() as conn:
            wait_until(lambda: conn.scalar(sa.select(sa.func.count()).select_from(m.Reading)) == 1, 60,
                       what="the warm-up reading")
    finally:
        publisher.close()


def publish_big_then_normal(broker, protocol, prefix, engine) -> list[tuple[str, int, int]]:
    """A 10 MiB message, then 3 readings; once the readings are stored: the rejected messages."""
    topic = f"{prefix}fridge-monitor/readings/probe"
    now = datetime.now(UTC).timestamp()
    normal = [(topic, json.dumps({"temperature_c": 4.0 + n, "ts": now - 10 + n})) for n in range(3)]
    publisher = Publisher(broker.url, f"pub-{prefix.strip('/')}", protocol)
    try:
        publisher.publish([(topic, b"{" + b" " * (BIG - 2) + b"}"), *normal])
        with engine.connect() as conn:
            def stored() -> bool:
                return conn.scalar(sa.select(sa.func.count()).select_from(m.Reading)
                                   .where(m.Reading.sensor_id.contains("probe"))) == 3

            wait_until(stored, 60, what="the 3 readings after the big publish")
            r = m.RejectedMessage
            return [tuple(row) for row in conn.execute(sa.select(r.reason, r.payload_size, sa.func.length(r.payload)))]
    finally:
        publisher.close()


@pytest.mark.parametrize(("protocol", "broker_conf"), [
    ("5", ""),  # ingest's Maximum Packet Size: the broker drops it for ingest
    ("3.1.1", "message_size_limit 131072\n"),  # no such property: the broker's own limit, as deploy/ ships it
])
def test_a_10_mib_publish_leaves_ingest_under_120_mb_and_the_next_readings_stored(
        protocol, broker_conf, database_url, private_mosquitto, make_config, engine_for, ingest_processes, prefix):
    broker = private_mosquitto(broker_conf)
    ingest, writer = start_ingest(protocol, database_url, broker, make_config, ingest_processes, prefix)
    rejected = publish_big_then_normal(broker, protocol, prefix, engine_for(database_url))
    mqtt_mb, writer_mb = peak_rss_mb(ingest.pid), peak_rss_mb(writer)
    print(f"MQTT {protocol}: ingest peak RSS {mqtt_mb:.0f} MB + writer {writer_mb:.0f} MB")
    assert mqtt_mb + writer_mb < LIMIT_MB, f"ingest and its writer peaked at {mqtt_mb + writer_mb:.0f} MB"
    assert rejected == []  # dropped by the broker, never delivered: nothing of it to keep


def test_without_any_broker_limit_an_oversized_payload_never_reaches_the_writer(
        database_url, private_mosquitto, make_config, engine_for, ingest_processes, prefix):
    """MQTT 3.1.1 and a broker without message_size_limit: the 10 MiB arrive, yet only what a rejected
    message keeps of them goes on to the writer process, which stays as small as it was."""
    broker = private_mosquitto()
    ingest, writer = start_ingest("3.1.1", database_url, broker, make_config, ingest_processes, prefix)
    warm_up(broker, prefix, engine_for(database_url))  # its first batch and judgement: the writer's own working size
    before = peak_rss_mb(writer)
    rejected = publish_big_then_normal(broker, "3.1.1", prefix, engine_for(database_url))
    assert rejected == [(f"payload is {BIG} bytes, over the 65536-byte limit", BIG, 65536)]
    print(f"MQTT 3.1.1, no broker limit: ingest peak RSS {peak_rss_mb(ingest.pid):.0f} MB + writer "
          f"{before:.0f} -> {peak_rss_mb(writer):.0f} MB")
    assert peak_rss_mb(writer) - before < 5


def test_ingest_holds_at_most_inbox_max_messages(database_url, make_config, engine_for, mqtt_url, mqtt_protocol,
                                                 prefix):
    """With a tiny inbox, a backlog of 300 messages is taken a few at a time (the broker keeps the
    rest), and every one is stored."""
    from fridge_monitor.ingest.subscriber import Ingest

    engine = engine_for(database_url)
    config, _ = make_config(database_url, sections={"ingest": {"inbox_max_messages": 4, "batch_size": 2}})
    ingest = Ingest(config)
    peak = 0
    watching = threading.Event()

    def watch() -> None:
        nonlocal peak
        while not watching.is_set():
            peak = max(peak, ingest.backlog)
            time.sleep(0.0005)

    topic = f"{prefix}fridge-monitor/readings/probe"
    now = datetime.now(UTC).timestamp()
    publisher = Publisher(mqtt_url, f"pub-{prefix.strip('/')}", mqtt_protocol)
    watcher = threading.Thread(target=watch, daemon=True)
    ingest.start()
    try:
        assert ingest.wait_connected(10)
        watcher.start()
        publisher.publish([(topic, json.dumps({"temperature_c": 4.0, "ts": now - 600 + n})) for n in range(300)])
        with engine.connect() as conn:
            wait_until(lambda: conn.scalar(sa.select(sa.func.count()).select_from(m.Reading)) == 300, 60,
                       what="300 readings")
    finally:
        watching.set()
        publisher.close()
        ingest.stop()
    assert 0 < peak <= 4  # received and not yet committed, heartbeat markers included
