"""The moment silence is judged at, given ingest's heartbeats (defect 8: a backlog looks like silence).

Literal values throughout: every heartbeat every 5 s, ``max_drain_s`` one hour,
now 10:00:00. An ingest 30 minutes behind the broker but alive, connected and
storing holds the judgement back to 09:30; gone, disconnected, stuck, too far
behind or never caught up, it changes nothing.
"""

from datetime import UTC, datetime, timedelta

from fridge_monitor.core import checks
from fridge_monitor.core.heartbeat import Heartbeat, draining_until, heard_until, is_marker_topic, marker_topic
from fridge_monitor.core.status import Latest, State, is_silent, state

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
GAP = timedelta(minutes=2)


def at(minutes: float = 0, seconds: float = 0) -> datetime:
    return NOW + timedelta(minutes=minutes, seconds=seconds)


def beat(**kw) -> Heartbeat:
    """Alive 2 s ago, connected, storing, its marker not back for 30 minutes."""
    base = dict(client_id="ingest-1", started_at=at(seconds=-20), beat_at=at(seconds=-2), connected=True,
                backlog=1000, caught_up_at=at(-30), stored_at=at(seconds=-2), interval_s=5.0, max_drain_s=3600.0)
    return Heartbeat(**{**base, **kw})


# -- heard_until --------------------------------------------------------------------------


def test_without_ingest_silence_is_judged_now():
    assert heard_until(NOW, []) == NOW


def test_a_live_ingest_draining_a_backlog_holds_the_judgement_back_to_where_it_caught_up():
    assert heard_until(NOW, [beat()]) == at(-30)


def test_an_ingest_that_is_caught_up_changes_nothing():
    # Its last marker came back 4 s before its beat (a marker goes out every 5 s).
    assert heard_until(NOW, [beat(caught_up_at=at(seconds=-6), backlog=0)]) == NOW
    # 10 s (two intervals) is still caught up; 11 s is catching up.
    assert heard_until(NOW, [beat(caught_up_at=at(seconds=-12))]) == NOW
    assert heard_until(NOW, [beat(caught_up_at=at(seconds=-13))]) == at(seconds=-13)


def test_a_gone_ingest_promises_nothing():
    assert heard_until(NOW, [beat(beat_at=at(seconds=-20))]) == at(-30)  # 4 intervals: still alive
    assert heard_until(NOW, [beat(beat_at=at(seconds=-21))]) == NOW


def test_a_disconnected_ingest_promises_nothing_once_it_has_stored_nothing_for_a_minute():
    # A reconnect (or a restart: a new process stores nothing before it is connected) gets 60 s of grace.
    assert heard_until(NOW, [beat(connected=False, stored_at=at(seconds=-60))]) == at(-30)
    assert heard_until(NOW, [beat(connected=False, stored_at=at(seconds=-61))]) == NOW


def test_an_ingest_that_never_caught_up_promises_nothing():
    assert heard_until(NOW, [beat(caught_up_at=None)]) == NOW


def test_a_stuck_ingest_promises_nothing():
    # Behind, and nothing committed for 60 s (12 intervals): still draining; 61 s: stuck.
    assert heard_until(NOW, [beat(stored_at=at(seconds=-60))]) == at(-30)
    assert heard_until(NOW, [beat(stored_at=at(seconds=-61))]) == NOW
    # A process that has just started counts as storing since its start.
    assert heard_until(NOW, [beat(started_at=at(seconds=-3), stored_at=at(seconds=-3))]) == at(-30)


def test_the_drain_is_trusted_for_at_most_max_drain():
    assert heard_until(NOW, [beat(caught_up_at=at(-60))]) == at(-60)
    assert heard_until(NOW, [beat(caught_up_at=at(-60, -1))]) == NOW
    assert heard_until(NOW, [beat(max_drain_s=600.0)]) == NOW  # 30 minutes behind, 10 allowed


def test_several_ingest_processes_the_one_furthest_behind_counts():
    caught_up = beat(client_id="a", caught_up_at=at(seconds=-4), backlog=0)
    draining = beat(client_id="b", caught_up_at=at(-12))
    further = beat(client_id="c", caught_up_at=at(-25))
    stuck = beat(client_id="d", caught_up_at=at(-50), stored_at=at(-5))
    gone = beat(client_id="e", beat_at=at(-3), caught_up_at=at(-55))
    assert heard_until(NOW, [caught_up, draining, further, stuck, gone]) == at(-25)
    assert heard_until(NOW, [caught_up, stuck, gone]) == NOW


def test_a_heartbeat_from_the_future_never_moves_the_judgement_past_now():
    assert heard_until(NOW, [beat(beat_at=at(seconds=3), caught_up_at=at(seconds=-10))]) == at(seconds=-10)
    assert heard_until(NOW, [beat(beat_at=at(1), caught_up_at=at(seconds=30), stored_at=at(1))]) == NOW
    assert draining_until(beat(), NOW) == at(-30)


def test_marker_topics():
    assert marker_topic("fridge-monitor-ingest") == "fridge-monitor/ingest/fridge-monitor-ingest/marker"
    assert marker_topic("a/b+c#d") == "fridge-monitor/ingest/a_b_c_d/marker"
    assert is_marker_topic(marker_topic("another-ingest"))
    assert not is_marker_topic("fridge-monitor/readings/probe")
    assert not is_marker_topic("fridge-monitor/ingest/x/other")


# -- the one silence rule: alarms ---------------------------------------------------------------


def sensor(last: datetime | None, sid: str = "native:p"):
    return checks.SensorState(sid, "primary", at(-600), last, None, None, None)


def test_is_silent_judged_where_ingest_caught_up():
    assert is_silent(at(-20), NOW, GAP)
    assert not is_silent(at(-20), NOW, GAP, heard_until=at(-21))
    assert is_silent(at(-20), NOW, GAP, heard_until=at(-17, -59))
    assert not is_silent(at(-20), NOW, GAP, heard_until=at(-18))  # exactly the allowed gap is not silence
    assert is_silent(None, NOW, GAP, heard_until=at(-30))
    assert is_silent(at(-3), NOW, GAP, heard_until=at(5))  # never judged later than now


def test_a_drain_opens_no_no_data_alarm():
    # Readings stored up to 09:31 so far; ingest has stored everything the broker held at 09:30.
    queued = sensor(last=at(-29))
    assert [f.start for f in checks.no_data_findings([queued], at(-600), NOW, GAP)] == [at(-27)]
    assert checks.no_data_findings([queued], at(-600), NOW, GAP, heard_until=at(-30)) == []


def test_a_sensor_silent_before_ingest_fell_behind_still_alarms():
    dead = sensor(last=at(-45))
    found = checks.no_data_findings([dead], at(-600), NOW, GAP, heard_until=at(-30))
    assert [(f.rule, f.subject, f.start) for f in found] == [("silence", "native:p", at(-43))]


def test_an_open_no_data_alarm_is_ended_by_a_reading_not_by_a_drain():
    queued = sensor(last=at(-29))
    found = checks.no_data_findings([queued], at(-600), NOW, GAP, heard_until=at(-30),
                                    open_subjects=frozenset({"native:p"}))
    assert [f.start for f in found] == [at(-27)]
    back = sensor(last=at(seconds=-30))
    assert checks.no_data_findings([back], at(-600), NOW, GAP, heard_until=at(-30),
                                   open_subjects=frozenset({"native:p"})) == []


def test_a_fridge_without_a_sensor_is_not_monitored_whatever_ingest_says():
    found = checks.no_data_findings([], at(-10), NOW, GAP, heard_until=at(-30))
    assert [f.rule for f in found] == ["no-sensor"]


def test_a_never_reporting_sensor_during_a_drain():
    never = checks.SensorState("native:new", "primary", at(-29), None, None, None, None)
    assert checks.no_data_findings([never], at(-600), NOW, GAP, heard_until=at(-30)) == []
    assert [f.start for f in checks.no_data_findings([never], at(-600), NOW, GAP)] == [at(-27)]


# -- the one silence rule: the dashboard and API status ------------------------------------------


def latest(**kw) -> Latest:
    base = dict(fridge="A1", low_c=2.0, high_c=8.0, sensors=1, measured_at=at(-29), temperature_c=4.5,
                min_c=3.9, max_c=5.2)
    return Latest(**{**base, **kw})


def test_a_draining_fridge_is_not_shown_no_data():
    assert state(latest(), NOW, GAP) is State.NO_DATA
    assert state(latest(heard_until=at(-30)), NOW, GAP) is State.OK
    assert state(latest(heard_until=at(-30), temperature_c=9.0), NOW, GAP) is State.OUT_OF_RANGE
    assert state(latest(measured_at=at(-45), heard_until=at(-30)), NOW, GAP) is State.NO_DATA
    assert state(latest(heard_until=NOW), NOW, GAP) is State.NO_DATA

