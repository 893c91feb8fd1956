"""The simulated clock: fast-forward through the past, never ahead of the wall.

With speed 1 the simulated clock is the wall clock. With speed X > 1 it starts
in the past (24 hours ago by default) and runs X times faster than the wall
until it catches up, then keeps real time. So every timestamp a device sends
is at or before the moment it is sent, and the server never sees readings
from the future. All times are epoch seconds; nothing here reads a clock.
"""

from __future__ import annotations

import dataclasses
import math

DEFAULT_HISTORY_S = 24 * 3600.0


@dataclasses.dataclass(frozen=True, slots=True)
class SimClock:
    """Maps wall time to simulated time and back."""

    wall_start_s: float
    sim_start_s: float
    speed: float

    @classmethod
    def starting(cls, wall_now_s: float, speed: float, start_s: float | None = None) -> SimClock:
        """A clock started at ``wall_now_s``; ``start_s`` defaults by speed."""
        if speed <= 0:
            raise ValueError(f"speed must be positive, not {speed}")
        if start_s is None:
            start_s = wall_now_s - DEFAULT_HISTORY_S if speed > 1 else wall_now_s
            start_s = float(math.floor(start_s))
        if start_s > wall_now_s:
            raise ValueError("the simulated start is in the future; the server would reject those readings")
        return cls(wall_now_s, start_s, speed)

    @property
    def catch_up_wall_s(self) -> float:
        """Wall time when the simulated clock reaches the wall clock (inf if never)."""
        lag = self.wall_start_s - self.sim_start_s
        if self.speed < 1 or (self.speed == 1 and lag > 0):
            return math.inf
        if lag <= 0:
            return self.wall_start_s
        return self.wall_start_s + lag / (self.speed - 1)

    def sim_at(self, wall_s: float) -> float:
        """The simulated time at wall time ``wall_s``."""
        fast = self.sim_start_s + (wall_s - self.wall_start_s) * self.speed
        return min(fast, wall_s) if wall_s >= self.catch_up_wall_s else fast

    def wall_at(self, sim_s: float) -> float:
        """The wall time when the simulated clock shows ``sim_s``."""
        catch_up = self.catch_up_wall_s
        if catch_up != math.inf and sim_s >= catch_up:
            return sim_s
        return self.wall_start_s + (sim_s - self.sim_start_s) / self.speed
