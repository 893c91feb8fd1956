"""Mean kinetic temperature (USP <1079>): pure arithmetic over time-weighted samples, or over their sums."""

from __future__ import annotations

import math
from collections.abc import Sequence

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


def arrhenius_weight(celsius: float, delta_h_over_r: float = DELTA_H_OVER_R) -> float:
    """exp(ΔH/R · (1/T₀ − 1/T)) with T₀ = 0 °C: each second's weight in MKT, scaled by exp(ΔH/(R·T₀)) so that
    sums of them stay far from underflow for any storage temperature (about 1e-9 at −100 °C, 400 at +40 °C).

    Summed over a period's seconds, with the seconds summed beside them, they give its MKT exactly
    (:func:`mkt_from_sums`), so that periods (hours, days) add up without their readings.
    """
    return math.exp(delta_h_over_r * (1.0 / KELVIN - 1.0 / (celsius + KELVIN)))


def mkt_from_sums(seconds: float, arrhenius_s: float, delta_h_over_r: float = DELTA_H_OVER_R) -> float:
    """MKT in °C from Σ tᵢ and Σ tᵢ·arrhenius_weight(Tᵢ): (ΔH/R) / (ΔH/(R·T₀) − ln(Σ tᵢ·wᵢ / Σ tᵢ)) − T₀.

    Raises ValueError unless both sums are positive and finite.
    """
    if not (math.isfinite(seconds) and seconds > 0 and math.isfinite(arrhenius_s) and arrhenius_s > 0):
        raise ValueError(f"MKT needs positive sums of seconds and weights, not {seconds!r} and {arrhenius_s!r}")
    return delta_h_over_r / (delta_h_over_r / KELVIN - math.log(arrhenius_s / seconds)) - KELVIN
