"""Period statistics with literal readings: extremes, time-weighted mean, MKT, time out of range, coverage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fridge_monitor.core.stats import combine, period_stats

T0 = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)
GAP = timedelta(minutes=35)
DAY = timedelta(days=1)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def stats(readings, start, end, low=2.0, high=8.0, gap=GAP):
    return period_stats(readings, start, end, low, high, gap)


def test_published_week_of_daily_means():
    """2, 2, 5, 8, 8, 8, 8 °C, one reading a day held for the day: MKT 6.25 °C, mean 5.86 °C."""
    readings = [(T0 + i * DAY, c) for i, c in enumerate((2.0, 2.0, 5.0, 8.0, 8.0, 8.0, 8.0))]
    s = stats(readings, T0, T0 + 7 * DAY, gap=DAY)
    assert s.mkt_c == pytest.approx(6.25, abs=0.01)
    assert s.mean_c == pytest.approx(41 / 7)
    assert (s.min_c, s.max_c, s.time_out_of_range_s, s.coverage) == (2.0, 8.0, 0.0, 1.0)


@pytest.mark.parametrize("celsius", [-20.0, 4.3, 25.0])
def test_a_constant_series_returns_itself(celsius):
    readings = [(at(15 * i), celsius) for i in range(96)]
    s = stats(readings, T0, T0 + DAY)
    assert (s.min_c, s.max_c, s.mean_c, s.mkt_c) == (celsius, celsius, celsius, pytest.approx(celsius, abs=1e-9))
    assert s.coverage == 1.0


def test_time_weighting_with_unequal_intervals():
    """5 °C for 30 min (two readings), then 25 °C for 10 min (one): weighed 3:1 by time, not 2:1 by count.

    3 h at 5 °C and 1 h at 25 °C are worked out by hand in tests/unit/test_mkt.py: 15.13 °C.
    """
    readings = [(at(0), 5.0), (at(10), 5.0), (at(30), 25.0), (at(40), 5.0)]
    s = stats(readings, at(0), at(40), low=2.0, high=30.0)
    assert s.mean_c == pytest.approx((30 * 5 + 10 * 25) / 40)
    assert s.mkt_c == pytest.approx(15.13, abs=0.005)
    assert s.known_s == 2400.0
    by_count = stats([(at(0), 5.0), (at(10), 5.0), (at(20), 25.0)], at(0), at(30), low=2.0, high=30.0)
    # What counting readings (2:1) would give: (2·2.43400e−16 + 2.71451e−15)/3 = 1.06710e−15,
    # ln = −34.47383, 10000/34.47383 = 290.077 K = 16.93 °C.
    assert by_count.mkt_c == pytest.approx(16.93, abs=0.01)


def test_time_out_of_range_counts_the_time_a_reading_holds_outside():
    readings = [(at(0), 5.0), (at(10), 8.5), (at(25), 9.0), (at(40), 7.9), (at(50), 1.5), (at(55), 4.0)]
    s = stats(readings, at(0), at(60))
    assert s.time_out_of_range_s == (15 + 15 + 5) * 60.0
    assert (s.min_c, s.max_c, s.readings) == (1.5, 9.0, 6)


def test_thresholds_are_inside_the_range():
    s = stats([(at(0), 2.0), (at(10), 8.0)], at(0), at(20))
    assert s.time_out_of_range_s == 0.0


def test_gaps_lower_coverage_and_count_nowhere_else():
    # Readings at 0 and 10 min, then silence until 100 min: 35 min held, 55 min unknown.
    readings = [(at(0), 5.0), (at(10), 9.0), (at(100), 5.0)]
    s = stats(readings, at(0), at(120))
    assert s.known_s == (10 + 35 + 20) * 60.0
    assert s.coverage == pytest.approx(65 / 120)
    assert s.time_out_of_range_s == 35 * 60.0  # the unknown 55 minutes are not "out of range"
    assert s.mean_c == pytest.approx((10 * 5 + 35 * 9 + 20 * 5) / 65)


def test_a_period_that_starts_between_readings_takes_the_reading_holding_into_it():
    readings = [(at(-20), 9.0), (at(10), 5.0), (at(40), 5.0)]
    s = stats(readings, at(0), at(60))
    assert s.time_out_of_range_s == 10 * 60.0  # 9 °C holds from 00:00 (the period's start) to 00:10
    assert s.max_c == 9.0
    assert s.coverage == 1.0
    assert s.mean_c == pytest.approx((10 * 9 + 50 * 5) / 60)


def test_a_reading_too_old_to_hold_into_the_period_does_not():
    s = stats([(at(-40), 9.0), (at(10), 5.0)], at(0), at(60))
    assert (s.max_c, s.time_out_of_range_s, s.known_s) == (5.0, 0.0, 35 * 60.0)


def test_readings_after_the_period_do_not_count():
    s = stats([(at(0), 5.0), (at(50), 30.0), (at(70), 30.0)], at(0), at(60))
    assert (s.max_c, s.known_s, s.time_out_of_range_s) == (30.0, 45 * 60.0, 10 * 60.0)
    s = stats([(at(0), 5.0), (at(60), 30.0)], at(0), at(60))
    assert (s.max_c, s.known_s) == (5.0, 35 * 60.0)


def test_no_readings_no_figures():
    s = stats([], at(0), at(60))
    assert (s.min_c, s.max_c, s.mean_c, s.mkt_c, s.time_out_of_range_s, s.coverage) == (
        None, None, None, None, 0.0, 0.0)
    assert stats([], at(0), at(0)).coverage == 0.0


def test_a_period_ending_before_it_starts_is_an_error():
    with pytest.raises(ValueError, match="ends"):
        stats([(at(0), 5.0)], at(10), at(0))


def test_combining_periods_weighs_every_sample_by_its_time():
    first = stats([(at(0), 4.0)], at(0), at(30))  # 30 min at 4 °C
    second = stats([(at(100), 10.0)], at(100), at(200), gap=timedelta(minutes=10))  # 10 of 100 min known
    both = combine([first, second])
    assert (both.start, both.end) == (at(0), at(200))
    assert both.mean_c == pytest.approx((30 * 4 + 10 * 10) / 40)
    assert both.coverage == pytest.approx(40 / 130)
    assert both.time_out_of_range_s == 600.0
    assert (both.min_c, both.max_c) == (4.0, 10.0)
    assert both.mkt_c == pytest.approx(stats([(at(0), 4.0), (at(30), 10.0)], at(0), at(40)).mkt_c)
    with pytest.raises(ValueError):
        combine([])
