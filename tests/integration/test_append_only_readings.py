"""Readings and rejected messages are evidence: the database refuses to change or remove them.

They are written as ingest writes them (``Store.write``); the tests then try what
someone with database access would, and the triggers refuse it on both databases.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from fridge_monitor.core.readings import Reading
from fridge_monitor.ingest.batches import Batch, Rejected, Store
from fridge_monitor.store import models as m

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def stored(engine: sa.Engine) -> None:
    Store(engine).write(Batch(
        readings=[(Reading("native:r1", "native", "r1", T0, 4.5), T0)],
        rejected=[Rejected(T0, "fm/native/r1", "native", "native:r1", "not JSON", b"{oops")],
    ))


def counts(engine: sa.Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        return (conn.scalar(sa.select(sa.func.count()).select_from(m.Reading)),
                conn.scalar(sa.select(sa.func.count()).select_from(m.RejectedMessage)))


@pytest.mark.parametrize(("model", "changes"), [
    (m.Reading, {"temperature_c": 2.0}),
    (m.RejectedMessage, {"reason": "fine after all"}),
], ids=["readings", "rejected_messages"])
def test_the_database_refuses_to_change_or_remove_a_row(database_url, engine_for, model, changes):
    engine = engine_for(database_url)
    stored(engine)
    table = model.__table__
    for verb, statement in (("UPDATE", sa.update(table).values(**changes)),
                            ("DELETE", sa.delete(table).where(table.c.id == 1)),
                            ("DELETE", sa.delete(table))):
        with pytest.raises(sa.exc.DatabaseError, match=f"{table.name} rows are append-only: {verb} refused"), \
                engine.begin() as conn:
            conn.execute(statement)
    if engine.dialect.name == "postgresql":
        with pytest.raises(sa.exc.DatabaseError, match=f"{table.name} rows are append-only: TRUNCATE refused"), \
                engine.begin() as conn:
            conn.exec_driver_sql(f"TRUNCATE {table.name}")
    assert counts(engine) == (1, 1)
    with engine.connect() as conn:
        row = conn.execute(sa.select(table).where(table.c.id == 1)).one()._mapping
    assert all(row[column] != value for column, value in changes.items())


def test_ingest_still_skips_a_redelivered_reading(database_url, engine_for):
    """ON CONFLICT DO NOTHING updates nothing, so the triggers leave redelivery alone."""
    engine = engine_for(database_url)
    stored(engine)
    stored(engine)
    assert counts(engine) == (1, 2)
