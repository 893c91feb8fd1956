"""What an addendum lists: each line of the month that differs from the snapshot its signed copy was made from."""

from fridge_monitor.reports.monthly.snapshot import changes


def test_nothing_changed_means_no_addendum():
    same = {"day 2026-11-01": "min 4.0 °C, max 5.0 °C", "month summary": "348 readings"}
    assert changes(same, dict(same)) == []


def test_added_changed_and_gone_lines_are_each_named_in_today_s_order():
    signed = {"month summary": "348 readings", "day 2026-11-30": "no data", "sensor old": "primary"}
    now = {"month summary": "372 readings", "day 2026-11-30": "no data",
           "excursion heat from 2026-11-30 12:00": "to 13:00, not acknowledged"}
    assert changes(signed, now) == [
        "month summary: was 348 readings; now 372 readings",
        "excursion heat from 2026-11-30 12:00: added: to 13:00, not acknowledged",
        "sensor old: no longer shown (was primary)",
    ]
