"""The simulated clock: fast through the past, then real time, never in the future."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sensors.clock import SimClock

NOW = 1795600800.0  # 2026-11-25T10:00:00Z


def test_speed_one_is_the_wall_clock() -> None:
    clock = SimClock.starting(NOW + 0.7, 1.0)
    assert clock.sim_start_s == NOW
    assert clock.sim_at(NOW + 100) == NOW + 99.3  # whole-second timestamps, a fraction behind
    assert clock.wall_at(NOW + 60) == NOW + 60.7


def test_fast_clock_starts_a_day_ago_and_catches_up() -> None:
    clock = SimClock.starting(NOW, 60.0)
    assert clock.sim_start_s == NOW - 86400
    assert clock.sim_at(NOW + 10) == NOW - 86400 + 600
    assert clock.wall_at(NOW - 86400 + 600) == NOW + 10
    catch_up = NOW + 86400 / 59
    assert clock.catch_up_wall_s == pytest.approx(catch_up)
    assert clock.sim_at(catch_up + 100) == catch_up + 100, "then it keeps real time"
    assert clock.wall_at(catch_up + 100) == catch_up + 100


def test_explicit_start_and_slow_motion() -> None:
    clock = SimClock.starting(NOW, 0.5, start_s=NOW - 3600)
    assert clock.sim_at(NOW + 100) == NOW - 3600 + 50
    assert clock.catch_up_wall_s == math.inf


def test_a_start_in_the_future_or_a_bad_speed_is_refused() -> None:
    with pytest.raises(ValueError, match="in the future"):
        SimClock.starting(NOW, 10.0, start_s=NOW + 60)
    with pytest.raises(ValueError, match="speed must be positive"):
        SimClock.starting(NOW, 0.0)


@given(
    speed=st.floats(min_value=0.01, max_value=1e5),
    lag=st.floats(min_value=0.0, max_value=10 * 86400.0),
    elapsed=st.floats(min_value=0.0, max_value=100 * 86400.0),
)
def test_never_ahead_of_the_wall_and_wall_at_inverts_sim_at(speed: float, lag: float, elapsed: float) -> None:
    clock = SimClock.starting(NOW, speed, start_s=NOW - lag)
    wall = NOW + elapsed
    sim = clock.sim_at(wall)
    assert sim <= wall
    assert clock.wall_at(sim) == pytest.approx(wall, rel=0, abs=1e-3)
    assert clock.sim_at(wall + 1.0) > sim, "time always moves on"
