"""Lot status, first-expiry-first-out, beyond-use, and where a lot was held (pure: plain values, explicit ``now``)."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta, tzinfo

DEFAULT_HORIZONS_DAYS = (90, 30, 7)


class Status(enum.StrEnum):
    USABLE = "usable"
    EXPIRING = "expiring"
    EXPIRED = "expired"
    UNDER_REVIEW = "under_review"
    RELEASED = "released"
    DISCARDED = "discarded"
    BEYOND_USE = "beyond_use"

    @property
    def usable(self) -> bool:
        return self in USABLE


USABLE = frozenset({Status.USABLE, Status.EXPIRING, Status.RELEASED})


class Review(enum.StrEnum):
    """Where a lot stands with its reviews (quarantine after an excursion)."""

    NONE = "none"            # never under review
    OPEN = "open"            # a review waits for its disposition
    RELEASED = "released"    # every review answered, all with release
    DISCARDED = "discarded"  # some disposition said discard


def review_state(decisions: Iterable[str | None]) -> Review:
    """A lot's review state from the current decision of each of its reviews: ``None`` while a review
    waits, else ``"released"`` or ``"discarded"``. One discard is final, whatever else is open."""
    seen = list(decisions)
    if "discarded" in seen:
        return Review.DISCARDED
    if None in seen:
        return Review.OPEN
    return Review.RELEASED if seen else Review.NONE


@dataclasses.dataclass(frozen=True, slots=True)
class Stock:
    """Units of one lot in one fridge: sealed (``opened_vial_id`` None), or one group of vials
    reconstituted or opened together, usable until ``beyond_use_at``."""

    lot_id: int
    lot_number: str
    expiry: date
    quantity: int
    fridge_id: int | None = None
    product_id: int | None = None
    product: str = ""
    review: Review = Review.NONE
    opened_vial_id: int | None = None
    opened_at: datetime | None = None
    beyond_use_at: datetime | None = None

    @property
    def opened(self) -> bool:
        return self.opened_vial_id is not None


def expires_at(expiry: date, tz: tzinfo) -> datetime:
    """The first instant a lot expiring on ``expiry`` is expired: local midnight after its expiry day."""
    return datetime.combine(expiry + timedelta(days=1), time(0), tzinfo=tz)


def usable_until(stock: Stock, tz: tzinfo) -> datetime:
    """The instant these units stop being usable by date: expiry, or beyond-use time if sooner."""
    end = expires_at(stock.expiry, tz)
    return end if stock.beyond_use_at is None else min(end, stock.beyond_use_at)


def warning_horizon(expiry: date, today: date, horizons: Sequence[int] = DEFAULT_HORIZONS_DAYS) -> int | None:
    """The narrowest warning horizon (in days) the expiry falls within, e.g. 30 for a lot expiring in
    12 days with horizons 90/30/7; None when beyond them all, or already expired."""
    days = (expiry - today).days
    within = [h for h in horizons if 0 <= days <= h]
    return min(within) if within else None


def status_in_zone(expiry: date, now: datetime, tz: tzinfo, *, review: Review = Review.NONE,
                   beyond_use_at: datetime | None = None,
                   horizons: Sequence[int] = DEFAULT_HORIZONS_DAYS) -> Status:
    """A lot's (or an opened vial's) status at ``now``, the expiry judged in the site's time zone ``tz``.

    Expiry is a calendar date judged in the site's time zone: a lot expiring
    today is usable until local midnight at the end of today. A reconstituted or
    opened vial is also unusable from its beyond-use time on. Statuses, most
    decisive first (a lot shows the first that applies):

    ``discarded``     a disposition said discard — final
    ``expired``       past the end of its expiry day — final
    ``beyond_use``    an opened vial past its beyond-use time — final
    ``under_review``  exposed in an excursion, waiting for the manufacturer's answer
    ``expiring``      usable, expiry within the first (widest) warning horizon
    ``released``      usable, was under review and released
    ``usable``        usable
    """
    if review is Review.DISCARDED:
        return Status.DISCARDED
    if now >= expires_at(expiry, tz):
        return Status.EXPIRED
    if beyond_use_at is not None and now >= beyond_use_at:
        return Status.BEYOND_USE
    if review is Review.OPEN:
        return Status.UNDER_REVIEW
    if horizons and warning_horizon(expiry, now.astimezone(tz).date(), (max(horizons),)) is not None:
        return Status.EXPIRING
    return Status.RELEASED if review is Review.RELEASED else Status.USABLE


def stock_status(stock: Stock, now: datetime, tz: tzinfo,
                 horizons: Sequence[int] = DEFAULT_HORIZONS_DAYS) -> Status:
    return status_in_zone(stock.expiry, now, tz, review=stock.review, beyond_use_at=stock.beyond_use_at,
                          horizons=horizons)


# The most decisive first, as status_in_zone() ranks them.
PRECEDENCE = (Status.DISCARDED, Status.EXPIRED, Status.BEYOND_USE, Status.UNDER_REVIEW, Status.EXPIRING,
              Status.RELEASED, Status.USABLE)


def lot_status(expiry: date, now: datetime, zones: Iterable[tzinfo], held: Iterable[Stock], *,
               review: Review = Review.NONE, horizons: Sequence[int] = DEFAULT_HORIZONS_DAYS) -> Status:
    """A lot as a whole, as every page and the API show it.

    The expiry is judged in the time zone of each fridge holding the lot
    (``zones``, at least one), and the strictest status wins: a lot expired in
    one clinic's time zone is expired. ``held`` are the units held (in those
    fridges); when every one of them is in an opened vial past its beyond-use
    time, a lot otherwise usable or under review is ``beyond_use``.
    """
    in_each_zone = (status_in_zone(expiry, now, tz, review=review, horizons=horizons) for tz in zones)
    whole = min(in_each_zone, key=PRECEDENCE.index)
    units = [s for s in held if s.quantity > 0]
    if whole.usable or whole is Status.UNDER_REVIEW:
        if units and all(s.opened and s.beyond_use_at is not None and now >= s.beyond_use_at for s in units):
            return Status.BEYOND_USE
    return whole


def unusable_reason(stock: Stock, now: datetime, tz: tzinfo) -> str | None:
    """Why these units must not be used now, as a sentence for staff; None when they may be."""
    current = stock_status(stock, now, tz)
    lot = f"lot {stock.lot_number}" + (f" ({stock.product})" if stock.product else "")
    if current is Status.DISCARDED:
        return f"{lot} was dispositioned for discard after an excursion review: do not use it"
    if current is Status.EXPIRED:
        return f"{lot} expired on {stock.expiry.isoformat()}: do not use it"
    if current is Status.BEYOND_USE:
        assert stock.beyond_use_at is not None
        when = stock.beyond_use_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
        return f"the opened vial of {lot} is past its beyond-use time ({when}): discard it"
    if current is Status.UNDER_REVIEW:
        return f"{lot} is under review after an excursion (DO NOT USE until a disposition is recorded)"
    return None


def fefo(stocks: Iterable[Stock], now: datetime, tz: tzinfo) -> list[Stock]:
    """The usable units in the order to take them: first to stop being usable first.

    An opened vial's beyond-use time is nearly always the soonest, so an opened vial is used up
    before a new one is opened; ties go to opened vials, then to the lot number.
    """
    usable = [s for s in stocks if s.quantity > 0 and stock_status(s, now, tz).usable]
    return sorted(usable, key=lambda s: (usable_until(s, tz), not s.opened, s.lot_number, s.lot_id,
                                         s.opened_vial_id or 0))


def take_next(stocks: Iterable[Stock], now: datetime, tz: tzinfo) -> Stock | None:
    """First-expiry-first-out: the units to take next, or None when nothing usable is left."""
    ordered = fefo(stocks, now, tz)
    return ordered[0] if ordered else None


# -- where a lot was --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Change:
    """One ledger entry of a lot: ``delta`` units in or out of ``fridge_id`` at ``at``."""

    at: datetime
    fridge_id: int
    delta: int
    opened: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class Holding:
    """``quantity`` units of a lot (``opened`` of them reconstituted or opened) were in ``fridge_id``
    from ``since`` until ``until`` (None: still there)."""

    fridge_id: int
    quantity: int
    opened: int
    since: datetime
    until: datetime | None


def holdings(changes: Iterable[Change]) -> list[Holding]:
    """Which fridge held how many units of a lot, and when, from its ledger entries in ledger order.

    Entries at the same instant are one step (a transfer leaves one fridge and enters the other
    at once; opening a vial inside a fridge changes only its ``opened`` count). A clock that
    went backwards between entries is read as no time passing, so periods never run backwards.
    """
    held: dict[int, tuple[int, int]] = {}
    since: dict[int, datetime] = {}
    out: list[Holding] = []
    step_at: datetime | None = None
    before: dict[int, tuple[int, int]] = {}

    def close_step(at: datetime) -> None:
        for fridge, old in before.items():
            new = held.get(fridge, (0, 0))
            if new == old:
                continue
            if old[0] > 0 or old[1] > 0:
                out.append(Holding(fridge, old[0], old[1], since[fridge], at))
            if new[0] > 0 or new[1] > 0:
                since[fridge] = at
        before.clear()

    for change in changes:
        at = change.at if step_at is None else max(change.at, step_at)
        if step_at is not None and at != step_at:
            close_step(step_at)
        step_at = at
        quantity, opened = held.get(change.fridge_id, (0, 0))
        before.setdefault(change.fridge_id, (quantity, opened))
        held[change.fridge_id] = (quantity + change.delta, opened + (change.delta if change.opened else 0))
    if step_at is not None:
        close_step(step_at)
    out.extend(Holding(fridge, q, o, since[fridge], None) for fridge, (q, o) in held.items() if q > 0 or o > 0)
    return sorted(out, key=lambda h: (h.since, h.fridge_id))
