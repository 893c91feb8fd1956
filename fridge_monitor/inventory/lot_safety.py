"""Lot safety: a lot's reviews and alerts, its temperature history across fridges, and dispositions.

Judging the lots of a fridge (reviews opened by an exposure, lot warnings) is
:mod:`fridge_monitor.inventory.lot_evaluation`, run by evaluation; this module holds
what a lot's alerts are called, what is read of a lot to judge it, a lot's
history for its page, and the manufacturer's answer that settles a review.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from datetime import date, datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.config import Config
from fridge_monitor.core import exposure, free_text, lots, products
from fridge_monitor.core.checks import LOT_KINDS
from fridge_monitor.inventory import catalog
from fridge_monitor.inventory import ledger as inventory
from fridge_monitor.inventory.catalog import InventoryError
from fridge_monitor.store import audit_trail
from fridge_monitor.store import models as m
from fridge_monitor.store.db import write_lock
from fridge_monitor.store.marks import lock_fridge
from fridge_monitor.store.period import lot_seen
from fridge_monitor.store.series import FridgeFacts, fridge_facts, fridge_profile

log = logging.getLogger(__name__)

SYSTEM = "system"
DECISIONS = ("released", "discarded")
REFERENCE_MAX = 200
KINDS = LOT_KINDS
REVIEW_KIND = "lot-review"


def review_subject(lot_id: int, review_id: int) -> str:
    """The ``subject`` of a lot-review alert: one alert per review (episode)."""
    return f"lot:{lot_id}/review:{review_id}"


def lot_subject(lot_id: int) -> str:
    return f"lot:{lot_id}"


def kinds_evaluated(by_time: bool) -> tuple[str, ...]:
    """The lot alert kinds a judgement settles (the others it leaves as they are)."""
    return KINDS if by_time else (REVIEW_KIND,)


# -- lots as judged ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class LotInfo:
    """A lot as judging it needs: its number, expiry and product's rules."""

    id: int
    number: str
    expiry: date
    product: products.Product

    @property
    def label(self) -> str:
        return f"lot {self.number} ({self.product.name})"


def lot_holdings(session: so.Session, lot_ids: Sequence[int],
                 fridge_id: int | None = None) -> dict[int, list[lots.Holding]]:
    """Each lot's holdings (in one fridge, or all), from its ledger entries in ledger order."""
    e, mv = m.StockEntry, m.StockMovement
    changes: dict[int, list[lots.Change]] = defaultdict(list)
    for lot_id, at, fridge, delta, opened in session.execute(
            sa.select(e.lot_id, mv.at, e.fridge_id, e.delta, e.opened_vial_id.is_not(None))
            .join(mv, mv.id == e.movement_id).where(e.lot_id.in_(list(lot_ids))).order_by(mv.id, e.id)):
        changes[lot_id].append(lots.Change(at, fridge, delta, opened))
    return {lot_id: [h for h in lots.holdings(found) if fridge_id is None or h.fridge_id == fridge_id]
            for lot_id, found in changes.items()}


def lot_info(session: so.Session, lot_ids: Sequence[int]) -> dict[int, LotInfo]:
    """The lots by id, each with its product's rules (one product read once)."""
    rows = session.scalars(sa.select(m.Lot).where(m.Lot.id.in_(list(lot_ids)))
                           .options(so.selectinload(m.Lot.product).selectinload(m.Product.ranges),
                                    so.selectinload(m.Lot.product).selectinload(m.Product.gtins)))
    rules: dict[int, products.Product] = {}
    out = {}
    for lot in rows:
        if lot.product_id not in rules:
            rules[lot.product_id] = catalog.as_product(lot.product)
        out[lot.id] = LotInfo(lot.id, lot.lot_number, lot.expiry, rules[lot.product_id])
    return out


def ranges_text(product: products.Product) -> str:
    """The product's ranges as judged: "20 to 25 °C, or 2 to 8 °C; excursions 15 to 30 °C permitted while …"."""
    if product.allowance is None:
        return product.ranges_label
    return f"{product.ranges_label}; {product.allowance.label}"


# -- a lot's temperature history -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class HoldingExposure:
    """What a lot saw while ``quantity`` units (``opened`` of them opened) were in one fridge."""

    fridge_id: int
    fridge: str
    since: datetime
    until: datetime | None
    quantity: int
    opened: int
    low_c: float | None
    high_c: float | None
    known_s: float
    out_of_range_s: float
    mkt_c: float | None
    readings: int


@dataclasses.dataclass(frozen=True, slots=True)
class LotExposure:
    """A lot's whole temperature history across fridges, for its page."""

    lot_id: int
    product: str
    ranges: str
    holdings: tuple[HoldingExposure, ...]
    low_c: float | None
    high_c: float | None
    out_of_range_s: float
    mkt_c: float | None  # over its whole storage so far


def lot_exposure(session: so.Session, lot_id: int, *, now: datetime, config: Config | None = None) -> LotExposure:
    """Per holding (fridge, from, to, quantity): min/max, time out of the product's range and MKT,
    and the MKT over the lot's whole storage so far.

    Readings are judged as the fridge's alarm profile does (primary sensor, backup
    standing in, each reading holding at most the profile's allowed gap), against the
    product's ranges: of the fridge's profile (:func:`fridge_monitor.store.series.fridge_profile`)
    only the allowed gap counts here, not its range. ``config`` lets profiles declared
    only in the config file count (else presets and the admin pages' profiles; an
    unknown one holds readings for the default 35 min).
    """
    info = lot_info(session, [lot_id]).get(lot_id)
    if info is None:
        raise InventoryError(f"there is no lot {lot_id}")
    held = lot_holdings(session, [lot_id]).get(lot_id, [])
    by_fridge: dict[int, list[lots.Holding]] = defaultdict(list)
    for holding in held:
        by_fridge[holding.fridge_id].append(holding)
    fridges: dict[int, FridgeFacts] = {}
    results: dict[tuple[int, datetime], tuple[lots.Holding, exposure.TemperaturesSeen]] = {}
    for fridge_id, holdings in by_fridge.items():
        facts = fridge_facts(session, fridge_id)
        assert facts is not None  # a holding's fridge is a stored fridge (foreign key)
        fridges[fridge_id] = facts
        gap = fridge_profile(session, facts, config).allowed_gap
        for holding in holdings:
            seen = lot_seen(session, fridge_id, holding, info.product, gap, now)  # from the rollups where it can
            results[fridge_id, holding.since] = (holding, seen)
    rows = []
    for holding in held:
        _, found = results[holding.fridge_id, holding.since]
        rows.append(HoldingExposure(
            holding.fridge_id, fridges[holding.fridge_id].name, holding.since, holding.until, holding.quantity,
            holding.opened, found.low_c, found.high_c, found.known.total_seconds(),
            found.out_of_range.total_seconds(), found.mkt_c, found.readings))
    summaries = [s for _, s in results.values()]
    lows = [r.low_c for r in rows if r.low_c is not None]
    highs = [r.high_c for r in rows if r.high_c is not None]
    return LotExposure(lot_id, info.product.name, ranges_text(info.product), tuple(rows),
                       min(lows, default=None), max(highs, default=None),
                       sum(r.out_of_range_s for r in rows), exposure.overall_mkt(summaries))


# -- dispositions ----------------------------------------------------------------------------------


def open_reviews(session: so.Session, lot_id: int, fridge_ids: Collection[int] | None = None) -> list[m.LotReview]:
    """The lot's reviews still waiting for a disposition (in ``fridge_ids``; None: in any fridge), oldest first."""
    r, d = m.LotReview, m.LotDisposition
    decided = sa.select(d.review_id)
    query = sa.select(r).where(r.lot_id == lot_id, r.id.not_in(decided))
    if fridge_ids is not None:
        query = query.where(r.fridge_id.in_(sorted(fridge_ids)))
    return list(session.scalars(query.order_by(r.started_at, r.id)))


def record_disposition(session: so.Session, *, lot_id: int, decision: str, reference: str | None,
                       note: str | None, actor: str, now: datetime,
                       fridge_ids: Collection[int] | None = None) -> list[m.LotDisposition]:
    """Record the manufacturer's answer for every open review of a lot, in the caller's transaction (audited).

    ``decision`` is ``released`` (needs the manufacturer's ``reference``: the case
    or letter number) or ``discarded`` (the units still held, sealed and opened, in
    every fridge, are discarded with reason ``excursion``). With ``fridge_ids``
    (someone limited to some sites) only the reviews of those fridges are answered
    and only their units discarded. A released lot is
    usable again until a new exposure opens a new review. Their lot-review alerts
    resolve now. Raises :class:`~fridge_monitor.inventory.ledger.InventoryError` with a
    sentence for staff when the input is wrong or no review waits.
    """
    actor = (actor or "").strip()
    if not actor:
        raise InventoryError("a disposition needs the name of the person recording it")
    if now.tzinfo is None:
        raise ValueError("disposition times must be timezone-aware")
    if decision not in DECISIONS:
        raise InventoryError(f"choose the disposition: {' or '.join(DECISIONS)}, not {decision!r}")
    reference = (reference or "").strip() or None
    note = (note or "").strip() or None
    if decision == "released" and reference is None:
        raise InventoryError("a release needs the manufacturer's reference (case or letter number) for the record")
    if reference is not None and len(reference) > REFERENCE_MAX:
        raise InventoryError(f"the manufacturer's reference may be at most {REFERENCE_MAX} characters")
    if free_text.too_long(note):
        raise InventoryError(free_text.limit_message("the note"))
    lot = session.get(m.Lot, lot_id)
    if lot is None:
        raise InventoryError(f"there is no lot {lot_id}")
    waiting = open_reviews(session, lot_id, fridge_ids)
    # Lock order as in evaluation: the fridges' evaluation locks, then the alert rows, then the audit
    # trail and the lot (inventory's order), so a disposition never deadlocks with a judgement, an
    # acknowledgement (alert row, then audit) or a stock movement (audit, then lot).
    for fridge_id in sorted({r.fridge_id for r in waiting}):
        lock_fridge(session, fridge_id)
    a = m.Alert
    session.execute(sa.select(a.id).where(a.kind == REVIEW_KIND, a.subject.like(f"lot:{lot_id}/review:%"),
                                          a.ended_at.is_(None)).with_for_update())
    _lock_lot(session, lot_id)
    waiting = open_reviews(session, lot_id, fridge_ids)  # again, under the lock: someone may have just decided
    label = f"lot {lot.lot_number} ({lot.product.name})"
    if not waiting:
        raise InventoryError(f"{label} has no review waiting for a disposition: nothing to decide")
    _resolve_review_alerts(session, lot_id, [r.id for r in waiting], now)
    made = []
    for review in waiting:
        disposition = m.LotDisposition(review_id=review.id, decision=decision, reference=reference, note=note,
                                       decided_at=now, decided_by=actor)
        session.add(disposition)
        session.flush()
        made.append(disposition)
        because = f"{label}: {decision}" + (f", manufacturer's reference {reference}" if reference else "")
        audit_trail.record(session, at=now, actor=actor, action="disposition", record_type="lot_review",
                           record_id=review.id, field="decision", old=None, new=decision,
                           reason=because + (f": {note}" if note else ""))
    if decision == "discarded":
        why = note or f"disposition after excursion review {', '.join(str(r.id) for r in waiting)}"
        for held in inventory.stock(session, lot_id=lot_id):
            mine = held.fridge_id is not None and (fridge_ids is None or held.fridge_id in fridge_ids)
            if held.quantity > 0 and mine and held.fridge_id is not None:
                inventory.discard(session, lot_id=lot_id, fridge_id=held.fridge_id, quantity=held.quantity,
                                  reason_code="excursion", reason=why, actor=actor, now=now,
                                  opened_vial_id=held.opened_vial_id)
    log.info("%s: %s by %s (%d review(s))", label, decision, actor, len(waiting))
    return made


def _resolve_review_alerts(session: so.Session, lot_id: int, review_ids: Iterable[int], now: datetime) -> None:
    a = m.Alert
    subjects = [review_subject(lot_id, rid) for rid in review_ids]
    for alert in session.scalars(sa.select(a).where(a.kind == REVIEW_KIND, a.subject.in_(subjects),
                                                    a.ended_at.is_(None))):
        alert.ended_at = max(now, alert.started_at)
        alert.state = "resolved"
        alert.updated_at = now


def _lock_lot(session: so.Session, lot_id: int) -> None:
    """The lock inventory's movements take on a lot (audit append lock, then the lot row; SQLite: its write lock)."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        audit_trail.append_lock(session)
        session.get(m.Lot, lot_id, with_for_update=True, populate_existing=True)
    else:
        write_lock(session)
