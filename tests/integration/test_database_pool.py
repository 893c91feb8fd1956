"""The PostgreSQL databases the tests reuse come back as migrated: no rows of the last test, the seeded
catalogue as the migrations left it, ids counting from where they started; a test that changed the schema
leaves a database nobody gets again."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so
from databases import PostgresDatabases

from fridge_monitor.store import accounts
from fridge_monitor.store import models as m

from support import drop_triggers

pytestmark = [pytest.mark.postgres]
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def databases(postgres_admin, postgres_template):
    pool = PostgresDatabases(postgres_admin, postgres_template)
    yield pool
    pool.close()


def catalogue(engine: sa.Engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.select(m.Product).order_by(m.Product.id))]


def test_a_database_given_back_is_emptied_to_the_migrated_state(databases, engine_for):
    name = databases.take()
    engine = engine_for(databases.url(name))
    seeded = catalogue(engine)
    assert len(seeded) >= 5
    with so.Session(engine) as session, session.begin():
        accounts.create_user(session, "olga", "nurse", "a-long-password", actor="test", now=NOW)
        session.get(m.Product, seeded[0][0]).name = "changed by the test"
    engine.dispose()
    stray = engine.connect()  # a test's connection left open, holding a transaction
    stray.execute(sa.select(m.User)).all()

    databases.give_back(name)
    stray.invalidate()  # the pool ended it
    stray.close()

    assert databases.take() == name
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(m.User)) == 0
        assert conn.scalar(sa.select(sa.func.count()).select_from(m.AuditEvent)) == 0
    assert catalogue(engine) == seeded
    with so.Session(engine) as session, session.begin():
        assert accounts.create_user(session, "pia", "nurse", "a-long-password", actor="test", now=NOW).id == 1
    engine.dispose()


def test_a_database_whose_schema_a_test_changed_is_dropped(databases, engine_for, postgres_admin):
    name = databases.take()
    engine = engine_for(databases.url(name))
    with engine.begin() as conn:
        drop_triggers(conn)
    engine.dispose()

    databases.give_back(name)

    assert databases.take() != name
    with postgres_admin.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM pg_database WHERE datname = :name"), {"name": name}) == 0


def test_a_database_where_a_session_used_a_temporary_table_is_reused(databases, engine_for):
    """Ingest's COPY path writes through a temporary table: the server then keeps an empty pg_temp schema
    for the database, which is no change a later test could see."""
    name = databases.take()
    engine = engine_for(databases.url(name))
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TEMPORARY TABLE staged (n integer) ON COMMIT DROP")
        assert conn.scalar(sa.text("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'pg_temp_%'")) >= 1
    engine.dispose()

    databases.give_back(name)

    assert databases.take() == name
