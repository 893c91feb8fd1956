"""The audit trail in the database: append-only by trigger, and `audit verify` catches tampering.

Real events are written through the application (config sync, accounts);
the tests then tamper with the table directly, as someone with database
access would, dropping the triggers that otherwise stop them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.core.readings import Reading
from fridge_monitor.ingest.batches import Batch, Store
from fridge_monitor.store import accounts
from fridge_monitor.store import models as m
from fridge_monitor.store.sync import sync_config

from support import cli, clinic_config, drop_triggers

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
COLUMNS = ("at", "actor", "action", "record_type", "record_id", "field", "old_value", "new_value", "reason",
           "prev_hash", "hash")


def populate(engine: sa.Engine) -> list[int]:
    """A trail written by the application; the event ids in order."""
    declared = clinic_config([{"name": "A1", "site": "Clinic A", "sensors": ["native:a1-probe"]},
                              {"name": "F1", "site": "Clinic A", "kind": "freezer"}], source="fridges.toml")
    with so.Session(engine) as session, session.begin():
        sync_config(session, declared, T0)
    with so.Session(engine) as session, session.begin():
        nina = accounts.create_user(session, "nina", "nurse", "nina-password-1", actor="ada",
                                    now=T0 + timedelta(minutes=1), reason="new starter")
        accounts.set_disabled(session, nina, True, actor="ada", now=T0 + timedelta(minutes=2), reason="left")
    with engine.connect() as conn:
        return conn.scalars(sa.select(m.AuditEvent.id).order_by(m.AuditEvent.id)).all()


def verify(database_url: str):
    return cli("audit", "verify", env={"FRIDGE_MONITOR_DATABASE_URL": database_url})


def row(conn: sa.Connection, event_id: int) -> dict[str, object]:
    table = m.AuditEvent.__table__
    return dict(conn.execute(sa.select(*(table.c[c] for c in COLUMNS)).where(table.c.id == event_id)).one()._mapping)


def test_an_untouched_trail_verifies(database_url, engine_for):
    ids = populate(engine_for(database_url))
    result = verify(database_url)
    assert result.returncode == 0, result.stderr
    with engine_for(database_url).connect() as conn:
        head = conn.scalar(sa.select(m.AuditEvent.hash).where(m.AuditEvent.id == ids[-1]))
    assert f"{len(ids)} audit events" in result.stdout
    assert f"audit trail intact (head {head})" in result.stdout


def test_an_empty_trail_verifies(database_url):
    result = verify(database_url)
    assert result.returncode == 0, result.stderr
    assert "0 audit events" in result.stdout and "audit trail intact" in result.stdout


def test_the_database_refuses_to_change_or_remove_an_event(database_url, engine_for):
    engine = engine_for(database_url)
    ids = populate(engine)
    table = m.AuditEvent.__table__
    for statement in (sa.update(table).where(table.c.id == ids[3]).values(new_value="1.0"),
                      sa.delete(table).where(table.c.id == ids[3]),
                      sa.delete(table)):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), engine.begin() as conn:
            conn.execute(statement)
    if engine.dialect.name == "postgresql":
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), engine.begin() as conn:
            conn.exec_driver_sql("TRUNCATE audit_events")
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(table)) == len(ids)
    assert verify(database_url).returncode == 0


def test_a_changed_value_is_caught(database_url, engine_for):
    engine = engine_for(database_url)
    ids = populate(engine)
    target = ids[4]
    with engine.begin() as conn:
        drop_triggers(conn)
        conn.execute(sa.update(m.AuditEvent.__table__).where(m.AuditEvent.id == target).values(new_value="12.0"))
    result = verify(database_url)
    assert result.returncode == 1
    assert f"event {target} was altered" in result.stderr


def test_a_deleted_event_is_caught(database_url, engine_for):
    engine = engine_for(database_url)
    ids = populate(engine)
    with engine.begin() as conn:
        drop_triggers(conn)
        conn.execute(sa.delete(m.AuditEvent.__table__).where(m.AuditEvent.id == ids[2]))
    result = verify(database_url)
    assert result.returncode == 1
    assert f"event {ids[3]} does not follow the event before it" in result.stderr


def test_a_swapped_pair_is_caught(database_url, engine_for):
    engine = engine_for(database_url)
    ids = populate(engine)
    first, second = ids[1], ids[2]
    table = m.AuditEvent.__table__
    with engine.begin() as conn:
        drop_triggers(conn)
        a, b = row(conn, first), row(conn, second)
        # The hashes are unique: park one row on placeholders while the other takes its contents.
        conn.execute(sa.update(table).where(table.c.id == first).values(prev_hash="x" * 64, hash="y" * 64))
        conn.execute(sa.update(table).where(table.c.id == second).values(**a))
        conn.execute(sa.update(table).where(table.c.id == first).values(**b))
    result = verify(database_url)
    assert result.returncode == 1
    assert f"event {first} does not follow the event before it" in result.stderr


def test_a_deleted_newest_event_is_caught(database_url, engine_for):
    engine = engine_for(database_url)
    ids = populate(engine)
    with engine.begin() as conn:
        drop_triggers(conn)
        conn.execute(sa.delete(m.AuditEvent.__table__).where(m.AuditEvent.id == ids[-1]))
    result = verify(database_url)
    assert result.returncode == 1
    assert f"event {ids[-1]} and possibly others before it were removed" in result.stderr
    assert f"the trail ends at event {ids[-2]}" in result.stderr


def test_a_removed_head_record_is_caught(database_url, engine_for):
    engine = engine_for(database_url)
    populate(engine)
    with engine.begin() as conn:
        conn.execute(sa.delete(m.Setting).where(m.Setting.key == "audit_head"))
    result = verify(database_url)
    assert result.returncode == 1
    assert "recorded head is missing" in result.stderr


def test_ingest_keeps_the_head_on_its_newest_event(database_url, engine_for):
    """Ingest registers an unknown sensor: its event moves the recorded head, so removing it is caught."""
    engine = engine_for(database_url)
    populate(engine)
    Store(engine).write(Batch(readings=[(Reading("native:stranger", "native", "stranger", T0, 4.5), T0)]))
    with engine.connect() as conn:
        newest = conn.execute(sa.select(m.AuditEvent.id, m.AuditEvent.hash, m.AuditEvent.record_id)
                              .order_by(m.AuditEvent.id.desc()).limit(1)).one()
        head = conn.scalar(sa.select(m.Setting.value).where(m.Setting.key == "audit_head"))
    assert newest.record_id == "native:stranger"
    assert head == f"{newest.id}:{newest.hash}"
    with engine.begin() as conn:
        drop_triggers(conn)
        conn.execute(sa.delete(m.AuditEvent.__table__).where(m.AuditEvent.id == newest.id))
    result = verify(database_url)
    assert result.returncode == 1
    assert f"event {newest.id} and possibly others before it were removed" in result.stderr
