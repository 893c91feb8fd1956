"""The causes: door open, power lost, compressor stopped; and an excursion naming its cause."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from fridge_monitor.core import causes
from fridge_monitor.core.checks import Finding
from fridge_monitor.core.rules import AlarmProfile

T0 = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
PROFILE = AlarmProfile("vaccines", 2.0, 8.0)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


# -- door ---------------------------------------------------------------------------


def test_door_open_longer_than_allowed_warns_with_the_time_open():
    door = [(at(0), 0.0), (at(2), 1.0)]
    (found,) = causes.door_open("zigbee2mqtt:door-a", door, at(7), PROFILE)
    assert (found.kind, found.severity, found.start, found.end) == ("door-open", "warning", at(2), None)
    assert found.title == "Door open 5 min so far"
    assert "reported the door open at 10:02 UTC, and nothing has closed it since (allowed: 3 min)" in found.detail


def test_door_open_within_the_allowed_time_is_nothing():
    door = [(at(0), 1.0), (at(2), 0.0), (at(10), 1.0)]
    assert causes.door_open("d", door, at(12), PROFILE) == []


def test_door_closed_after_a_long_opening_ends_the_finding():
    door = [(at(0), 1.0), (at(14), 0.0)]
    (found,) = causes.door_open("d", door, at(30), PROFILE)
    assert (found.start, found.end, found.title) == (at(0), at(14), "Door open 14 min")


def test_door_allowed_time_comes_from_the_profile():
    door = [(at(0), 1.0)]
    lenient = dataclasses.replace(PROFILE, door_open_max=timedelta(minutes=10))
    assert causes.door_open("d", door, at(5), lenient) == []
    assert len(causes.door_open("d", door, at(11), lenient)) == 1


# -- power --------------------------------------------------------------------------


def test_plug_measuring_no_power_is_power_lost():
    power = [(at(0), 85.0), (at(5), 3.0), (at(10), 0.0), (at(15), 0.0)]
    (found,) = causes.power_lost("tasmota:plug-a", power, [], at(16), PROFILE, at(16))
    assert (found.kind, found.rule, found.severity, found.start, found.end) == (
        "power-lost", "no-power", "alarm", at(10), None)
    assert found.title == "Power lost: the plug measures no power"


def test_plug_switched_off_is_power_lost_until_switched_on():
    switch = [(at(0), 1.0), (at(3), 0.0), (at(20), 1.0)]
    (found,) = causes.power_lost("shelly:plug-b", [], switch, at(30), PROFILE, at(30))
    assert (found.start, found.end, found.title) == (at(3), at(20), "Power lost: the plug switched off")


def test_power_back_ends_power_lost():
    power = [(at(0), 0.0), (at(12), 90.0)]
    (found,) = causes.power_lost("p", power, [], at(20), PROFILE, at(20))
    assert (found.start, found.end) == (at(0), at(12))


def test_silent_plug_while_the_probe_still_reports_is_power_lost():
    power = [(at(0), 80.0), (at(5), 4.0)]
    (found,) = causes.power_lost("tasmota:plug-a", power, [], at(25), PROFILE, probe_heard_at=at(24))
    assert (found.rule, found.start, found.end) == ("plug-silent", at(5), None)
    assert found.title == "Power lost? The plug has been silent for 20 min"


def test_silent_plug_and_silent_probe_is_not_called_a_power_loss():
    power = [(at(0), 80.0), (at(5), 4.0)]
    # The probe went quiet too: that is a site outage (network), judged as silence, not as a power loss.
    assert causes.power_lost("p", power, [], at(25), PROFILE, probe_heard_at=at(6)) == []


def test_a_running_fridge_is_not_power_lost():
    power = [(at(m), 90.0 if m % 20 < 10 else 2.0) for m in range(0, 60, 5)]
    assert causes.power_lost("p", power, [], at(60), PROFILE, at(60)) == []


# -- compressor ---------------------------------------------------------------------


def cycling(days: float, on_min: int, off_min: int) -> list[tuple[datetime, float]]:
    """A plug's power every 5 min: the compressor on (90 W) then resting (3 W)."""
    values, minute, period = [], 0, on_min + off_min
    while minute < days * 24 * 60:
        values.append((at(minute - days * 24 * 60), 90.0 if minute % period < on_min else 3.0))
        minute += 5
    return values


def test_off_cycle_learnt_from_a_week_of_cycles():
    limit, why = causes.off_cycle_limit(PROFILE, cycling(7, 15, 25))
    assert limit == timedelta(minutes=27)
    assert why == "learnt from 251 off-cycles in the last 7 days: their 99th percentile, 25 min, and 2 min more"


def test_off_cycle_allows_for_rests_that_vary_at_the_top():
    # Mostly 10-minute rests, every tenth one 30 minutes (a defrost): the 99th percentile is 30, the 90th 10.
    history, minute = [], 0
    for k in range(300):
        rest = 30 if k % 10 == 0 else 10
        history += [(at(minute - 5000), 90.0), (at(minute - 5000 + 5), 3.0)]
        minute += 5 + rest
    history.append((at(minute - 5000), 90.0))
    limit, _why = causes.off_cycle_limit(PROFILE, history)
    assert limit == timedelta(minutes=30 + 20)


def test_off_cycle_without_enough_history_is_the_default():
    limit, why = causes.off_cycle_limit(PROFILE, cycling(0.1, 15, 25))
    assert limit == timedelta(minutes=60)
    assert why == "the default: the plug has not measured 10 off-cycles over 3 days yet"


def test_off_cycle_set_in_the_profile_wins():
    profile = dataclasses.replace(PROFILE, off_cycle_max=timedelta(minutes=45))
    assert causes.off_cycle_limit(profile, cycling(7, 15, 25)) == (timedelta(minutes=45), "set in the alarm profile")


def test_compressor_resting_longer_than_its_normal_off_cycle_is_stopped():
    power = [(at(0), 90.0), (at(10), 3.0), (at(50), 3.5)]
    limit = (timedelta(minutes=25), "learnt")
    (found,) = causes.compressor_stopped("tasmota:plug-a", power, at(51), PROFILE, limit)
    assert (found.kind, found.severity, found.start, found.end) == ("compressor-stopped", "alarm", at(10), None)
    assert found.title == "Compressor stopped for 41 min"
    assert "its normal off-cycle is at most 25 min (learnt)" in found.detail


def test_normal_rests_are_not_a_stopped_compressor():
    power = cycling(1, 15, 25)
    assert causes.compressor_stopped("p", power, T0, PROFILE, (timedelta(minutes=25), "learnt")) == []


# -- the cause named on the excursion -----------------------------------------------


def excursion(start: datetime) -> Finding:
    return Finding("excursion", "out-of-range", "", "warning", start, None, "Out of range", "Highest 8.4 °C.")


def test_excursion_names_the_cause_that_began_within_the_hour_before():
    door = causes.door_open("d", [(at(0), 1.0)], at(30), PROFILE)[0]
    named = causes.name_cause(excursion(at(14)), [door])
    assert named.detail == "Highest 8.4 °C. Likely cause: door open 14 min before (Door open 30 min so far)."


def test_a_cause_more_than_an_hour_before_is_not_named():
    door = causes.door_open("d", [(at(0), 1.0), (at(10), 0.0)], at(90), PROFILE)[0]
    assert causes.name_cause(excursion(at(75)), [door]).detail == "Highest 8.4 °C."


def test_the_latest_cause_is_named():
    lost = causes.power_lost("p", [(at(0), 0.0)], [], at(40), PROFILE, at(40))[0]
    door = causes.door_open("d", [(at(10), 1.0)], at(40), PROFILE)[0]
    assert "Likely cause: door open 20 min before" in causes.name_cause(excursion(at(30)), [lost, door]).detail


def test_cause_says_the_temperature_it_is_affecting():
    door = causes.door_open("d", [(at(0), 1.0)], at(10), PROFILE)[0]
    assert causes.with_temperature(door, 4.2, 6.9).detail.endswith(
        "The fridge was at 4.2 °C when it began, 6.9 °C now.")
