"""A lot's exposure from literal readings and holdings: product range vs fridge range, stays, opened vials."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fridge_monitor.core import exposure
from fridge_monitor.core.lots import Holding
from fridge_monitor.core.products import Product, StorageRange

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
GAP = timedelta(minutes=35)
CLEAR = timedelta(minutes=10)

BOTOX = Product("Botox", (StorageRange(2.0, 8.0),), beyond_use_hours=24.0)
XEOMIN = Product("Xeomin", (StorageRange(20.0, 25.0), StorageRange(2.0, 8.0), StorageRange(-20.0, -10.0)),
                 freezing_allowed=True, beyond_use_hours=24.0, opened_range=StorageRange(2.0, 8.0))


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def every(start: float, end: float, temp: float, step: float = 5) -> list[tuple[datetime, float]]:
    return [(at(start + k * step), temp) for k in range(int((end - start) / step) + 1)]


def held(since: float, until: float | None, quantity: int = 3, opened: int = 0, fridge: int = 1) -> Holding:
    return Holding(fridge, quantity, opened, at(since), at(until) if until is not None else None)


def test_a_lot_in_the_fridge_through_an_excursion_is_exposed_for_the_time_out_of_its_range():
    series = every(0, 55, 5.0) + every(60, 135, 9.5) + every(140, 200, 4.8)
    [found] = exposure.exposures(series, [held(-60, None)], BOTOX, GAP, CLEAR, at(200))
    assert (found.start, found.end, found.out_of_range) == (at(60), at(140), timedelta(minutes=80))
    assert (found.peak_c, found.low_c, found.readings) == (9.5, 9.5, 16)
    assert found.mkt_c == pytest.approx(9.5)


def test_lots_received_after_or_moved_out_before_the_excursion_are_not_exposed():
    series = every(0, 55, 5.0) + every(60, 135, 9.5) + every(140, 300, 4.8)
    assert exposure.exposures(series, [held(150, None)], BOTOX, GAP, CLEAR, at(300)) == []
    assert exposure.exposures(series, [held(-60, 50)], BOTOX, GAP, CLEAR, at(300)) == []


def test_a_lot_received_during_the_excursion_is_exposed_from_its_arrival_and_one_moved_out_until_it_left():
    series = every(0, 55, 5.0) + every(60, 135, 9.5) + every(140, 300, 4.8)
    [arrived] = exposure.exposures(series, [held(97, None)], BOTOX, GAP, CLEAR, at(300))
    assert (arrived.start, arrived.end, arrived.out_of_range) == (at(97), at(140), timedelta(minutes=43))
    [left] = exposure.exposures(series, [held(-60, 72)], BOTOX, GAP, CLEAR, at(300))
    assert (left.start, left.end, left.out_of_range) == (at(60), at(72), timedelta(minutes=12))


def test_a_vial_used_during_the_excursion_does_not_split_the_episode():
    series = every(0, 55, 5.0) + every(60, 135, 9.5) + every(140, 300, 4.8)
    holdings = [held(-60, 90, quantity=3), held(90, None, quantity=2)]
    [found] = exposure.exposures(series, holdings, BOTOX, GAP, CLEAR, at(300))
    assert (found.start, found.end, found.out_of_range) == (at(60), at(140), timedelta(minutes=80))


def test_product_range_not_fridge_range_botox_and_xeomin_in_a_room_cabinet_at_22():
    series = every(0, 240, 22.0)
    [botox] = exposure.exposures(series, [held(0, None)], BOTOX, GAP, CLEAR, at(240))
    assert (botox.start, botox.end, botox.out_of_range, botox.peak_c) == (at(0), None, timedelta(hours=4), 22.0)
    assert exposure.exposures(series, [held(0, None)], XEOMIN, GAP, CLEAR, at(240)) == []


def test_an_opened_xeomin_vial_is_judged_against_its_opened_range():
    series = every(0, 120, 22.0)
    [opened] = exposure.exposures(series, [held(0, 30, quantity=2), held(30, None, quantity=2, opened=1)],
                                  XEOMIN, GAP, CLEAR, at(120))
    assert (opened.start, opened.end, opened.out_of_range) == (at(30), None, timedelta(minutes=90))


def test_a_product_that_must_not_freeze_is_exposed_at_zero_even_if_its_range_were_wider():
    wide = Product("Odd", (StorageRange(-5.0, 8.0),))
    [found] = exposure.exposures(every(0, 30, 5.0) + [(at(35), 0.0)] + every(40, 80, 5.0), [held(0, None)],
                                 wide, GAP, CLEAR, at(80))
    assert (found.start, found.end, found.low_c) == (at(35), at(40), 0.0)


def test_flapping_within_the_clear_delay_is_one_episode_and_unknown_time_is_not_recovery():
    flapping = [(at(k * 5), 8.2 if k % 2 else 7.9) for k in range(12)] + every(60, 120, 5.0)
    [one] = exposure.exposures(flapping, [held(-10, None)], BOTOX, GAP, CLEAR, at(120))
    assert (one.start, one.end, one.out_of_range) == (at(5), at(60), timedelta(minutes=30))
    # 9 °C, then silence for 2 hours, then in range: the episode lasts until the first reading back.
    silent = every(0, 20, 9.0) + every(140, 200, 5.0)
    [gap] = exposure.exposures(silent, [held(-10, None)], BOTOX, GAP, CLEAR, at(200))
    assert (gap.start, gap.end, gap.out_of_range) == (at(0), at(140), timedelta(minutes=25 + 30))


def test_still_going_on_while_the_lot_is_there_and_recovering():
    series = every(0, 30, 9.0) + [(at(35), 5.0)]
    [found] = exposure.exposures(series, [held(-10, None)], BOTOX, GAP, CLEAR, at(40))
    assert found.end is None and found.out_of_range == timedelta(minutes=35)


def test_summary_per_holding_and_overall_mkt():
    series = every(0, 55, 5.0) + every(60, 115, 9.5) + every(120, 175, 5.0)
    first = exposure.temperatures_seen(series, [held(0, 90, quantity=4)], BOTOX, GAP, at(180))
    assert (first.low_c, first.high_c, first.known, first.out_of_range, first.readings) == (
        5.0, 9.5, timedelta(minutes=90), timedelta(minutes=30), 18)
    later = exposure.temperatures_seen(series, [held(120, None, quantity=2)], BOTOX, GAP, at(180))
    assert (later.low_c, later.high_c, later.out_of_range, later.mkt_c) == (5.0, 5.0, timedelta(0), pytest.approx(5.0))
    overall = exposure.overall_mkt([first, later])
    assert 5.0 < overall < 9.5
    assert overall > (60 * 5.0 + 30 * 9.5 + 60 * 5.0) / 150  # MKT is never below the arithmetic mean
    assert exposure.temperatures_seen([], [held(0, None)], BOTOX, GAP, at(60)).mkt_c is None
