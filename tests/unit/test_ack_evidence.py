"""The canonical acknowledgement and how a difference from its audit event is worded (pure, no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from fridge_monitor.core import ack_evidence
from fridge_monitor.core.ack_evidence import Acknowledgement, Recorded
from fridge_monitor.core.audit import GENESIS, Entry, Stored, entry_hash

AT = datetime(2026, 11, 20, 8, 0, 0, 123456, tzinfo=UTC)
ACK = Acknowledgement(7, "nina", AT, "[x] Tell the vaccine coordinator.\nMoved vials to B2.")
NOTHING = Acknowledgement(7, None, None, None)


def chain(*entries: Entry) -> list[Stored]:
    events, prev = [], GENESIS
    for number, entry in enumerate(entries, start=1):
        events.append(Stored(number, entry, prev, entry_hash(prev, entry)))
        prev = events[-1].hash
    return events


def ack_entry(alert_id: str = "7", actor: str = "nina", at: datetime = AT, text: str | None = ACK.action) -> Entry:
    return Entry(at, actor, "acknowledge", "alert", alert_id, "action", None, text, "excursion heat: Heat alarm")


def test_the_canonical_form_is_one_json_line_whatever_the_time_zone():
    assert ack_evidence.canonical(ACK) == (
        '[7,"nina","2026-11-20T08:00:00.123456Z","[x] Tell the vaccine coordinator.\\nMoved vials to B2."]')
    berlin = AT.astimezone(ZoneInfo("Europe/Berlin"))
    assert ack_evidence.canonical(Acknowledgement(7, "nina", berlin, ACK.action)) == ack_evidence.canonical(ACK)
    assert ack_evidence.canonical(NOTHING) == "[7,null,null,null]"
    assert ack_evidence.canonical(Acknowledgement(7, "nina", AT + timedelta(microseconds=1), ACK.action)) != \
        ack_evidence.canonical(ACK)


def test_only_acknowledgement_events_are_read_and_the_newest_counts():
    events = chain(ack_entry(), Entry(AT, "ada", "update", "alert", "7", "title", "a", "b", None),
                   Entry(AT, "nina", "acknowledge", "lot", "7", "action", None, "x", None),
                   ack_entry(actor="kim"), ack_entry("8"), ack_entry("not-a-number"))
    newest = ack_evidence.newest(events)
    assert newest == {7: Recorded(4, Acknowledgement(7, "kim", AT, ACK.action)),
                      8: Recorded(5, Acknowledgement(8, "nina", AT, ACK.action))}


def test_agreeing_or_absent_acknowledgements_are_no_problem():
    assert ack_evidence.problem(7, ACK, Recorded(3, ACK)) is None
    assert ack_evidence.problem(7, NOTHING, None) is None
    assert ack_evidence.problem(7, None, None) is None


def test_each_difference_is_named_with_the_alert_and_the_event():
    later = AT + timedelta(hours=1)
    changed = Acknowledgement(7, "ada", later, "Nothing to do. " * 10)
    assert ack_evidence.problem(7, changed, Recorded(3, ACK)) == (
        "alert 7's acknowledgement was changed outside the application: "
        "acknowledged_by is 'ada' but audit event 3 recorded 'nina'; "
        "acknowledged_at is 2026-11-20T09:00:00.123456Z but audit event 3 recorded 2026-11-20T08:00:00.123456Z; "
        "action is 'Nothing to do. Nothing to do. Nothing to do. Nothing to do. …' but audit event 3 recorded "
        "'[x] Tell the vaccine coordinator.\\nMoved vials to B2.'")
    assert ack_evidence.problem(7, NOTHING, Recorded(3, ACK)) == (
        "alert 7 lost its acknowledgement by 'nina' at 2026-11-20T08:00:00.123456Z (audit event 3): "
        "it was cleared outside the application")
    assert ack_evidence.problem(7, None, Recorded(3, ACK)) == (
        "alert 7 was acknowledged by 'nina' at 2026-11-20T08:00:00.123456Z (audit event 3), "
        "but the alert is no longer there (removed outside the application)")
    assert ack_evidence.problem(7, ACK, None) == (
        "alert 7 is acknowledged by 'nina' at 2026-11-20T08:00:00.123456Z, but no audit event records an "
        "acknowledgement of it (set outside the application)")
    half = Acknowledgement(7, "nina", None, ACK.action)
    problem = ack_evidence.problem(7, half, Recorded(3, ACK))
    assert "acknowledged_at is nothing but audit event 3 recorded 2026" in problem


def test_many_problems_are_counted_past_the_first_twenty():
    problems = [f"alert {n}: x" for n in range(1, 24)]
    message = ack_evidence.summary(problems)
    assert message.startswith("alert 1: x; alert 2: x;") and "alert 20: x; and 3 more alerts like that" in message
    assert "alert 21" not in message
    assert ack_evidence.summary([]) is None
    assert ack_evidence.summary(["alert 1: x"]) == "alert 1: x"


ALERTS_CSV = ("id,fridge,kind,rule,severity,started_at_utc,ended_at_utc,state,peak_c,low_c,acknowledged_by,"
              "acknowledged_at_utc,action,subject,title\n"
              '7,A1,excursion,heat,alarm,2026-11-20T07:00:00Z,,acknowledged,9.5,9.5,nina,2026-11-20T08:00:00.123456Z,'
              '"[x] Tell the vaccine coordinator.\nMoved vials to B2.",,Heat alarm\n'
              "8,A1,excursion,out-of-range,warning,2026-11-20T07:00:00Z,,open,9.5,9.5,,,,,Out of range\n")
EXPORTED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def test_a_bundle_alerts_file_is_checked_against_its_trail():
    trail = chain(ack_entry())
    assert ack_evidence.bundle_problems(ALERTS_CSV.encode(), trail, EXPORTED) == []
    tampered = ALERTS_CSV.replace(",nina,", ",ada,").encode()
    assert ack_evidence.bundle_problems(tampered, trail, EXPORTED) == [(
        "alerts.csv: alert 7's acknowledgement was changed outside the application: "
        "acknowledged_by is 'ada' but audit event 1 recorded 'nina'")]
    # Alert 8 acknowledged before the export began, yet shown unacknowledged: cleared.
    before = chain(ack_entry(), ack_entry("8", at=AT))
    assert [p[:41] for p in ack_evidence.bundle_problems(ALERTS_CSV.encode(), before, EXPORTED)] == [
        "alerts.csv: alert 8 lost its acknowledgem"]
    # ... while the bundle was being written: its alerts.csv was already done.
    during = chain(ack_entry(), ack_entry("8", at=EXPORTED + timedelta(seconds=5)))
    assert ack_evidence.bundle_problems(ALERTS_CSV.encode(), during, EXPORTED) == []


def test_a_formula_guarded_cell_and_an_unreadable_file_are_handled():
    text = "=SUM(1)"
    guarded = ALERTS_CSV.replace('"[x] Tell the vaccine coordinator.\nMoved vials to B2."', "'=SUM(1)")
    assert ack_evidence.bundle_problems(guarded.encode(), chain(ack_entry(text=text)), EXPORTED) == []
    assert ack_evidence.bundle_problems(b"id,fridge\n1,A1\n", [], EXPORTED) == [(
        "alerts.csv: its acknowledgements cannot be checked: it has no id, acknowledged_by, acknowledged_at_utc "
        "and action columns")]
    assert ack_evidence.bundle_problems(ALERTS_CSV.replace("7,A1", "x,A1").encode(), [], EXPORTED) == [
        "alerts.csv: its acknowledgements cannot be checked: line 2 is not an alert row"]
    assert ack_evidence.exported_at({"exported_at": "2026-11-20T09:00:00Z"}) == EXPORTED
    assert ack_evidence.exported_at({"exported_at": 5}) is None
    assert ack_evidence.exported_at({"exported_at": "soon"}) is None
