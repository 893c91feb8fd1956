from datetime import UTC, datetime, timedelta

import pytest

from fridge_monitor.core.products import (
    Product,
    StorageRange,
    beyond_use_at,
    deviation,
    freeze_damage,
    in_range,
    merge_ranges,
)

FRIDGE = StorageRange(2.0, 8.0)
BOTOX = Product("Botox 100 U", (FRIDGE,), beyond_use_hours=24.0, opened_range=FRIDGE)
XEOMIN = Product("Xeomin 100 U", (StorageRange(20.0, 25.0), FRIDGE, StorageRange(-20.0, -10.0)),
                 freezing_allowed=True, beyond_use_hours=24.0, opened_range=FRIDGE)
VARICELLA = Product("Varicella vaccine", (StorageRange(-50.0, -15.0),), freezing_allowed=True,
                    beyond_use_hours=0.5, opened_range=StorageRange(20.0, 25.0))


def test_bounds_are_inclusive():
    assert in_range(BOTOX, 2.0) and in_range(BOTOX, 8.0) and in_range(BOTOX, 5.0)
    assert not in_range(BOTOX, 8.1) and not in_range(BOTOX, 1.9)


def test_any_of_several_ranges_will_do():
    for temperature in (22.0, 25.0, 5.0, -15.0, -20.0):
        assert in_range(XEOMIN, temperature), temperature
    for temperature in (15.0, 9.0, 0.0, -5.0, -25.0, 26.0):
        assert not in_range(XEOMIN, temperature), temperature


def test_deviation_is_signed_distance_to_the_nearest_range():
    assert deviation(BOTOX, 5.0) == 0.0
    assert deviation(BOTOX, 9.5) == pytest.approx(1.5)
    assert deviation(BOTOX, 0.5) == pytest.approx(-1.5)
    assert deviation(XEOMIN, 10.0) == pytest.approx(2.0)    # nearer to 2–8 than to 20–25
    assert deviation(XEOMIN, 17.0) == pytest.approx(-3.0)   # nearer to 20–25
    assert deviation(XEOMIN, -7.0) == pytest.approx(3.0)    # above −20…−10


def test_an_opened_vial_keeps_to_its_opened_range():
    assert in_range(XEOMIN, 22.0) and not in_range(XEOMIN, 22.0, opened=True)
    assert in_range(VARICELLA, 22.0, opened=True) and not in_range(VARICELLA, 22.0)
    no_opened_range = Product("Influenza vaccine", (FRIDGE,))
    assert in_range(no_opened_range, 4.0, opened=True)


def test_freezing_damages_only_products_that_must_not_freeze():
    assert freeze_damage(BOTOX, 0.0) and freeze_damage(BOTOX, -3.0)
    assert not freeze_damage(BOTOX, 0.1)
    assert not freeze_damage(XEOMIN, -15.0)
    careless = Product("typed wrong", (StorageRange(-2.0, 8.0),))
    assert not in_range(careless, -1.0)  # must not freeze, whatever range was typed


def test_beyond_use_time():
    opened = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    assert beyond_use_at(BOTOX, opened) == opened + timedelta(hours=24)
    assert beyond_use_at(VARICELLA, opened) == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    assert beyond_use_at(Product("Tdap vaccine", (FRIDGE,)), opened) is None


def test_ranges_are_validated_and_labelled():
    with pytest.raises(ValueError, match="low to high"):
        StorageRange(8.0, 2.0)
    with pytest.raises(ValueError, match="at least one storage range"):
        Product("nothing", ())
    with pytest.raises(ValueError, match="positive number of hours"):
        Product("odd", (FRIDGE,), beyond_use_hours=0)
    assert XEOMIN.ranges_label == "20 to 25 °C, or 2 to 8 °C, or -20 to -10 °C"
    assert merge_ranges([(2, 8), (-20, -10), (20, 25), (2.0, 8.0)]) == XEOMIN.ranges
