"""Early warning: how long before the first out-of-range reading the trend pre-alarm warns, and how often it warns
for nothing.

The simulator's physics (:mod:`sensors.model`, one reading a minute) gives
the traces; :mod:`fridge_monitor.core.trend` judges them as the evaluator
would, relearning each fridge's usual behaviour every hour from its last 7
days (after one day of history). Printed:

  lead      for each compressor failure (failing after two days, one per seed):
            minutes from the warning to the first reading above 8.0 °C, and
            their median (target >= 20 min);
  baseline  the time from the normal cycle's highest reading to 8.0 °C in the
            same failures: the most warning any detector reading only the
            temperature can give (the cycle's own rise looks the same until then);
  false     warnings over fridge-days of normal operation, busy door openings
            and defrost (target <= 1 per 30 fridge-days).

Power outages are not here: the simulated sensor is dark with the power, so only a plug (issue 17's power
channel) can warn of those.

    python benchmarks/early_warning.py [--seeds 8] [--days 10]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fridge_monitor.core import trend  # noqa: E402
from sensors.model import FridgeModel, FridgeParams  # noqa: E402
from sensors.scenarios import SCENARIOS  # noqa: E402

T0 = datetime(2026, 3, 1, tzinfo=UTC)
LOW, HIGH = 2.0, 8.0
WITHIN = timedelta(minutes=30)


def trace(name: str, minutes: int, *, seed: int, onset_min: int = 10**9) -> list[tuple[datetime, float]]:
    scenario = SCENARIOS[name]
    model = FridgeModel(FridgeParams(), random.Random(seed))
    out = []
    for k in range(minutes):
        model.advance_to(k * 60.0, lambda e: scenario.phase(e, onset_s=onset_min * 60.0, outage_s=3600.0,
                                                            high_c=HIGH).environment)
        out.append((T0 + timedelta(minutes=k), model.measure()))
    return out


def warnings(points: list[tuple[datetime, float]], first_min: int) -> list[trend.Forecast]:
    """The warnings raised (each once, until its condition clears), judging every minute from ``first_min``."""
    out: list[trend.Forecast] = []
    normal = None
    active = False
    for i in range(first_min, len(points)):
        if normal is None or i % 60 == 0:
            normal = trend.learn(points[max(0, i - 7 * 1440):i], LOW, HIGH)
        found = trend.forecast(points[max(0, i - 120):i + 1], normal, LOW, HIGH, WITHIN)
        if found is not None and not active:
            out.append(found)
        active = found is not None
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--days", type=int, default=10, help="fridge-days of each normal scenario, per seed")
    args = parser.parse_args()
    started = time.monotonic()
    onset = 2 * 1440
    leads, bounds = [], []
    for seed in range(args.seeds):
        points = trace("compressor-failure", onset + 180, seed=seed, onset_min=onset)
        first = next(at for at, c in points[onset:] if c > HIGH)
        peak_at = next(at for at, c in points[onset:] if c > max(c for _, c in points[1440:onset]))
        raised = [w for w in warnings(points, 1440) if onset <= (w.at - T0).total_seconds() / 60 and w.at < first]
        lead = (first - raised[0].at).total_seconds() / 60 if raised else 0.0
        leads.append(lead)
        bounds.append((first - peak_at).total_seconds() / 60)
        print(f"compressor failure, seed {seed}: warned {lead:.0f} min before the first reading above {HIGH} °C "
              f"(the cycle's peak was passed {bounds[-1]:.0f} min before it)")
    print(f"lead: median {statistics.median(leads):.1f} min over {len(leads)} failures (target >= 20); baseline "
          f"(normal peak to {HIGH} °C): median {statistics.median(bounds):.1f} min")
    false, days = 0, 0
    for name in ("normal", "door-open", "defrost"):
        found = 0
        for seed in range(args.seeds):
            found += len(warnings(trace(name, (args.days + 1) * 1440, seed=seed), 1440))
        days += args.days * args.seeds
        false += found
        print(f"{name}: {found} false warnings over {args.days * args.seeds} fridge-days")
    print(f"false: {false} over {days} fridge-days = {30 * false / days:.2f} per 30 fridge-days (target <= 1)")
    print(f"took {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
