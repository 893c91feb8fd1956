"""Mean kinetic temperature (USP <1079>): pure arithmetic over time-weighted readings."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta

KELVIN = 273.15
# DOMAIN.md: ΔH = 83.144 kJ/mol, R = 8.3144 J/(mol·K), so ΔH/R = 10 000 K.
DELTA_H_OVER_R = 10_000.0


def mean_kinetic_temperature(samples: Sequence[tuple[float, float]], delta_h_over_r: float = DELTA_H_OVER_R) -> float:
    """MKT in °C of ``(weight_seconds, celsius)`` samples.

    MKT = (ΔH/R) / −ln(Σ tᵢ·exp(−ΔH/(R·Tᵢ)) / Σ tᵢ), with T in kelvin. The sum
    is taken in log space (log-sum-exp), so very cold series do not underflow.
    Raises ValueError on no samples, a negative or non-finite weight, a
    temperature at or below absolute zero, or a total weight that is not positive.
    """
    if not samples:
        raise ValueError("mean kinetic temperature needs at least one sample")
    if not math.isfinite(delta_h_over_r) or delta_h_over_r <= 0:
        raise ValueError(f"ΔH/R must be a positive number of kelvin, not {delta_h_over_r!r}")
    logs: list[float] = []  # ln(tᵢ) − (ΔH/R)/Tᵢ for every sample with weight
    total = 0.0
    for weight, celsius in samples:
        if not math.isfinite(weight) or weight < 0:
            raise ValueError(f"sample weight must be a finite number of seconds ≥ 0, not {weight!r}")
        if not math.isfinite(celsius) or celsius <= -KELVIN:
            raise ValueError(f"sample temperature must be a finite value above −273.15 °C, not {celsius!r}")
        if weight > 0:
            logs.append(math.log(weight) - delta_h_over_r / (celsius + KELVIN))
            total += weight
    if total <= 0:
        raise ValueError("mean kinetic temperature needs a total weight greater than 0")
    top = max(logs)
    log_mean = top + math.log(math.fsum(math.exp(value - top) for value in logs)) - math.log(total)
    kelvin = delta_h_over_r / -log_mean
    # MKT lies between the coldest and warmest sample; keep rounding from stepping outside.
    weighted = [celsius for weight, celsius in samples if weight > 0]
    return min(max(kelvin - KELVIN, min(weighted)), max(weighted))


def time_weighted(
    readings: Sequence[tuple[datetime, float]], end: datetime, max_gap: timedelta
) -> list[tuple[float, float]]:
    """``(weight_seconds, celsius)`` samples from timed readings, for :func:`mean_kinetic_temperature`.

    Each reading holds until the next one, the last until ``end``, each at most
    ``max_gap`` (time beyond the cap is unknown and carries no weight).
    Readings are taken in time order; of two at the same instant the first
    given wins; readings at or after ``end`` carry no weight. Samples of zero
    weight are left out. Raises ValueError when there are no readings.
    """
    if not readings:
        raise ValueError("time weighting needs at least one reading")
    if max_gap <= timedelta(0):
        raise ValueError(f"max_gap must be longer than zero, not {max_gap}")
    ordered: list[tuple[datetime, float]] = []
    for at, celsius in sorted(readings, key=lambda r: r[0]):
        if not ordered or at != ordered[-1][0]:
            ordered.append((at, celsius))
    samples: list[tuple[float, float]] = []
    for i, (at, celsius) in enumerate(ordered):
        until = ordered[i + 1][0] if i + 1 < len(ordered) else end
        held = min(until, end, at + max_gap) - at
        if held > timedelta(0):
            samples.append((held.total_seconds(), celsius))
    return samples
