"""Guarantee: a database outage loses nothing, and ingest acknowledges nothing it has not stored.

These tests run a PostgreSQL server of their own (the machine's PostgreSQL
binaries, a fresh cluster on a free port, so the machine's server and the
tests beside them are never disturbed). They stop it (`pg_ctl stop -m fast`)
for about ten seconds while a stream of readings is being published, and
always start it again (and wait until it accepts connections) before they
end, whatever happens.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from fridge_monitor.mqtt.broker import free_port
from fridge_monitor.store import migrate
from fridge_monitor.store.db import create_engine

from guarantees import StreamPublisher, alive, count_readings, stream_expected, wait_stored_exactly
from support import missing_service, wait_until

OUTAGE_S = 10.0
pytestmark = [pytest.mark.postgres, pytest.mark.mosquitto, pytest.mark.slow]


def _postgres_bin() -> Path | None:
    """The directory of the machine's PostgreSQL server programs (Debian keeps them out of PATH)."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    try:
        candidates.insert(0, subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True,
                                            check=True).stdout.strip())
    except (OSError, subprocess.CalledProcessError):
        pass  # no pg_config: the Debian layout alone
    for candidate in candidates:
        if (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    return None


class PostgresServer:
    """A throwaway cluster: :meth:`stop` and :meth:`ensure_running` act on it alone; ``url`` is a migrated
    database in it."""

    def __init__(self) -> None:
        bindir = _postgres_bin()
        if bindir is None:
            missing_service("PostgreSQL's server programs (initdb, pg_ctl)")
        self.bindir = bindir
        # The server refuses to run as root: it runs as the postgres user, in a directory that user owns.
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.home = Path(tempfile.mkdtemp(prefix="fm-pg-"))
        if self.as_user:
            shutil.chown(self.home, "postgres")
        self.data = self.home / "data"
        self.port = free_port()
        self.dsn = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/fm"
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
        self.ensure_running()
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute("CREATE DATABASE fm")
        engine = create_engine({"url": self.url})
        migrate.upgrade(engine)
        engine.dispose()

    def _run(self, program: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self.as_user, str(self.bindir / program), *args],
                              capture_output=True, text=True, timeout=90, check=False)

    def accepts(self) -> bool:
        try:
            with psycopg.connect(self.dsn, connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def running(self) -> bool:
        return self._run("pg_ctl", "-D", str(self.data), "status").returncode == 0

    def stop(self) -> None:
        result = self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        assert result.returncode == 0, f"could not stop PostgreSQL: {result.stderr}"
        assert not self.accepts(), "PostgreSQL still accepts connections after stop"

    def ensure_running(self) -> None:
        if not self.running():
            options = f"-p {self.port} -k {self.home} -c listen_addresses=127.0.0.1 -c fsync=off"
            result = self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.home / "log"),
                               "-w", "start")
            assert result.returncode == 0, f"could not start PostgreSQL: {result.stderr}"
        wait_until(self.accepts, 60, interval=0.2, what="PostgreSQL to accept connections")

    def remove(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.home, ignore_errors=True)


@pytest.fixture
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        yield server
    finally:
        server.remove()


def test_postgres_outage_ingest_waits_and_catches_up_by_itself(postgres_server, ingest_rig, prefix):
    n, rate = 6_000, 400.0
    rig = ingest_rig(postgres_server.url)
    broker, engine, ingest = rig.broker, rig.engine, rig.ingest

    messages, expected = stream_expected(prefix, n)
    publisher = StreamPublisher(broker.url, f"pub-{prefix.strip('/')}", messages, rate).start()
    try:
        publisher.wait_handed(n // 4)
        wait_until(lambda: count_readings(engine) > 0, 20, what="the ingest to store part of the stream")
        try:
            postgres_server.stop()
            down_at = time.monotonic()
            handed_at_stop = publisher.handed
            ingest.wait_log("database unavailable", timeout=OUTAGE_S)
            time.sleep(max(0.0, down_at + OUTAGE_S - time.monotonic()))
            assert ingest.running(), f"ingest died during the outage:\n{ingest.log_tail()}"
            assert publisher.handed > handed_at_stop + rate, "publishing did not go on during the outage"
        finally:
            postgres_server.ensure_running()
        publisher.join(120)
        wait_stored_exactly(engine, expected, context=rig.context)
        assert ingest.running() and ingest.runs == 1, "the ingest had to be restarted by hand"
    finally:
        publisher.close()


def test_postgres_outage_kill_9_acknowledges_nothing_unstored(postgres_server, ingest_rig, prefix):
    """Messages taken during the outage are uncommitted when the ingest dies: had any been
    acknowledged to the broker, it would never come back, and a reading would be missing."""
    n, rate = 5_000, 500.0
    rig = ingest_rig(postgres_server.url)
    broker, engine, ingest = rig.broker, rig.engine, rig.ingest
    ingest.wait_for_writer()

    messages, expected = stream_expected(prefix, n)
    publisher = StreamPublisher(broker.url, f"pub-{prefix.strip('/')}", messages, rate).start()
    try:
        publisher.wait_handed(n // 4)
        wait_until(lambda: count_readings(engine) > 0, 20, what="the ingest to store part of the stream")
        try:
            postgres_server.stop()
            down_at = time.monotonic()
            ingest.wait_log("database unavailable", timeout=OUTAGE_S)
            time.sleep(2.0)  # the ingest keeps receiving (up to its receive maximum) and can store none of it
            children, writers = ingest.kill9()
            assert writers, f"no writer child found among {children}"
            wait_until(lambda: not any(alive(p, t) for p, t in writers.items()), 15,
                       what="the orphaned writer (waiting for the database) to exit by itself")
            wait_until(lambda: not any(alive(p, t) for p, t in children.items()), 15,
                       what="every child of the killed ingest to exit")
            time.sleep(max(0.0, down_at + OUTAGE_S - time.monotonic()))
        finally:
            postgres_server.ensure_running()
        stored_before_restart = count_readings(engine)
        assert stored_before_restart < n
        ingest.start()
        publisher.join(120)
        wait_stored_exactly(engine, expected, context=rig.context)
    finally:
        publisher.close()
