"""Fridges marked for evaluation, and a fridge's evaluation lock (its FridgeEvaluation row).

Ingest marks the fridges a batch touched (:func:`fridge_marks`) in the
batch's own transaction; evaluation judges the marked ones (:func:`marked_fridges`)
and clears the mark (:func:`settle`). One fridge is judged by one process at a
time: whoever judges it, or records a disposition for a lot in it, first takes
its lock (:func:`lock_fridge`; on SQLite, the database's write lock).
"""

from __future__ import annotations

import types
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.store import models as m
from fridge_monitor.store.db import dialect_insert
from fridge_monitor.store.many import ManyRows


def mark_statement(dialect: str) -> sa.Insert:
    """INSERT … SELECT marking the fridges a sensor was in since ``:since`` as needing judgement from then.

    Parameters ``sid`` and ``since``, one row per sensor of a batch (its earliest reading).
    """
    since = sa.bindparam("since", type_=m.UTCDateTime())
    return _mark(dialect, types.SimpleNamespace(sid=sa.bindparam("sid"), since=since), multirow=False)


def fridge_marks(dialect: str) -> ManyRows:
    """:func:`mark_statement` for many (sensor id, since) rows at once (one statement on PostgreSQL)."""
    return ManyRows(dialect, lambda rows, multirow: _mark(dialect, rows, multirow=multirow),
                    sid=sa.String(300), since=m.UTCDateTime())


def _mark(dialect: str, row: Any, *, multirow: bool) -> sa.Insert:
    """Mark the fridges sensor ``row.sid`` was in since ``row.since``, from then (the earliest mark wins).

    A fridge with several of the rows' sensors is marked once, from the earliest of them: one statement
    may not update a row twice.
    """
    a, fe = m.SensorAssignment, m.FridgeEvaluation.__table__
    since = sa.func.min(row.since) if multirow else row.since
    select = sa.select(a.fridge_id, since).where(a.sensor_id == row.sid, sa.or_(a.until.is_(None), a.until > row.since))
    select = select.group_by(a.fridge_id) if multirow else select.distinct()
    stmt = dialect_insert(dialect, fe).from_select(["fridge_id", "dirty_since"], select)
    current, new = fe.c.dirty_since, stmt.excluded.dirty_since
    return stmt.on_conflict_do_update(
        index_elements=["fridge_id"],
        set_={"dirty_since": sa.case((current.is_(None), new), (new < current, new), else_=current)},
    )


def marked_fridges(engine: sa.Engine) -> list[int]:
    """The fridges ingest marked and evaluation has not judged since."""
    fe = m.FridgeEvaluation
    with engine.connect() as conn:
        return list(conn.scalars(sa.select(fe.fridge_id).where(fe.dirty_since.is_not(None)).order_by(fe.fridge_id)))


def lock_fridge(session: so.Session, fridge_id: int, evaluated_at: datetime | None = None) -> None:
    """Take one fridge's evaluation lock until commit (a write, so it comes first).

    ``evaluated_at`` records an evaluation starting; without it nothing in the row changes.
    """
    fe = m.FridgeEvaluation.__table__
    stmt = dialect_insert(session.get_bind().dialect.name, fe).values(
        fridge_id=fridge_id, dirty_since=None, evaluated_at=evaluated_at)
    keep = fe.c.evaluated_at if evaluated_at is None else evaluated_at
    session.execute(stmt.on_conflict_do_update(index_elements=["fridge_id"], set_={"evaluated_at": keep}))


def mark_of(session: so.Session, fridge_id: int) -> tuple[datetime | None, datetime | None]:
    """The fridge's mark: since when its readings need judging (``dirty_since``), and since when its
    days' time out of range does (``days_since``)."""
    fe = m.FridgeEvaluation
    row = session.execute(sa.select(fe.dirty_since, fe.days_since).where(fe.fridge_id == fridge_id)).one()
    return row.dirty_since, row.days_since


def settle(session: so.Session, fridge_id: int, days_since: datetime | None) -> None:
    """The fridge is judged: clear its mark, keeping ``days_since`` for the days still to judge."""
    fe = m.FridgeEvaluation
    session.execute(sa.update(fe).where(fe.fridge_id == fridge_id).values(dirty_since=None, days_since=days_since))
