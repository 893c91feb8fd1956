"""Hourly held figures, and period statistics from them, equal to the raw computation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fridge_monitor.core.mkt import arrhenius_weight, mean_kinetic_temperature, mkt_from_sums
from fridge_monitor.core.rollups import HOUR, hour_figures, hour_part, plan
from fridge_monitor.core.stats import figures, part_of, period_stats

T0 = datetime(2026, 3, 1, tzinfo=UTC)
GAP = timedelta(minutes=30)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_an_hour_adds_up_the_steps_that_fall_in_it():
    readings = [(at(600), 4.0), (at(630), 6.0), (at(675), 5.0)]  # 10:00, 10:30, 11:15
    ten, eleven = hour_figures(readings, [at(600), at(660)])
    assert (ten.count, ten.min_c, ten.max_c, ten.sum_c) == (2, 4.0, 6.0, 10.0)
    assert (ten.held_s, ten.held_c_s) == (3600.0, 1800 * 4.0 + 1800 * 6.0)
    assert ten.arrhenius_s == pytest.approx(1800 * arrhenius_weight(4.0) + 1800 * arrhenius_weight(6.0))
    assert (ten.held_min_c, ten.held_min_at, ten.held_max_c, ten.held_max_at) == (4.0, at(600), 6.0, at(630))
    assert ten.longest_step_s == 45 * 60  # 10:30 to 11:15 touches this hour
    # 11:00-11:15 still at 6.0; the reading at 11:15 has no next one yet: it closes no step.
    assert (eleven.count, eleven.held_s, eleven.held_c_s) == (1, 900.0, 900 * 6.0)
    assert (eleven.held_min_c, eleven.held_min_at) == (6.0, at(660))


def test_an_hour_the_readings_skip_is_held_by_the_reading_before_it():
    (nine,) = hour_figures([(at(530), 3.0), (at(610), 3.5)], [at(540)])  # 08:50, then 10:10
    assert (nine.count, nine.min_c, nine.held_s, nine.held_min_c, nine.longest_step_s) == (0, None, 3600.0, 3.0,
                                                                                           80 * 60)


def test_an_hour_is_used_only_when_whole_within_the_gap_and_on_one_side_of_each_limit():
    inside, above, straddling = hour_figures(
        [(at(0), 5.0), (at(20), 6.0), (at(40), 5.5), (at(60), 9.0), (at(90), 9.5), (at(120), 7.0), (at(150), 8.5),
         (at(180), 5.0)], [at(0), at(60), at(120)])
    assert hour_part(inside, 2.0, 8.0, GAP).out_s == 0.0
    assert hour_part(above, 2.0, 8.0, GAP).out_s == 3600.0
    assert hour_part(straddling, 2.0, 8.0, GAP) is None
    assert hour_part(inside, 2.0, 8.0, timedelta(minutes=15)) is None  # a 20-minute step: partly unknown
    (partial,) = hour_figures([(at(10), 5.0), (at(70), 5.0)], [at(0)])
    assert hour_part(partial, 2.0, 8.0, timedelta(hours=2)) is None  # 00:00-00:10 is before any reading


def test_mkt_from_sums_equals_mkt_of_the_samples():
    samples = [(600.0, 2.0), (1800.0, 7.5), (60.0, 25.0), (3600.0, -18.0)]
    seconds = sum(w for w, _ in samples)
    weights = sum(w * arrhenius_weight(c) for w, c in samples)
    assert mkt_from_sums(seconds, weights) == pytest.approx(mean_kinetic_temperature(samples), abs=1e-9)
    with pytest.raises(ValueError):
        mkt_from_sums(0.0, 0.0)


def from_hours(series, start, until, low, high, gap):
    """The statistics as the store makes them: whole hours from their figures, the rest raw."""
    def parts_of(first, end):
        hours = [first + HOUR * k for k in range(int((end - first) / HOUR))]
        return [hour_part(f, low, high, gap) if f.count else None for f in hour_figures(series, hours)]

    pieces, raw = plan(start, until, parts_of)
    used = len(pieces)
    pieces += [part_of(period_stats(series, lo, hi, low, high, gap)) for lo, hi in raw]
    return figures(start, until, pieces), used


# A series in runs: so many readings every so many minutes (120: a silence longer than the gap) around one
# temperature, which may lie inside the range, beyond a limit, or on it.
runs = st.lists(st.tuples(st.integers(1, 40), st.sampled_from([1, 3, 5, 10, 15, 25, 40, 120]),
                          st.sampled_from([1.5, 2.0, 3.25, 5.0, 7.9, 8.0, 8.4, 12.0])), min_size=1, max_size=12)


def series_of(runs_):
    series, minutes = [], 0
    for count, every, celsius in runs_:
        for k in range(count):
            minutes += every
            series.append((at(minutes), celsius + (k % 3) * 0.05))
    return series


@settings(max_examples=300, deadline=None)
@given(runs_=runs, first=st.integers(0, 3000), length=st.integers(0, 4000),
       gap=st.sampled_from([timedelta(minutes=30), timedelta(minutes=60), timedelta(minutes=150)]))
# A day of 5-minute readings inside the range, one hour above it: mostly whole hours.
@example(runs_=[(120, 5, 5.0), (12, 5, 9.0), (200, 5, 5.0)], first=7, length=1500, gap=GAP)
def test_statistics_from_hours_equal_the_raw_computation(runs_, first, length, gap):
    series = series_of(runs_)
    start, until = at(first + 0.5), at(first + 0.5 + length)
    raw = period_stats(series, start, until, 2.0, 8.0, gap)
    found, _ = from_hours(series, start, until, 2.0, 8.0, gap)
    assert (found.min_c, found.min_at, found.max_c, found.max_at) == (raw.min_c, raw.min_at, raw.max_c, raw.max_at)
    assert found.readings == raw.readings
    assert found.known_s == pytest.approx(raw.known_s, abs=1e-6)
    assert found.time_out_of_range_s == pytest.approx(raw.time_out_of_range_s, abs=1e-6)
    if raw.mean_c is None:
        assert found.mean_c is None and found.mkt_c is None
    else:
        assert found.mean_c == pytest.approx(raw.mean_c, abs=1e-9)
        assert found.mkt_c == pytest.approx(raw.mkt_c, abs=1e-9)


def test_a_day_of_regular_readings_is_read_from_its_hours():
    series = [(at(5 * k), 5.0 if k % 120 else 9.0) for k in range(12 * 30)]  # 30 h, a warm reading every 10 h
    found, used = from_hours(series, at(30), at(24 * 60 + 30), 2.0, 8.0, GAP)
    raw = period_stats(series, at(30), at(24 * 60 + 30), 2.0, 8.0, GAP)
    # Of the 23 whole hours, the two with a warm reading (10:00, 20:00) straddle the limit and are read raw.
    assert used == 21
    assert found.time_out_of_range_s == raw.time_out_of_range_s == 2 * 300.0
    assert found.mean_c == pytest.approx(raw.mean_c)
