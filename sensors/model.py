"""How a refrigerator's air and probe temperature move: pure, seeded, explicit time.

The cabinet air exchanges heat with the room through the walls (slowly), with
the room through an open door (fast) and with the evaporator while the
compressor runs. Each is a first-order (Newtonian) term, so one step is an
exact exponential approach to the weighted equilibrium. A thermostat with
hysteresis switches the compressor on at the cut-in temperature and off at the
cut-out. The logging probe sits in a small glycol bottle, so it follows the
air through a first-order lag; its reading adds a little noise and is
quantised to the sensor's resolution.

Door openings form a Poisson process whose rate the scenario chooses.
Nothing here reads a clock or does I/O: the caller passes elapsed seconds and
a seeded :class:`random.Random`.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Callable

STEP_S = 10.0
"""Longest physics step; readings every minute or more are unaffected by it."""


@dataclasses.dataclass(frozen=True, slots=True)
class FridgeParams:
    """The physical constants of one cabinet and its logging probe."""

    set_point_c: float = 5.0
    band_c: float = 1.0
    """The thermostat cuts in at set point + band and out at set point - band."""
    room_c: float = 22.0
    evaporator_below_set_point_c: float = 15.0
    pull_down_c_per_min: float = 0.25
    """Net cooling at the set point with the compressor running and door shut."""
    wall_tau_min: float = 130.0
    """Time constant of warming through the insulation (compressor off)."""
    door_tau_min: float = 8.0
    """Time constant of exchange with the room while the door is open."""
    probe_tau_min: float = 6.0
    """Lag of the glycol-buffered probe behind the air."""
    noise_sd_c: float = 0.04
    resolution_c: float = 0.1

    @property
    def cut_in_c(self) -> float:
        return self.set_point_c + self.band_c

    @property
    def cut_out_c(self) -> float:
        return self.set_point_c - self.band_c

    @property
    def evaporator_c(self) -> float:
        return self.set_point_c - self.evaporator_below_set_point_c

    @property
    def cool_tau_min(self) -> float:
        """Chosen so the cabinet pulls down at ``pull_down_c_per_min`` at the set point."""
        leak = (self.room_c - self.set_point_c) / self.wall_tau_min
        return self.evaporator_below_set_point_c / (self.pull_down_c_per_min + leak)


@dataclasses.dataclass(frozen=True, slots=True)
class Environment:
    """What the scenario imposes on the cabinet at one moment."""

    mains_power: bool = True
    compressor_works: bool = True
    thermostat_stuck_on: bool = False
    cut_in_c: float | None = None
    """Overrides the thermostat (a misadjusted dial); ``None`` keeps the params'."""
    cut_out_c: float | None = None
    door_rate_per_h: float = 0.5
    door_open_s: tuple[float, float] = (10.0, 40.0)
    door_ajar: bool = False
    """The door is held open (left ajar) regardless of the Poisson openings."""
    defrosting: bool = False
    """An automatic defrost: the compressor is held off while the evaporator is cleared of ice."""


def quantise(value: float, resolution: float) -> float:
    """Round to the sensor's resolution (0.1 °C, or 0.0625 °C for a DS18B20)."""
    return round(round(value / resolution) * resolution, 4)


class FridgeModel:
    """The state of one cabinet; advance it through time, then read the probe."""

    def __init__(self, params: FridgeParams, rng: random.Random) -> None:
        self.params = params
        self._rng = rng
        self.elapsed_s = 0.0
        self.air_c = params.set_point_c + rng.uniform(-0.8, 0.8)
        self.probe_c = self.air_c
        self.thermostat_calls = rng.random() < 0.35
        self.compressor_running = False
        self.door_open = False
        self.door_openings = 0
        self._door_closes_at_s = -math.inf

    def advance_to(self, elapsed_s: float, environment: Callable[[float], Environment]) -> None:
        """Run the physics up to ``elapsed_s``, asking ``environment`` at each step."""
        while self.elapsed_s < elapsed_s - 1e-9:
            dt = min(STEP_S, elapsed_s - self.elapsed_s)
            self._step(dt, environment(self.elapsed_s))

    def measure(self, resolution_c: float | None = None) -> float:
        """One probe reading: lagged temperature plus noise, quantised."""
        noisy = self.probe_c + self._rng.gauss(0.0, self.params.noise_sd_c)
        return quantise(noisy, resolution_c or self.params.resolution_c)

    def _step(self, dt_s: float, env: Environment) -> None:
        p = self.params
        self._update_door(dt_s, env)
        self._update_thermostat(env)
        self.compressor_running = (
            self.thermostat_calls and env.mains_power and env.compressor_works and not env.defrosting
        )

        dt_min = dt_s / 60.0
        conductances = [(1.0 / p.wall_tau_min, p.room_c)]
        if self.door_open:
            conductances.append((1.0 / p.door_tau_min, p.room_c))
        if self.compressor_running:
            conductances.append((1.0 / p.cool_tau_min, p.evaporator_c))
        total = sum(g for g, _ in conductances)
        equilibrium = sum(g * t for g, t in conductances) / total
        self.air_c = equilibrium + (self.air_c - equilibrium) * math.exp(-total * dt_min)
        self.probe_c = self.air_c + (self.probe_c - self.air_c) * math.exp(-dt_min / p.probe_tau_min)
        self.elapsed_s += dt_s

    def _update_door(self, dt_s: float, env: Environment) -> None:
        if env.door_ajar:
            self.door_open = True
            return
        if self.elapsed_s >= self._door_closes_at_s:
            self.door_open = False
            chance = 1.0 - math.exp(-env.door_rate_per_h * dt_s / 3600.0)
            if env.door_rate_per_h > 0 and self._rng.random() < chance:
                self.door_open = True
                self.door_openings += 1
                self._door_closes_at_s = self.elapsed_s + self._rng.uniform(*env.door_open_s)

    def _update_thermostat(self, env: Environment) -> None:
        if env.thermostat_stuck_on:
            self.thermostat_calls = True
            return
        cut_in = self.params.cut_in_c if env.cut_in_c is None else env.cut_in_c
        cut_out = self.params.cut_out_c if env.cut_out_c is None else env.cut_out_c
        if self.air_c >= cut_in:
            self.thermostat_calls = True
        elif self.air_c <= cut_out:
            self.thermostat_calls = False
