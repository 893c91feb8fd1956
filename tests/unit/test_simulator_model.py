"""The simulator's fridge physics and scenarios, with literal seeds: no I/O, no clock."""

from __future__ import annotations

import math
import random

import pytest

from sensors.device import Device, FridgePlan
from sensors.model import Environment, FridgeModel, FridgeParams, quantise

SEEDS = [1, 2, 3]


def temperature_trace(plan: FridgePlan, *, seed: int, hours: float,
                      interval_s: float = 60.0) -> list[tuple[float, float | None]]:
    """(minutes since start, reading or None when dark) for every slot of a device."""
    device = Device(plan, seed=seed, sim_start_s=0.0, interval_s=interval_s)
    points = []
    for _ in range(int(hours * 3600 / interval_s)):
        slot = device.take_slot()
        points.append((slot.time_s / 60.0, slot.sample.temperature_c if slot.sample else None))
    return points


def trace(scenario: str, seed: int, hours: float = 24, **plan: float) -> list[tuple[float, float | None]]:
    return temperature_trace(FridgePlan("sim-fridge-1", scenario, "native", **plan), seed=seed, hours=hours)


def readings(points: list[tuple[float, float | None]], after_min: float = 0.0) -> list[float]:
    return [value for minute, value in points if value is not None and minute >= after_min]


def longest_run_min(points: list[tuple[float, float | None]], predicate) -> float:  # noqa: ANN001
    """Longest stretch of consecutive one-minute readings satisfying ``predicate``."""
    best = current = 0
    for _, value in points:
        current = current + 1 if value is not None and predicate(value) else 0
        best = max(best, current)
    return float(best)


def crossings(values: list[float], threshold: float) -> int:
    return sum(1 for a, b in zip(values, values[1:], strict=False) if (a >= threshold) != (b >= threshold))


# -- the physics ----------------------------------------------------------------


def test_quantise_to_sensor_resolution() -> None:
    assert quantise(4.349, 0.1) == 4.3
    assert quantise(4.351, 0.1) == 4.4
    assert quantise(-0.04, 0.1) == 0.0
    assert quantise(4.33, 0.0625) == 4.3125
    assert quantise(-20.03, 0.0625) == -20.0


def test_default_fridge_thermostat_and_evaporator() -> None:
    params = FridgeParams()
    assert (params.cut_out_c, params.set_point_c, params.cut_in_c) == (4.0, 5.0, 6.0)
    assert params.evaporator_c == -10.0
    assert params.cool_tau_min == pytest.approx(15 / (0.25 + 17 / 130))


def quiet_model(air_c: float) -> FridgeModel:
    model = FridgeModel(FridgeParams(noise_sd_c=0.0), random.Random(0))
    model.air_c = model.probe_c = air_c
    return model


def test_compressor_pulls_down_a_quarter_degree_a_minute_at_the_set_point() -> None:
    model = quiet_model(5.0)
    model.advance_to(60, lambda t: Environment(thermostat_stuck_on=True, door_rate_per_h=0))
    assert model.air_c == pytest.approx(4.75, abs=0.01)


def test_without_compressor_the_cabinet_warms_toward_the_room() -> None:
    model = quiet_model(5.0)
    model.advance_to(3600, lambda t: Environment(compressor_works=False, door_rate_per_h=0))
    assert model.air_c == pytest.approx(22 - 17 * math.exp(-60 / 130), abs=0.01)
    assert model.probe_c < model.air_c, "the buffered probe lags behind the warming air"


def test_probe_follows_the_air_with_a_first_order_lag() -> None:
    model = quiet_model(5.0)
    model.air_c = 11.0  # a sudden step, e.g. right after a long door opening
    model.advance_to(10, lambda t: Environment(compressor_works=False, door_rate_per_h=0))
    assert 5.0 < model.probe_c < 5.4
    assert model.measure() == quantise(model.probe_c, 0.1)


def test_thermostat_cycles_between_cut_out_and_cut_in() -> None:
    model = quiet_model(5.0)
    air = []
    for minute in range(1, 6 * 60):
        model.advance_to(minute * 60, lambda t: Environment(door_rate_per_h=0))
        air.append(model.air_c)
    assert min(air[60:]) == pytest.approx(4.0, abs=0.1)
    assert max(air[60:]) == pytest.approx(6.0, abs=0.1)
    assert crossings(air, 5.0) >= 20


def test_door_openings_form_a_poisson_process_with_the_given_rate() -> None:
    model = FridgeModel(FridgeParams(), random.Random(42))
    model.advance_to(100 * 3600, lambda t: Environment(door_rate_per_h=4.0, door_open_s=(30, 180)))
    assert 340 <= model.door_openings <= 460  # 400 expected, sd 20


def test_the_same_seed_gives_the_same_trace() -> None:
    assert trace("door-open", seed=7, hours=6) == trace("door-open", seed=7, hours=6)
    assert trace("door-open", seed=7, hours=6) != trace("door-open", seed=8, hours=6)


# -- the scenarios over 24 simulated hours -------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_normal_stays_within_2_to_8_for_24_hours(seed: int) -> None:
    values = readings(trace("normal", seed))
    assert len(values) == 24 * 60
    assert 2.0 < min(values) and max(values) < 8.0
    assert 4.0 <= min(values) and max(values) <= 6.5, "a healthy fridge hugs its 5 °C set point"
    assert max(values) - min(values) >= 0.8, "the compressor cycle shows in the trace"


@pytest.mark.parametrize("seed", SEEDS)
def test_compressor_failure_rises_above_8_and_stays_there(seed: int) -> None:
    points = trace("compressor-failure", seed)
    before = readings([p for p in points if p[0] < 30])
    assert max(before) < 8.0, "fine until the onset at 30 minutes"
    first_above = next(minute for minute, value in points if value is not None and value > 8.0)
    assert 30 < first_above < 90
    assert min(readings(points, after_min=first_above)) > 8.0
    assert longest_run_min(points, lambda v: v > 8.0) > 60
    assert readings(points)[-1] > 20.0, "ends near room temperature"


@pytest.mark.parametrize("seed", SEEDS)
def test_freeze_drops_below_2_and_below_0(seed: int) -> None:
    points = trace("freeze", seed)
    values = readings(points)
    assert min(values) < 0.0
    assert max(values) < 8.0
    assert longest_run_min(points, lambda v: v < 2.0) > 60
    assert readings(points, after_min=120)[-1] < 0.0, "stays frozen: the thermostat is stuck"


@pytest.mark.parametrize("seed", SEEDS)
def test_flapping_hovers_at_8_and_crosses_it_repeatedly(seed: int) -> None:
    values = readings(trace("flapping", seed), after_min=60)
    assert sum(values) / len(values) == pytest.approx(8.0, abs=0.2)
    assert 7.2 <= min(values) and max(values) <= 8.8
    assert crossings(values, 8.0) >= 50


@pytest.mark.parametrize("seed", SEEDS)
def test_door_open_spikes_recover(seed: int) -> None:
    values = readings(trace("door-open", seed))
    spikes = recoveries = 0
    warm = False
    for value in values:
        if not warm and value >= 7.0:
            warm, spikes = True, spikes + 1
        elif warm and value < 6.0:
            warm, recoveries = False, recoveries + 1
    assert spikes >= 5, "frequent openings show as warm spikes"
    assert recoveries >= spikes - 1, "each spike comes back down"
    assert max(values) < 15.0
    assert sum(1 for v in values if v >= 8.0) < len(values) / 4, "mostly in range between spikes"
    assert max(readings(trace("normal", seed))) < 7.0, "a normal day has no such spikes"


def test_one_long_door_opening_spikes_and_recovers() -> None:
    model = quiet_model(5.0)
    probe = []
    for minute in range(1, 61):
        model.advance_to(minute * 60, lambda t: Environment(door_ajar=t < 180, door_rate_per_h=0))
        probe.append(model.probe_c)
    peak = probe.index(max(probe))
    assert max(probe) > 7.0
    assert peak < 10
    assert min(probe[peak : peak + 30]) < 6.0


@pytest.mark.parametrize("seed", SEEDS)
def test_power_outage_goes_dark_then_resumes_warmer(seed: int) -> None:
    points = trace("power-outage", seed)
    dark = [minute for minute, value in points if value is None]
    assert dark == [float(m) for m in range(30, 90)], "silent from the onset for the 60-minute outage"
    after = readings(points, after_min=90)
    assert after[0] > 8.0, "without power the cabinet warmed"
    assert max(after[60:]) < 6.5, "the compressor pulls it back down within the hour"


def test_outage_onset_and_length_come_from_the_plan() -> None:
    points = trace("power-outage", 1, hours=1, onset_s=600, outage_s=300)
    assert [minute for minute, value in points if value is None] == [10.0, 11.0, 12.0, 13.0, 14.0]


@pytest.mark.parametrize("seed", SEEDS)
def test_backlog_outage_hides_an_excursion(seed: int) -> None:
    values = readings(trace("backlog", seed, hours=3))
    assert len(values) == 180, "the device keeps measuring while its Wi-Fi is down"
    assert max(values) > 8.0, "the door was left ajar while nobody could see"
    assert max(values[120:]) < 6.5


def test_freezer_variant_cycles_around_minus_20() -> None:
    plan = FridgePlan("sim-freezer-1", "normal", "native", set_point_c=-20.0, low_c=-50.0, high_c=-15.0)
    values = readings(temperature_trace(plan, seed=1, hours=24))
    assert -22.0 < min(values) and max(values) < -18.0
    failing = FridgePlan("sim-freezer-1", "compressor-failure", "native", set_point_c=-20.0, low_c=-50.0, high_c=-15.0)
    points = temperature_trace(failing, seed=1, hours=6)
    assert longest_run_min(points, lambda v: v >= -15.0) > 60
