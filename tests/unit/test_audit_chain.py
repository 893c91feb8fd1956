"""The audit trail's hash chain, with literal values."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime, timedelta, timezone

from fridge_monitor.core.audit import (
    GENESIS,
    Entry,
    Stored,
    entry_hash,
    first_problem,
    parse_head,
    verify,
)

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def chain(*entries: Entry) -> list[Stored]:
    events, prev = [], GENESIS
    for number, entry in enumerate(entries, 1):
        digest = entry_hash(prev, entry)
        events.append(Stored(number, entry, prev, digest))
        prev = digest
    return events


def three() -> list[Stored]:
    return chain(
        Entry(T0, "config-sync", "create", "fridge", "A1", "low_c", None, "2.0", "declared in fridge.toml"),
        Entry(T0 + timedelta(minutes=5), "ada", "update", "fridge", "A1", "high_c", "8.0", "6.0", "new vaccine"),
        Entry(T0 + timedelta(minutes=9), "ada", "update", "user", "nina", "disabled", "False", "True", "left"),
    )


def head_of(events: list[Stored]) -> tuple[int, str]:
    return events[-1].id, events[-1].hash


def test_the_hash_is_sha256_over_a_canonical_json_of_the_previous_hash_and_the_entry():
    entry = Entry(T0, "ada", "update", "fridge", "A1", "high_c", "8.0", "6.0", "new vaccine")
    canonical = ('["' + "0" * 64 + '","2026-11-25T09:00:00.000000Z","ada","update","fridge","A1",'
                 '"high_c","8.0","6.0","new vaccine"]')
    assert hashlib.sha256(canonical.encode()).hexdigest() == entry_hash(GENESIS, entry)
    assert entry_hash(GENESIS, entry) == "bbcfbe88d73337683ff2ac0eae7282c78eec58ccd970230c3f23a1db781e5283"


def test_the_same_moment_in_another_zone_hashes_the_same():
    entry = Entry(T0, "ada", "create", "site", "Clinic A")
    berlin = dataclasses.replace(entry, at=T0.astimezone(timezone(timedelta(hours=1))))
    assert entry_hash(GENESIS, entry) == entry_hash(GENESIS, berlin)


def test_every_field_and_the_previous_hash_are_covered():
    entry = Entry(T0, "ada", "update", "fridge", "A1", "high_c", "8.0", "6.0", "why")
    digests = {entry_hash(GENESIS, entry), entry_hash("1" * 64, entry)}
    for name, value in (("at", T0 + timedelta(microseconds=1)), ("actor", "eve"), ("action", "create"),
                        ("record_type", "site"), ("record_id", "A2"), ("field", "low_c"),
                        ("old_value", "8.1"), ("new_value", None), ("reason", "other")):
        digests.add(entry_hash(GENESIS, dataclasses.replace(entry, **{name: value})))
    assert len(digests) == 11


def test_an_intact_chain_has_no_problem():
    events = three()
    assert first_problem(events) is None
    verdict = verify(events, head_of(events))
    assert verdict.intact and verdict.count == 3 and verdict.last_id == 3 and verdict.last_hash == events[-1].hash


def test_an_empty_trail_is_intact():
    assert verify([], None) == verify([], None)
    assert verify([], None).intact and verify([], None).count == 0


def test_a_changed_value_names_the_event():
    events = three()
    events[1] = dataclasses.replace(events[1], entry=dataclasses.replace(events[1].entry, new_value="9.0"))
    assert first_problem(events) == "event 2 was altered: its contents do not match its hash"


def test_a_removed_event_names_the_event_after_the_gap():
    events = three()
    del events[1]
    assert first_problem(events).startswith("event 3 does not follow the event before it")


def test_a_swapped_pair_names_the_first_of_them():
    events = three()
    first, second = events[0], events[1]
    events[0] = dataclasses.replace(second, id=1)
    events[1] = dataclasses.replace(first, id=2)
    assert first_problem(events).startswith("event 1 does not follow the event before it")


def test_events_out_of_id_order_are_named():
    events = three()
    events[2] = dataclasses.replace(events[2], id=2)
    assert first_problem(events) == "event 2 is out of order (after event 2)"


def test_removing_the_newest_events_is_caught_by_the_recorded_head():
    events = three()
    head = head_of(events)
    assert first_problem(events[:1]) is None  # the chain alone cannot tell
    verdict = verify(events[:1], head)
    assert verdict.problem == ("event 3 and possibly others before it were removed: the trail ends at event 1 "
                               "but its recorded head is event 3")


def test_removing_every_event_is_caught_by_the_recorded_head():
    assert verify([], (3, "ab" * 32)).problem == "every event was removed: the trail's recorded head is event 3"


def test_a_missing_head_with_events_is_a_problem():
    assert "recorded head is missing" in verify(three(), None).problem


def test_events_appended_after_the_head_was_read_are_fine():
    events = three()
    assert verify(events, (2, events[1].hash)).intact


def test_a_replaced_head_event_is_caught():
    events = three()
    assert verify(events, (3, "f" * 64)).problem == "event 3 does not match the trail's recorded head (it was replaced)"


def test_the_recorded_head_is_read_from_its_setting():
    assert parse_head("42:" + "a" * 64) == (42, "a" * 64)
    assert parse_head(None) is None
