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
