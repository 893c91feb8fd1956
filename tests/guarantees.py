"""Helpers for the ingest guarantee tests (tests/integration/test_guarantees_*.py): ingest as a real
process and its children, a steady publisher that survives broker restarts, and what the database holds."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import sqlalchemy as sa

from fridge_monitor.mqtt.client import shut_down
from fridge_monitor.store import models as m

from support import REPO, native, wait_until


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, start time in clock ticks) of a process, or None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return fields[0], int(fields[19])


def descendants(pid: int) -> dict[int, int]:
    """Every living descendant of ``pid``: {pid: start time} (start time guards against pid reuse)."""
    found: dict[int, int] = {}
    todo = [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                stat = _proc_stat(child)
                if stat and child not in found:
                    found[child] = stat[1]
                    todo.append(child)
    return found


def alive(pid: int, started: int | None = None) -> bool:
    """Whether this very process still runs (a zombie or a reused pid does not count)."""
    stat = _proc_stat(pid)
    return stat is not None and stat[0] not in ("Z", "X") and (started is None or stat[1] == started)


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


class IngestProcess:
    """``fridge-monitor --config PATH ingest ...`` as a real process, logging to a file.

    Remembers every process it ever started (and their children) so that
    :meth:`cleanup` can end all of them, by pid, even after a failure.
    """

    def __init__(self, config_path: Path, log_path: Path, *args: str) -> None:
        self.config_path = config_path
        self.log_path = log_path
        self.args = args
        self.proc: subprocess.Popen[bytes] | None = None
        self.runs = 0
        self._seen: dict[int, int] = {}

    def start(self) -> IngestProcess:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("FRIDGE_MONITOR_")}
        self.runs += 1
        with open(self.log_path, "ab") as log_file:
            log_file.write(f"===== start #{self.runs} at {time.time():.3f} =====\n".encode())
            log_file.flush()
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "fridge_monitor", "--config", str(self.config_path), "ingest", *self.args],
                stdout=log_file, stderr=subprocess.STDOUT, env=full_env, cwd=REPO,
            )
        stat = _proc_stat(self.proc.pid)
        if stat:
            self._seen[self.proc.pid] = stat[1]
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def children(self) -> dict[int, int]:
        found = descendants(self.pid) if self.running() else {}
        self._seen.update(found)
        return found

    def wait_for_writer(self, timeout: float = 30) -> dict[int, int]:
        """Wait until the writer process exists; return all descendants (writer, resource tracker)."""
        def writer_up() -> dict[int, int] | None:
            code = self.proc.returncode if self.proc else None
            assert self.running(), f"ingest exited with {code}:\n{self.log_tail()}"
            kids = self.children()
            return kids if any("spawn_main" in cmdline(pid) for pid in kids) else None

        kids: dict[int, int] = wait_until(writer_up, timeout, what="the ingest writer process")
        return kids

    def wait_log(self, text: str, timeout: float = 30, count: int = 1) -> None:
        """Wait until ``text`` appears ``count`` times in the log of the current run."""
        def seen() -> bool:
            if not self.running():
                raise AssertionError(f"ingest exited ({self.proc.returncode if self.proc else None}) "
                                     f"before logging {text!r}:\n{self.log_tail()}")
            current = self.log().rsplit("===== start #", 1)[-1]
            return current.count(text) >= count

        wait_until(seen, timeout, what=f"{text!r} in the ingest log")

    def kill9(self) -> tuple[dict[int, int], dict[int, int]]:
        """SIGKILL the ingest process only; return the descendants it had (left to end by themselves) and which
        of them were writers, told apart before the kill (an orphaned writer may be gone before anyone looks)."""
        assert self.proc is not None
        kids = self.children()
        writers = {pid: started for pid, started in kids.items() if "spawn_main" in cmdline(pid)}
        self.proc.kill()
        self.proc.wait(10)
        return kids, writers

    def terminate(self, timeout: float = 20) -> int:
        """SIGTERM (a clean stop); the exit status."""
        assert self.proc is not None
        self.proc.terminate()
        return self.proc.wait(timeout)

    def cleanup(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        for pid, started in self._seen.items():
            if alive(pid, started):
                try:
                    os.kill(pid, 9)
                except OSError:
                    pass


def stream_expected(prefix: str, n: int, sensors: int = 10, base_ts: int | None = None,
                    tag: str = "s") -> tuple[list[tuple[str, bytes]], set[tuple[str, int]]]:
    """``n`` distinguishable native readings: sensor ``<tag><k % sensors>``, epoch ts ``base_ts + k``.

    Returns the messages and the set of (sensor id, epoch seconds) they must be stored as.
    Timestamps lie in the past (default: ending an hour ago), never in the future.
    """
    if base_ts is None:
        base_ts = int(time.time()) - 3600 - n
    messages, expected = [], set()
    for k in range(n):
        sensor, ts = f"{tag}{k % sensors}", base_ts + k
        messages.append(native(prefix, sensor, round(2.0 + (k % 61) / 10, 1), ts))
        expected.add((f"native:{sensor}", ts))
    return messages, expected


class StreamPublisher:
    """Publishes messages at QoS 1 at a steady rate from a thread, surviving broker restarts.

    paho keeps every unacknowledged message and sends it again after a
    reconnect, so a message counts as delivered once the broker's PUBACK
    arrived (``MQTTMessageInfo._published``), whatever the return code at
    publish time (``MQTT_ERR_NO_CONN`` while the broker is down).
    """

    def __init__(self, url: str, client_id: str, messages: list[tuple[str, bytes]], rate: float,
                 protocol: str = "5") -> None:
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        host, port = url.split("://")[1].split(":")
        self.messages = messages
        self.rate = rate
        self.v5 = protocol == "5"
        self.client = paho.Client(
            paho.CallbackAPIVersion.VERSION2, client_id=client_id,
            protocol=paho.MQTTv5 if self.v5 else paho.MQTTv311, clean_session=None if self.v5 else False,
        )
        self.client.max_inflight_messages_set(200)
        self.client.reconnect_delay_set(0.2, 2)
        props = None
        if self.v5:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = 600
        self.client.connect(host, int(port), properties=props)
        self.client.loop_start()
        self.infos: list[paho.MQTTMessageInfo] = []
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="stream-publisher", daemon=True)

    def start(self) -> StreamPublisher:
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            began = time.monotonic()
            for k, (topic, payload) in enumerate(self.messages):
                delay = began + k / self.rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                self.infos.append(self.client.publish(topic, payload, qos=1))
        except BaseException as exc:  # noqa: BLE001 - reported by join()
            self.error = exc

    @property
    def handed(self) -> int:
        """Messages given to paho so far."""
        return len(self.infos)

    @property
    def acknowledged(self) -> int:
        return sum(1 for info in list(self.infos) if info._published)

    def wait_handed(self, count: int, timeout: float = 60) -> None:
        wait_until(lambda: self.handed >= count or self.error, timeout, what=f"{count} messages published")
        assert self.error is None, self.error

    def join(self, timeout: float = 120) -> None:
        """Wait until every message was published and acknowledged by the broker."""
        self._thread.join(timeout)
        assert self.error is None, f"publisher failed: {self.error!r}"
        assert not self._thread.is_alive(), "publisher still running"
        wait_until(lambda: self.acknowledged == len(self.messages), timeout,
                   what=f"the broker to acknowledge all {len(self.messages)} messages "
                        f"(so far {self.acknowledged})")

    def close(self) -> None:
        self._thread.join(5)
        shut_down(self.client)


def stored_readings(engine: Any, sensor_prefix: str = "native:") -> list[tuple[str, int]]:
    """Every stored reading of matching sensors as (sensor id, epoch seconds), duplicates kept."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(m.Reading.sensor_id, m.Reading.measured_at).where(m.Reading.sensor_id.startswith(sensor_prefix))
        ).all()
    return [(sid, round(at.timestamp())) for sid, at in rows]


def count_readings(engine: Any, sensor_prefix: str = "native:") -> int:
    with engine.connect() as conn:
        count: int = conn.scalar(
            sa.select(sa.func.count()).select_from(m.Reading).where(m.Reading.sensor_id.startswith(sensor_prefix))
        )
    return count


def assert_exactly(engine: Any, expected: set[tuple[str, int]], sensor_prefix: str = "native:s",
                   context: str = "") -> None:
    """The database holds each expected reading exactly once, and nothing else for these sensors."""
    rows = stored_readings(engine, sensor_prefix)
    got = set(rows)
    dups = len(rows) - len(got)
    missing = sorted(expected - got)
    extra = sorted(got - expected)
    assert not dups and not missing and not extra and len(rows) == len(expected), (
        f"stored {len(rows)} readings for {len(expected)} published: {dups} duplicates, "
        f"{len(missing)} missing (first {missing[:5]}), {len(extra)} unexpected (first {extra[:5]})\n{context}"
    )


class WriteLock:
    """Holds the readings table locked against writers (``with WriteLock(url): ...``): the ingest
    stalls with messages received but not committed. SQLite: ``BEGIN IMMEDIATE``; PostgreSQL:
    ``LOCK TABLE readings IN EXCLUSIVE MODE`` (reads still work)."""

    def __init__(self, database_url: str) -> None:
        self.url = sa.make_url(database_url)
        self.conn: Any = None

    def __enter__(self) -> WriteLock:
        if self.url.get_backend_name() == "sqlite":
            import sqlite3

            self.conn = sqlite3.connect(self.url.database or "", isolation_level=None, timeout=30)
            self.conn.execute("BEGIN IMMEDIATE")
        else:
            import psycopg

            self.conn = psycopg.connect(self.url.set(drivername="postgresql").render_as_string(hide_password=False))
            self.conn.execute("LOCK TABLE readings IN EXCLUSIVE MODE")
        return self

    def release(self) -> None:
        """End the lock (idempotent)."""
        if self.conn is None:
            return
        conn, self.conn = self.conn, None
        if hasattr(conn, "info"):  # psycopg
            conn.rollback()
        else:
            conn.execute("ROLLBACK")
        conn.close()

    def __exit__(self, *exc: Any) -> None:
        self.release()


def wait_stored_exactly(engine: Any, expected: set[tuple[str, int]], *, sensor_prefix: str = "native:s",
                        timeout: float = 90, quiet: float = 15, context: Callable[[], str] = lambda: "") -> None:
    """Wait until every expected reading is stored (or nothing new arrived for ``quiet`` seconds),
    give late redeliveries a moment, then :func:`assert_exactly`."""
    deadline = time.monotonic() + timeout
    last, changed = -1, time.monotonic()
    while time.monotonic() < deadline:
        count = count_readings(engine, sensor_prefix)
        if count >= len(expected):
            break
        if count != last:
            last, changed = count, time.monotonic()
        elif time.monotonic() - changed > quiet:
            break
        time.sleep(0.2)
    time.sleep(1.0)  # redeliveries still on their way must not add anything
    assert_exactly(engine, expected, sensor_prefix, context=context())
