from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from fridge_monitor.core.period import PeriodError, parse_period
from fridge_monitor.core.times import iso_utc, today_at


def test_dates_cover_whole_days_in_utc():
    assert parse_period("2026-11-01", "2026-11-30") == (
        datetime(2026, 11, 1, tzinfo=UTC),
        datetime(2026, 12, 1, tzinfo=UTC),
    )


def test_dates_are_read_in_the_given_zone_across_dst():
    berlin = ZoneInfo("Europe/Berlin")
    start, end = parse_period("2026-03-29", "2026-03-29", berlin)  # spring forward: a 23-hour day
    assert start == datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    assert end == datetime(2026, 3, 29, 22, 0, tzinfo=UTC)
    assert (end - start).total_seconds() == 23 * 3600


def test_datetimes_are_exact_bounds():
    assert parse_period("2026-11-25T10:00:00Z", "2026-11-25T12:30:00+01:00") == (
        datetime(2026, 11, 25, 10, 0, tzinfo=UTC),
        datetime(2026, 11, 25, 11, 30, tzinfo=UTC),
    )


@pytest.mark.parametrize(("start", "end", "message"), [
    ("soon", "2026-11-30", "'soon' is not a date"),
    ("2026-11-30", "2026-11-01", "the period is empty"),
])
def test_bad_periods(start, end, message):
    with pytest.raises(PeriodError, match=message):
        parse_period(start, end)


def test_iso_utc_keeps_microseconds_only_when_present():
    assert iso_utc(datetime(2026, 11, 25, 10, 0, tzinfo=UTC)) == "2026-11-25T10:00:00Z"
    berlin = ZoneInfo("Europe/Berlin")
    assert iso_utc(datetime(2026, 11, 25, 11, 0, 0, 500000, tzinfo=berlin)) == "2026-11-25T10:00:00.500000Z"


def test_today_at_a_site_is_its_own_date_and_the_latest_of_several():
    late_in_utc = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    assert today_at(late_in_utc) == date(2026, 11, 30)  # no site: UTC's date
    assert today_at(late_in_utc, "Europe/Berlin") == date(2026, 12, 1)
    assert today_at(late_in_utc, "America/New_York") == date(2026, 11, 30)
    assert today_at(late_in_utc, "America/New_York", "Europe/Berlin") == date(2026, 12, 1)
    early_in_utc = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    assert today_at(early_in_utc, "America/Los_Angeles") == date(2026, 11, 30)
    tokyo_morning = datetime(2026, 12, 1, 5, 0, tzinfo=ZoneInfo("Asia/Tokyo"))  # 20:00 on 30 November in UTC
    assert today_at(tokyo_morning) == date(2026, 11, 30)  # no site: UTC's date, whatever zone the moment is in
