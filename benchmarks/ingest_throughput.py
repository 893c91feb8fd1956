"""Ingest throughput against a bare paho subscriber, on the same broker and payloads.

Both sides drain the same backlog: N QoS 1 messages queued in a private
Mosquitto for a persistent session while the consumer is offline, so neither
competes with a publisher. Prints both rates, their ratio (target >= 0.8) and
the ingest process's peak RSS (target < 120 MB). Halfway through ingest's
backlog sits one hostile 10 MiB publish (``--big-mib``; 0 for none): under
MQTT 5 ingest's Maximum Packet Size makes the broker drop it; under MQTT 3.1.1
(no such property, and this broker sets no message_size_limit) it arrives and
is kept as a rejected message, and the peak shows what it cost.

With ``--assigned`` the 50 probes belong to 50 declared fridges, so ingest
also marks and judges them (the rules) while it drains.

With ``--database URL`` (a PostgreSQL server, e.g.
``postgresql://postgres@127.0.0.1:5432/test``) ingest writes to a scratch
database made on that server for the run (migrated with ``fridge-monitor db
upgrade``, dropped afterwards; the named database is not touched) instead of
SQLite. The target there is a ratio >= 0.5.

    python benchmarks/ingest_throughput.py [--messages 100000] [--protocol 5] [--assigned] [--big-mib 10]
                                           [--database postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as paho
import sqlalchemy as sa
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from fridge_monitor.mqtt.broker import free_port
from fridge_monitor.store.db import normalise_url

TOPIC = "bench/fridge-monitor/readings/"
RECEIVE_MAXIMUM = 1000


def start_mosquitto(workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    conf = workdir / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        "max_queued_messages 0\nmax_queued_bytes 0\nmax_inflight_messages 0\n"
    )
    proc = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    return proc, port


def client(client_id: str, protocol: str, **kwargs: object) -> paho.Client:
    v5 = protocol == "5"
    return paho.Client(
        paho.CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=paho.MQTTv5 if v5 else paho.MQTTv311,
        clean_session=None if v5 else False,
        **kwargs,  # type: ignore[arg-type]
    )


def connect(c: paho.Client, port: int, protocol: str) -> None:
    if protocol == "5":
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600
        props.ReceiveMaximum = RECEIVE_MAXIMUM
        c.connect("127.0.0.1", port, clean_start=False, properties=props)
    else:
        c.connect("127.0.0.1", port)


def payloads(n: int) -> list[tuple[str, bytes]]:
    base = int(time.time()) - n - 3600
    return [
        (f"{TOPIC}probe-{i % PROBES}", json.dumps({"temperature_c": round(4 + (i % 40) / 10, 1), "ts": base + i,
                                               "battery_pct": 90}).encode())
        for i in range(n)
    ]


def publish_all(port: int, messages: list[tuple[str, bytes]], protocol: str) -> None:
    pub = client(f"bench-pub-{os.getpid()}", protocol)
    pub.max_inflight_messages_set(1000)
    pub.max_queued_messages_set(0)
    connect(pub, port, protocol)
    pub.loop_start()
    for start in range(0, len(messages), 5000):
        infos = [pub.publish(topic, payload, qos=1) for topic, payload in messages[start:start + 5000]]
        for info in infos:
            info.wait_for_publish(120)
    pub.disconnect()
    pub.loop_stop()


def subscribe_session(port: int, client_id: str, topic: str, protocol: str) -> None:
    """Create the persistent session (and its subscription), then go offline."""
    done = threading.Event()
    c = client(client_id, protocol)
    c.on_subscribe = lambda *a: done.set()
    connect(c, port, protocol)
    c.loop_start()
    c.subscribe(topic, qos=1)
    done.wait(10)
    c.disconnect()
    c.loop_stop()


def bare_subscriber_rate(port: int, n: int, protocol: str) -> float:
    client_id = "bench-bare"
    subscribe_session(port, client_id, TOPIC + "+", protocol)
    publish_all(port, payloads(n), protocol)
    count = 0
    first = last = 0.0
    done = threading.Event()

    def on_message(_c: paho.Client, _u: object, _m: paho.MQTTMessage) -> None:
        nonlocal count, first, last
        count += 1
        if count == 1:
            first = time.perf_counter()
        if count == n:
            last = time.perf_counter()
            done.set()

    c = client(client_id, protocol)
    c.on_message = on_message
    connect(c, port, protocol)
    c.loop_start()
    if not done.wait(600):
        raise SystemExit(f"bare subscriber got only {count} of {n} messages")
    c.disconnect()
    c.loop_stop()
    return (n - 1) / (last - first)


PROBES = 50


def declarations() -> str:
    lines = ['[[sites]]\nname = "Bench"\ntimezone = "Europe/Berlin"\n']
    lines += [f'[[fridges]]\nname = "F{i}"\nsite = "Bench"\nsensors = ["native:probe-{i}"]\n' for i in range(PROBES)]
    return "".join(lines)


class Database:
    """Where ingest writes: a SQLite file in the work directory, or a scratch database on a PostgreSQL server
    (made here, dropped by :meth:`close`)."""

    def __init__(self, workdir: Path, server_url: str | None = None) -> None:
        self._admin: sa.Engine | None = None
        self.name = ""
        if server_url is None:
            self.url = f"sqlite:///{workdir / 'bench.db'}"
        else:
            self._admin = sa.create_engine(normalise_url(server_url), isolation_level="AUTOCOMMIT")
            self.name = f"bench_ingest_{uuid.uuid4().hex[:8]}"
            with self._admin.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{self.name}"')
            self.url = sa.make_url(normalise_url(server_url)).set(database=self.name).render_as_string(
                hide_password=False)
        self.engine = sa.create_engine(self.url)

    @property
    def kind(self) -> str:
        return "SQLite" if self._admin is None else "PostgreSQL"

    def count(self, sql: str = "SELECT count(*) FROM readings") -> int:
        with self.engine.connect() as conn:
            return int(conn.exec_driver_sql(sql).scalar_one() or 0)

    def close(self) -> None:
        self.engine.dispose()
        if self._admin is not None:
            with self._admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            self._admin.dispose()


def time_drain(database: Database, n: int, running: Callable[[], bool],
               timeout: float = 900) -> tuple[int, float, float]:
    """Wait until ``n`` readings are stored: (readings stored when the first was seen, then, when all were).

    Counting the table scans it (10 ms for 100,000 rows on PostgreSQL): 50 times a second that would take
    half a core of the two this benchmark shares with what it measures. So it watches the highest id stored,
    read from an index: ids are given out as rows are inserted, so fewer than N rows are stored until it
    reaches N (as many, when nothing was skipped as stored already), and only then counts.
    """
    first_count, first = 0, 0.0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        top = database.count("SELECT max(id) FROM readings")
        if top and not first:
            first_count, first = database.count(), time.perf_counter()
        if top >= n and database.count() >= n:
            return first_count, first, time.perf_counter()
        if not running():
            raise SystemExit(f"ingest exited with {database.count()} of {n} readings stored")
        time.sleep(0.02)
    raise SystemExit(f"ingest stored only {database.count()} of {n} readings in {timeout:.0f} s")


def write_config(path: Path, database: Database, port: int, protocol: str, client_id: str, assigned: bool,
                 ingest: str = "") -> dict[str, str]:
    """Write ingest's config file; the environment that points ``fridge-monitor`` at it."""
    path.write_text(
        f'[database]\nurl = "{database.url}"\n'
        f'[mqtt]\nurl = "mqtt://127.0.0.1:{port}"\nclient_id = "{client_id}"\nprotocol = "{protocol}"\n'
        f'receive_maximum = {RECEIVE_MAXIMUM}\n'
        f'[[mqtt.subscriptions]]\ntopic = "{TOPIC}+"\nformat = "native"\n'
        f'[ingest]\n{ingest}'
        '[logging]\nlevel = "WARNING"\n'
        + (declarations() if assigned else "")
    )
    return {**os.environ, "FRIDGE_MONITOR_CONFIG": str(path)}


FM = [sys.executable, "-m", "fridge_monitor"]


def ingest_rate(port: int, n: int, protocol: str, workdir: Path, assigned: bool,
                big_mib: int, database: Database) -> tuple[float, float, float]:
    env = write_config(workdir / "fridge-monitor.toml", database, port, protocol, "bench-ingest", assigned)
    subprocess.run([*FM, "db", "upgrade"], env=env, check=True, capture_output=True)
    subscribe_session(port, "bench-ingest", TOPIC + "+", protocol)
    messages = payloads(n)
    if big_mib:
        messages.insert(n // 2, (f"{TOPIC}hostile", b"{" + b" " * (big_mib * 1024 * 1024 - 2) + b"}"))
    publish_all(port, messages, protocol)
    del messages

    proc = subprocess.Popen([*FM, "ingest"], env=env)
    peaks = {"mqtt": 0, "writer": 0}

    def running() -> bool:  # and note the peak memory of the ingest process and of its writer
        peaks["mqtt"] = max(peaks["mqtt"], _vm_hwm_kb(proc.pid))
        peaks["writer"] = max([peaks["writer"], *(_vm_hwm_kb(c) for c in _children(proc.pid))])
        return proc.poll() is None

    try:
        first_count, first, last = time_drain(database, n, running)
        running()
    finally:
        proc.terminate()
        proc.wait(30)
    return (n - first_count) / (last - first), peaks["mqtt"] / 1024, peaks["writer"] / 1024


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _vm_hwm_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--protocol", choices=["5", "3.1.1"], default="5")
    parser.add_argument("--assigned", action="store_true", help="probes belong to fridges: the rules run too")
    parser.add_argument("--big-mib", type=int, default=10, help="one publish of this many MiB halfway through "
                        "ingest's backlog (0: none)")
    parser.add_argument("--database", default=None, metavar="URL",
                        help="PostgreSQL server to write to (a scratch database is made on it); default: SQLite")
    args = parser.parse_args()
    target = 0.5 if args.database else 0.8
    if shutil.which("mosquitto") is None:
        raise SystemExit("this benchmark needs the mosquitto binary")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        broker, port = start_mosquitto(workdir)
        database = Database(workdir, args.database)
        try:
            bare = bare_subscriber_rate(port, args.messages, args.protocol)
            ours, peak_mb, writer_mb = ingest_rate(port, args.messages, args.protocol, workdir, args.assigned,
                                                   args.big_mib, database)
        finally:
            database.close()
            broker.terminate()
            broker.wait(10)
    print(f"messages:                 {args.messages} (MQTT {args.protocol}, QoS 1, backlog drain"
          f"{f', {PROBES} fridges judged' if args.assigned else ', unassigned probes'}"
          f"{f', one {args.big_mib} MiB publish halfway' if args.big_mib else ''})")
    print(f"bare paho subscriber:     {bare:,.0f} msg/s")
    print(f"fridge-monitor ingest:    {ours:,.0f} readings/s committed to {database.kind}")
    print(f"ratio:                    {ours / bare:.2f} (target >= {target}: "
          f"{'met' if ours / bare >= target else 'NOT met'})")
    print(f"ingest peak RSS:          {peak_mb:.0f} MB MQTT process + {writer_mb:.0f} MB writer process "
          f"= {peak_mb + writer_mb:.0f} MB (target < 120 MB)")


if __name__ == "__main__":
    main()
