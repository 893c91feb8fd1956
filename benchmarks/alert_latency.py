"""Alert latency: from the publish of the reading that completes an alarm to the stored alert and the webhook.

A real ``fridge-monitor ingest`` process (its writer judges the fridges each
committed batch touched and sends tier-1 notifications at once) reads from
the broker. One fridge has a profile whose freeze rule fires on the first
reading below 2.0 °C, with no clear delay; a webhook channel points at an HTTP
server in this script. Each trial publishes one 1.5 °C reading (QoS 1) and
times until

  alert stored      the freeze alert is visible in the database (polled every 0.5 ms),
  webhook received  the webhook POST for that alert arrives,
  baseline          a bare paho subscriber on the same broker receives the same publish,

and, to show where the time goes, until the reading itself is stored. Then it
publishes a 5.0 °C reading and waits until the episode has ended, so the
next trial is a new episode. Measured times advance with the wall clock.
Prints p50/p99 of each, the ratios to the baseline, and whether p99 < 0.5 s.

    python benchmarks/alert_latency.py [--trials 200] [--broker mqtt://127.0.0.1:1883]
                                       [--database postgresql+psycopg://postgres@127.0.0.1:5432/test]

With ``--database`` (PostgreSQL) a scratch database is created on that server
for the run and dropped afterwards; the named database is not touched.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import sqlalchemy as sa

from fridge_monitor.mqtt.broker import free_port

TARGET_P99_S = 0.5
WARMUP_TRIALS = 3
TRIAL_TIMEOUT_S = 10.0
POLL_S = 0.0005


# -- the webhook receiver ----------------------------------------------------------------------


class Hooks:
    """Arrival time of each webhook POST, by alert id and state."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.arrivals: dict[tuple[int, str], float] = {}
        self.count = 0

    def record(self, body: bytes, when: float) -> None:
        data = json.loads(body)
        with self.lock:
            self.arrivals.setdefault((int(data["alert_id"]), data["state"]), when)
            self.count += 1

    def at(self, alert_id: int, state: str) -> float | None:
        with self.lock:
            return self.arrivals.get((alert_id, state))


def serve_hooks(hooks: Hooks) -> tuple[http.server.ThreadingHTTPServer, int]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            hooks.record(body, time.perf_counter())
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
            pass

    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="webhook", daemon=True).start()
    return server, port


# -- the bare subscriber (baseline) ---------------------------------------------------------------


class Baseline:
    """A raw paho subscriber on the same topic: when each payload arrived."""

    def __init__(self, host: str, port: int, topic: str) -> None:
        self.arrivals: dict[bytes, float] = {}
        self.lock = threading.Lock()
        subscribed = threading.Event()
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"bench-bare-{uuid.uuid4().hex[:8]}",
                                  protocol=paho.MQTTv5)
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_a: subscribed.set()
        self.client.connect(host, port)
        self.client.loop_start()
        self.client.subscribe(topic, qos=1)
        if not subscribed.wait(10):
            raise SystemExit("the baseline subscriber could not subscribe")

    def _on_message(self, _c: paho.Client, _u: object, message: paho.MQTTMessage) -> None:
        when = time.perf_counter()
        with self.lock:
            self.arrivals.setdefault(bytes(message.payload), when)

    def at(self, payload: bytes) -> float | None:
        with self.lock:
            return self.arrivals.get(payload)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


# -- setup ----------------------------------------------------------------------------------------


def config_text(database_url: str, broker: str, client_id: str, prefix: str, hook_port: int) -> str:
    return f"""\
[database]
url = "{database_url}"

[mqtt]
url = "{broker}"
client_id = "{client_id}"
protocol = "5"
session_expiry_s = 60

[[mqtt.subscriptions]]
topic = "{prefix}fridge-monitor/readings/+"
format = "native"

[alerts]
reminder_min = 0

[[alerts.channels]]
name = "bench-hook"
type = "webhook"
url = "http://127.0.0.1:{hook_port}/hook"
tier = 1
timeout_s = 5.0

[logging]
level = "WARNING"

[[alarm_profiles]]
name = "bench-instant"
low_c = 2.0
high_c = 8.0
hysteresis_c = 0.3
clear_delay_min = 0
allowed_gap_min = 35

[[alarm_profiles.rules]]
name = "freeze"
direction = "low"
threshold_c = 2.0
inclusive = false
mode = "continuous"
duration_min = 0
severity = "alarm"

[[sites]]
name = "Bench"
timezone = "Europe/Berlin"

[[fridges]]
name = "Bench fridge"
site = "Bench"
kind = "refrigerator"
alarm_profile = "bench-instant"
sensors = ["native:bench-probe"]
"""


class ScratchPostgres:
    """A database of the run's own on the given PostgreSQL server, dropped at the end."""

    def __init__(self, url: str) -> None:
        self.admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        self.name = f"fm_bench_{uuid.uuid4().hex[:8]}"
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{self.name}"')
        self.url = sa.make_url(url).set(database=self.name).render_as_string(hide_password=False)

    def drop(self) -> None:
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self.admin.dispose()


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(POLL_S)
    return None


# -- the trials -----------------------------------------------------------------------------------


class Bench:
    def __init__(self, engine: sa.Engine, publisher: paho.Client, topic: str, hooks: Hooks, baseline: Baseline) -> None:
        self.engine, self.publisher, self.topic, self.hooks, self.baseline = engine, publisher, topic, hooks, baseline
        self.conn = engine.connect()
        self.last_ts = 0.0
        self.last_alert = 0

    def _ts(self) -> float:
        self.last_ts = max(round(time.time(), 3), round(self.last_ts + 0.001, 3))
        return self.last_ts

    def publish(self, celsius: float) -> tuple[bytes, float]:
        payload = json.dumps({"temperature_c": celsius, "ts": self._ts()}).encode()
        sent = time.perf_counter()
        info = self.publisher.publish(self.topic, payload, qos=1)
        info.wait_for_publish(10)
        return payload, sent

    def _new_freeze_alert(self) -> int | None:
        self.conn.rollback()  # a fresh snapshot each poll
        return self.conn.scalar(sa.text("SELECT id FROM alerts WHERE rule = 'freeze' AND id > :last "
                                        "ORDER BY id LIMIT 1"), {"last": self.last_alert})

    def _ended(self, alert_id: int) -> bool:
        self.conn.rollback()
        return self.conn.scalar(sa.text("SELECT count(*) FROM alerts WHERE id = :id AND ended_at IS NOT NULL"),
                                {"id": alert_id}) == 1

    def stored_readings(self) -> int:
        self.conn.rollback()
        return self.conn.scalar(sa.text("SELECT count(*) FROM readings"))

    def start(self, proc: subprocess.Popen[bytes], log_path: Path) -> None:
        """Ingest subscribes shortly after it starts: repeat an in-range reading until one is stored."""
        for _ in range(60):
            self.publish(5.0)
            if wait_for(self.stored_readings, 1.0, "the first reading"):
                return
            if proc.poll() is not None:
                raise SystemExit(f"ingest exited with {proc.returncode}:\n{log_path.read_text()[-2000:]}")
        raise SystemExit(f"ingest stored nothing within 60 s:\n{log_path.read_text()[-2000:]}")

    def trial(self) -> tuple[float | None, ...]:
        """One alarm: (reading stored, alert stored, webhook, baseline) latencies in seconds, None for a miss."""
        before = self.stored_readings()
        payload, sent = self.publish(1.5)
        reading_at = stored_at = webhook_at = None
        alert_id = None
        deadline = time.monotonic() + TRIAL_TIMEOUT_S
        while time.monotonic() < deadline and (alert_id is None or webhook_at is None):
            if reading_at is None and self.stored_readings() > before:
                reading_at = time.perf_counter()
            if alert_id is None:
                alert_id = self._new_freeze_alert()
                if alert_id is not None:
                    stored_at = time.perf_counter()
                    reading_at = reading_at or stored_at  # both became visible between two polls
            if alert_id is not None and webhook_at is None:
                webhook_at = self.hooks.at(alert_id, "open")
            if alert_id is None or webhook_at is None:
                time.sleep(POLL_S)
        base_at = wait_for(lambda: self.baseline.at(payload), 5, "the baseline")
        # Back in range (5.0 >= 2.0 + 0.3 hysteresis, no clear delay): the episode ends before the next trial.
        self.publish(5.0)
        if alert_id is not None:
            self.last_alert = alert_id
            if not wait_for(lambda: self._ended(alert_id), TRIAL_TIMEOUT_S, "the episode to end"):
                print(f"warning: alert {alert_id} did not end within {TRIAL_TIMEOUT_S} s", file=sys.stderr)
            wait_for(lambda: self.hooks.at(alert_id, "resolved"), TRIAL_TIMEOUT_S, "the resolved webhook")
        return tuple(None if t is None else t - sent for t in (reading_at, stored_at, webhook_at, base_at))

    def close(self) -> None:
        self.conn.close()


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (p99 of 200 values is the second largest)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def run(args: argparse.Namespace, workdir: Path) -> None:
    scratch = None
    if args.database:
        scratch = ScratchPostgres(args.database)
        database_url = scratch.url
    else:
        database_url = f"sqlite:///{workdir / 'bench.db'}"
    host, port = args.broker.split("://")[1].rsplit(":", 1)
    prefix = f"bench-{uuid.uuid4().hex[:8]}/"
    topic = f"{prefix}fridge-monitor/readings/bench-probe"
    hooks = Hooks()
    server, hook_port = serve_hooks(hooks)
    config = workdir / "fridge-monitor.toml"
    config.write_text(config_text(database_url, args.broker, f"bench-ingest-{prefix.strip('/')}", prefix, hook_port))
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRIDGE_MONITOR_")}
    env["FRIDGE_MONITOR_CONFIG"] = str(config)
    fm = [sys.executable, "-m", "fridge_monitor"]
    proc = None
    engine = sa.create_engine(database_url)
    baseline = publisher = bench = None
    log_path = workdir / "ingest.log"
    try:
        subprocess.run([*fm, "db", "upgrade"], env=env, check=True, capture_output=True)
        baseline = Baseline(host, int(port), topic)
        publisher = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{uuid.uuid4().hex[:8]}",
                                protocol=paho.MQTTv5)
        publisher.connect(host, int(port))
        publisher.loop_start()
        with open(log_path, "wb") as log_file:
            proc = subprocess.Popen([*fm, "ingest"], env=env, stdout=log_file, stderr=subprocess.STDOUT)
        bench = Bench(engine, publisher, topic, hooks, baseline)
        bench.start(proc, log_path)
        for _ in range(WARMUP_TRIALS):
            bench.trial()
        results = [bench.trial() for _ in range(args.trials)]
    finally:
        if bench is not None:
            bench.close()
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        if publisher is not None:
            publisher.disconnect()
            publisher.loop_stop()
        if baseline is not None:
            baseline.close()
        server.shutdown()
        engine.dispose()
        if scratch is not None:
            scratch.drop()
    if args.trace:
        with open(args.trace, "w", encoding="utf-8") as fh:
            fh.write("trial,reading_ms,stored_ms,webhook_ms,baseline_ms\n")
            for n, row in enumerate(results, 1):
                fh.write(",".join([str(n), *("" if t is None else f"{t * 1000:.3f}" for t in row)]) + "\n")
    report(args, "SQLite (synchronous = full)" if scratch is None else "PostgreSQL (a scratch database)", results)


def report(args: argparse.Namespace, where: str, results: list[tuple[float | None, ...]]) -> None:
    names = ("reading", "stored", "webhook", "baseline")
    labels = {"reading": "(reading stored)", "stored": "alert stored", "webhook": "webhook received",
              "baseline": "baseline (bare paho)"}
    series = {name: [r[i] for r in results if r[i] is not None] for i, name in enumerate(names)}
    misses = {name: len(results) - len(values) for name, values in series.items()}
    print(f"trials:                {len(results)} (after {WARMUP_TRIALS} warm-up trials), broker {args.broker}, "
          f"database {where}")
    if not series["baseline"]:
        raise SystemExit("the baseline subscriber received nothing")
    base50, base99 = percentile(series["baseline"], 50), percentile(series["baseline"], 99)
    for name in ("stored", "webhook", "baseline", "reading"):
        values = series[name]
        label = labels[name] + ":"
        if not values:
            print(f"{label:<22} no measurement ({misses[name]} missed)")
            continue
        p50, p99 = percentile(values, 50), percentile(values, 99)
        line = f"{label:<22} p50 {p50 * 1000:8.2f} ms   p99 {p99 * 1000:8.2f} ms   max {max(values) * 1000:8.2f} ms"
        if name != "baseline":
            line += f"   ratio to baseline p50 {p50 / base50:6.1f}x  p99 {p99 / base99:6.1f}x"
        if misses[name]:
            line += f"   ({misses[name]} missed within {TRIAL_TIMEOUT_S:.0f} s)"
        print(line)
    worst = max(percentile(series[n], 99) if series[n] else float("inf") for n in ("stored", "webhook"))
    if misses["stored"] or misses["webhook"]:
        worst = float("inf")
    print(f"p99 < {TARGET_P99_S} s (alert stored and webhook received): {'yes' if worst < TARGET_P99_S else 'NO'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--broker", default="mqtt://127.0.0.1:1883", help="MQTT broker URL (mqtt://HOST:PORT)")
    parser.add_argument("--trace", default=None, help="also write each trial's latencies (ms) to this CSV file")
    parser.add_argument("--database", default=None,
                        help="PostgreSQL URL of a server to use (a scratch database is made); default: SQLite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run(args, Path(tmp))


if __name__ == "__main__":
    main()
