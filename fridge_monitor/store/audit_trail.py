"""Writing and reading the audit trail in the database (see :mod:`fridge_monitor.core.audit`)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from contextlib import closing
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.core import ack_evidence
from fridge_monitor.core.audit import (
    GENESIS,
    Checkpoint,
    Entry,
    Stored,
    Verdict,
    entry_hash,
    parse_checkpoint,
    parse_head,
    start_checkpoint,
    sweep,
    verify,
)
from fridge_monitor.store import models as m

log = logging.getLogger(__name__)

# Any constant: the key of the PostgreSQL advisory lock that serialises appends.
_APPEND_LOCK_KEY = 0x46_4D_41_55  # "FMAU"
HEAD_KEY = "audit_head"
CHECKPOINT_KEY = "audit_checkpoint"  # see check_since_checkpoint
# session.info key: (the transaction, the hash of the event it appended last). A later event in the very same
# transaction (or savepoint) chains to it without asking the database again; any other transaction, including
# the outer one after a savepoint ended, looks the newest event up.
_TAIL = "fridge_monitor.audit_tail"
SWEEP = 1000  # older events each view re-checks (about 20 ms on SQLite)


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
    transaction = session.get_nested_transaction() or session.get_transaction()
    tail = session.info.get(_TAIL)
    if tail is not None and tail[0] is transaction:
        # An earlier event of this same transaction is the newest: the lock is held and nothing else appends.
        prev = tail[1]
    else:
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
    session.info[_TAIL] = (transaction, event.hash)
    return event


def _event_columns() -> sa.Select[*tuple[Any, ...]]:
    a = m.AuditEvent
    return sa.select(a.id, a.at, a.actor, a.action, a.record_type, a.record_id, a.field,
                     a.old_value, a.new_value, a.reason, a.prev_hash, a.hash)


def _stored(row: sa.Row[*tuple[Any, ...]]) -> Stored:
    # By position: a million of them are read at a time, and a row's attributes cost more.
    event_id, at, actor, action, record_type, record_id, field, old, new, reason, prev_hash, digest = row
    return Stored(event_id, Entry(at, actor, action, record_type, record_id, field, old, new, reason), prev_hash,
                  digest)


def stored_events(conn: sa.Connection, after: int = 0, upto: int | None = None,
                  limit: int | None = None) -> Generator[Stored, None, None]:
    """Every event in chain order, streamed; or those after event ``after``, up to event ``upto``, at most ``limit``."""
    a = m.AuditEvent
    query = _event_columns().where(a.id > after).order_by(a.id).limit(limit)
    if upto is not None:
        query = query.where(a.id <= upto)
    result = conn.execution_options(stream_results=True, yield_per=5000).execute(query)
    try:
        for row in result:
            yield _stored(row)
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


def _recorded_acks(conn: sa.Connection, alert_ids: list[int] | None,
                   after: int = 0) -> dict[int, ack_evidence.Recorded]:
    a = m.AuditEvent
    query = (sa.select(a.id, a.at, a.actor, a.action, a.record_type, a.record_id, a.new_value)
             .where(a.action == ack_evidence.ACTION, a.record_type == ack_evidence.RECORD_TYPE).order_by(a.id))
    if after:
        query = query.where(a.id > after)
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


Recorder = Callable[[list[int] | None], Mapping[int, ack_evidence.Recorded]]


def _ack_problems(conn: sa.Connection, alert_ids: list[int] | None, recorded: Recorder) -> dict[int, str]:
    """Alert id -> what differs, over every alert (None) or the given ones."""
    a = m.Alert
    events = recorded(alert_ids)
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


def acknowledgement_problems(conn: sa.Connection, known: Mapping[int, ack_evidence.Recorded] | None = None,
                             after: int = 0) -> list[str]:
    """Every alert whose acknowledgement differs from the one its audit event recorded, in alert order.

    The events are every acknowledgement event in the trail, or ``known``:
    those up to event ``after``, already read (see check_since_checkpoint).
    The alerts and the events are read by separate statements, so an alert
    acknowledged in between can look like a mismatch; each suspect is read
    again (an acknowledgement commits its row and its event together, and
    happens once), and only what is still wrong is reported.
    """
    def recorded(alert_ids: list[int] | None) -> Mapping[int, ack_evidence.Recorded]:
        if known is None:
            return _recorded_acks(conn, alert_ids)
        if alert_ids is None:
            return known
        # A suspect's newest event may be newer than those known: read those (by id, from ``after`` on).
        found = {alert_id: known[alert_id] for alert_id in alert_ids if alert_id in known}
        found.update(_recorded_acks(conn, alert_ids, after))
        return found

    suspects = _ack_problems(conn, None, recorded)
    if not suspects:
        return []
    ids = sorted(suspects)
    confirmed: dict[int, str] = {}
    for start in range(0, len(ids), 500):
        confirmed.update(_ack_problems(conn, ids[start:start + 500], recorded))
    return [confirmed[alert_id] for alert_id in sorted(confirmed)]


# -- the audit page's check: from a checkpoint ------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class PageCheck:
    """What one view of the trail checked (see :func:`check_since_checkpoint`)."""

    verdict: Verdict  # its count is of every event up to the newest one checked
    newer: int  # events after the checkpoint, checked now from it
    swept: tuple[int, int] | None  # the first and last older event re-checked now
    whole: bool  # this view checked every event from the first one
    whole_at: datetime | None  # when every event was last checked from the first one (in one go or in turns)
    actors: tuple[str, ...] | None  # every actor in the trail; None when the check stopped early
    record_types: tuple[str, ...] | None


@dataclasses.dataclass
class _Seen:
    """What a view learns from the events it reads, added to what the checkpoint kept."""

    actors: set[str]
    record_types: set[str]
    acks: dict[int, int]
    recorded: dict[int, ack_evidence.Recorded]

    def tap(self, events: Iterable[Stored]) -> Iterator[Stored]:
        for event in events:
            self.actors.add(event.entry.actor)
            self.record_types.add(event.entry.record_type)
            found = ack_evidence.recorded(event)
            if found is not None:
                self.acks[found.ack.alert_id] = event.id
                self.recorded[found.ack.alert_id] = found
            yield event

    def choices(self, known: Checkpoint | None) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
        """The actors and record types for a check that stopped early: those stored, and those read since
        (None without a stored checkpoint: only part of the trail was read)."""
        if known is None:
            return None, None
        return tuple(sorted(self.actors)), tuple(sorted(self.record_types))


def _sweep_start(conn: sa.Connection, checkpoint: Checkpoint) -> tuple[int, str]:
    """The id and stored hash of the event the next slice follows; the genesis to start a round.

    The hash is read, not kept: a checkpoint edited to point elsewhere only
    restarts the round, and an event changed since its slice still has to
    match the next event's ``prev_hash``.
    """
    if 0 < checkpoint.sweep < checkpoint.id:
        found = conn.scalar(sa.select(m.AuditEvent.hash).where(m.AuditEvent.id == checkpoint.sweep))
        if found is not None:
            return checkpoint.sweep, found
    return 0, GENESIS


def _checkpoint_problem(conn: sa.Connection, checkpoint: Checkpoint) -> str | None:
    """Whether the checkpoint's event is still there with the hash it was verified with."""
    if checkpoint.id == 0:
        return None
    found = conn.scalar(sa.select(m.AuditEvent.hash).where(m.AuditEvent.id == checkpoint.id))
    if found is None:
        return f"event {checkpoint.id}, verified before, was removed"
    if found != checkpoint.hash:
        return f"event {checkpoint.id} was changed after it was verified (its hash is no longer the one verified)"
    return None


def _known_acks(conn: sa.Connection, acks: Mapping[int, int]) -> tuple[dict[int, ack_evidence.Recorded], str | None]:
    """The acknowledgements the checkpoint's events record, read by event id; and what is wrong with those events."""
    by_event = {event_id: alert_id for alert_id, event_id in acks.items()}
    ids = sorted(by_event)
    out: dict[int, ack_evidence.Recorded] = {}
    problems: list[str] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        rows = {row.id: _stored(row) for row in conn.execute(_event_columns().where(m.AuditEvent.id.in_(chunk)))}
        for event_id in chunk:
            event, alert_id = rows.get(event_id), by_event[event_id]
            found = None if event is None else ack_evidence.recorded(event)
            if event is not None and entry_hash(event.prev_hash, event.entry) != event.hash:
                problems.append(f"event {event_id} was altered: its contents do not match its hash")
            elif found is None or found.ack.alert_id != alert_id:
                problems.append(f"event {event_id}, which recorded the acknowledgement of alert {alert_id}, "
                                "was removed or changed")
            else:
                out[alert_id] = found
    return out, "; ".join(problems) or None


def check_since_checkpoint(engine: sa.Engine, now: datetime, slice_size: int | None = None) -> PageCheck:
    """Verify the trail from its stored checkpoint, for a view: cheap whatever the trail's length.

    Reads the events after the checkpoint (all of them the first time) and
    checks they chain from it up to the recorded head, that the checkpoint's
    event still has its hash, and re-checks the next ``slice_size`` older
    events (:data:`SWEEP`); then every alert's acknowledgement against its
    newest acknowledgement event, whose ids the checkpoint keeps. If all is
    well the checkpoint moves to the newest event read. An event changed
    below the checkpoint is only caught when the slices come round to it:
    `audit verify` (:func:`check_database`) ignores the checkpoint and reads
    every event.
    """
    size = SWEEP if slice_size is None else slice_size
    with engine.connect() as conn:
        saved = conn.scalar(sa.select(m.Setting.value).where(m.Setting.key == CHECKPOINT_KEY))
        recorded_head = parse_head(conn.scalar(sa.select(m.Setting.value).where(m.Setting.key == HEAD_KEY)))
        known = parse_checkpoint(saved)
        base = known or start_checkpoint(now)
        whole_at = known.whole_at if known else None
        problem = _checkpoint_problem(conn, base)
        seen = _Seen(set(base.actors), set(base.record_types), dict(base.acks), {})
        if problem is not None:
            return PageCheck(Verdict(base.count, base.id, base.hash, problem), 0, None, False, whole_at,
                             *seen.choices(known))
        with closing(stored_events(conn, after=base.id)) as events:
            newer = verify(seen.tap(events), recorded_head, (base.id, base.hash))
        verdict = Verdict(base.count + newer.count, newer.last_id, newer.last_hash, newer.problem)
        if not verdict.intact:
            return PageCheck(verdict, newer.count, None, False, whole_at, *seen.choices(known))
        # The next slice of older events (none the first time: every event was just read from the first).
        began = _sweep_start(conn, base) if known is not None else (0, GENESIS)
        older = [] if known is None else list(stored_events(conn, after=began[0], upto=base.id, limit=size))
        problem, moved = sweep(base, began, older, now)
        if problem is not None:
            return PageCheck(dataclasses.replace(verdict, problem=problem), newer.count, None, False, whole_at,
                             *seen.choices(known))
        whole = began == (0, GENESIS) and moved.whole_at == now  # one round, from the first event, just now
        recorded, problem = _known_acks(conn, {k: v for k, v in base.acks.items() if k not in seen.recorded})
        recorded.update(seen.recorded)
        acks = ack_evidence.summary(acknowledgement_problems(conn, recorded, verdict.last_id or 0))
    actors, record_types = tuple(sorted(seen.actors)), tuple(sorted(seen.record_types))
    checkpoint = Checkpoint(verdict.last_id or 0, verdict.last_hash or GENESIS, verdict.count, moved.sweep,
                            moved.whole_at, actors, record_types, seen.acks)
    if problem is None:
        _save_checkpoint(engine, saved, checkpoint)
    problem = "; ".join(p for p in (problem, acks) if p is not None) or None
    return PageCheck(dataclasses.replace(verdict, problem=problem), newer.count,
                     (older[0].id, older[-1].id) if older else None, whole, checkpoint.whole_at, actors, record_types)


def _save_checkpoint(engine: sa.Engine, saved: str | None, checkpoint: Checkpoint) -> None:
    """Store the checkpoint if the stored one is still ``saved``: of two views checking at once, one moves it."""
    text = checkpoint.to_text()
    if text == saved:
        return
    setting = m.Setting.__table__
    try:
        with engine.begin() as conn:
            if saved is None:
                conn.execute(sa.insert(setting).values(key=CHECKPOINT_KEY, value=text))
            else:
                conn.execute(sa.update(setting).where(setting.c.key == CHECKPOINT_KEY, setting.c.value == saved)
                             .values(value=text))
    except sa.exc.IntegrityError:
        pass  # another view stored one first
    except sa.exc.OperationalError as exc:  # a busy or read-only database: the next view checks again
        log.warning("audit checkpoint not stored: %s", exc.orig)
