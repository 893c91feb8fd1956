from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from fridge_monitor.core.status import Latest, State, age, is_silent, state, workday_start

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
GAP = timedelta(minutes=15)


def latest(**kw):
    base = dict(fridge="A1", low_c=2.0, high_c=8.0, sensors=1, measured_at=NOW - timedelta(minutes=1),
                temperature_c=4.5, min_c=3.9, max_c=5.2)
    return Latest(**{**base, **kw})


def test_in_range_and_fresh_is_ok():
    assert state(latest(), NOW, GAP) is State.OK


def test_thresholds_are_inclusive_in_range():
    assert state(latest(temperature_c=8.0), NOW, GAP) is State.OK
    assert state(latest(temperature_c=8.1), NOW, GAP) is State.OUT_OF_RANGE
    assert state(latest(temperature_c=1.9), NOW, GAP) is State.OUT_OF_RANGE


def test_silence_is_never_ok():
    assert state(latest(measured_at=NOW - timedelta(minutes=16)), NOW, GAP) is State.NO_DATA
    assert state(latest(measured_at=None, temperature_c=None), NOW, GAP) is State.NO_DATA
    assert state(latest(sensors=0), NOW, GAP) is State.NO_SENSOR


def test_workday_starts_at_local_midnight_across_dst():
    berlin = ZoneInfo("Europe/Berlin")
    assert workday_start(NOW, berlin) == datetime(2026, 11, 24, 23, 0, tzinfo=UTC)
    summer = datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
    assert workday_start(summer, berlin) == datetime(2026, 6, 30, 22, 0, tzinfo=UTC)


def test_age_is_compact():
    assert age(NOW, NOW - timedelta(seconds=12)) == "12 s"
    assert age(NOW, NOW - timedelta(minutes=4, seconds=59)) == "4 min"
    assert age(NOW, NOW - timedelta(hours=3)) == "3 h"
    assert age(NOW, None) == "never"


def test_low_battery_warns_only_when_otherwise_ok():
    from fridge_monitor.core.status import status

    assert status(latest(battery_pct=19.9), NOW, GAP) is State.LOW_BATTERY
    assert status(latest(battery_pct=20.0), NOW, GAP) is State.OK
    assert status(latest(battery_pct=5, temperature_c=9.0), NOW, GAP) is State.OUT_OF_RANGE
    assert status(latest(battery_pct=5, measured_at=NOW - timedelta(hours=1)), NOW, GAP) is State.NO_DATA
    assert state(latest(battery_pct=5), NOW, GAP) is State.OK  # the storage state itself is unaffected


def test_an_alert_waiting_for_acknowledgement_is_shown_on_a_fridge_that_looks_fine():
    from fridge_monitor.core.status import status

    assert status(latest(), NOW, GAP, alerts_waiting=1) is State.ALERT
    assert status(latest(battery_pct=5), NOW, GAP, alerts_waiting=2) is State.ALERT  # the alert matters more
    assert status(latest(temperature_c=9.0), NOW, GAP, alerts_waiting=1) is State.OUT_OF_RANGE
    assert status(latest(measured_at=NOW - timedelta(hours=1)), NOW, GAP, alerts_waiting=1) is State.NO_DATA
    assert status(latest(sensors=0), NOW, GAP, alerts_waiting=1) is State.NO_SENSOR
    assert status(latest(), NOW, GAP, alerts_waiting=0) is State.OK


def test_any_fresh_sensor_out_of_range_makes_the_fridge_out_of_range():
    assert state(latest(temperature_c=4.0, fresh_c=(4.0, 8.4)), NOW, GAP) is State.OUT_OF_RANGE
    assert state(latest(temperature_c=4.0, fresh_c=(4.0, 7.9)), NOW, GAP) is State.OK


def test_every_state_has_text_and_an_icon():
    assert {s.value: s.icon for s in State} == {
        "OK": "✓", "OUT OF RANGE": "⚠", "NO DATA": "?", "LOW BATTERY": "🔋", "NO SENSOR": "∅", "ALERT": "⚑"}
    assert State.OUT_OF_RANGE.css == "out-of-range"


def test_workday_boundaries():
    berlin = ZoneInfo("Europe/Berlin")
    # A minute before and after local midnight belong to different workdays.
    before = datetime(2026, 11, 24, 22, 59, tzinfo=UTC)
    after = datetime(2026, 11, 24, 23, 0, tzinfo=UTC)
    assert workday_start(before, berlin) == datetime(2026, 11, 23, 23, 0, tzinfo=UTC)
    assert workday_start(after, berlin) == after
    # The day clocks go forward (29 March 2026) starts at 23:00 UTC the evening before; the next at 22:00.
    assert workday_start(datetime(2026, 3, 29, 12, 0, tzinfo=UTC), berlin) == datetime(
        2026, 3, 28, 23, 0, tzinfo=UTC)
    assert workday_start(datetime(2026, 3, 30, 12, 0, tzinfo=UTC), berlin) == datetime(
        2026, 3, 29, 22, 0, tzinfo=UTC)
    kolkata = ZoneInfo("Asia/Kolkata")
    assert workday_start(NOW, kolkata) == datetime(2026, 11, 24, 18, 30, tzinfo=UTC)


def test_a_sensor_is_silent_once_its_latest_reading_is_older_than_the_gap():
    gap = timedelta(minutes=35)
    assert is_silent(None, NOW, gap)
    assert not is_silent(NOW - timedelta(minutes=35), NOW, gap)
    assert is_silent(NOW - timedelta(minutes=36), NOW, gap)


# -- latest_of: what a fridge shows now -----------------------------------------------------------------------

def test_latest_of_shows_the_fresh_primary_else_the_newest_reading_of_any_sensor():
    from types import SimpleNamespace

    from fridge_monitor.core.status import Assigned, latest_of

    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    gap = timedelta(minutes=30)
    fridge = SimpleNamespace(name="F1", low_c=2.0, high_c=8.0)

    def probe(sid, role, minutes_ago, celsius, battery=None):
        return SimpleNamespace(id=sid, role=role, battery_pct=battery,
                               last_measured_at=now - timedelta(minutes=minutes_ago), temperature_c=celsius)

    sensors = {"p": probe("p", "primary", 5, 4.0, 80.0), "b": probe("b", "backup", 1, 6.0, 30.0)}
    current = [Assigned("b", None), Assigned("p", None)]
    mine, latest = latest_of(fridge, current, sensors, now, gap, now)
    assert [s.id for s in mine] == ["p", "b"]  # primary first
    assert (latest.temperature_c, latest.fresh_c, latest.battery_pct, latest.sensors) == (4.0, (4.0, 6.0), 30.0, 2)
    # The primary silent (40 min): the newest reading of any sensor is shown, and only the backup is fresh.
    sensors["p"] = probe("p", "primary", 40, 4.0)
    _mine, latest = latest_of(fridge, current, sensors, now, gap, now)
    assert (latest.temperature_c, latest.measured_at, latest.fresh_c) == (6.0, now - timedelta(minutes=1), (6.0,))
    # A backup that came to this fridge after its last reading: that reading is another fridge's.
    moved = [Assigned("b", now), Assigned("p", None)]
    _mine, latest = latest_of(fridge, moved, sensors, now, gap, now)
    assert (latest.temperature_c, latest.measured_at) == (4.0, now - timedelta(minutes=40))
    assert state(latest, now, gap) is State.NO_DATA  # shown, but silent


def test_latest_of_a_fridge_without_readings_shows_nothing():
    from types import SimpleNamespace

    from fridge_monitor.core.status import latest_of

    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    _mine, latest = latest_of(SimpleNamespace(name="F2", low_c=2.0, high_c=8.0), [], {}, now, timedelta(minutes=30),
                              now)
    assert (latest.temperature_c, latest.measured_at, latest.sensors, latest.fresh_c) == (None, None, 0, ())
    assert state(latest, now, timedelta(minutes=30)) is State.NO_SENSOR
