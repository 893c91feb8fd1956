"""Checking the audit chain from a checkpoint, with literal values."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from test_audit_chain import chain

from fridge_monitor.core.audit import (
    GENESIS,
    Checkpoint,
    Entry,
    first_problem,
    parse_checkpoint,
    start_checkpoint,
    sweep,
    verify,
)

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def five():
    return chain(*(Entry(T0 + timedelta(minutes=k), "ada", "update", "fridge", "A1", "high_c", str(k), str(k + 1))
                   for k in range(5)))


def at(events, index: int) -> tuple[int, str]:
    return events[index].id, events[index].hash


def test_the_events_after_a_checkpoint_are_checked_from_its_hash():
    events = five()
    verdict = verify(events[2:], at(events, -1), at(events, 1))
    assert (verdict.intact, verdict.count, verdict.last_id) == (True, 3, 5)
    assert first_problem(events[2:], (2, "f" * 64)) == (
        "event 3 does not follow the event before it (an event was removed, inserted or reordered before it)")
    assert first_problem(events[2:], (3, events[1].hash)) == "event 3 is out of order (after event 3)"
    altered = dataclasses.replace(events[3], entry=dataclasses.replace(events[3].entry, new_value="9"))
    assert verify([events[2], altered, events[4]], at(events, -1), at(events, 1)).problem == (
        "event 4 was altered: its contents do not match its hash")


def test_the_recorded_head_is_checked_from_a_checkpoint_too():
    events = five()
    assert verify([], at(events, -1), at(events, -1)).intact  # nothing new: the head is the checkpoint
    assert verify([], at(events, -1), at(events, -1)).last_id == 5
    assert verify([], at(events, -1), at(events, 2)).problem == (
        "event 5 and possibly others before it were removed: the trail ends at event 3 but its recorded head is "
        "event 5")
    assert verify(events[3:], at(events, 1), at(events, 2)).problem == (
        "the trail's recorded head (event 2) is older than event 3, which was verified before: the head was "
        "moved back")
    assert verify([], (5, "e" * 64), at(events, -1)).problem == (
        "event 5 does not match the trail's recorded head (it was replaced)")


def test_a_checkpoint_reads_back_as_stored_and_an_unreadable_one_as_none():
    events = five()
    checkpoint = Checkpoint(5, events[-1].hash, 5, 2, T0, ("ada", "ingest"), ("alert", "fridge"), {7: 4, 12: 5})
    assert parse_checkpoint(checkpoint.to_text()) == checkpoint
    assert parse_checkpoint(start_checkpoint(T0).to_text()) == Checkpoint(0, GENESIS, 0, 0, T0)
    for text in (None, "", "5:abc", "[]", '{"id": 5}', checkpoint.to_text().replace('"count":5', '"count":-1'),
                 checkpoint.to_text().replace("Z", "")):
        assert parse_checkpoint(text) is None, text


def test_older_events_are_re_checked_slice_by_slice_and_a_round_ends_at_the_checkpoint():
    events = five()
    later = T0 + timedelta(days=1)
    checkpoint = Checkpoint(5, events[-1].hash, 5, 0, T0)
    problem, moved = sweep(checkpoint, (0, GENESIS), events[:2], later)
    assert problem is None and moved.sweep == 2 and moved.whole_at == T0
    problem, moved = sweep(moved, at(events, 1), events[2:4], later)
    assert problem is None and moved.sweep == 4
    problem, moved = sweep(moved, at(events, 3), events[4:], later)
    assert problem is None and moved.sweep == 0 and moved.whole_at == later  # a whole round

    altered = dataclasses.replace(events[2], entry=dataclasses.replace(events[2].entry, actor="eve"))
    problem, kept = sweep(dataclasses.replace(checkpoint, sweep=2), at(events, 1), [altered, events[3]], later)
    assert problem == "event 3 was altered: its contents do not match its hash"
    assert kept.sweep == 2
    problem, _ = sweep(dataclasses.replace(checkpoint, hash="c" * 64), (0, GENESIS), events, later)
    assert problem == "event 5 was changed after it was verified (its hash is no longer the one verified)"
    assert sweep(Checkpoint(0, GENESIS, 0, 0, T0), (0, GENESIS), [], later)[1].whole_at == later  # an empty trail
