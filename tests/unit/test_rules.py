import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fridge_monitor.core.intervals import Interval, intervals
from fridge_monitor.core.profile_definitions import profile_from_config
from fridge_monitor.core.rules import (
    PRESETS,
    AlarmProfile,
    ProfileError,
    Rule,
    daily_time_out_of_range,
    days_out_of_range,
    episodes,
)

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
CDC = PRESETS["cdc-refrigerator"]
FREEZER = PRESETS["cdc-freezer"]
WHO = PRESETS["who-30dtr"]
GAP = timedelta(minutes=35)


def m(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def series(values, every=5, start=0):
    """Readings every ``every`` minutes from ``m(start)``."""
    return [(m(start + i * every), v) for i, v in enumerate(values)]


def kinds(found, kind):
    return [e for e in found if e.kind == kind]


# --- presets and thresholds --------------------------------------------------------------------------

def test_presets():
    assert (CDC.low_c, CDC.high_c) == (2.0, 8.0)
    assert [(r.name, r.direction, r.threshold_c, r.inclusive, r.duration) for r in CDC.rules] == [
        ("heat", "high", 8.0, False, timedelta(minutes=60)), ("freeze", "low", 2.0, False, timedelta(0))]
    assert (FREEZER.low_c, FREEZER.high_c) == (-50.0, -15.0)
    assert [(r.name, r.threshold_c, r.inclusive, r.duration) for r in FREEZER.rules] == [
        ("heat", -15.0, True, timedelta(minutes=60))]
    assert [(r.name, r.threshold_c, r.inclusive, r.duration) for r in WHO.rules] == [
        ("heat", 8.0, True, timedelta(hours=10)), ("freeze", -0.5, True, timedelta(minutes=60))]
    assert all(r.severity == "alarm" and r.mode == "continuous" for p in PRESETS.values() for r in p.rules)
    assert (CDC.hysteresis_c, CDC.clear_delay, CDC.allowed_gap, CDC.low_battery_pct) == (
        0.3, timedelta(minutes=10), timedelta(minutes=35), 20.0)


def test_threshold_comparisons():
    heat, freeze = CDC.rules
    assert not heat.beyond(8.0) and heat.beyond(8.01)
    assert not freeze.beyond(2.0) and freeze.beyond(1.99)
    assert WHO.rules[0].beyond(8.0) and WHO.rules[1].beyond(-0.5) and not WHO.rules[1].beyond(-0.49)
    assert FREEZER.rules[0].beyond(-15.0)
    assert heat.recovered(7.7, 0.3) and not heat.recovered(7.75, 0.3)
    assert freeze.recovered(2.3, 0.3) and not freeze.recovered(2.2, 0.3)
    assert CDC.in_range(2.0) and CDC.in_range(8.0) and not CDC.in_range(8.01)


# --- CDC refrigerator ---------------------------------------------------------------------------------

def test_cdc_heat_alarm_at_exactly_60_minutes():
    readings = series([8.5] * 60 + [5.0], every=1)  # 8.5 from 0 to 59, back to 5.0 at 60
    heat = kinds(episodes(CDC, readings, now=m(120)), "heat")
    assert len(heat) == 1
    assert heat[0].alarm_at == m(60)
    assert heat[0].start == m(0) and heat[0].end == m(60)
    assert heat[0].time_beyond == timedelta(minutes=60)
    assert (heat[0].peak_c, heat[0].low_c, heat[0].readings_count) == (8.5, 8.5, 60)


def test_cdc_heat_59_minutes_is_no_alarm_and_61_is():
    short = kinds(episodes(CDC, series([8.5] * 59 + [5.0], every=1), now=m(240)), "heat")
    assert len(short) == 1 and short[0].alarm_at is None and short[0].end == m(59)
    assert short[0].time_beyond == timedelta(minutes=59)
    long = kinds(episodes(CDC, series([8.5] * 61 + [5.0], every=1), now=m(240)), "heat")
    assert long[0].alarm_at == m(60)


def test_cdc_heat_alarm_comes_from_time_passing():
    readings = series([8.5] * 12)  # every 5 min from 0 to 55; the last one holds on
    assert kinds(episodes(CDC, readings, now=m(59)), "heat")[0].alarm_at is None
    found = episodes(CDC, readings, now=m(60))
    heat = kinds(found, "heat")[0]
    assert heat.alarm_at == m(60) and heat.end is None
    excursion = kinds(found, "excursion")[0]
    assert excursion.severity == "warning" and excursion.alarm_at == m(0) and excursion.end is None


def test_cdc_freeze_at_a_single_reading():
    readings = series([5.0, 1.9, 5.0])
    found = episodes(CDC, readings, now=m(5))
    freeze = kinds(found, "freeze")
    assert len(freeze) == 1 and freeze[0].alarm_at == m(5) and freeze[0].end is None
    assert (freeze[0].peak_c, freeze[0].low_c) == (1.9, 1.9)
    later = episodes(CDC, readings, now=m(60))
    freeze = kinds(later, "freeze")[0]
    assert (freeze.start, freeze.end, freeze.alarm_at) == (m(5), m(10), m(5))
    assert freeze.time_beyond == timedelta(minutes=5)
    assert [e.kind for e in later] == ["excursion", "freeze"]
    assert kinds(later, "heat") == []


def test_exactly_8_is_in_range_for_cdc_but_fires_who_heat_after_10_hours():
    readings = series([8.0] * 41, every=15)  # 10 h at 8.0
    assert episodes(CDC, readings, now=m(600)) == []
    assert kinds(episodes(WHO, readings, now=m(599)), "heat")[0].alarm_at is None
    heat = kinds(episodes(WHO, readings, now=m(600)), "heat")
    assert len(heat) == 1 and heat[0].alarm_at == m(600)
    assert kinds(episodes(WHO, readings, now=m(600)), "excursion") == []  # 8.0 is inside 2–8


def test_who_heat_10_hours_broken_by_one_in_range_reading():
    values = [8.5] * 41
    values[20] = 7.9  # at 5 h: inside, though not by the hysteresis margin
    readings = series(values, every=15)
    heat = kinds(episodes(WHO, readings, now=m(600)), "heat")
    assert len(heat) == 1  # one episode: 7.9 does not clear it...
    assert heat[0].alarm_at is None  # ...but it breaks the continuous stretch
    assert heat[0].time_beyond == timedelta(minutes=585)
    assert heat[0].low_c == 7.9
    # The stretch restarted at 5 h 15 min; it completes 10 h later if the heat goes on.
    more = series([8.5] * 40, every=15, start=615)
    assert kinds(episodes(WHO, readings + more, now=m(1200)), "heat")[0].alarm_at == m(315 + 600)


def test_who_freeze_60_minutes_and_freezer_heat_inclusive():
    freeze = kinds(episodes(WHO, series([-0.5] * 13), now=m(60)), "freeze")
    assert freeze[0].alarm_at == m(60)
    assert kinds(episodes(WHO, series([-0.4] * 13), now=m(60)), "freeze") == []
    heat = kinds(episodes(FREEZER, series([-15.0] * 13), now=m(60)), "heat")
    assert heat[0].alarm_at == m(60)
    assert episodes(FREEZER, series([-15.1] * 13), now=m(60)) == []


# --- hysteresis and clear delay -------------------------------------------------------------------------

def test_flapping_around_8_gives_one_episode():
    readings = series([8.1, 7.9] * 24 + [5.0] * 6)  # 4 h of flapping, then settled
    found = episodes(CDC, readings, now=m(290))
    excursion = kinds(found, "excursion")
    assert len(excursion) == 1
    # It ended when the temperature came back inside for good: the last 7.9 at 3 h 55 min, followed by 5.0.
    assert (excursion[0].start, excursion[0].end) == (m(0), m(235))
    assert excursion[0].time_beyond == timedelta(minutes=120)
    assert (excursion[0].peak_c, excursion[0].low_c, excursion[0].readings_count) == (8.1, 7.9, 47)
    heat = kinds(found, "heat")
    assert len(heat) == 1 and heat[0].alarm_at is None  # never 60 min in one stretch


def test_brief_dips_below_the_margin_do_not_clear():
    # 7.6 is back inside by the margin, but only for 5 min each time: the clear delay is 10 min.
    readings = series([8.4, 7.6] * 12)
    assert len(kinds(episodes(CDC, readings, now=m(115)), "excursion")) == 1


def test_an_episode_clears_after_the_clear_delay():
    readings = series([9.0, 7.5])
    assert kinds(episodes(CDC, readings, now=m(14)), "excursion")[0].end is None
    assert kinds(episodes(CDC, readings, now=m(15)), "excursion")[0].end == m(5)
    # A second excursion after a cleared one is a new episode.
    readings += series([9.5, 5.0], start=30)
    found = kinds(episodes(CDC, readings, now=m(60)), "excursion")
    assert [(e.start, e.end, e.peak_c) for e in found] == [(m(0), m(5), 9.0), (m(30), m(35), 9.5)]


def test_episode_mkt_is_time_weighted():
    found = kinds(episodes(CDC, series([9.0, 11.0, 5.0]), now=m(30)), "excursion")[0]
    assert found.end == m(10)
    assert found.mkt_c == pytest.approx(10.05, abs=0.01)


# --- gaps --------------------------------------------------------------------------------------------

def test_intervals_hold_until_the_next_reading_capped_at_the_gap():
    readings = [(m(0), 9.0), (m(20), 9.0), (m(90), 9.0), (m(125), 4.0)]
    assert intervals(readings, m(140), GAP) == [
        Interval(m(0), m(20), 9.0),
        Interval(m(20), m(55), 9.0),
        Interval(m(55), m(90), None),
        Interval(m(90), m(125), 9.0),  # exactly the allowed gap: all known
        Interval(m(125), m(140), 4.0),
    ]
    assert intervals(readings, m(200), GAP)[-1] == Interval(m(160), m(200), None)
    assert intervals([], m(0), GAP) == []


def test_a_hole_between_readings_beyond_counts_toward_the_alarm():
    readings = [(m(0), 9.0), (m(20), 9.0), (m(90), 9.0), (m(110), 9.0)]
    heat = kinds(episodes(CDC, readings, now=m(140)), "heat")
    assert len(heat) == 1
    # 55 known + 35 unknown (beyond on both sides: the safe assumption) + 50 known.
    assert (heat[0].time_beyond, heat[0].unknown) == (timedelta(minutes=140), timedelta(minutes=35))
    assert heat[0].alarm_at == m(60)  # one stretch, the hole included


def test_a_hole_before_a_reading_inside_is_not_counted():
    readings = [(m(0), 9.0), (m(20), 9.0), (m(90), 5.0)]
    heat = kinds(episodes(CDC, readings, now=m(140)), "heat")[0]
    assert (heat.time_beyond, heat.unknown, heat.alarm_at, heat.end) == (timedelta(minutes=55), timedelta(0),
                                                                         None, m(90))


def test_unknown_time_is_not_recovery():
    # Back at 5.0, then silence: the clear delay needs known time inside.
    readings = [(m(0), 9.0), (m(5), 5.0), (m(300), 5.0)]
    assert kinds(episodes(CDC, readings, now=m(300)), "excursion")[0].end == m(5)  # 5.0 held 35 min
    short_gap = AlarmProfile("short", 2.0, 8.0, allowed_gap=timedelta(minutes=5))
    assert episodes(short_gap, readings, now=m(320))[0].end is None  # one 5.0 reading holds only 5 min
    readings.append((m(305), 5.0))
    assert episodes(short_gap, readings, now=m(309))[0].end is None
    assert episodes(short_gap, readings, now=m(310))[0].end == m(300)


# --- order, late readings, restart ------------------------------------------------------------------------

def test_out_of_order_input_gives_the_same_result():
    readings = series([5.0, 8.4, 9.1, 7.9, 8.8, 1.5, 2.1, 7.5, 5.0, 5.0, 8.05] + [8.5] * 14)
    shuffled = readings[:]
    random.Random(4).shuffle(shuffled)
    assert shuffled != readings
    assert episodes(CDC, shuffled, now=m(200)) == episodes(CDC, readings, now=m(200))


def test_duplicate_times_keep_the_first():
    assert episodes(CDC, [(m(0), 5.0), (m(0), 9.0)], now=m(10)) == []
    assert episodes(CDC, [(m(0), 9.0), (m(0), 5.0)], now=m(10))[0].peak_c == 9.0


def test_readings_after_now_are_not_yet_considered():
    assert episodes(CDC, [(m(0), 5.0), (m(10), 9.0)], now=m(5)) == []


def test_late_readings_reveal_a_hidden_excursion():
    before = series([5.0] * 12) + series([5.0] * 12, start=125)  # nothing from 60 to 120: unknown
    assert episodes(CDC, before, now=m(180)) == []
    backlog = series([9.0] * 13, start=60)  # uploaded later: 9.0 from 60 to 120
    found = episodes(CDC, before + backlog, now=m(180))
    heat = kinds(found, "heat")[0]
    assert (heat.start, heat.end, heat.alarm_at, heat.peak_c) == (m(60), m(125), m(120), 9.0)
    assert kinds(found, "excursion")[0].start == m(60)
    # Evaluating again (a restart) finds exactly the same episodes.
    assert episodes(CDC, list(reversed(before + backlog)), now=m(180)) == found


# --- cumulative rules ----------------------------------------------------------------------------------

WARM_DAY = AlarmProfile("warm-day", 2.0, 8.0, (
    Rule("warm-day", "high", 8.0, "cumulative", timedelta(hours=10), timedelta(hours=24), "alarm"),))


def stretches(starts_h, hours=3, warm=9.0, cool=5.0, total_h=48):
    """Readings every 15 min: ``warm`` for ``hours`` from each start, ``cool`` otherwise."""
    values = []
    for i in range(total_h * 4 + 1):
        hour = i / 4
        values.append(warm if any(s <= hour < s + hours for s in starts_h) else cool)
    return series(values, every=15)


def test_cumulative_rule_adds_up_several_stretches():
    readings = stretches([0, 5, 10, 15])  # 3 h warm, 2 h cool; 10 h reached 1 h into the 4th
    found = kinds(episodes(WARM_DAY, readings, now=m(48 * 60)), "warm-day")
    assert [e.start for e in found] == [m(0), m(300), m(600), m(900)]
    assert [e.alarm_at for e in found] == [None, None, None, m(16 * 60)]
    assert all(e.time_beyond == timedelta(hours=3) and e.end is not None for e in found)


def test_cumulative_rule_only_counts_within_the_window():
    readings = stretches([0, 12, 24, 36])  # never more than 6 h warm in any 24 h
    found = kinds(episodes(WARM_DAY, readings, now=m(48 * 60)), "warm-day")
    assert len(found) == 4 and all(e.alarm_at is None for e in found)


def test_cumulative_budget_spent_alarms_at_the_next_stretch_start():
    readings = stretches([0, 4, 8, 12])  # 3 h warm, 1 h cool: 10 h reached 1 h into the 4th
    found = kinds(episodes(WARM_DAY, readings, now=m(30 * 60)), "warm-day")
    assert [e.alarm_at for e in found] == [None, None, None, m(13 * 60)]
    readings = stretches([0, 4, 8, 12, 14], hours=1.5)  # 7.5 h in all: no alarm
    assert all(e.alarm_at is None for e in kinds(episodes(WARM_DAY, readings, now=m(30 * 60)), "warm-day"))
    spent = stretches([0, 5, 10, 15, 20])  # the 5th stretch starts with 12 h in its 24 h window: alarm at once
    found = kinds(episodes(WARM_DAY, spent, now=m(30 * 60)), "warm-day")
    assert [e.alarm_at for e in found] == [None, None, None, m(16 * 60), m(20 * 60)]


# --- daily time out of range ---------------------------------------------------------------------------

BERLIN = ZoneInfo("Europe/Berlin")


def warm_days(first: datetime, hours: int, value=9.0):
    return [(first + timedelta(minutes=15 * i), value) for i in range(hours * 4 + 1)]


@pytest.mark.parametrize(("day", "hours"), [
    (date(2026, 3, 29), 23),  # spring forward: local midnight to midnight is 23 h
    (date(2026, 10, 25), 25),  # fall back: 25 h
    (date(2026, 6, 1), 24),
])
def test_daily_time_out_of_range_on_dst_days(day, hours):
    readings = warm_days(datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(days=1), 72)
    assert daily_time_out_of_range(CDC, readings, BERLIN, day, GAP) == timedelta(hours=hours)


def test_daily_time_out_of_range_counts_known_time_only():
    day = date(2026, 3, 29)
    local_midnight = datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    readings = [
        (local_midnight - timedelta(minutes=10), 9.0),  # holds 10 min into the day
        (local_midnight + timedelta(minutes=10), 5.0),
        (local_midnight + timedelta(hours=2), 1.0),  # 35 min known, then unknown until 3 h
        (local_midnight + timedelta(hours=3), 5.0),
        (local_midnight + timedelta(hours=22, minutes=50), 8.5),  # 10 min before the 23-hour day ends
    ]
    assert daily_time_out_of_range(CDC, readings, BERLIN, day, GAP) == timedelta(minutes=10 + 35 + 10)
    # ...and while the day is in progress, nothing beyond now counts.
    now = local_midnight + timedelta(hours=2, minutes=20)
    assert daily_time_out_of_range(CDC, readings, BERLIN, day, GAP, now=now) == timedelta(minutes=10 + 20)



def test_days_out_of_range_splits_one_series_at_each_local_midnight():
    """Three Berlin days from one cut of the series: a warm spell over the first midnight counts on both
    sides of it, a cold one on the spring-forward day, and the day in progress only up to now."""
    first_midnight = datetime(2026, 3, 27, 23, 0, tzinfo=UTC)  # 28 March 00:00 in Berlin (CET)
    second_midnight = datetime(2026, 3, 28, 23, 0, tzinfo=UTC)  # 29 March 00:00, a 23-hour day
    readings = [
        (first_midnight - timedelta(hours=1), 5.0),
        (first_midnight - timedelta(minutes=20), 9.5),  # warm for 30 min: 20 before midnight, 10 after
        (first_midnight + timedelta(minutes=10), 5.0),
        (first_midnight + timedelta(hours=12), 5.0),
        (second_midnight + timedelta(hours=5), 1.5),  # unknown before it (beyond the gap), cold 25 min
        (second_midnight + timedelta(hours=5, minutes=25), 4.0),
        (second_midnight + timedelta(hours=20), 8.5),  # warm from here on
    ]
    now = second_midnight + timedelta(hours=20, minutes=15)
    days = [date(2026, 3, 27), date(2026, 3, 28), date(2026, 3, 29)]
    expected = {days[0]: timedelta(minutes=20), days[1]: timedelta(minutes=10),
                days[2]: timedelta(minutes=25 + 15)}
    assert days_out_of_range(CDC, readings, BERLIN, days, GAP, now=now) == expected
    for day in days:
        assert daily_time_out_of_range(CDC, readings, BERLIN, day, GAP, now=now) == expected[day]


# --- custom profiles -----------------------------------------------------------------------------------

PHARMACY = {
    "name": "pharmacy",
    "low_c": 2.0,
    "high_c": 8.0,
    "hysteresis_c": 0.2,
    "clear_delay_min": 15,
    "allowed_gap_min": 20,
    "rules": [
        {"name": "heat", "direction": "high", "threshold_c": 8.0, "duration_min": 30},
        {"name": "warm-day", "direction": "high", "threshold_c": 8.0, "inclusive": False, "mode": "cumulative",
         "duration_min": 600, "window_min": 1440, "severity": "warning"},
    ],
}


def test_custom_profile_from_config():
    profile = profile_from_config(PHARMACY)
    assert profile == AlarmProfile("pharmacy", 2.0, 8.0, (
        Rule("heat", "high", 8.0, "continuous", timedelta(minutes=30)),
        Rule("warm-day", "high", 8.0, "cumulative", timedelta(hours=10), timedelta(days=1), "warning", False),
    ), 0.2, timedelta(minutes=15), timedelta(minutes=20), 20.0)
    assert profile_from_config({"name": "bare", "low_c": 15, "high_c": 25}).rules == ()


def with_rule(**changes):
    rule = {**PHARMACY["rules"][0], **changes}
    return {**PHARMACY, "rules": [{k: v for k, v in rule.items() if v is not None}]}


@pytest.mark.parametrize(("table", "message"), [
    ({**PHARMACY, "name": ""}, "needs a name"),
    ({k: v for k, v in PHARMACY.items() if k != "high_c"}, "'pharmacy': high_c is required"),
    ({**PHARMACY, "low_c": 8.0, "high_c": 2.0}, "low_c .* must be below high_c"),
    ({**PHARMACY, "low_c": "2"}, "low_c must be a number"),
    ({**PHARMACY, "high_c": True}, "high_c must be a number"),
    ({**PHARMACY, "hysteresis_c": 4.0}, "hysteresis_c must be"),
    ({**PHARMACY, "clear_delay_min": -1}, "clear_delay_min must be"),
    ({**PHARMACY, "allowed_gap_min": 0}, "allowed_gap_min must be"),
    ({**PHARMACY, "low_battery_pct": 150}, "low_battery_pct must be between 0 and 100"),
    ({**PHARMACY, "colour": "red"}, "unknown key 'colour'"),
    ({**PHARMACY, "rules": "heat"}, "rules must be a list"),
    ({**PHARMACY, "rules": [{"direction": "high"}]}, "rule #1 needs a name"),
    (with_rule(direction="up"), "rule 'heat': direction must be 'high' or 'low'"),
    (with_rule(direction=None), "rule 'heat': direction is required"),
    (with_rule(threshold_c="8"), "rule 'heat': threshold_c must be a number"),
    (with_rule(mode="sometimes"), "rule 'heat': mode must be"),
    (with_rule(severity="panic"), "rule 'heat': severity must be"),
    (with_rule(inclusive="yes"), "rule 'heat': inclusive must be true or false"),
    (with_rule(duration_min=-5), "rule 'heat': duration_min must be"),
    (with_rule(window_min=60), "rule 'heat': window_min applies only to a cumulative rule"),
    (with_rule(mode="cumulative"), "rule 'heat': a cumulative rule needs a window_min"),
    (with_rule(mode="cumulative", duration_min=0, window_min=60), "needs a duration_min longer than zero"),
    (with_rule(mode="cumulative", window_min=10), "window_min at least as long"),
    (with_rule(name="excursion"), "'excursion' is reserved"),
    (with_rule(speed=3), "rule 'heat': unknown key 'speed'"),
    ({**PHARMACY, "rules": [PHARMACY["rules"][0]] * 2}, "rule 'heat' is declared twice"),
])
def test_custom_profile_errors_name_the_field(table, message):
    with pytest.raises(ProfileError, match=message) as raised:
        profile_from_config(table)
    if table.get("name"):
        assert str(raised.value).count("alarm profile 'pharmacy'") == 1


# --- properties ----------------------------------------------------------------------------------------

@st.composite
def random_series(draw):
    offsets = draw(st.lists(st.integers(0, 24 * 60), min_size=0, max_size=60, unique=True))
    values = draw(st.lists(st.sampled_from([-1.0, 1.9, 2.0, 2.2, 2.3, 5.0, 7.7, 7.9, 8.0, 8.1, 9.5]),
                           min_size=len(offsets), max_size=len(offsets)))
    return [(m(o), v) for o, v in zip(offsets, values, strict=True)]


PROPERTY_PROFILES = [CDC, WHO, WARM_DAY, AlarmProfile("quick", 2.0, 8.0, (
    Rule("heat", "high", 8.0, duration=timedelta(minutes=20)),
    Rule("cold", "low", 2.0, "cumulative", timedelta(minutes=30), timedelta(hours=2), "warning"),
), clear_delay=timedelta(0), allowed_gap=timedelta(minutes=20))]


def test_episodes_are_consistent_and_order_independent():
    seen: set[str] = set()
    check_episodes_are_consistent_and_order_independent(seen)
    # The loops below check nothing on a series without episodes: the generated series must make them.
    assert "excursion" in seen and seen - {"excursion"}, seen


# Explicit examples, so that every run checks an excursion that raised its alarm whatever the random draw.
HEAT_HOUR = [(m(k), 9.5) for k in range(0, 61, 10)]
COLD_HOUR = [(m(k), -1.0) for k in range(0, 61, 10)]
COLD_TWENTY_MINUTES = [(m(0), -1.0), (m(10), -1.0)] + [(m(k), 5.0) for k in range(20, 61, 10)]


@settings(max_examples=150, deadline=None)
@given(random_series(), st.sampled_from(PROPERTY_PROFILES), st.integers(0, 26 * 60), st.randoms())
@example(HEAT_HOUR, PROPERTY_PROFILES[-1], 120, random.Random(1))
def check_episodes_are_consistent_and_order_independent(seen, readings, profile, now_minutes, rnd):
    now = m(now_minutes)
    found = episodes(profile, readings, now=now)
    shuffled = readings[:]
    rnd.shuffle(shuffled)
    assert episodes(profile, shuffled, now=now) == found
    seen.update(e.kind for e in found)
    for kind in {e.kind for e in found}:
        mine = [e for e in found if e.kind == kind]
        for earlier, later in zip(mine, mine[1:], strict=False):
            assert earlier.end is not None and earlier.end <= later.start
        assert all(e.end is not None for e in mine[:-1])
    for e in found:
        assert e.start <= now and (e.end is None or e.start < e.end <= now)
        assert timedelta(0) <= e.time_beyond <= e.duration(now)
        assert e.readings_count >= 1 and e.low_c <= e.peak_c
        assert e.alarm_at is None or e.start <= e.alarm_at <= (e.end or now)
        if e.kind == "excursion":
            assert e.alarm_at == e.start and e.severity == "warning"


def test_cumulative_alarm_matches_a_minute_by_minute_count():
    """Readings on whole minutes make the window total change only on whole minutes: count it by brute force."""
    alarms: list[datetime | None] = []
    check_cumulative_alarm_matches_a_minute_by_minute_count(alarms)
    # Both outcomes were checked: cold episodes that alarmed and cold episodes that did not.
    assert any(a is not None for a in alarms) and None in alarms, alarms


@settings(max_examples=100, deadline=None)
@given(random_series(), st.integers(0, 26 * 60))
@example(COLD_HOUR, 120)
@example(COLD_TWENTY_MINUTES, 120)
def check_cumulative_alarm_matches_a_minute_by_minute_count(alarms, readings, now_minutes):
    profile = PROPERTY_PROFILES[-1]
    cold = profile.rules[1]
    now = m(now_minutes)
    spans = intervals(readings, now, profile.allowed_gap)

    def counts(i, k):  # known beyond, or unknown between two stretches beyond (missing data is not recovery)
        if k.temp_c is not None:
            return cold.beyond(k.temp_c)
        return (0 < i < len(spans) - 1 and cold.beyond(spans[i - 1].temp_c)
                and spans[i + 1].temp_c is not None and cold.beyond(spans[i + 1].temp_c))

    beyond = [(k.start, k.end) for i, k in enumerate(spans) if counts(i, k)]

    def window_total(x):
        return sum((max(timedelta(0), min(e, x) - max(s, x - cold.window)) for s, e in beyond), timedelta(0))

    for e in kinds(episodes(profile, readings, now=now), "cold"):
        minutes = int(((e.end or now) - e.start) / timedelta(minutes=1))
        expected = next((e.start + timedelta(minutes=k) for k in range(minutes + 1)
                         if window_total(e.start + timedelta(minutes=k)) >= cold.duration), None)
        assert e.alarm_at == expected
        alarms.append(e.alarm_at)
