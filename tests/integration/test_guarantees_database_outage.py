"""Guarantee: a database outage loses nothing, and ingest acknowledges nothing it has not stored.

These tests stop the machine's PostgreSQL server (`pg_ctlcluster ... stop -m
fast`) for about ten seconds while a stream of readings is being published,
and always start it again (and wait until it accepts connections) before
they end, whatever happens.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from guarantees import StreamPublisher, alive, cmdline, count_readings, stream_expected, wait_stored_exactly
from support import missing_service, wait_until

OUTAGE_S = 10.0
# stops_postgres: `make test` runs these alone, after the rest, which would lose their connections meanwhile.
pytestmark = [pytest.mark.postgres, pytest.mark.mosquitto, pytest.mark.slow, pytest.mark.stops_postgres]


class PostgresServer:
    """Stops and starts the local cluster; :meth:`ensure_running` is safe to call any time."""

    def __init__(self, admin: sa.Engine) -> None:
        self.admin = admin
        clusters = sorted(Path("/etc/postgresql").glob("*/main")) if Path("/etc/postgresql").is_dir() else []
        if shutil.which("pg_ctlcluster") is None or not clusters or os.geteuid() != 0:
            missing_service("pg_ctlcluster and root (to stop and start PostgreSQL)")
        self.version = clusters[-1].parent.name
        self.dsn = admin.url.set(drivername="postgresql").render_as_string(hide_password=False)

    def _ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", self.version, "main", *args],
                              capture_output=True, text=True, timeout=90)

    def running(self) -> bool:
        return self._ctl("status").returncode == 0

    def accepts(self) -> bool:
        try:
            with psycopg.connect(self.dsn, connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def stop(self) -> None:
        result = self._ctl("stop", "-m", "fast")
        assert result.returncode == 0, f"could not stop PostgreSQL: {result.stderr}"
        assert not self.accepts(), "PostgreSQL still accepts connections after stop"

    def ensure_running(self) -> None:
        if not self.running():
            result = self._ctl("start")
            assert result.returncode == 0 or self.running(), f"could not start PostgreSQL: {result.stderr}"
        wait_until(self.accepts, 60, interval=0.2, what="PostgreSQL to accept connections")
        self.admin.dispose()  # its pooled connections died with the server; the fixtures' teardown needs new ones


@pytest.fixture
def postgres_server(postgres_admin: sa.Engine):
    server = PostgresServer(postgres_admin)
    try:
        yield server
    finally:
        server.ensure_running()


def test_postgres_outage_ingest_waits_and_catches_up_by_itself(postgres_url, postgres_server, ingest_rig, prefix):
    n, rate = 6_000, 400.0
    rig = ingest_rig(postgres_url)
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


def test_postgres_outage_kill_9_acknowledges_nothing_unstored(postgres_url, postgres_server, ingest_rig, prefix):
    """Messages taken during the outage are uncommitted when the ingest dies: had any been
    acknowledged to the broker, it would never come back, and a reading would be missing."""
    n, rate = 5_000, 500.0
    rig = ingest_rig(postgres_url)
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
            children = ingest.kill9()
            writers = {pid: t for pid, t in children.items() if "spawn_main" in cmdline(pid)}
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
