"""The monthly PDF from literal facts: no database; the same facts give the same bytes."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest

from fridge_monitor.core.charts import Point, Series
from fridge_monitor.reports import monthly as report
from fridge_monitor.reports.monthly.facts import Day, MonthlyLog, Summary
from fridge_monitor.reports.monthly.layout import render
from fridge_monitor.reports.monthly.text import plain

START = datetime(2026, 1, 31, 23, 0, tzinfo=UTC)  # 1 Feb 2026 00:00 in Berlin
END = datetime(2026, 2, 28, 23, 0, tzinfo=UTC)


def a_month(**changes: object) -> MonthlyLog:
    days = tuple(
        Day(date(2026, 2, n), 3.9, 5.1, 48, START + timedelta(days=n - 1), 4.4, 0.0, 0) for n in range(1, 29))
    points = tuple(Point(START + timedelta(hours=h, minutes=30), 4.5, 4.0, 5.0) for h in range(28 * 24) if h % 97)
    log = MonthlyLog(
        site="Praxis Süd", timezone="Europe/Berlin", fridge="Kühlschrank 1", kind="refrigerator", low_c=2.0,
        high_c=8.0, alarm_profile="cdc-refrigerator", profile_rules="heat > 8.0 °C, 60 min", year=2026, month=2,
        start=START, end=END, days=days, chart=(Series("native:k1 (primary)", points),),
        chart_gap=timedelta(minutes=95), excursions=(), lots=(), sensors=(),
        summary=Summary(3.9, 5.1, 4.5, 4.5, 0.0, 0.99, 1344),
        generated_at=datetime(2026, 3, 1, 7, 0, tzinfo=UTC), generated_by="Łukasz − admin",
        audit_head=(7, "ab" * 32),
    )
    return dataclasses.replace(log, **changes)


def test_the_same_facts_give_the_same_pdf():
    first = render(a_month())
    assert first.startswith(b"%PDF-") and first == render(a_month())


def test_text_the_standard_fonts_cannot_show_is_replaced_not_fatal():
    assert plain("Łukasz − admin ≥ 8 °C — ok €") == "?ukasz - admin >= 8 °C - ok €"
    assert render(a_month(fridge="冷蔵庫")).startswith(b"%PDF-")


def test_a_month_without_readings_renders_without_a_chart():
    empty = a_month(chart=(), summary=Summary(None, None, None, None, 0.0, 0.0, 0),
                    days=tuple(dataclasses.replace(d, min_c=None, max_c=None, readings=0, first_at=None, first_c=None)
                               for d in a_month().days))
    assert render(empty).startswith(b"%PDF-")


@pytest.mark.parametrize("text, expected", [("2026-11", (2026, 11)), (" 2026-01 ", (2026, 1))])
def test_months_are_read_as_year_and_month(text, expected):
    assert report.parse_month(text) == expected


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "26-11", "2026/11", "November", ""])
def test_other_month_forms_are_refused_with_the_expected_form(text):
    with pytest.raises(report.ReportError, match="YYYY-MM, for example 2026-11"):
        report.parse_month(text)


def test_file_names_are_safe_everywhere():
    assert report.filename("A1", 2026, 11) == "temperature-log-A1-2026-11.pdf"
    assert report.filename("Kühl/schrank 2", 2026, 2) == "temperature-log-K-hl-schrank-2-2026-02.pdf"
    assert report.filename("../..", 2026, 2) == "temperature-log-fridge-2026-02.pdf"
