"""A lot's exposure: its fridge's readings while it was there, judged against its product's ranges (pure)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta

from fridge_monitor.core import products
from fridge_monitor.core.episodes import Span, Zone, scan, unknown
from fridge_monitor.core.lots import Holding
from fridge_monitor.core.mkt import arrhenius_weight, mean_kinetic_temperature, mkt_from_sums

ZERO = timedelta(0)
DEFAULT_SETTLE = timedelta(minutes=30)  # as an alarm profile's


@dataclasses.dataclass(frozen=True, slots=True)
class HeldReading:
    """The reading taken at ``at`` holding from ``start`` to ``end`` while the lot was in the fridge;
    ``out`` when that temperature is outside the product's ranges for the units held then, and ``zone``
    how the lot is judged: beyond (outside, and no permitted excursion covers it), inside, or clear."""

    at: datetime
    start: datetime
    end: datetime
    celsius: float
    out: bool
    stay: int  # which uninterrupted stay of the lot in this fridge the reading belongs to
    zone: Zone = Zone.CLEAR


@dataclasses.dataclass(frozen=True, slots=True)
class Exposure:
    """One episode of a lot outside its product's range in one fridge. ``end`` None: still going on.

    ``out_of_range`` is the time outside the range, holes in the data between readings outside
    included (missing data is not recovery), of which ``unknown`` says how much; ``peak_c``,
    ``low_c``, ``mkt_c`` and ``readings`` cover the readings from ``start`` to ``end`` (brief returns
    into range included, as in a fridge's excursion).
    """

    start: datetime
    end: datetime | None
    out_of_range: timedelta
    peak_c: float
    low_c: float
    mkt_c: float | None
    readings: int
    unknown: timedelta = ZERO


@dataclasses.dataclass(frozen=True, slots=True)
class TemperaturesSeen:
    """Temperatures a lot saw over some stretch: extremes, known time, time out of range, MKT.
    ``arrhenius_s`` (Σ seconds × :func:`~fridge_monitor.core.mkt.arrhenius_weight`) makes stretches combine."""

    low_c: float | None
    high_c: float | None
    known: timedelta
    out_of_range: timedelta
    mkt_c: float | None
    readings: int
    arrhenius_s: float = 0.0


def outside(product: products.Product, celsius: float, holding: Holding) -> bool:
    """Whether ``celsius`` is outside the range of any unit held: sealed units against the product's
    ranges, opened or reconstituted ones against its opened range (when it has one)."""
    sealed = holding.quantity - holding.opened
    if sealed > 0 and not products.in_range(product, celsius):
        return True
    return holding.opened > 0 and not products.in_range(product, celsius, opened=True)


def zone(product: products.Product, celsius: float, holding: Holding, hysteresis_c: float = 0.0,
         stay_mkt_c: float | None = None) -> Zone:
    """How the units held are judged at ``celsius``: the worst of the sealed and the opened units.

    Sealed units outside their product's ranges but within its permitted excursions (USP <659>) are
    not beyond while the stay's mean kinetic temperature so far (``stay_mkt_c``) is within its limit.
    Past the hysteresis margin inside a range (at most half the range) is clear.
    """
    worst = Zone.CLEAR
    if holding.quantity - holding.opened > 0:
        worst = max(worst, _zone(product, celsius, hysteresis_c, opened=False, stay_mkt_c=stay_mkt_c))
    if holding.opened > 0:
        worst = max(worst, _zone(product, celsius, hysteresis_c, opened=True, stay_mkt_c=None))
    return worst


def _zone(product: products.Product, celsius: float, hysteresis_c: float, *, opened: bool,
          stay_mkt_c: float | None) -> Zone:
    if not products.in_range(product, celsius, opened=opened):
        allowance = None if opened else product.allowance
        if (allowance is not None and celsius in allowance and not products.freeze_damage(product, celsius)
                and stay_mkt_c is not None and stay_mkt_c <= allowance.mkt_max_c):
            return Zone.INSIDE
        return Zone.BEYOND
    for r in products.allowed_ranges(product, opened=opened):
        margin = min(hysteresis_c, (r.high_c - r.low_c) / 2)
        if r.low_c + margin <= celsius <= r.high_c - margin:
            return Zone.CLEAR
    return Zone.INSIDE


def stays(holdings: Iterable[Holding]) -> list[list[Holding]]:
    """Holdings of one fridge grouped into uninterrupted stays (a vial used does not end a stay)."""
    out: list[list[Holding]] = []
    for holding in sorted(holdings, key=lambda h: h.since):
        if out and out[-1][-1].until is not None and out[-1][-1].until >= holding.since:
            out[-1].append(holding)
        else:
            out.append([holding])
    return out


class _RunningMKT:
    """The mean kinetic temperature of the time so far, one stretch at a time; it may start from the known
    seconds and Arrhenius sum of the time before (from the rollups)."""

    def __init__(self, seconds: float = 0.0, arrhenius_s: float = 0.0) -> None:
        self.seconds, self.arrhenius_s = seconds, arrhenius_s

    def add(self, seconds: float, celsius: float) -> float:
        self.arrhenius_s += seconds * arrhenius_weight(celsius)
        self.seconds += seconds
        return mkt_from_sums(self.seconds, self.arrhenius_s)


def held_readings(series: Sequence[tuple[datetime, float]], holdings: Iterable[Holding], product: products.Product,
                  allowed_gap: timedelta, now: datetime, hysteresis_c: float = 0.0,
                  mkt_before: Mapping[datetime, tuple[float, float]] | None = None) -> list[HeldReading]:
    """The readings of one fridge cut to the times a lot was in it.

    A reading holds until the next one, at most ``allowed_gap`` (beyond that the
    temperature is unknown: none), the last until ``now``; a reading taken
    before the lot arrived holds into its stay. Of two readings at the same
    instant the first wins, as in :mod:`fridge_monitor.core.rules`. For a product with
    permitted excursions, pass the series from the start of the stays: their
    mean kinetic temperature is counted from there — or pass ``mkt_before``: for
    a stay (by its first holding's ``since``), the known seconds and Arrhenius
    sum of its time before the series' first reading.
    """
    ordered: list[tuple[datetime, float]] = []
    for at, celsius in sorted(series, key=lambda r: r[0]):
        if at <= now and (not ordered or at != ordered[-1][0]):
            ordered.append((at, celsius))
    grouped = stays(holdings)
    spans = [(n, h) for n, stay in enumerate(grouped) for h in stay]
    running = [_RunningMKT(*(mkt_before or {}).get(stay[0].since, (0.0, 0.0))) for stay in grouped]
    out: list[HeldReading] = []
    first = 0
    for i, (at, celsius) in enumerate(ordered):
        held_until = min(ordered[i + 1][0] if i + 1 < len(ordered) else now, at + allowed_gap, now)
        if held_until <= at:
            continue
        while first < len(spans) and (spans[first][1].until or now) <= at:
            first += 1  # holdings over before this reading are over for every later one too
        for n, holding in spans[first:]:
            if holding.since >= held_until:
                break
            start, end = max(at, holding.since), min(held_until, holding.until or now)
            if end > start:
                stay_mkt = running[n].add((end - start).total_seconds(), celsius)
                out.append(HeldReading(at, start, end, celsius, outside(product, celsius, holding), n,
                                 zone(product, celsius, holding, hysteresis_c, stay_mkt)))
    return out


def _spans(cut: Sequence[HeldReading]) -> Iterator[Span]:
    """One stay's held readings as the episode scanner's spans, with the unknown time between them."""
    for i, piece in enumerate(cut):
        if i and piece.start > cut[i - 1].end:
            yield unknown(cut[i - 1].end, piece.start)
        yield Span(piece.start, piece.end, piece.zone, piece.celsius, piece.at)


def exposures(series: Sequence[tuple[datetime, float]], holdings: Iterable[Holding], product: products.Product,
              allowed_gap: timedelta, clear_delay: timedelta, now: datetime, *,
              settle: timedelta = DEFAULT_SETTLE, hysteresis_c: float = 0.0,
              mkt_before: Mapping[datetime, tuple[float, float]] | None = None) -> list[Exposure]:
    """The episodes during which a lot in this fridge was outside its product's range, as of ``now``.

    Judged by the same scanner and settings as the fridge's own excursions
    (:mod:`fridge_monitor.core.episodes`: the fridge profile's clear delay, settle
    time and hysteresis margin), so a fridge and its lots agree about when an
    excursion happened. An episode also ends when the lot leaves the fridge (at
    the moment it was back in range, if it was).
    """
    holdings = list(holdings)
    grouped = stays(holdings)
    by_stay: list[list[HeldReading]] = [[] for _ in grouped]
    for piece in held_readings(series, holdings, product, allowed_gap, now, hysteresis_c, mkt_before):
        by_stay[piece.stay].append(piece)
    out: list[Exposure] = []
    for stay, cut in zip(grouped, by_stay, strict=True):
        left = stay[-1].until
        for found in scan(_spans(cut), clear_delay=clear_delay, settle=settle):
            end = found.end
            if end is None and left is not None and left <= now:
                end = found.back_since or left
            out.append(Exposure(found.start, end, found.beyond, found.peak_c, found.low_c,
                                mean_kinetic_temperature(found.samples) if found.samples else None,
                                found.readings, found.unknown))
    return out


def temperatures_seen(series: Sequence[tuple[datetime, float]], holdings: Iterable[Holding],
                      product: products.Product, allowed_gap: timedelta, now: datetime) -> TemperaturesSeen:
    """What the lot saw in this fridge during these holdings: for the lot's temperature history."""
    cut = held_readings(series, holdings, product, allowed_gap, now)
    seconds = [(p.end - p.start).total_seconds() for p in cut]
    known = math.fsum(seconds)
    arrhenius = math.fsum(s * arrhenius_weight(p.celsius) for s, p in zip(seconds, cut, strict=True))
    low, high = min((p.celsius for p in cut), default=None), max((p.celsius for p in cut), default=None)
    return TemperaturesSeen(
        low_c=low, high_c=high, known=sum((p.end - p.start for p in cut), ZERO),
        out_of_range=sum((p.end - p.start for p in cut if p.out), ZERO),
        mkt_c=_mkt(known, arrhenius, low, high), readings=len({p.at for p in cut}), arrhenius_s=arrhenius,
    )


def _mkt(known_s: float, arrhenius_s: float, low: float | None, high: float | None) -> float | None:
    if known_s <= 0 or low is None or high is None:
        return None
    return min(max(mkt_from_sums(known_s, arrhenius_s), low), high)  # rounding never steps outside the values


def overall_mkt(summaries: Iterable[TemperaturesSeen]) -> float | None:
    """The MKT over the whole storage so far, from the known time and Arrhenius sums of every holding."""
    summaries = list(summaries)
    return _mkt(math.fsum(s.known.total_seconds() for s in summaries), math.fsum(s.arrhenius_s for s in summaries),
                min((s.low_c for s in summaries if s.low_c is not None), default=None),
                max((s.high_c for s in summaries if s.high_c is not None), default=None))


def band(product: products.Product, holding: Holding) -> Callable[[float, float], bool | None]:
    """Whether every temperature from the first to the second °C is outside the ranges of the units held
    (True), none is (False), or it depends (None): :data:`fridge_monitor.core.rollups.Band` for a lot."""
    sealed, opened = holding.quantity - holding.opened > 0, holding.opened > 0

    def kind(lowest: float, highest: float, *, opened_units: bool) -> bool | None:
        ranges = products.allowed_ranges(product, opened=opened_units)
        freezes = not product.freezing_allowed and lowest <= products.FREEZING_C
        if not freezes and any(r.low_c <= lowest and highest <= r.high_c for r in ranges):
            return False
        if all(highest < r.low_c or lowest > r.high_c for r in ranges):
            return True
        return None

    def judged(lowest: float, highest: float) -> bool | None:
        kinds = [kind(lowest, highest, opened_units=o) for o, held in ((False, sealed), (True, opened)) if held]
        if any(k is True for k in kinds):
            return True
        return False if all(k is False for k in kinds) else None

    return judged
