"""Findings for one fridge: excursions, silence, batteries, disagreeing sensors."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from fridge_monitor.core import checks
from fridge_monitor.core.rules import PRESETS, episodes

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
CDC = PRESETS["cdc-refrigerator"]
GAP = timedelta(minutes=35)


def m(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def series(temps: list[float], every: float = 5) -> list[tuple[datetime, float]]:
    return [(m(i * every), t) for i, t in enumerate(temps)]


def sensor(sid: str = "native:p", role: str = "primary", last: datetime | None = None, pct: float | None = None,
           battery_at: datetime | None = None, due: date | None = None) -> checks.SensorState:
    return checks.SensorState(sid, role, m(-600), last, pct, battery_at, due)


def test_a_short_warm_spell_is_an_excursion_warning_without_an_alarm():
    readings = series([5.0, 8.6, 8.9, 8.4, 5.0, 5.0, 5.0, 5.0])  # above 8 for 15 min, then back
    found = checks.excursion_findings(CDC, episodes(CDC, readings, now=m(40)), m(40))
    assert [(f.kind, f.rule, f.severity) for f in found] == [("excursion", "out-of-range", "warning")]
    only = found[0]
    assert (only.start, only.end, only.peak_c, only.low_c) == (m(5), m(20), 8.9, 8.4)
    assert only.title == "Out of range: above 8.0 °C (allowed 2.0 to 8.0 °C)"
    assert only.detail.startswith("Highest 8.9 °C, lowest 8.4 °C; 15 min beyond the limit, 15 min lasted.")


def test_sixty_minutes_above_8_adds_the_heat_alarm():
    readings = series([5.0] + [9.0] * 13)  # 9.0 from minute 5 to 65 (held to now)
    found = checks.excursion_findings(CDC, episodes(CDC, readings, now=m(65)), m(65))
    assert [(f.rule, f.severity) for f in found] == [("out-of-range", "warning"), ("heat", "alarm")]
    assert found[1].title == "Heat alarm: above 8.0 °C for 60 min"
    assert found[1].end is None


def test_fifty_nine_minutes_is_no_heat_alarm():
    readings = series([5.0] + [9.0] * 12)  # last reading at 60, held to now = 64: 59 min beyond
    found = checks.excursion_findings(CDC, episodes(CDC, readings, now=m(64)), m(64))
    assert [f.rule for f in found] == ["out-of-range"]


def test_describe_rule_reads_like_the_label():
    heat, freeze = PRESETS["cdc-refrigerator"].rules
    assert checks.describe_rule(heat) == "above 8.0 °C for 60 min"
    assert checks.describe_rule(freeze) == "below 2.0 °C"
    assert checks.describe_rule(PRESETS["who-30dtr"].rules[0]) == "at or above 8.0 °C for 10 h"
    assert checks.describe_rule(PRESETS["cdc-freezer"].rules[0]) == "at or above -15.0 °C for 60 min"


def test_silence_starts_after_the_allowed_gap():
    quiet = sensor(last=m(0))
    assert checks.no_data_findings([quiet], m(-600), m(35), GAP) == []
    found = checks.no_data_findings([quiet], m(-600), m(35.5), GAP)
    assert [(f.kind, f.rule, f.subject, f.severity, f.start) for f in found] == [
        ("no-data", "silence", "native:p", "alarm", m(35))]


def test_a_fridge_without_sensors_is_not_monitored():
    found = checks.no_data_findings([], m(0), m(40), GAP)
    assert [(f.rule, f.start, f.title) for f in found] == [("no-sensor", m(35), "No sensor assigned: not monitored")]


def test_a_sensor_that_never_reported_is_silent_from_its_assignment():
    found = checks.no_data_findings([sensor(last=None)], m(-600), m(0), GAP)
    assert found[0].start == m(-565)
    assert "never sent a reading" in found[0].detail


def test_low_battery_with_a_recovery_margin():
    weak = sensor(pct=19.0, battery_at=m(0))
    assert [f.severity for f in checks.battery_findings([weak], 20.0)] == ["warning"]
    recovering = sensor(pct=22.0, battery_at=m(5))
    assert checks.battery_findings([recovering], 20.0) == []  # never was low
    assert len(checks.battery_findings([recovering], 20.0, frozenset({"native:p"}))) == 1  # 22 < 20 + 5
    assert checks.battery_findings([sensor(pct=25.0, battery_at=m(9))], 20.0, frozenset({"native:p"})) == []


def test_disagreement_series_pairs_fresh_values_only():
    primary = [(m(0), 4.0), (m(10), 4.0)]
    backup = [(m(5), 6.5), (m(60), 6.5)]
    assert checks.disagreement_series(primary, backup, GAP) == [(m(5), 2.5), (m(10), 2.5)]


def test_sensors_disagreeing_for_30_minutes_warn_once():
    primary = series([4.0] * 13)  # 0..60 every 5 min
    backup = series([4.2] * 2 + [5.6] * 8 + [4.3] * 3)  # 1.6 °C apart from minute 10 to 45
    found = checks.disagreement_findings("native:p", "native:b", primary, backup, m(60), GAP, 1.0,
                                         timedelta(minutes=30))
    assert [(f.kind, f.subject, f.start, f.end) for f in found] == [
        ("sensor-disagreement", "native:b", m(10), m(50))]
    assert found[0].detail.startswith("The primary and backup sensors differed by up to 1.6 °C")
    shorter = checks.disagreement_findings("native:p", "native:b", primary, backup[:7] + [(m(35), 4.3)], m(60),
                                           GAP, 1.0, timedelta(minutes=30))
    assert shorter == []  # 25 minutes apart is not enough
