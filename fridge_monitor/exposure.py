"""A lot's exposure: its fridge's readings while it was there, judged against its product's ranges (pure)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from fridge_monitor import products
from fridge_monitor.lots import Holding
from fridge_monitor.mkt import mean_kinetic_temperature

ZERO = timedelta(0)


@dataclasses.dataclass(frozen=True, slots=True)
class Piece:
    """The reading taken at ``at`` holding from ``start`` to ``end`` while the lot was in the fridge;
    ``out`` when that temperature is outside the product's range for the units held then."""

    at: datetime
    start: datetime
    end: datetime
    celsius: float
    out: bool
    stay: int  # which uninterrupted stay of the lot in this fridge the piece belongs to


@dataclasses.dataclass(frozen=True, slots=True)
class Exposure:
    """One episode of a lot outside its product's range in one fridge. ``end`` None: still going on.

    ``out_of_range`` is the known time outside the range; ``peak_c``, ``low_c``,
    ``mkt_c`` and ``readings`` cover the readings from ``start`` to ``end``
    (brief returns into range included, as in a fridge's excursion).
    """

    start: datetime
    end: datetime | None
    out_of_range: timedelta
    peak_c: float
    low_c: float
    mkt_c: float | None
    readings: int


@dataclasses.dataclass(frozen=True, slots=True)
class Summary:
    """Temperatures a lot saw over some stretch: extremes, known time, time out of range, MKT."""

    low_c: float | None
    high_c: float | None
    known: timedelta
    out_of_range: timedelta
    mkt_c: float | None
    readings: int
    samples: tuple[tuple[float, float], ...] = ()


def outside(product: products.Product, celsius: float, holding: Holding) -> bool:
    """Whether ``celsius`` is outside the range of any unit held: sealed units against the product's
    ranges, opened or reconstituted ones against its opened range (when it has one)."""
    sealed = holding.quantity - holding.opened
    if sealed > 0 and not products.in_range(product, celsius):
        return True
    return holding.opened > 0 and not products.in_range(product, celsius, opened=True)


def stays(holdings: Iterable[Holding]) -> list[list[Holding]]:
    """Holdings of one fridge grouped into uninterrupted stays (a vial used does not end a stay)."""
    out: list[list[Holding]] = []
    for holding in sorted(holdings, key=lambda h: h.since):
        if out and out[-1][-1].until is not None and out[-1][-1].until >= holding.since:
            out[-1].append(holding)
        else:
            out.append([holding])
    return out


def pieces(series: Sequence[tuple[datetime, float]], holdings: Iterable[Holding], product: products.Product,
           allowed_gap: timedelta, now: datetime) -> list[Piece]:
    """The readings of one fridge cut to the times a lot was in it.

    A reading holds until the next one, at most ``allowed_gap`` (beyond that the
    temperature is unknown: no piece), the last until ``now``; a reading taken
    before the lot arrived holds into its stay. Of two readings at the same
    instant the first wins, as in :mod:`fridge_monitor.rules`.
    """
    ordered: list[tuple[datetime, float]] = []
    for at, celsius in sorted(series, key=lambda r: r[0]):
        if at <= now and (not ordered or at != ordered[-1][0]):
            ordered.append((at, celsius))
    grouped = stays(holdings)
    spans = [(n, h) for n, stay in enumerate(grouped) for h in stay]
    out: list[Piece] = []
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
                out.append(Piece(at, start, end, celsius, outside(product, celsius, holding), n))
    return out


@dataclasses.dataclass(slots=True)
class _Tally:
    peak: float = -math.inf
    low: float = math.inf
    seen: set[datetime] = dataclasses.field(default_factory=set)
    samples: list[tuple[float, float]] = dataclasses.field(default_factory=list)

    def add(self, piece: Piece) -> None:
        self.peak, self.low = max(self.peak, piece.celsius), min(self.low, piece.celsius)
        self.seen.add(piece.at)
        self.samples.append(((piece.end - piece.start).total_seconds(), piece.celsius))

    def merge(self, other: _Tally) -> None:
        self.peak, self.low = max(self.peak, other.peak), min(self.low, other.low)
        self.seen |= other.seen
        self.samples.extend(other.samples)


@dataclasses.dataclass(slots=True)
class _Open:
    start: datetime
    stay: int
    last_end: datetime
    tally: _Tally = dataclasses.field(default_factory=_Tally)
    pending: _Tally = dataclasses.field(default_factory=_Tally)  # back in range, not yet for the clear delay
    recover_start: datetime | None = None
    out: timedelta = ZERO

    def keep_pending(self) -> None:
        self.tally.merge(self.pending)
        self.pending = _Tally()
        self.recover_start = None

    def close(self, end: datetime | None) -> Exposure:
        t = self.tally
        return Exposure(self.start, end, self.out, t.peak, t.low,
                        mean_kinetic_temperature(t.samples) if t.samples else None, len(t.seen))


def exposures(series: Sequence[tuple[datetime, float]], holdings: Iterable[Holding], product: products.Product,
              allowed_gap: timedelta, clear_delay: timedelta, now: datetime) -> list[Exposure]:
    """The episodes during which a lot in this fridge was outside its product's range, as of ``now``.

    An episode starts at the first reading outside the range while the lot is in
    the fridge (or when the lot arrives while the temperature is outside) and
    ends when the temperature has been back in range for ``clear_delay`` (the
    fridge profile's, so flapping is one episode), ending at the first reading
    back in range — or when the lot leaves the fridge. Unknown time (a gap
    longer than ``allowed_gap``) counts neither as exposure nor as recovery.
    """
    holdings = list(holdings)
    grouped = stays(holdings)
    out: list[Exposure] = []
    current: _Open | None = None
    for piece in pieces(series, holdings, product, allowed_gap, now):
        if current is not None and piece.stay != current.stay:
            # The lot left the fridge: the episode ends then (at the first reading back in range if sooner).
            left = grouped[current.stay][-1].until
            out.append(current.close(current.recover_start or left))
            current = None
        if current is None:
            if not piece.out:
                continue
            current = _Open(piece.start, piece.stay, piece.end)
        elif piece.start > current.last_end and current.recover_start is not None:
            current.keep_pending()  # unknown time is not recovery: the clear delay starts over
        current.last_end = piece.end
        if not piece.out:
            if current.recover_start is None:
                current.recover_start = piece.start
            current.pending.add(piece)
            if piece.end - current.recover_start >= clear_delay:
                out.append(current.close(current.recover_start))
                current = None
            continue
        current.keep_pending()
        current.tally.add(piece)
        current.out += piece.end - piece.start
    if current is not None:
        left = grouped[current.stay][-1].until
        if left is not None and left <= now:
            out.append(current.close(current.recover_start or left))
        else:
            current.keep_pending()
            out.append(current.close(None))
    return out


def summary(series: Sequence[tuple[datetime, float]], holdings: Iterable[Holding], product: products.Product,
            allowed_gap: timedelta, now: datetime) -> Summary:
    """What the lot saw in this fridge during these holdings: for the lot's temperature history."""
    cut = pieces(series, holdings, product, allowed_gap, now)
    samples = tuple(((p.end - p.start).total_seconds(), p.celsius) for p in cut)
    return Summary(
        low_c=min((p.celsius for p in cut), default=None), high_c=max((p.celsius for p in cut), default=None),
        known=sum((p.end - p.start for p in cut), ZERO),
        out_of_range=sum((p.end - p.start for p in cut if p.out), ZERO),
        mkt_c=mean_kinetic_temperature(samples) if samples else None,
        readings=len({p.at for p in cut}), samples=samples,
    )


def overall_mkt(summaries: Iterable[Summary]) -> float | None:
    """The MKT over the whole storage so far, from the time-weighted samples of every holding."""
    samples = [s for summary_ in summaries for s in summary_.samples]
    return mean_kinetic_temperature(samples) if samples else None
