"""Early warning: how long before the first out-of-range reading Fridge Monitor warns, and how often it warns for
nothing.

The simulator's physics (:mod:`sensors.model`, one reading a minute) gives the
traces, with what a door contact and a smart plug on each fridge would report
(the plug: the compressor's 85 W or the idle 3 W, 0 W and off while its socket is
switched off). They are judged every minute as the evaluator judges them:
the trend pre-alarm (:mod:`fridge_monitor.core.trend`, relearning each
fridge's usual behaviour every hour from its last 7 days) and the causes
(:mod:`fridge_monitor.core.causes`: door open, power lost, compressor stopped,
the off-cycle learnt the same way), with the default settings. Printed:

  lead      for each failure (after four days of normal running, one per seed):
            minutes from the first warning to the first reading above 8.0 °C,
            by scenario, with their medians (target >= 20 min for the
            compressor failure and the power cut); the temperature-only lead
            (the trend alone) beside it;
  baseline  the time from the normal cycle's highest reading to 8.0 °C in the
            compressor failures: the most warning any detector reading only the
            temperature can give (the cycle's own rise looks the same until then);
  false     warnings over fridge-days of normal operation, busy door openings
            and defrost (target <= 1 per 30 fridge-days).

The whole-site power outage (the simulator's ``power-outage``: probe and plug
dark together) is not an early warning: that is ``site-offline``.

    python benchmarks/early_warning.py [--seeds 8] [--days 10]
"""

from __future__ import annotations

import argparse
import bisect
import dataclasses
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fridge_monitor.core import causes, trend  # noqa: E402
from fridge_monitor.core.rules import AlarmProfile  # noqa: E402
from sensors.device import COMPRESSOR_W, IDLE_W  # noqa: E402
from sensors.model import FridgeModel, FridgeParams  # noqa: E402
from sensors.scenarios import SCENARIOS, Phase  # noqa: E402

T0 = datetime(2026, 3, 1, tzinfo=UTC)
LOW, HIGH = 2.0, 8.0
WITHIN = timedelta(minutes=30)
PROFILE = AlarmProfile("benchmark", LOW, HIGH)
PLUG, DOOR = "native:bench-plug", "native:bench-door"
FAILURES = {"compressor-failure": 3600, "power-cut": 3600, "door-left-open": 15 * 60}  # scenario: outage (s)

Points = list[tuple[datetime, float]]


@dataclasses.dataclass
class Trace:
    temperature: Points
    door: Points
    power: Points
    switch: Points


def trace(name: str, minutes: int, *, seed: int, onset_min: int = 10**9) -> Trace:
    scenario = SCENARIOS[name]
    model = FridgeModel(FridgeParams(), random.Random(seed))
    noise = random.Random(f"{seed}:plug")
    out = Trace([], [], [], [])

    def phase(elapsed_s: float) -> Phase:
        return scenario.phase(elapsed_s, onset_s=onset_min * 60.0, outage_s=FAILURES.get(name, 3600.0), high_c=HIGH)

    openings = 0
    for k in range(minutes):
        for step in range(6):  # a door contact reports each change: follow the door every 10 s
            moment = T0 + timedelta(seconds=k * 60.0 - 50.0 + step * 10.0)
            model.advance_to(k * 60.0 - 50.0 + step * 10.0, lambda e: phase(e).environment)
            door = 1.0 if model.door_open else 0.0
            if door and out.door and out.door[-1][1] and model.door_openings != openings:
                out.door.append((moment - timedelta(seconds=5), 0.0))  # shut and opened again within the step
            if not out.door or out.door[-1][1] != door:
                out.door.append((moment, door))
            openings = model.door_openings
        at = T0 + timedelta(minutes=k)
        out.temperature.append((at, model.measure()))
        on = phase(k * 60.0).environment.mains_power
        watts = (COMPRESSOR_W if model.compressor_running else IDLE_W) + noise.uniform(-0.5, 0.5) if on else 0.0
        out.power.append((at, round(watts, 1)))
        out.switch.append((at, 1.0 if on else 0.0))
    return out


def warnings(t: Trace, first_min: int, *, causes_too: bool = True) -> list[tuple[datetime, str]]:
    """The warnings raised, (when, kind), each once until its condition clears, judging every minute from
    ``first_min``: the trend, and (``causes_too``) the door contact's and the plug's causes."""
    out: list[tuple[datetime, str]] = []
    normal, limit = None, None
    active: set[str] = set()
    held: tuple[datetime, int] | None = None  # when the trend warning was raised, and its direction
    for i in range(first_min, len(t.temperature)):
        now = t.temperature[i][0]
        if normal is None or i % 60 == 0:
            normal = trend.learn(t.temperature[max(0, i - 7 * 1440):i], LOW, HIGH)
            limit = causes.off_cycle_limit(PROFILE, t.power[max(0, i - 7 * 1440):i])
        found = set()
        recent = t.temperature[max(0, i - 120):i + 1]
        end = bisect.bisect_right(t.door, (now, 2.0))
        door = t.door[max(0, end - 50):end]
        # As the evaluator does: a rise while the door was open lately is the door's doing, not a trend.
        opened = causes.last_open([door])
        forecast = None if normal.ceiling_c is None or (opened is not None and opened >= now - trend.FIT) \
            else trend.forecast(recent, normal, LOW, HIGH, WITHIN)
        # As the evaluator does: a warning holds while the rise (fall) it was raised on goes on.
        if held is not None and trend.still_heading(recent, held[0], held[1]) and LOW <= recent[-1][1] <= HIGH:
            found.add("trend")
        elif forecast is not None:
            found.add("trend")
            held = (forecast.at, forecast.direction)
        else:
            held = None
        if causes_too:
            lo = max(0, i - 180)
            power, switch = t.power[lo:i + 1], t.switch[lo:i + 1]
            ongoing = [f for f in (causes.door_open(DOOR, door, now, PROFILE)
                                   + causes.power_lost(PLUG, power, switch, now, PROFILE, now)
                                   + causes.compressor_stopped(PLUG, power, now, PROFILE, limit))
                       if f.end is None]
            found |= {f.kind for f in ongoing}
        out.extend((now, kind) for kind in sorted(found - active))
        active = found
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--days", type=int, default=10, help="fridge-days of each normal scenario, per seed")
    args = parser.parse_args()
    started = time.monotonic()
    onset = 4 * 1440  # after the 3 days the plug's off-cycle needs to be learnt
    medians = {}
    bounds = []
    for name in FAILURES:
        leads, alone = [], []
        for seed in range(args.seeds):
            t = trace(name, onset + 240, seed=seed, onset_min=onset)
            first = next(at for at, c in t.temperature[onset:] if c > HIGH)
            raised = [(at, kind) for at, kind in warnings(t, 1440) if T0 + timedelta(minutes=onset) <= at < first]
            trend_only = [at for at, kind in raised if kind == "trend"]
            lead = (first - raised[0][0]).total_seconds() / 60 if raised else 0.0
            leads.append(lead)
            alone.append((first - trend_only[0]).total_seconds() / 60 if trend_only else 0.0)
            line = f"{name}, seed {seed}: warned {lead:.0f} min before the first reading above {HIGH} °C"
            line += f" ({raised[0][1]} first)" if raised else " (no warning first)"
            if name == "compressor-failure":
                peak = max(c for _, c in t.temperature[1440:onset])
                bounds.append((first - next(at for at, c in t.temperature[onset:] if c > peak)).total_seconds() / 60)
                line += f"; the cycle's peak was passed {bounds[-1]:.0f} min before it"
            print(line)
        medians[name] = statistics.median(leads)
        print(f"lead, {name}: median {medians[name]:.1f} min over {len(leads)} (the trend alone: median "
              f"{statistics.median(alone):.1f} min)")
    print(f"baseline (normal peak to {HIGH} °C in the compressor failures): median {statistics.median(bounds):.1f} min")
    for name in ("compressor-failure", "power-cut"):
        verdict = "met" if medians[name] >= 20 else "NOT met"
        print(f"target: {name} median lead {medians[name]:.1f} min >= 20: {verdict}")
    false, days = 0, 0
    for name in ("normal", "door-open", "defrost"):
        found: dict[str, int] = {}
        for seed in range(args.seeds):
            for _at, kind in warnings(trace(name, (args.days + 1) * 1440, seed=seed), 1440):
                found[kind] = found.get(kind, 0) + 1
        days += args.days * args.seeds
        false += sum(found.values())
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(found.items())) or "none"
        print(f"{name}: {sum(found.values())} false warnings over {args.days * args.seeds} fridge-days ({kinds})")
    rate = 30 * false / days
    print(f"false: {false} over {days} fridge-days = {rate:.2f} per 30 fridge-days (target <= 1: "
          f"{'met' if rate <= 1 else 'NOT met'})")
    print(f"took {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
