"""The UTC months that bound the readings partitions, and the names the partitions get."""

from datetime import UTC, date, datetime, timedelta, timezone

from fridge_monitor.store import partitions


def test_a_moment_belongs_to_its_utc_month():
    tokyo = timezone(timedelta(hours=9))
    assert partitions.month_of(datetime(2027, 1, 1, 8, 59, tzinfo=tokyo)) == date(2026, 12, 1)  # 23:59 UTC
    assert partitions.month_of(datetime(2027, 1, 1, 9, 0, tzinfo=tokyo)) == date(2027, 1, 1)


def test_months_add_across_years_both_ways():
    assert partitions.add_months(date(2026, 11, 1), 3) == date(2027, 2, 1)
    assert partitions.add_months(date(2026, 1, 1), -1) == date(2025, 12, 1)
    assert partitions.add_months(date(2026, 12, 1), 0) == date(2026, 12, 1)
    assert partitions.add_months(date(2026, 12, 1), 25) == date(2029, 1, 1)


def test_a_month_is_a_half_open_utc_range():
    assert partitions.bounds(date(2024, 2, 1)) == (datetime(2024, 2, 1, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC))
    assert partitions.bounds(date(2026, 12, 1))[1] == datetime(2027, 1, 1, tzinfo=UTC)


def test_partition_names():
    assert partitions.partition_name(date(2026, 12, 1)) == "readings_y2026m12"
    assert partitions.month_text(date(2026, 3, 1)) == "2026-03"
    for name in ("readings_y2026m12", "readings_y2026m12_2", "readings_default"):
        assert partitions.is_partition_name(name)
    for name in ("readings", "channel_readings", "readings_old", "readings_y2026m1", "readings_y2026m12x"):
        assert not partitions.is_partition_name(name)
