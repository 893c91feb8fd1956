"""Products and their storage rules: allowed ranges, freezing, light, beyond-use limit (pure)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime, timedelta

# Water-based products that must not freeze are damaged at or below this (stricter than WHO's −0.5 °C alarm).
FREEZING_C = 0.0


@dataclasses.dataclass(frozen=True, slots=True)
class StorageRange:
    """An allowed temperature range, bounds included."""

    low_c: float
    high_c: float

    def __post_init__(self) -> None:
        if not self.low_c <= self.high_c:
            raise ValueError(f"a storage range runs from low to high; got {self.low_c} to {self.high_c} °C")

    def __contains__(self, temperature_c: float) -> bool:
        return self.low_c <= temperature_c <= self.high_c

    @property
    def label(self) -> str:
        return f"{_num(self.low_c)} to {_num(self.high_c)} °C"


@dataclasses.dataclass(frozen=True, slots=True)
class Allowance:
    """Permitted excursions (USP <659> controlled room temperature): outside its ranges but within
    ``low_c``..``high_c`` a product is still acceptable while its mean kinetic temperature stays at or
    below ``mkt_max_c`` — e.g. 15 to 30 °C with MKT at most 25 °C for a 20–25 °C product."""

    low_c: float
    high_c: float
    mkt_max_c: float

    def __post_init__(self) -> None:
        if not self.low_c < self.high_c:
            raise ValueError(f"permitted excursions run from low to high; got {self.low_c} to {self.high_c} °C")
        if not self.low_c <= self.mkt_max_c <= self.high_c:
            raise ValueError(f"the MKT limit {self.mkt_max_c} °C must lie within the permitted excursions "
                             f"({self.low_c} to {self.high_c} °C)")

    def __contains__(self, temperature_c: float) -> bool:
        return self.low_c <= temperature_c <= self.high_c

    @property
    def label(self) -> str:
        return (f"excursions {_num(self.low_c)} to {_num(self.high_c)} °C permitted while the mean kinetic "
                f"temperature stays at or below {_num(self.mkt_max_c)} °C")


USP_CRT = Allowance(15.0, 30.0, 25.0)  # USP <659> controlled room temperature (20–25 °C)


@dataclasses.dataclass(frozen=True, slots=True)
class Product:
    """How a product must be kept. ``opened_range`` is the range for reconstituted or opened vials
    (None: the unopened ranges apply); ``beyond_use_hours`` is how long such a vial may be used
    (None: until the lot's expiry); ``unit`` is what a stock quantity counts ("vial", "syringe");
    ``allowance``: excursions permitted for unopened units (see :class:`Allowance`; None: none).

    The catalogue lives in the database (seeded by migration 0004 with the toxins of DOMAIN.md and
    common vaccines, without GTINs); :func:`fridge_monitor.inventory.ledger.product` loads one as this.
    """

    name: str
    ranges: tuple[StorageRange, ...]
    freezing_allowed: bool = False
    protect_from_light: bool = False
    beyond_use_hours: float | None = None
    opened_range: StorageRange | None = None
    form: str = ""
    unit: str = "vial"
    id: int | None = None
    gtins: tuple[str, ...] = ()
    allowance: Allowance | None = None

    def __post_init__(self) -> None:
        if not self.ranges:
            raise ValueError(f"{self.name}: a product needs at least one storage range")
        if self.beyond_use_hours is not None and not self.beyond_use_hours > 0:
            raise ValueError(f"{self.name}: the beyond-use limit must be a positive number of hours")

    @property
    def ranges_label(self) -> str:
        """"2 to 8 °C", or "20 to 25 °C, or 2 to 8 °C, or -20 to -10 °C"."""
        return ", or ".join(r.label for r in self.ranges)


def in_range(product: Product, temperature_c: float, *, opened: bool = False) -> bool:
    """Whether ``temperature_c`` is allowed for this product (for an opened vial: its opened range).

    A lot is judged against its product's ranges, not only the fridge's (DOMAIN.md "Storage ranges").
    A product may allow several — Xeomin keeps at 20–25 °C, or 2–8 °C, or −20 to −10 °C — and a
    temperature is in range inside any of them, bounds included like alarm thresholds. A product
    that must not freeze is never in range at or below freezing, whatever range was typed.
    """
    return deviation(product, temperature_c, opened=opened) == 0.0 and not freeze_damage(product, temperature_c)


def deviation(product: Product, temperature_c: float, *, opened: bool = False) -> float:
    """How far outside the allowed ranges: 0 inside any of them, else the signed distance to the
    nearest one (positive: too warm, negative: too cold)."""
    ranges = allowed_ranges(product, opened=opened)
    best: float | None = None
    for r in ranges:
        if temperature_c in r:
            return 0.0
        distance = temperature_c - r.high_c if temperature_c > r.high_c else temperature_c - r.low_c
        if best is None or abs(distance) < abs(best):
            best = distance
    assert best is not None  # a product always has a range
    return best


def freeze_damage(product: Product, temperature_c: float) -> bool:
    """A product that must not freeze, at or below freezing: damaged however briefly (CDC: discard
    is likely), unlike a warm excursion the manufacturer may release."""
    return not product.freezing_allowed and temperature_c <= FREEZING_C


def allowed_ranges(product: Product, *, opened: bool = False) -> tuple[StorageRange, ...]:
    if opened and product.opened_range is not None:
        return (product.opened_range,)
    return product.ranges


def beyond_use_at(product: Product, opened_at: datetime) -> datetime | None:
    """When a vial reconstituted or opened at ``opened_at`` must no longer be used (None: no limit)."""
    if product.beyond_use_hours is None:
        return None
    return opened_at + timedelta(hours=product.beyond_use_hours)


def merge_ranges(ranges: Iterable[tuple[float, float]]) -> tuple[StorageRange, ...]:
    """Ranges as given in a form or the database, validated and ordered warmest first, duplicates dropped."""
    unique = {(float(low), float(high)) for low, high in ranges}
    return tuple(StorageRange(low, high) for low, high in sorted(unique, key=lambda r: (-r[1], -r[0])))


def _num(value: float) -> str:
    return f"{value:g}"
