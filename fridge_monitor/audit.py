"""The audit trail's hash chain: pure functions over plain values.

Each event's hash covers its own fields and the previous event's hash, so
changing, removing or reordering any event breaks every hash after it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable
from datetime import datetime, timezone

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


def entry_hash(prev_hash: str, entry: Entry) -> str:
    """SHA-256 over the previous hash and a canonical JSON of the entry."""
    at = entry.at.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
    body = [prev_hash, at, entry.actor, entry.action, entry.record_type, entry.record_id,
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
