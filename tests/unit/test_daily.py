"""The daily log's day splitting with literal readings: DST days, the workday's first reading, episodes per day."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from fridge_monitor.config import ConfigError, build_config
from fridge_monitor.core.daily import (
    Occurrence,
    assemble,
    day_bounds,
    days_begun,
    first_at_or_after,
    workday_begins,
)
from fridge_monitor.core.intervals import intervals
from fridge_monitor.core.rollups import distinct_in_order
from fridge_monitor.core.stats import stats_over

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
GAP = timedelta(minutes=35)
HOURLY_GAP = timedelta(minutes=65)  # hourly readings hold until the next
HOUR = timedelta(hours=1)
LATER = datetime(2027, 1, 1, tzinfo=UTC)


def split_days(series, first, last, tz, low_c, high_c, allowed_gap, *, now, workday_start=time(0), excursions=(),
               alerts=()):
    """The log from raw readings, as the store assembles it from rollups and raw stretches: each day's
    statistics over its own stretch of the series, its first reading of the workday."""
    days = days_begun(first, last, tz, now)
    if not days:
        return []
    spans = intervals(series, min(days[-1][2], now), allowed_gap)
    stats = [stats_over(spans, lo, min(hi, now), low_c, high_c) for _, lo, hi in days]
    ordered = distinct_in_order(series)
    firsts = [first_at_or_after(ordered, max(workday_begins(day, tz, workday_start), lo), min(hi, now))
              for day, lo, hi in days]
    return assemble(days, stats, firsts, now=now, excursions=excursions, alerts=alerts)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def hourly(start: datetime, hours: int, celsius: float = 5.0) -> list[tuple[datetime, float]]:
    return [(start + n * HOUR, celsius) for n in range(hours)]


@pytest.mark.parametrize(("tz", "day", "hours"), [
    (BERLIN, date(2026, 3, 29), 23), (BERLIN, date(2026, 10, 25), 25), (BERLIN, date(2026, 7, 1), 24),
    (NEW_YORK, date(2026, 3, 8), 23), (NEW_YORK, date(2026, 11, 1), 25), (NEW_YORK, date(2026, 7, 1), 24),
])
def test_local_days_last_23_24_or_25_hours(tz, day, hours):
    lo, hi = day_bounds(day, tz)
    assert hi - lo == timedelta(hours=hours)
    assert lo.astimezone(tz).time() == time(0) and hi.astimezone(tz).time() == time(0)


@pytest.mark.parametrize(("tz", "days"), [
    (BERLIN, (date(2026, 3, 29), date(2026, 10, 25))),
    (NEW_YORK, (date(2026, 3, 8), date(2026, 11, 1))),
])
def test_hourly_readings_over_dst_days_are_each_counted_once(tz, days):
    for day in days:
        first, last = day - timedelta(days=1), day + timedelta(days=1)
        lo, hi = day_bounds(first, tz)[0], day_bounds(last, tz)[1]
        series = hourly(lo, int((hi - lo) / HOUR))
        log = split_days(series, first, last, tz, 2.0, 8.0, HOURLY_GAP, now=LATER)
        lengths = [d.length / HOUR for d in log]
        assert lengths == [24, 23 if day.month == 3 else 25, 24]
        assert [d.stats.readings for d in log] == lengths
        for d in log:
            assert d.stats.known_s == d.length.total_seconds()  # no missing and no doubled hour
            assert d.stats.coverage == 1.0
            assert d.first_reading == (d.start, 5.0)
            assert d.first_reading[0].astimezone(tz).time() == time(0)
        assert sum(d.stats.known_s for d in log) == (hi - lo).total_seconds()


def test_time_out_of_range_on_the_long_night_counts_the_repeated_hour():
    # Berlin, 25 October 2026: 02:00-03:00 happens twice (00:00-02:00 UTC). Both hours are at 9 °C.
    day = date(2026, 10, 25)
    lo, hi = day_bounds(day, BERLIN)
    series = [(at, 9.0 if utc(2026, 10, 25, 0) <= at < utc(2026, 10, 25, 2) else 5.0)
              for at, _ in hourly(lo - HOUR, 27)]
    [log] = split_days(series, day, day, BERLIN, 2.0, 8.0, HOURLY_GAP, now=LATER)
    assert log.stats.time_out_of_range_s == 2 * 3600.0
    assert (log.stats.min_c, log.stats.max_c) == (5.0, 9.0)


def test_first_reading_of_the_workday():
    day = date(2026, 11, 20)
    lo, _ = day_bounds(day, BERLIN)  # 23:00 UTC the day before
    series = [(lo + timedelta(minutes=m), float(m)) for m in range(7, 24 * 60, 15)]
    [midnight] = split_days(series, day, day, BERLIN, -100.0, 2000.0, GAP, now=LATER)
    assert midnight.first_reading == (lo + timedelta(minutes=7), 7.0)
    [morning] = split_days(series, day, day, BERLIN, -100.0, 2000.0, GAP, now=LATER, workday_start=time(8))
    assert morning.first_reading == (lo + timedelta(hours=8, minutes=7), 487.0)
    assert morning.first_reading[0].astimezone(BERLIN).strftime("%H:%M") == "08:07"
    # No reading after the workday starts: nothing to record, though earlier ones count for min and max.
    [late] = split_days(series[:4], day, day, BERLIN, -100.0, 2000.0, GAP, now=LATER, workday_start=time(8))
    assert late.first_reading is None and late.stats.max_c == 52.0


def test_a_workday_start_the_clocks_skip_falls_just_after_the_jump():
    # Berlin, 29 March 2026: 02:00 jumps to 03:00 (01:00 UTC). 02:30 is read as 03:30 CEST.
    assert workday_begins(date(2026, 3, 29), BERLIN, time(2, 30)) == utc(2026, 3, 29, 1, 30)


def test_two_readings_at_one_instant_the_first_given_is_the_first_reading():
    day = date(2026, 11, 20)
    lo, _ = day_bounds(day, UTC)
    [log] = split_days([(lo, 4.0), (lo, 6.0)], day, day, UTC, 2.0, 8.0, GAP, now=LATER)
    assert log.first_reading == (lo, 4.0)


def test_today_stops_at_now_and_later_days_are_left_out():
    now = utc(2026, 11, 20, 12)
    series = hourly(utc(2026, 11, 19), 37)
    log = split_days(series, date(2026, 11, 19), date(2026, 11, 22), UTC, 2.0, 8.0, HOURLY_GAP, now=now)
    assert [d.day for d in log] == [date(2026, 11, 19), date(2026, 11, 20)]
    today = log[-1]
    assert today.length == timedelta(hours=24)
    assert (today.stats.end, today.stats.period_s, today.stats.coverage) == (now, 12 * 3600.0, 1.0)
    assert today.stats.readings == 12  # the one at 12:00 is now, not yet in the past


def test_a_silent_day_has_no_figures_and_no_coverage():
    [log] = split_days([], date(2026, 11, 20), date(2026, 11, 20), BERLIN, 2.0, 8.0, GAP, now=LATER)
    assert (log.stats.min_c, log.stats.mkt_c, log.stats.coverage, log.first_reading) == (None, None, 0.0, None)


def test_excursions_and_acknowledgements_belong_to_every_day_their_episode_touched():
    tz = UTC
    excursions = [
        Occurrence(utc(2026, 11, 19, 23), utc(2026, 11, 20, 1), "heat"),  # over midnight: both days
        Occurrence(utc(2026, 11, 20, 10), utc(2026, 11, 20, 11), "out-of-range"),
        Occurrence(utc(2026, 11, 20, 22), utc(2026, 11, 21, 0), "freeze"),  # ends exactly at midnight
        Occurrence(utc(2026, 11, 21, 23, 30), None, "heat"),  # still going on
    ]
    alerts = [
        Occurrence(utc(2026, 11, 19, 23), utc(2026, 11, 20, 1), "nurse.ada"),
        Occurrence(utc(2026, 11, 20, 10), utc(2026, 11, 20, 11), "nurse.ada"),
        Occurrence(utc(2026, 11, 20, 10), utc(2026, 11, 20, 11), "biomed.bo"),
        Occurrence(utc(2026, 11, 21, 23, 30), None, "admin.cy"),
        Occurrence(utc(2026, 11, 20, 5), utc(2026, 11, 20, 6), None),  # not acknowledged
    ]
    log = split_days([], date(2026, 11, 19), date(2026, 11, 22), tz, 2.0, 8.0, GAP, now=utc(2026, 11, 22, 6),
                     excursions=excursions, alerts=alerts)
    assert [(d.day.day, d.excursion_rules, d.acknowledged_by) for d in log] == [
        (19, ("heat",), ("nurse.ada",)),
        (20, ("heat", "out-of-range", "freeze"), ("biomed.bo", "nurse.ada")),
        (21, ("heat",), ("admin.cy",)),
        (22, ("heat",), ("admin.cy",)),
    ]


def test_an_instant_episode_touches_its_day():
    e = Occurrence(utc(2026, 11, 20, 0), utc(2026, 11, 20, 0), "freeze")
    assert e.touches(utc(2026, 11, 20), utc(2026, 11, 21))
    assert not e.touches(utc(2026, 11, 19), utc(2026, 11, 20))


def test_workday_start_setting_is_validated_with_one_line():
    assert build_config({"reports": {"workday_start": "08:00"}}, {}, {}, "t.toml").reports["workday_start"] == "08:00"
    assert build_config({}, {}, {}, "t.toml").reports["workday_start"] == "00:00"
    env = {"FRIDGE_MONITOR_REPORTS_WORKDAY_START": "07:30"}
    assert build_config({}, env, {}, "t.toml").reports["workday_start"] == "07:30"
    for bad in ("8:00", "24:00", "08:60", "08:00:00", "morning"):
        with pytest.raises(ConfigError, match=r"\[reports\] workday_start must be a local time of day as HH:MM"):
            build_config({"reports": {"workday_start": bad}}, {}, {}, "t.toml")
