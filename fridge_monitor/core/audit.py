"""The audit trail's hash chain: pure functions over plain values.

Each event's hash covers its own fields and the previous event's hash, so
changing, removing or reordering any event breaks every hash after it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable
from datetime import datetime

from fridge_monitor.core.times import iso_utc

GENESIS = "0" * 64


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
    canonical = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def first_problem(events: Iterable[Stored]) -> str | None:
    """Why the chain is broken at its first bad event, or None if every event checks out."""
    expected_prev = GENESIS
    previous_id = 0
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


def verify(events: Iterable[Stored], recorded_head: tuple[int, str] | None) -> Verdict:
    """Check the chain and that the event recorded as the head is still in it, unchanged.

    The head is kept apart from the chain because removing the newest events
    leaves a chain that checks out by itself. Events newer than the recorded
    head (appended while the head was being read) are fine as long as they chain.
    """
    count = 0
    last: Stored | None = None
    head_seen = False

    def tracked() -> Iterable[Stored]:
        nonlocal count, last, head_seen
        for event in events:
            count += 1
            last = event
            if recorded_head is not None and event.id == recorded_head[0]:
                head_seen = event.hash == recorded_head[1]
            yield event

    problem = first_problem(tracked())
    if problem is None:
        if recorded_head is None and last is not None:
            problem = (f"the trail's recorded head is missing, so removed newest events could not be "
                       f"noticed (the trail ends at event {last.id})")
        elif recorded_head is not None and not head_seen:
            head_id = recorded_head[0]
            if last is None:
                problem = f"every event was removed: the trail's recorded head is event {head_id}"
            elif last.id < head_id:
                problem = (f"event {head_id} and possibly others before it were removed: the trail ends "
                           f"at event {last.id} but its recorded head is event {head_id}")
            else:
                problem = f"event {head_id} does not match the trail's recorded head (it was replaced)"
    return Verdict(count, last.id if last else None, last.hash if last else None, problem)
