"""The schema comes from the migrations, on SQLite and on PostgreSQL, and matches the models."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command

from fridge_monitor.store import migrate

from support import cli


def test_migrations_build_the_schema_and_agree_with_models(database_url, engine_for):
    engine = engine_for(database_url)
    assert migrate.schema_problem(engine) is None
    tables = set(sa.inspect(engine).get_table_names())
    assert {"sites", "fridges", "sensors", "sensor_assignments", "readings", "rejected_messages"} <= tables
    migrate.check(engine)  # raises if models and migrations drift apart


def test_db_upgrade_and_check_commands(tmp_path):
    env = {"FRIDGE_MONITOR_DATABASE_URL": f"sqlite:///{tmp_path / 'new.db'}"}
    result = cli("export", "readings", "--from", "2026-01-01", "--to", "2026-01-02", env=env)
    assert result.returncode == 2
    assert result.stderr.strip().endswith("run `fridge-monitor db upgrade`")
    assert len(result.stderr.strip().splitlines()) == 1

    result = cli("db", "upgrade", env=env)
    assert result.returncode == 0, result.stderr
    assert f"is at revision {migrate.head_revision()}" in result.stdout
    result = cli("db", "check", env=env)
    assert result.returncode == 0, result.stderr
    assert "models and migrations agree" in result.stdout


@pytest.mark.postgres
def test_db_check_on_postgres(postgres_url):
    result = cli("db", "check", env={"FRIDGE_MONITOR_DATABASE_URL": postgres_url})
    assert result.returncode == 0, result.stderr


def test_ingest_refuses_an_old_schema_with_one_line(tmp_path):
    env = {"FRIDGE_MONITOR_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"}
    result = cli("ingest", env=env, timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fridge-monitor: error: database sqlite:///")
    assert lines[-1].endswith(
        f"is empty; this version needs {migrate.head_revision()}: run `fridge-monitor db upgrade`")


def evidence_triggers(engine: sa.Engine) -> set[str]:
    """The triggers on readings and rejected_messages."""
    if engine.dialect.name == "sqlite":
        query = ("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                 "AND tbl_name IN ('readings', 'rejected_messages')")
    else:
        query = ("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal "
                 "AND tgrelid IN ('readings'::regclass, 'rejected_messages'::regclass)")
    with engine.connect() as conn:
        return set(conn.exec_driver_sql(query).scalars())


def test_downgrade_drops_the_readings_triggers_and_upgrade_restores_them(database_url, engine_for):
    engine = engine_for(database_url)
    # SQLite: one trigger per verb; PostgreSQL: one per row and one for TRUNCATE.
    verbs = ("no_update", "no_delete") if engine.dialect.name == "sqlite" else ("append_only", "no_truncate")
    expected = {f"{table}_{verb}" for table in ("readings", "rejected_messages") for verb in verbs}
    assert evidence_triggers(engine) == expected
    with engine.begin() as conn:
        command.downgrade(migrate.alembic_config(conn), "0008")
    assert evidence_triggers(engine) == set()
    migrate.upgrade(engine)
    assert migrate.schema_problem(engine) is None
    assert evidence_triggers(engine) == expected
    migrate.check(engine)


def test_the_held_figures_migration_builds_them_for_the_readings_already_stored(database_url, engine_for):
    """0013 adds the rollups' held figures; an existing database gets them for every hour it holds."""
    import dataclasses
    from datetime import UTC, datetime, timedelta

    import sqlalchemy.orm as so

    from fridge_monitor.core.rollups import HourFigures, hour_figures
    from fridge_monitor.store import models as m
    from fridge_monitor.store.sync import sync_config

    from support import clinic_config

    engine = engine_for(database_url)
    config = clinic_config([{"name": "M1", "site": "Clinic A", "sensors": ["native:m1"]}], database_url)
    start = datetime(2026, 10, 1, tzinfo=UTC)
    with so.Session(engine) as session, session.begin():  # declared with today's models, then taken back to 0012
        sync_config(session, config, start - timedelta(days=1))
    with engine.begin() as conn:
        command.downgrade(migrate.alembic_config(conn), "0012")
    # What 0012 stored: readings every 7 minutes for two days (one 3-hour silence), and their hourly rollups.
    readings = [(start + timedelta(minutes=7 * k), 4.0 + (k % 9) * 0.3) for k in range(2 * 24 * 60 // 7)
                if not 600 <= 7 * k < 780]
    hours: dict[datetime, list[float]] = {}
    for at, c in readings:
        hours.setdefault(at.replace(minute=0, second=0, microsecond=0), []).append(c)
    with engine.begin() as conn:  # only the columns 0012 has
        conn.execute(sa.insert(m.Reading.__table__), [
            {"sensor_id": "native:m1", "measured_at": at, "received_at": at, "temperature_c": c} for at, c in readings])
        conn.execute(sa.insert(m.HourlyRollup.__table__), [
            {"sensor_id": "native:m1", "hour": h, "min_c": min(cs), "max_c": max(cs), "sum_c": sum(cs),
             "count": len(cs)} for h, cs in hours.items()])
    migrate.upgrade(engine)
    assert migrate.schema_problem(engine) is None
    names = [f.name for f in dataclasses.fields(HourFigures)]
    with engine.connect() as conn:
        stored = {row["hour"]: row for row in conn.execute(sa.select(m.HourlyRollup.__table__)).mappings()}
    assert len(stored) == len(hours) == 48 - 3 and all(row["held_s"] is not None for row in stored.values())
    for expected in hour_figures(readings, hours):
        row = stored[expected.hour]
        found = HourFigures(*(row[n] for n in names))
        assert found == pytest.approx(expected)


def test_two_upgrades_at_once_on_postgres_take_turns(postgres_url, engine_for):
    """Two boxes deploying together both run ``db upgrade``: one migrates, the other waits and finds it done."""
    import threading

    engine = engine_for(postgres_url)
    with engine.begin() as conn:
        command.downgrade(migrate.alembic_config(conn), "0023")
    assert migrate.current_revision(engine) == "0023"
    failures: list[BaseException] = []
    start = threading.Barrier(2)

    def run() -> None:
        start.wait()
        try:
            migrate.upgrade(engine)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not failures, failures
    assert migrate.current_revision(engine) == migrate.HEAD
