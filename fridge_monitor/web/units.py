"""Temperatures as a person reads them: °C or °F, one decimal."""

from __future__ import annotations


def to_unit(celsius: float, unit: str) -> float:
    return celsius * 9 / 5 + 32 if unit == "F" else celsius


def temperature(celsius: float | None, unit: str) -> str:
    """``4.3 °C`` / ``39.7 °F``; an em dash for no value."""
    if celsius is None:
        return "—"
    return f"{to_unit(celsius, unit):.1f} °{unit}"
