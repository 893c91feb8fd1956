"""The trend pre-alarm's pieces with literal traces: the current rise, the robust slope, what a fridge usually does,
and a warning only for a rise that goes on past it; and the simulator's defrost cycle."""

from datetime import UTC, datetime, timedelta

from fridge_monitor.core.trend import Normal, current_run, forecast, learn, runs, slope_per_min

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def minutes(values: list[float], start: int = 0) -> list[tuple[datetime, float]]:
    return [(T0 + timedelta(minutes=start + i), v) for i, v in enumerate(values)]


def test_the_current_rise_starts_at_its_lowest_reading_and_survives_small_dips():
    trace = minutes([5.5, 5.0, 4.6, 4.5, 4.6, 4.8, 4.75, 5.0, 5.2])
    run = current_run(trace, 1)
    assert run is not None and (run.start, run.start_c, run.end_c) == (T0 + timedelta(minutes=3), 4.5, 5.2)
    assert current_run(minutes([5.0, 4.8, 4.6]), 1) is None  # falling: no rise
    assert current_run(minutes([5.0, 4.8, 4.6]), -1).start_c == 5.0


def test_a_rise_from_a_plateau_starts_at_the_last_of_its_lowest_readings():
    run = current_run(minutes([4.6, 4.5, 4.6, 4.5, 4.7, 5.0]), 1)
    assert run is not None and (run.start, run.start_c) == (T0 + timedelta(minutes=3), 4.5)


def test_every_completed_run_of_a_history_and_not_the_one_still_going():
    history = minutes([4.0, 4.5, 5.0, 4.6, 4.2, 4.4, 4.9, 5.3, 4.8, 4.9])
    assert [(r.start_c, r.end_c, r.length) for r in runs(history, 1)] == [
        (4.0, 5.0, timedelta(minutes=2)), (4.2, 5.3, timedelta(minutes=3))]
    assert [(r.start_c, r.end_c, r.length) for r in runs(history, -1)] == [(5.0, 4.2, timedelta(minutes=2))]


def test_the_slope_ignores_one_spike():
    steady = [4.0 + 0.1 * i for i in range(11)]
    steady[5] = 9.0  # a door opening's spike
    assert abs(slope_per_min(minutes(steady)) - 0.1) < 1e-9


def test_a_cycle_s_rise_is_usual_and_a_rise_past_its_ceiling_warns():
    cycle = [4.5 + 0.1 * i for i in range(13)] + [5.7 - 0.3 * i for i in range(1, 5)]  # up 12 min to 5.7, down
    history = minutes(cycle * 20)
    normal = learn(history, 2.0, 8.0)
    assert (normal.ceiling_c, normal.floor_c) == (5.7, 4.5)
    assert normal.longest_rise == timedelta(minutes=12)
    within = timedelta(minutes=30)
    # The same rise again: nothing. The same rise going on past 5.7 at 0.1 °C/min: 8.0 in about 21 min.
    assert forecast(minutes(cycle[:13], 400), normal, 2.0, 8.0, within) is None
    failing = minutes([4.5 + 0.1 * i for i in range(16)], 400)
    warned = forecast(failing, normal, 2.0, 8.0, within)
    assert warned is not None and warned.direction == 1 and round(warned.minutes) == 20
    assert warned.title() == "Rising toward 8.0 °C: about 20 min to go"
    assert "rising 6.0 °C/h" in warned.detail("Botox")
    # A spike past the ceiling that lasts 4 minutes is a door opening, not a trend.
    spike = minutes([4.8, 4.8, 4.9, 5.0, 5.3, 5.9, 6.2], 400)
    assert forecast(spike, normal, 2.0, 8.0, within) is None
    # A slow rise past the ceiling that would take hours to reach 8 °C: not within the warning's horizon.
    slow = minutes([4.5 + 0.02 * i for i in range(80)], 400)
    assert forecast(slow, Normal(5.7, 4.5, 5.5, 4.7, timedelta(minutes=12), timedelta(minutes=4)), 2.0, 8.0,
                    within) is None


def test_the_simulated_defrost_holds_the_compressor_off_20_minutes_every_6_to_8_hours():
    from sensors.scenarios import SCENARIOS

    defrost = SCENARIOS["defrost"]
    on = [m for m in range(0, 3 * 24 * 60) if defrost.defrosting(m * 60.0)]
    starts = [m for m in on if m - 1 not in on]
    assert all(m + k in on for m in starts for k in range(20)) and len(on) == 20 * len(starts)
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert len(starts) >= 9 and all(6 * 60 <= g <= 8 * 60 for g in gaps)
