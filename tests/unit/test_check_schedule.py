"""When staff temperature checks are due, which answer which, and which were missed (pure)."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from fridge_monitor.core.staff_checks import disagreement, missed, slot_for, slots

BERLIN = ZoneInfo("Europe/Berlin")
CHECKS = (time(8, 0), time(16, 0))
HOUR = timedelta(hours=1)


def test_slots_follow_local_time_across_both_dst_changes():
    spring = slots((time(2, 30), time(8, 0)), BERLIN, date(2026, 3, 29), date(2026, 3, 29))
    # 02:30 does not exist that night: it falls due just after the gap (03:30 CEST, 01:30 UTC).
    assert [(s.label, s.due) for s in spring] == [("2026-03-29 02:30", datetime(2026, 3, 29, 1, 30, tzinfo=UTC)),
                                                  ("2026-03-29 08:00", datetime(2026, 3, 29, 6, 0, tzinfo=UTC))]
    autumn = slots((time(2, 30),), BERLIN, date(2026, 10, 25), date(2026, 10, 25))
    assert [s.due for s in autumn] == [datetime(2026, 10, 25, 0, 30, tzinfo=UTC)]  # the first pass of 02:30


def test_a_check_answers_the_nearest_slot_within_its_tolerance():
    assert slot_for(CHECKS, HOUR, BERLIN, datetime(2026, 3, 2, 7, 40, tzinfo=UTC)).label == "2026-03-02 08:00"
    assert slot_for(CHECKS, HOUR, BERLIN, datetime(2026, 3, 2, 6, 30, tzinfo=UTC)).label == "2026-03-02 08:00"
    assert slot_for(CHECKS, HOUR, BERLIN, datetime(2026, 3, 2, 8, 30, tzinfo=UTC)) is None  # 09:30: too late
    assert slot_for(CHECKS, HOUR, BERLIN, datetime(2026, 3, 2, 14, 30, tzinfo=UTC)).label == "2026-03-02 16:00"


def test_missed_checks_are_those_past_their_tolerance_without_a_check():
    since = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
    now = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)  # 16:30 local: the 16:00 check is still within its hour
    found = missed(CHECKS, HOUR, BERLIN, since, now, set(), "A1")
    assert [(f.kind, f.subject, f.start, f.severity) for f in found] == [
        ("check-missed", "2026-03-02 08:00", datetime(2026, 3, 2, 8, 0, tzinfo=UTC), "warning")]
    assert found[0].title == "Temperature check missed: 08:00 on 02 Mar 2026"
    assert missed(CHECKS, HOUR, BERLIN, since, now, {(date(2026, 3, 2), time(8, 0))}, "A1") == []


def test_a_reading_more_than_one_degree_from_the_monitor_is_a_disagreement():
    at = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
    assert disagreement("A1", 7, at, 5.9, 5.0) is None
    found = disagreement("A1", 7, at, 6.2, 5.0)
    assert found is not None and (found.kind, found.subject, found.start) == ("sensor-disagreement", "check:7", at)
