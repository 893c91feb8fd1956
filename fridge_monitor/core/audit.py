"""The audit trail's hash chain: pure functions over plain values.

Each event's hash covers its own fields and the previous event's hash, so
changing, removing or reordering any event breaks every hash after it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from fridge_monitor.core.times import iso_utc

GENESIS = "0" * 64
# json.dumps(body, ensure_ascii=False, separators=(",", ":")), its encoder made once: trails hash a million at a time.
_CANONICAL_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


@dataclasses.dataclass(frozen=True, slots=True)
class Entry:
    """Who did what to which record, when (UTC), from what to what, and why."""

    at: datetime
    actor: str
    action: str
    record_type: str
    record_id: str
    field: str | None = None
    old_value: str | None = None
    new_value: str | None = None
    reason: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Stored:
    """An entry as stored, with its position and hashes."""

    id: int
    entry: Entry
    prev_hash: str
    hash: str


def canonical_time(at: datetime) -> str:
    """The one text form of a moment the trail hashes: UTC, to the microsecond, ``Z``."""
    return iso_utc(at, "microseconds")


def entry_hash(prev_hash: str, entry: Entry) -> str:
    """SHA-256 over the previous hash and a canonical JSON of the entry."""
    body = [prev_hash, canonical_time(entry.at), entry.actor, entry.action, entry.record_type, entry.record_id,
            entry.field, entry.old_value, entry.new_value, entry.reason]
    return hashlib.sha256(_CANONICAL_JSON.encode(body).encode("utf-8")).hexdigest()


def first_problem(events: Iterable[Stored], start: tuple[int, str] = (0, GENESIS)) -> str | None:
    """Why the chain is broken at its first bad event, or None if every event checks out.

    ``start`` is the (id, hash) the events follow: the genesis for a whole
    trail, or an event already verified for a part of it.
    """
    previous_id, expected_prev = start
    for event in events:
        if event.id <= previous_id:
            return f"event {event.id} is out of order (after event {previous_id})"
        if event.prev_hash != expected_prev:
            return (f"event {event.id} does not follow the event before it "
                    f"(an event was removed, inserted or reordered before it)")
        if entry_hash(event.prev_hash, event.entry) != event.hash:
            return f"event {event.id} was altered: its contents do not match its hash"
        expected_prev = event.hash
        previous_id = event.id
    return None


@dataclasses.dataclass(frozen=True, slots=True)
class Verdict:
    """The result of checking a whole trail: how many events, its newest event, and the first problem."""

    count: int
    last_id: int | None
    last_hash: str | None
    problem: str | None

    @property
    def intact(self) -> bool:
        return self.problem is None


def parse_head(value: str | None) -> tuple[int, str] | None:
    """The recorded head ``"<id>:<hash>"`` as (id, hash); None when nothing was recorded."""
    if value is None:
        return None
    head_id, _, head_hash = value.partition(":")
    try:
        return int(head_id), head_hash
    except ValueError:
        return 0, head_hash


def verify(events: Iterable[Stored], recorded_head: tuple[int, str] | None,
           start: tuple[int, str] | None = None) -> Verdict:
    """Check the chain and that the event recorded as the head is still in it, unchanged.

    The head is kept apart from the chain because removing the newest events
    leaves a chain that checks out by itself. Events newer than the recorded
    head (appended while the head was being read) are fine as long as they chain.

    With ``start`` (the id and hash of an event already verified, see
    :class:`Checkpoint`) the events are those after it, checked from its hash;
    the verdict's count is of those events only.
    """
    begin = start or (0, GENESIS)
    count = 0
    last = begin
    head_seen = recorded_head is not None and start is not None and recorded_head == start

    def tracked() -> Iterable[Stored]:
        nonlocal count, last, head_seen
        for event in events:
            count += 1
            last = (event.id, event.hash)
            if recorded_head is not None and event.id == recorded_head[0]:
                head_seen = event.hash == recorded_head[1]
            yield event

    problem = first_problem(tracked(), begin)
    if problem is None:
        problem = _head_problem(recorded_head, head_seen, last[0] if last != (0, GENESIS) else None, begin[0])
    if last == (0, GENESIS):
        return Verdict(count, None, None, problem)
    return Verdict(count, last[0], last[1], problem)


def _head_problem(recorded_head: tuple[int, str] | None, head_seen: bool, last_id: int | None,
                  verified_id: int) -> str | None:
    """What is wrong with the recorded head of a chain that checks out and ends at ``last_id``."""
    if recorded_head is None:
        if last_id is None:
            return None
        return (f"the trail's recorded head is missing, so removed newest events could not be "
                f"noticed (the trail ends at event {last_id})")
    if head_seen:
        return None
    head_id = recorded_head[0]
    if last_id is None:
        return f"every event was removed: the trail's recorded head is event {head_id}"
    if last_id < head_id:
        return (f"event {head_id} and possibly others before it were removed: the trail ends "
                f"at event {last_id} but its recorded head is event {head_id}")
    if head_id < verified_id:
        return (f"the trail's recorded head (event {head_id}) is older than event {verified_id}, which was "
                f"verified before: the head was moved back")
    return f"event {head_id} does not match the trail's recorded head (it was replaced)"


@dataclasses.dataclass(frozen=True, slots=True)
class Checkpoint:
    """How far the trail was verified, so that a view need not read it all again.

    Event ``id`` (with ``hash``) and the ``count`` events up to it were found to
    chain from the first event. Older events are re-checked a slice at a time
    after event ``sweep`` (0: from the first event); ``whole_at`` is when
    every event up to the checkpoint was last checked from the first one, in one
    go or slice by slice. It also keeps what a view would otherwise have to
    read every event for: the actors and record types seen, and the newest
    acknowledgement event of each alert (alert id -> event id).

    Kept in the database's settings, so someone who can edit the database can
    move it; only views trust it, never `audit verify`.
    """

    id: int
    hash: str
    count: int
    sweep: int
    whole_at: datetime
    actors: tuple[str, ...] = ()
    record_types: tuple[str, ...] = ()
    acks: Mapping[int, int] = dataclasses.field(default_factory=dict)

    def to_text(self) -> str:
        return json.dumps({"id": self.id, "hash": self.hash, "count": self.count, "sweep": self.sweep,
                           "whole_at": canonical_time(self.whole_at), "actors": list(self.actors),
                           "record_types": list(self.record_types),
                           "acks": {str(alert): event for alert, event in sorted(self.acks.items())}},
                          ensure_ascii=False, separators=(",", ":"))


def start_checkpoint(now: datetime) -> Checkpoint:
    """The checkpoint before any event: a view then reads the whole trail."""
    return Checkpoint(0, GENESIS, 0, 0, now)


def parse_checkpoint(text: str | None) -> Checkpoint | None:
    """The checkpoint stored as ``text``; None when there is none or it is unreadable (the trail is read again)."""
    if text is None:
        return None
    try:
        data: Any = json.loads(text)
        checkpoint = Checkpoint(
            int(data["id"]), str(data["hash"]), int(data["count"]), int(data["sweep"]),
            datetime.fromisoformat(data["whole_at"]), tuple(str(a) for a in data["actors"]),
            tuple(str(t) for t in data["record_types"]),
            {int(alert): int(event) for alert, event in data["acks"].items()})
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    if checkpoint.whole_at.tzinfo is None or min(checkpoint.count, checkpoint.id, checkpoint.sweep) < 0:
        return None
    return checkpoint


def sweep(checkpoint: Checkpoint, start: tuple[int, str], events: list[Stored],
          now: datetime) -> tuple[str | None, Checkpoint]:
    """Re-check the next slice of older events: those after ``start`` (the id and stored hash of the event the
    last slice ended with, or the genesis), up to the checkpoint, in order.

    Returns the first problem (the checkpoint unchanged), or the checkpoint
    with the sweep moved past the slice; a slice that reaches the checkpoint
    completes a round, and the next starts again from the first event.
    """
    problem = first_problem(events, start)
    if problem is not None:
        return problem, checkpoint
    last = (events[-1].id, events[-1].hash) if events else start
    if last[0] < checkpoint.id:
        return None, dataclasses.replace(checkpoint, sweep=last[0])
    if last != (checkpoint.id, checkpoint.hash):
        return (f"event {checkpoint.id} was changed after it was verified (its hash is no longer the one "
                "verified)"), checkpoint
    return None, dataclasses.replace(checkpoint, sweep=0, whole_at=now)
