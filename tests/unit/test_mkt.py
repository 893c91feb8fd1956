import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fridge_monitor.core.mkt import mean_kinetic_temperature


def test_equal_intervals_published_vector():
    """The textbook week of daily means 2, 2, 5, 8, 8, 8, 8 °C has an MKT of 6.25 °C (mean 5.86)."""
    samples = [(86400.0, c) for c in (2, 2, 5, 8, 8, 8, 8)]
    assert mean_kinetic_temperature(samples) == pytest.approx(6.25, abs=0.01)


@pytest.mark.parametrize("celsius", [-80.0, -20.0, 0.0, 5.0, 25.0, 40.0])
def test_constant_series_returns_itself(celsius):
    assert mean_kinetic_temperature([(60.0, celsius)] * 5) == pytest.approx(celsius, abs=1e-9)


def test_unequal_weights():
    """3 h at 5 °C and 1 h at 25 °C, worked out by hand.

    exp(−10000/278.15) = 2.43400e−16 and exp(−10000/298.15) = 2.71451e−15;
    weighted mean (3·2.43400e−16 + 2.71451e−15)/4 = 8.61178e−16;
    ln(8.61178e−16) = ln 8.61178 − 16·ln 10 = 2.15313 − 36.84136 = −34.68823;
    10000/34.68823 = 288.282 K = 15.13 °C (arithmetic mean 10 °C).
    """
    assert mean_kinetic_temperature([(3 * 3600.0, 5.0), (3600.0, 25.0)]) == pytest.approx(15.13, abs=0.005)


def test_weights_are_relative():
    one = mean_kinetic_temperature([(3.0, 5.0), (1.0, 25.0)])
    assert mean_kinetic_temperature([(3 * 3600.0, 5.0), (3600.0, 25.0)]) == pytest.approx(one, abs=1e-9)


def test_delta_h_over_r_is_a_parameter():
    # A larger activation energy weighs the warm hour more.
    samples = [(3.0, 5.0), (1.0, 25.0)]
    assert mean_kinetic_temperature(samples, delta_h_over_r=12_000.0) > mean_kinetic_temperature(samples)


def test_zero_weight_samples_are_ignored():
    assert mean_kinetic_temperature([(0.0, 90.0), (10.0, 4.0)]) == pytest.approx(4.0)


@pytest.mark.parametrize("samples", [[], [(0.0, 4.0)], [(0.0, 4.0), (0.0, 5.0)]])
def test_no_weight_is_an_error(samples):
    with pytest.raises(ValueError):
        mean_kinetic_temperature(samples)


@pytest.mark.parametrize("samples", [[(-1.0, 4.0)], [(math.nan, 4.0)], [(1.0, math.inf)], [(1.0, -273.15)]])
def test_impossible_samples_are_errors(samples):
    with pytest.raises(ValueError):
        mean_kinetic_temperature(samples)


@given(st.lists(st.tuples(st.floats(0.001, 1e6), st.floats(-90.0, 60.0)), min_size=1, max_size=40))
def test_mkt_is_at_least_the_arithmetic_mean_and_within_the_extremes(samples):
    mean = math.fsum(w * c for w, c in samples) / math.fsum(w for w, _ in samples)
    mkt = mean_kinetic_temperature(samples)
    assert mkt >= mean - 1e-9
    assert min(c for _, c in samples) <= mkt <= max(c for _, c in samples)
