"""The stock ledger in the database: stock movements, quantities, where a lot was.

Products, GTINs and lots, what the stock is of, are in :mod:`fridge_monitor.inventory.catalog`.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.core import free_text, lots, products
from fridge_monitor.inventory.catalog import InventoryError, check_actor, product
from fridge_monitor.store import audit_trail
from fridge_monitor.store import models as m
from fridge_monitor.store.db import write_lock

KINDS = ("receive", "use", "transfer", "reconstitute", "discard", "correct")
DISCARD_REASONS = ("expired", "excursion", "damaged", "beyond_use", "other")


# -- movements -----------------------------------------------------------------------------------
#
# Stock changes only through these: each appends a StockMovement whose signed StockEntry rows say
# how many units entered or left which fridge (sealed, or of one opened vial group); quantities are
# sums of entries, and the database refuses edits. Each runs in the caller's transaction, which
# also gets its audit event; the caller commits:
#
#     with so.Session(engine) as session, session.begin():
#         inventory.use(session, lot_id=lot.id, fridge_id=a1.id, actor="nurse.kim", now=now)
#
# Each first locks its lot (_lock) and only then reads the balance, so of two nurses taking the
# last vial at once one succeeds and the other is told how many are left.


@dataclasses.dataclass(frozen=True, slots=True)
class _Context:
    """What a movement needs to know about its lot, locked."""

    lot: m.Lot
    product: products.Product
    review: lots.Review


def receive(session: so.Session, *, lot_id: int, fridge_id: int, quantity: int, actor: str, now: datetime,
            serial: str | None = None, note: str | None = None) -> m.StockMovement:
    """Units arrive in a fridge. An expired lot, or a pack serial received before, is refused."""
    _check_quantity(quantity)
    ctx = _lock(session, lot_id, actor, now)
    fridge = _fridge(session, fridge_id, receiving=True)
    if now >= lots.expires_at(ctx.lot.expiry, fridge.tz):
        raise InventoryError(f"lot {ctx.lot.lot_number} ({ctx.product.name}) expired on "
                             f"{ctx.lot.expiry.isoformat()}: do not put it in stock")
    serial = (serial or "").strip() or None
    if serial is not None:
        seen = session.execute(
            sa.select(m.StockMovement.at, m.StockMovement.actor).join(m.LotSerial)
            .where(m.LotSerial.lot_id == lot_id, m.LotSerial.serial == serial)).first()
        if seen is not None:
            raise InventoryError(f"the pack with serial {serial} of lot {ctx.lot.lot_number} was already received "
                                 f"on {seen.at.astimezone(fridge.tz):%Y-%m-%d %H:%M} by {seen.actor}")
    movement = _write(session, ctx, "receive", quantity, actor, now, [(fridge, None, quantity)], reason=note,
                      text=f"received {_units(ctx, quantity)} into {fridge.name}")
    if serial is not None:
        session.add(m.LotSerial(lot_id=lot_id, serial=serial, movement_id=movement.id))
        session.flush()
    return movement


def use(session: so.Session, *, lot_id: int, fridge_id: int, actor: str, now: datetime, quantity: int = 1,
        opened_vial_id: int | None = None, note: str | None = None) -> m.StockMovement:
    """Units taken out to administer: sealed ones, or an opened vial group (``opened_vial_id``).

    Refused when the lot is expired, under review or dispositioned for discard,
    or the opened vial is past its beyond-use time.
    """
    _check_quantity(quantity)
    ctx = _lock(session, lot_id, actor, now)
    fridge = _fridge(session, fridge_id)
    opened = _opened(session, ctx, opened_vial_id)
    _refuse_unusable(ctx, opened, now, fridge.tz)
    _need(session, ctx, fridge, opened, quantity, "use")
    return _write(session, ctx, "use", quantity, actor, now, [(fridge, opened, -quantity)], reason=note,
                  text=f"used {_units(ctx, quantity, opened)} from {fridge.name}")


def transfer(session: so.Session, *, lot_id: int, from_fridge_id: int, to_fridge_id: int, quantity: int,
             actor: str, now: datetime, opened_vial_id: int | None = None,
             note: str | None = None) -> m.StockMovement:
    """Units moved between fridges — allowed whatever the lot's status (exposed stock is moved to a working unit)."""
    _check_quantity(quantity)
    if from_fridge_id == to_fridge_id:
        raise InventoryError("choose a different fridge to move the stock to")
    ctx = _lock(session, lot_id, actor, now)
    source = _fridge(session, from_fridge_id)
    target = _fridge(session, to_fridge_id, receiving=True)
    opened = _opened(session, ctx, opened_vial_id)
    _need(session, ctx, source, opened, quantity, "move")
    return _write(session, ctx, "transfer", quantity, actor, now,
                  [(source, opened, -quantity), (target, opened, quantity)], reason=note,
                  text=f"moved {_units(ctx, quantity, opened)} from {source.name} to {target.name}")


def reconstitute(session: so.Session, *, lot_id: int, fridge_id: int, actor: str, now: datetime,
                 quantity: int = 1, note: str | None = None) -> m.StockMovement:
    """Sealed vials reconstituted or opened: they become an opened vial group (``movement.opened_vial``)
    whose beyond-use time is ``now`` plus the product's limit, fixed from then on."""
    _check_quantity(quantity)
    ctx = _lock(session, lot_id, actor, now)
    fridge = _fridge(session, fridge_id)
    _refuse_unusable(ctx, None, now, fridge.tz)
    _need(session, ctx, fridge, None, quantity, "open")
    beyond = products.beyond_use_at(ctx.product, now)
    until = f", usable until {beyond.astimezone(fridge.tz):%Y-%m-%d %H:%M}" if beyond else ""
    return _write(session, ctx, "reconstitute", quantity, actor, now, [(fridge, None, -quantity)], reason=note,
                  text=f"reconstituted {_units(ctx, quantity)} in {fridge.name}{until}", opens=True,
                  beyond_use_at=beyond)


def discard(session: so.Session, *, lot_id: int, fridge_id: int, quantity: int, reason_code: str, actor: str,
            now: datetime, reason: str | None = None, opened_vial_id: int | None = None) -> m.StockMovement:
    """Units thrown away, for one of :data:`DISCARD_REASONS` (``other`` needs the free-text ``reason``)."""
    _check_quantity(quantity)
    if reason_code not in DISCARD_REASONS:
        raise InventoryError(f"choose why the stock is discarded: {', '.join(DISCARD_REASONS)}")
    reason = (reason or "").strip() or None
    if reason_code == "other" and reason is None:
        raise InventoryError("say why the stock is discarded")
    ctx = _lock(session, lot_id, actor, now)
    fridge = _fridge(session, fridge_id)
    opened = _opened(session, ctx, opened_vial_id)
    _need(session, ctx, fridge, opened, quantity, "discard")
    return _write(session, ctx, "discard", quantity, actor, now, [(fridge, opened, -quantity)],
                  reason_code=reason_code, reason=reason,
                  text=f"discarded {_units(ctx, quantity, opened)} from {fridge.name} "
                       f"({reason_code.replace('_', ' ')})")


def correct(session: so.Session, *, lot_id: int, fridge_id: int, counted: int, reason: str, actor: str,
            now: datetime, opened_vial_id: int | None = None, corrects_id: int | None = None) -> m.StockMovement:
    """A count that differs from the records: a new movement of the difference (it never edits an old one);
    ``corrects_id`` may name the movement that was wrong."""
    if isinstance(counted, bool) or not isinstance(counted, int) or counted < 0:
        raise InventoryError("the count must be a whole number, 0 or more")
    reason = reason.strip()
    if not reason:
        raise InventoryError("say why the count differs (it goes into the audit trail)")
    ctx = _lock(session, lot_id, actor, now)
    fridge = _fridge(session, fridge_id)
    opened = _opened(session, ctx, opened_vial_id)
    if corrects_id is not None:
        wrong = session.get(m.StockMovement, corrects_id)
        if wrong is None or wrong.lot_id != lot_id:
            raise InventoryError(f"movement {corrects_id} is not a movement of lot {ctx.lot.lot_number}")
    held = _held(session, lot_id, fridge.id, opened)
    delta = counted - held
    if delta == 0:
        raise InventoryError(f"the count matches the records ({_units(ctx, held, opened)} in {fridge.name}): "
                             "nothing to correct")
    return _write(session, ctx, "correct", abs(delta), actor, now, [(fridge, opened, delta)], reason=reason,
                  counted=counted, corrects_id=corrects_id,
                  text=f"count of {_units(ctx, counted, opened)} in {fridge.name} (records said {held})")


# -- reading -------------------------------------------------------------------------------------


def quantity(session: so.Session, lot_id: int, fridge_id: int | None = None) -> int:
    """Units of the lot (sealed and opened) in one fridge, or in all of them."""
    e = m.StockEntry
    query = sa.select(sa.func.coalesce(sa.func.sum(e.delta), 0)).where(e.lot_id == lot_id)
    if fridge_id is not None:
        query = query.where(e.fridge_id == fridge_id)
    return int(session.scalar(query) or 0)


def stock(session: so.Session, *, fridge_id: int | None = None, lot_id: int | None = None,
          product_id: int | None = None, fridge_ids: Collection[int] | None = None) -> list[lots.Stock]:
    """What is held (in ``fridge_id``, or in ``fridge_ids``), one :class:`~fridge_monitor.core.lots.Stock` per
    lot, fridge and opened vial group, with the lot's review state; feed it to
    :func:`fridge_monitor.core.lots.stock_status` or :func:`~fridge_monitor.core.lots.fefo`."""
    e, lot, p, o = m.StockEntry, m.Lot, m.Product, m.OpenedVial
    held = sa.select(e.lot_id, e.fridge_id, e.opened_vial_id, sa.func.sum(e.delta).label("quantity")).group_by(
        e.lot_id, e.fridge_id, e.opened_vial_id)
    if fridge_id is not None:
        held = held.where(e.fridge_id == fridge_id)
    if fridge_ids is not None:
        held = held.where(e.fridge_id.in_(sorted(fridge_ids)))
    if lot_id is not None:
        held = held.where(e.lot_id == lot_id)
    sums = held.having(sa.func.sum(e.delta) != 0).subquery()
    query = (sa.select(sums, lot.lot_number, lot.expiry, lot.product_id, p.name, o.opened_at, o.beyond_use_at)
             .join(lot, lot.id == sums.c.lot_id).join(p, p.id == lot.product_id)
             .outerjoin(o, o.id == sums.c.opened_vial_id)
             .order_by(lot.expiry, lot.lot_number, sums.c.fridge_id, sums.c.opened_vial_id))
    if product_id is not None:
        query = query.where(lot.product_id == product_id)
    rows = session.execute(query).all()
    reviews = review_states(session, {r.lot_id for r in rows})
    return [lots.Stock(lot_id=r.lot_id, lot_number=r.lot_number, expiry=r.expiry, quantity=int(r.quantity),
                       fridge_id=r.fridge_id, product_id=r.product_id, product=r.name,
                       review=reviews.get(r.lot_id, lots.Review.NONE), opened_vial_id=r.opened_vial_id,
                       opened_at=r.opened_at, beyond_use_at=r.beyond_use_at) for r in rows]


def take_next(session: so.Session, *, fridge_id: int, product_id: int, now: datetime) -> lots.Stock | None:
    """First-expiry-first-out: which units of this product to take from this fridge now, or None."""
    tz = _fridge(session, fridge_id).tz
    return lots.take_next(stock(session, fridge_id=fridge_id, product_id=product_id), now, tz)


def review_states(session: so.Session, lot_ids: Iterable[int]) -> dict[int, lots.Review]:
    """Each lot's review state from its reviews and their newest dispositions (lots never reviewed: NONE)."""
    ids = sorted(set(lot_ids))
    if not ids:
        return {}
    r, d = m.LotReview, m.LotDisposition
    newest = sa.select(d.review_id, sa.func.max(d.id).label("id")).group_by(d.review_id).subquery()
    rows = session.execute(sa.select(r.lot_id, d.decision).outerjoin(newest, newest.c.review_id == r.id)
                           .outerjoin(d, d.id == newest.c.id).where(r.lot_id.in_(ids)))
    decisions: dict[int, list[str | None]] = defaultdict(list)
    for lot_id, decision in rows:
        decisions[lot_id].append(decision)
    return {lot_id: lots.review_state(decisions[lot_id]) if lot_id in decisions else lots.Review.NONE
            for lot_id in ids}


def location_history(session: so.Session, lot_id: int) -> list[lots.Holding]:
    """Which fridge held how many units of the lot, from when to when (``until`` None: still there)."""
    e, mv = m.StockEntry, m.StockMovement
    rows = session.execute(sa.select(mv.at, e.fridge_id, e.delta, e.opened_vial_id.is_not(None))
                           .join(mv, mv.id == e.movement_id).where(e.lot_id == lot_id).order_by(mv.id, e.id))
    return lots.holdings(lots.Change(at, fridge, delta, opened) for at, fridge, delta, opened in rows)


def movements(session: so.Session, *, lot_id: int | None = None, fridge_id: int | None = None,
              since: datetime | None = None, until: datetime | None = None) -> list[m.StockMovement]:
    """Movements, oldest first, with their entries; ``fridge_id`` keeps those that touched that fridge."""
    mv = m.StockMovement
    query = sa.select(mv).options(so.selectinload(mv.entries), so.selectinload(mv.lot)).order_by(mv.id)
    if lot_id is not None:
        query = query.where(mv.lot_id == lot_id)
    if fridge_id is not None:
        query = query.where(mv.id.in_(sa.select(m.StockEntry.movement_id).where(m.StockEntry.fridge_id == fridge_id)))
    if since is not None:
        query = query.where(mv.at >= since)
    if until is not None:
        query = query.where(mv.at < until)
    return list(session.scalars(query))


# -- inside ----------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class _Fridge:
    id: int
    name: str
    tz: ZoneInfo


def _lock(session: so.Session, lot_id: int, actor: str, now: datetime) -> _Context:
    """Lock the lot against other movements until commit, then read it."""
    check_actor(actor)
    if now.tzinfo is None:
        raise ValueError("movement times must be timezone-aware")
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        write_lock(session)  # SQLite has one writer: holding its lock serialises every lot
        lot = session.get(m.Lot, lot_id, populate_existing=True)
    else:
        # The audit event this movement writes takes audit_trail's append lock; taking it first keeps one
        # lock order (audit, then lot) across all audited transactions, so none can deadlock on a lot.
        audit_trail.append_lock(session)
        lot = session.get(m.Lot, lot_id, with_for_update=True, populate_existing=True)
    if lot is None:
        raise InventoryError(f"there is no lot {lot_id}")
    return _Context(lot, product(session, lot.product_id), review_states(session, [lot_id])[lot_id])


def _fridge(session: so.Session, fridge_id: int, *, receiving: bool = False) -> _Fridge:
    found = session.execute(sa.select(m.Fridge.name, m.Fridge.retired_at, m.Site.timezone)
                            .join(m.Site, m.Site.id == m.Fridge.site_id).where(m.Fridge.id == fridge_id)).first()
    if found is None:
        raise InventoryError(f"there is no fridge {fridge_id}")
    if receiving and found.retired_at is not None:
        raise InventoryError(f"fridge {found.name} is retired: put the stock in a fridge in service")
    return _Fridge(fridge_id, found.name, ZoneInfo(found.timezone))


def _opened(session: so.Session, ctx: _Context, opened_vial_id: int | None) -> m.OpenedVial | None:
    if opened_vial_id is None:
        return None
    opened = session.get(m.OpenedVial, opened_vial_id)
    if opened is None or opened.lot_id != ctx.lot.id:
        raise InventoryError(f"there is no opened vial {opened_vial_id} of lot {ctx.lot.lot_number}")
    return opened


def _refuse_unusable(ctx: _Context, opened: m.OpenedVial | None, now: datetime, tz: ZoneInfo) -> None:
    units = lots.Stock(lot_id=ctx.lot.id, lot_number=ctx.lot.lot_number, expiry=ctx.lot.expiry, quantity=1,
                       product=ctx.product.name, review=ctx.review,
                       opened_vial_id=opened.id if opened else None,
                       beyond_use_at=opened.beyond_use_at if opened else None)
    why = lots.unusable_reason(units, now, tz)
    if why is not None:
        raise InventoryError(why)


def _held(session: so.Session, lot_id: int, fridge_id: int, opened: m.OpenedVial | None) -> int:
    e = m.StockEntry
    bucket = e.opened_vial_id.is_(None) if opened is None else e.opened_vial_id == opened.id
    return int(session.scalar(sa.select(sa.func.coalesce(sa.func.sum(e.delta), 0))
                              .where(e.lot_id == lot_id, e.fridge_id == fridge_id, bucket)) or 0)


def _need(session: so.Session, ctx: _Context, fridge: _Fridge, opened: m.OpenedVial | None, wanted: int,
          verb: str) -> None:
    held = _held(session, ctx.lot.id, fridge.id, opened)
    if held < wanted:
        have = f"only {_units(ctx, held, opened)}" if held else f"no {_noun(ctx, 2, opened)}"
        raise InventoryError(f"{have} of lot {ctx.lot.lot_number} ({ctx.product.name}) in fridge {fridge.name}: "
                             f"cannot {verb} {wanted}")


def _write(session: so.Session, ctx: _Context, kind: str, quantity: int, actor: str, now: datetime,
           changes: list[tuple[_Fridge, m.OpenedVial | None, int]], *, text: str, reason: str | None = None,
           reason_code: str | None = None, counted: int | None = None, corrects_id: int | None = None,
           opens: bool = False, beyond_use_at: datetime | None = None) -> m.StockMovement:
    """Append the movement, its entries (and the opened vial group it ``opens``) and its audit event."""
    reason = (reason or "").strip() or None
    if free_text.too_long(reason):
        raise InventoryError(free_text.limit_message("the note or reason"))
    before = {(f.id, o.id if o else None): _held(session, ctx.lot.id, f.id, o) for f, o, _ in changes}
    movement = m.StockMovement(kind=kind, lot_id=ctx.lot.id, quantity=quantity, at=now, actor=actor,
                               reason_code=reason_code, reason=reason, counted=counted, corrects_id=corrects_id)
    session.add(movement)
    session.flush()
    entries = list(changes)
    if opens:
        where = changes[0][0]
        group = m.OpenedVial(lot_id=ctx.lot.id, movement_id=movement.id, opened_at=now, opened_by=actor,
                             beyond_use_at=beyond_use_at)
        session.add(group)
        session.flush()
        entries.append((where, group, quantity))
        before[(where.id, group.id)] = 0
    for fridge, opened, delta in entries:
        session.add(m.StockEntry(movement_id=movement.id, lot_id=ctx.lot.id, fridge_id=fridge.id,
                                 opened_vial_id=opened.id if opened else None, delta=delta))
    session.flush()
    after = dict(before)
    for fridge, opened, delta in entries:
        after[(fridge.id, opened.id if opened else None)] += delta
    names = {f.id: f.name for f, _, _ in entries}
    audit_trail.record(
        session, at=now, actor=actor, action=kind, record_type="stock_movement", record_id=movement.id,
        field="quantity", old=_levels(before, names), new=_levels(after, names),
        reason=f"lot {ctx.lot.lot_number} ({ctx.product.name}): {text}" + (f": {reason}" if reason else ""),
    )
    session.refresh(movement, ["entries", "opened_vial"])
    return movement


def _levels(levels: Mapping[tuple[int, int | None], int], names: Mapping[int, str]) -> str:
    return ", ".join(f"{names[f]}{'' if o is None else f' opened vial {o}'}: {q}" for (f, o), q in levels.items())


def _check_quantity(quantity: int) -> None:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise InventoryError("the quantity must be a whole number, 1 or more")


def _noun(ctx: _Context, count: int, opened: m.OpenedVial | None = None) -> str:
    unit = ctx.product.unit or "unit"
    return ("opened " if opened is not None else "") + (unit if count == 1 else f"{unit}s")


def _units(ctx: _Context, count: int, opened: m.OpenedVial | None = None) -> str:
    return f"{count} {_noun(ctx, count, opened)}"
