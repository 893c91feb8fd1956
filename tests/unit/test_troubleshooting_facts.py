"""The troubleshooting record's rules with literal values: what a complete record needs, the time since the last
in-range reading, the unit's earlier excursions, the reminder, and the facts kept with each version."""

import dataclasses
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from fridge_monitor.core.troubleshooting import (
    Entry,
    Facts,
    LotEntry,
    LotFacts,
    earlier_lines,
    missing,
    overdue,
    since_in_range,
)

BERLIN = ZoneInfo("Europe/Berlin")
T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def facts(lots: tuple[LotFacts, ...] = ()) -> Facts:
    return Facts(7, "Botox", "Ward 3", "Europe/Berlin", "refrigerator", "2.0 to 8.0 °C", ("out-of-range", "heat"),
                 T0, T0 + timedelta(hours=2), T0 + timedelta(minutes=30), 7200.0, 600.0, 11.7, 8.1, 10.2, 25,
                 T0 - timedelta(minutes=5), lots, ("12 Nov 2025 10:00, 45 min, out-of-range, peak 8.6 °C",),
                 ("nina, 02 Mar 2026 11:00: moved the vials",))


BOTOX_LOT = LotFacts(3, "Botox 100 U", "C7012AB", "2027-01-31", 6, None, None)
FILLED = Entry(found_at=T0 + timedelta(minutes=40), found_by="Nina Novak", room_c=22.5, found_c=11.4,
               actions="Moved the vials", outcome="Compressor replaced")


def test_a_record_without_lots_needs_who_when_temperatures_action_and_outcome():
    assert missing(Entry(), facts()) == ["when the problem was found", "who found it", "the room temperature",
                                         "the unit's temperature when found", "the action taken", "the outcome"]
    assert missing(FILLED, facts()) == []
    assert missing(Entry(found_by="  ", room_c=0.0), facts())[:2] == ["when the problem was found", "who found it"]


def test_exposed_lots_need_the_contact_and_each_lot_s_funding_and_outcome():
    with_lot = facts((BOTOX_LOT,))
    assert missing(FILLED, with_lot) == ["the manufacturer or programme contacted", "their case number",
                                         "their answer", "whether lot C7012AB is public or private stock",
                                         "the outcome for lot C7012AB"]
    done = dataclasses.replace(FILLED, contacted="Allergan", case_number="AL-1", contact_answer="may be used",
                               lots=(LotEntry(3, "private", "released"),))
    assert missing(done, with_lot) == []
    # Funding recorded on the lot itself counts too.
    known = facts((LotFacts(3, "Botox 100 U", "C7012AB", "2027-01-31", 6, "public", None),))
    assert missing(Entry(found_at=T0, found_by="x", room_c=20.0, found_c=9.0, actions="a", outcome="o",
                         contacted="c", case_number="n", contact_answer="a", lots=(LotEntry(3, None, "kept"),)),
                   known) == []


def test_time_since_in_range_and_earlier_excursions():
    assert since_in_range(facts()) == timedelta(hours=2, minutes=5)
    assert earlier_lines([(datetime(2025, 11, 12, 9, 0, tzinfo=UTC), datetime(2025, 11, 12, 9, 45, tzinfo=UTC),
                           "out-of-range", 8.64), (datetime(2026, 1, 3, 23, 30, tzinfo=UTC), None, "heat", 9.0)],
                         BERLIN) == ("12 Nov 2025 10:00, 45 min, out-of-range, peak 8.6 °C",
                                     "04 Jan 2026 00:30, still going on, heat, peak 9.0 °C")


def test_a_reminder_comes_record_due_hours_after_the_end_unless_complete():
    episodes = {7: (T0, T0 + timedelta(hours=2), "Botox"), 8: (T0, None, "Botox")}
    day = timedelta(hours=24)
    # After 25 h only the one still going on is due (24 h after its start); the other ended 2 h in.
    assert [f.subject for f in overdue(episodes, set(), T0 + timedelta(hours=25), day)] == ["excursion:8"]
    found = overdue(episodes, set(), T0 + timedelta(hours=26), day)
    assert [(f.kind, f.subject, f.start) for f in found] == [
        ("record-incomplete", "excursion:7", T0 + timedelta(hours=26)),
        ("record-incomplete", "excursion:8", T0 + timedelta(hours=24))]
    assert overdue(episodes, {7, 8}, T0 + timedelta(days=3), day) == []


def test_the_facts_kept_with_a_version_read_back_as_they_were():
    kept = facts((BOTOX_LOT,))
    assert Facts.from_json(kept.as_json()) == kept
