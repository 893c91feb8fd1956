"""Writing and reading the audit trail in the database (see :mod:`fridge_monitor.core.audit`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Generator, Iterator
from contextlib import closing
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.core import ack_evidence
from fridge_monitor.core.audit import (
    GENESIS,
    Entry,
    Stored,
    Verdict,
    entry_hash,
    parse_head,
    verify,
)
from fridge_monitor.store import models as m

# Any constant: the key of the PostgreSQL advisory lock that serialises appends.
_APPEND_LOCK_KEY = 0x46_4D_41_55  # "FMAU"
HEAD_KEY = "audit_head"


def append_lock(session: so.Session) -> None:
    """On PostgreSQL, hold the audit trail's append lock until commit (SQLite: a no-op, see ``db.write_lock``).

    Every audited transaction that also locks rows takes this lock first: one
    lock order (audit, then rows) across them all, so none can deadlock.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _APPEND_LOCK_KEY})


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def record(
    session: so.Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    record_type: str,
    record_id: object,
    field: str | None = None,
    old: object = None,
    new: object = None,
    reason: str | None = None,
) -> m.AuditEvent:
    """Append one event, and move the recorded head to it, in the caller's transaction (both flushed)."""
    append_lock(session)
    prev = session.scalar(sa.select(m.AuditEvent.hash).order_by(m.AuditEvent.id.desc()).limit(1)) or GENESIS
    entry = Entry(at, actor, action, record_type, str(record_id), field, _text(old), _text(new), reason)
    event = m.AuditEvent(
        at=at, actor=actor, action=action, record_type=record_type, record_id=str(record_id), field=field,
        old_value=entry.old_value, new_value=entry.new_value, reason=reason,
        prev_hash=prev, hash=entry_hash(prev, entry),
    )
    session.add(event)
    session.flush()
    # The head is kept apart from the chain: removing the newest events leaves a
    # valid-looking chain, but no longer the recorded head.
    head = session.get(m.Setting, HEAD_KEY)
    if head is None:
        session.add(m.Setting(key=HEAD_KEY, value=f"{event.id}:{event.hash}"))
    else:
        head.value = f"{event.id}:{event.hash}"
    # Flushed with the event, so the head is in the transaction as soon as the event
    # is: a caller that closes its session without flushing (ingest writes through a
    # session bound to its own connection) cannot keep the one and lose the other.
    session.flush()
    return event


def stored_events(conn: sa.Connection) -> Generator[Stored, None, None]:
    """Every event in chain order, streamed."""
    a = m.AuditEvent
    result = conn.execution_options(stream_results=True, yield_per=5000).execute(
        sa.select(a.id, a.at, a.actor, a.action, a.record_type, a.record_id, a.field,
                  a.old_value, a.new_value, a.reason, a.prev_hash, a.hash).order_by(a.id)
    )
    try:
        for row in result:
            yield Stored(row.id, Entry(row.at, row.actor, row.action, row.record_type, row.record_id, row.field,
                                       row.old_value, row.new_value, row.reason), row.prev_hash, row.hash)
    finally:
        # Verification stops at the first bad event: release PostgreSQL's server-side cursor then.
        result.close()


def check_database(engine: sa.Engine) -> Verdict:
    """Verify the whole trail in the database against its recorded head, and every alert's acknowledgement
    against the audit event that recorded it (:mod:`fridge_monitor.core.ack_evidence`)."""
    with engine.connect() as conn:
        # The head first: an event appended meanwhile then lies beyond it and
        # only has to chain, instead of looking like the head went missing.
        recorded_head = parse_head(conn.scalar(sa.select(m.Setting.value).where(m.Setting.key == HEAD_KEY)))
        with closing(stored_events(conn)) as events:
            verdict = verify(events, recorded_head)
        acks = ack_evidence.summary(acknowledgement_problems(conn))
    if acks is None:
        return verdict
    return dataclasses.replace(verdict, problem=acks if verdict.problem is None else f"{verdict.problem}; {acks}")


def _recorded_acks(conn: sa.Connection, alert_ids: list[int] | None) -> dict[int, ack_evidence.Recorded]:
    a = m.AuditEvent
    query = (sa.select(a.id, a.at, a.actor, a.action, a.record_type, a.record_id, a.new_value)
             .where(a.action == ack_evidence.ACTION, a.record_type == ack_evidence.RECORD_TYPE).order_by(a.id))
    if alert_ids is not None:
        query = query.where(a.record_id.in_([str(alert_id) for alert_id in alert_ids]))
    return ack_evidence.newest(
        Stored(row.id, Entry(row.at, row.actor, row.action, row.record_type, row.record_id, None, None,
                             row.new_value), "", "")
        for row in conn.execute(query))


def _stored_acks(conn: sa.Connection, where: sa.ColumnElement[bool]) -> Iterator[ack_evidence.Acknowledgement]:
    a = m.Alert
    for row in conn.execute(sa.select(a.id, a.acknowledged_by, a.acknowledged_at, a.action).where(where)
                            .order_by(a.id)):
        yield ack_evidence.Acknowledgement(row.id, row.acknowledged_by, row.acknowledged_at, row.action)


def _ack_problems(conn: sa.Connection, alert_ids: list[int] | None) -> dict[int, str]:
    """Alert id -> what differs, over every alert (None) or the given ones."""
    a = m.Alert
    events = _recorded_acks(conn, alert_ids)
    acknowledged = sa.or_(a.acknowledged_by.is_not(None), a.acknowledged_at.is_not(None), a.action.is_not(None))
    where = acknowledged if alert_ids is None else a.id.in_(alert_ids)
    found: dict[int, str] = {}
    seen: set[int] = set()
    for stored in _stored_acks(conn, where):
        seen.add(stored.alert_id)
        problem = ack_evidence.problem(stored.alert_id, stored, events.get(stored.alert_id))
        if problem is not None:
            found[stored.alert_id] = problem
    rest = sorted(set(events) - seen)  # acknowledged in the trail, but not (or no longer) in the alerts read
    for start in range(0, len(rest), 500):
        chunk = rest[start:start + 500]
        present = {stored.alert_id: stored for stored in _stored_acks(conn, a.id.in_(chunk))}
        for alert_id in chunk:
            problem = ack_evidence.problem(alert_id, present.get(alert_id), events[alert_id])
            if problem is not None:
                found[alert_id] = problem
    return found


def acknowledgement_problems(conn: sa.Connection) -> list[str]:
    """Every alert whose acknowledgement differs from the one its audit event recorded, in alert order.

    The alerts and the events are read by separate statements, so an alert
    acknowledged in between can look like a mismatch; each suspect is read
    again (an acknowledgement commits its row and its event together, and
    happens once), and only what is still wrong is reported.
    """
    suspects = _ack_problems(conn, None)
    if not suspects:
        return []
    ids = sorted(suspects)
    confirmed: dict[int, str] = {}
    for start in range(0, len(ids), 500):
        confirmed.update(_ack_problems(conn, ids[start:start + 500]))
    return [confirmed[alert_id] for alert_id in sorted(confirmed)]
