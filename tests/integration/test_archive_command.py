"""``fridge-monitor archive``: a bundle per UTC month of old readings that ``audit verify`` accepts; on PostgreSQL,
with --confirm, each archived month detached from ``readings`` and kept as an append-only table; on SQLite the
bundles only, and --confirm refused in one line."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from fridge_monitor.core.readings import Reading
from fridge_monitor.ingest.batches import Batch, Store
from fridge_monitor.reports import archive
from fridge_monitor.store import migrate, partitions
from fridge_monitor.store import models as m
from fridge_monitor.store.sync import sync_declarations

from support import cli, clinic_config

FEBRUARY = [datetime(2025, 2, 1, tzinfo=UTC) + timedelta(minutes=30 * k) for k in range(3 * 48)]
APRIL = [datetime(2025, 4, 28, tzinfo=UTC) + timedelta(minutes=30 * k) for k in range(3 * 48)]  # to May 1st
MAY = [datetime(2025, 5, 1, tzinfo=UTC) + timedelta(minutes=30 * k) for k in range(48)]
SENSOR = "native:a1-probe"


def filled(engine: sa.Engine) -> None:
    """Fridge A1's readings in February, April (to the last minute of the month) and May 2025."""
    sync_declarations(engine, clinic_config([{"name": "A1", "site": "Clinic A", "sensors": [SENSOR]}]),
                      datetime(2025, 1, 1, tzinfo=UTC))
    moments = FEBRUARY + APRIL + MAY
    Store(engine).write(Batch(readings=[(Reading(SENSOR, "native", "a1-probe", at, 4.0 + k % 9 / 10), at)
                                        for k, at in enumerate(moments)]))


def rows(engine: sa.Engine, table: str = "readings", month: date | None = None) -> list[tuple[object, ...]]:
    query = f"SELECT id, sensor_id, measured_at, received_at, temperature_c FROM {table}"
    params: dict[str, datetime] = {}
    if month is not None:
        query += " WHERE measured_at >= :lo AND measured_at < :hi"
        params["lo"], params["hi"] = partitions.bounds(month)
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.text(query + " ORDER BY id"), params)]


def printed(stdout: str) -> dict[str, tuple[int, Path, str, str]]:
    """Each month's line: readings, bundle path, SHA-256 and verdict."""
    found = re.findall(r"^(\d{4}-\d{2}): (\d+) readings -> (\S+) sha256 ([0-9a-f]{64}) \((.+)\)$", stdout, re.M)
    return {month: (int(count), Path(path), sha, verdict) for month, count, path, sha, verdict in found}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def audit_actions(engine: sa.Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return [(action, record_id) for action, record_id in conn.execute(
            sa.select(m.AuditEvent.action, m.AuditEvent.record_id)
            .where(m.AuditEvent.action.in_(["archive", "detach"])).order_by(m.AuditEvent.id))]


def check_bundles(out: Path, stdout: str) -> None:
    months = printed(stdout)
    assert set(months) == {"2025-02", "2025-04"}  # months before 2025-05 that hold readings; none for March
    for month, expected in (("2025-02", len(FEBRUARY)), ("2025-04", len(APRIL))):
        count, path, sha, verdict = months[month]
        assert (count, path, verdict) == (expected, out / f"fridge-monitor-{month}.zip", "verified")
        assert sha == sha256(path)
        verified = cli("audit", "verify", str(path))
        assert verified.returncode == 0, verified.stderr
        assert "verifies" in verified.stdout


@pytest.mark.postgres
def test_archive_writes_verified_bundles_and_confirm_detaches_their_months(postgres_url, engine_for, tmp_path):
    engine = engine_for(postgres_url)
    # April has a partition of its own, made ahead; February's readings wait in the DEFAULT partition.
    partitions.ensure_partitions(engine, datetime(2025, 3, 10, tzinfo=UTC), months_ahead=1)
    filled(engine)
    env = {"FRIDGE_MONITOR_DATABASE_URL": postgres_url}
    everything = rows(engine)
    february, april = rows(engine, month=date(2025, 2, 1)), rows(engine, month=date(2025, 4, 1))

    out = tmp_path / "archive"
    result = cli("archive", "--before", "2025-05", "--out", str(out), env=env)
    assert result.returncode == 0, result.stderr
    check_bundles(out, result.stdout)
    assert "nothing detached" in result.stdout
    assert rows(engine) == everything
    assert audit_actions(engine) == [("archive", "before 2025-05")]

    result = cli("archive", "--before", "2025-05", "--out", str(out), "--confirm", env=env)
    assert result.returncode == 0, result.stderr
    check_bundles(out, result.stdout)  # written again in this run, and verified before anything is detached
    assert "2025-02: 144 readings detached from readings; kept as table readings_y2025m02" in result.stdout
    assert "2025-04: 144 readings detached from readings; kept as table readings_y2025m04" in result.stdout
    assert "DROP TABLE readings_y2025m02, readings_y2025m04;" in result.stdout
    # The readings table no longer shows those months; the detached tables hold every one of their rows.
    assert rows(engine) == [row for row in everything if row not in february + april]
    assert rows(engine, "readings_y2025m02") == february
    assert rows(engine, "readings_y2025m04") == april
    with engine.connect() as conn:
        assert set(partitions.attached(conn)) >= {date(2025, 3, 1)}  # an empty month stays as it was
        assert not {date(2025, 2, 1), date(2025, 4, 1)} & set(partitions.attached(conn))
    # Still evidence: the detached table refuses a change (until someone drops it).
    for sql in ("UPDATE readings_y2025m02 SET temperature_c = 0", "DELETE FROM readings_y2025m04",
                "TRUNCATE readings_y2025m04"):
        with pytest.raises(sa.exc.DatabaseError, match="rows are append-only"), engine.begin() as conn:
            conn.exec_driver_sql(sql)
    assert audit_actions(engine) == [("archive", "before 2025-05"), ("archive", "before 2025-05"),
                                     ("detach", "readings_y2025m02"), ("detach", "readings_y2025m04")]
    trail = cli("audit", "verify", env=env)
    assert trail.returncode == 0, trail.stderr

    # A late reading of an archived month is still taken (by the DEFAULT partition); nothing is left to detach
    # but that one, and the schema still agrees with the models.
    late = datetime(2025, 2, 14, 8, 1, tzinfo=UTC)
    Store(engine).write(Batch(readings=[(Reading(SENSOR, "native", "a1-probe", late, 5.0), late)]))
    with engine.connect() as conn:
        assert partitions.readings_per_month(conn, date(2025, 5, 1)) == [(date(2025, 2, 1), 1)]
    migrate.check(engine)


@pytest.mark.postgres
def test_a_month_that_changed_since_its_bundle_is_not_detached(postgres_url, engine_for, tmp_path):
    engine = engine_for(postgres_url)
    filled(engine)
    bundles = archive.write_bundles(engine, clinic_config([]), date(2025, 3, 1), tmp_path, actor="test")
    assert [(b.month, b.readings, b.verified) for b in bundles] == [(date(2025, 2, 1), len(FEBRUARY), True)]
    late = datetime(2025, 2, 27, tzinfo=UTC)  # a logger's late upload, after the bundle was written
    Store(engine).write(Batch(readings=[(Reading(SENSOR, "native", "a1-probe", late, 5.0), late)]))
    with pytest.raises(archive.ArchiveError, match="now holds 145 readings, its bundle 144; nothing detached"):
        archive.detach(engine, bundles[0], actor="test")
    assert len(rows(engine, month=date(2025, 2, 1))) == len(FEBRUARY) + 1
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT to_regclass('readings_y2025m02')")) is None  # rolled back, all of it


@pytest.mark.postgres
def test_a_busy_readings_table_leaves_the_month_attached(postgres_url, engine_for, tmp_path, monkeypatch):
    engine = engine_for(postgres_url)
    filled(engine)
    bundles = archive.write_bundles(engine, clinic_config([]), date(2025, 3, 1), tmp_path, actor="test")
    monkeypatch.setattr(partitions, "LOCK_TIMEOUT", "200ms")
    with engine.connect() as reader:
        reader.exec_driver_sql("SELECT count(*) FROM readings")  # a long export, still reading
        with pytest.raises(archive.ArchiveError, match="2025-02: nothing detached: the readings table stayed busy"):
            archive.detach(engine, bundles[0], actor="test")
        reader.rollback()
    assert len(rows(engine, month=date(2025, 2, 1))) == len(FEBRUARY)
    assert archive.detach(engine, bundles[0], actor="test").table == "readings_y2025m02"
    assert rows(engine, month=date(2025, 2, 1)) == []


def test_archive_on_sqlite_writes_the_bundles_and_refuses_to_detach(sqlite_url, engine_for, tmp_path):
    engine = engine_for(sqlite_url)
    filled(engine)
    env = {"FRIDGE_MONITOR_DATABASE_URL": sqlite_url}
    everything = rows(engine)
    out = tmp_path / "archive"

    refused = cli("archive", "--before", "2025-05", "--out", str(out), "--confirm", env=env)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "fridge-monitor: error: --confirm detaches months from the readings table, which needs PostgreSQL (readings "
        "are partitioned by month there, not on sqlite); leave out --confirm to write the bundles only"]
    assert not out.exists()

    result = cli("archive", "--before", "2025-05", "--out", str(out), env=env)
    assert result.returncode == 0, result.stderr
    check_bundles(out, result.stdout)
    assert "nothing detached" in result.stdout
    assert rows(engine) == everything
    assert audit_actions(engine) == [("archive", "before 2025-05")]


def test_archive_refuses_a_month_that_has_not_ended(sqlite_url):
    month = partitions.month_text(partitions.add_months(partitions.month_of(datetime.now(UTC)), 1))
    result = cli("archive", "--before", month, "--out", "unused", env={"FRIDGE_MONITOR_DATABASE_URL": sqlite_url})
    assert result.returncode == 2
    assert "only months that have ended can be archived" in result.stderr
