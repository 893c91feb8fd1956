"""Lot safety: lots judged against their product's ranges while in a fridge, reviews, dispositions and lot warnings."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.dialects import postgresql, sqlite

from fridge_monitor import audit_trail, inventory
from fridge_monitor import models as m
from fridge_monitor.inventory import InventoryError

log = logging.getLogger(__name__)

SYSTEM = "system"
DECISIONS = ("released", "discarded")
REFERENCE_MAX = 200
REVIEW_KIND = "lot-review"


def review_subject(lot_id: int, review_id: int) -> str:
    """The ``subject`` of a lot-review alert: one alert per review (episode)."""
    return f"lot:{lot_id}/review:{review_id}"


# -- dispositions ----------------------------------------------------------------------------------


def open_reviews(session: so.Session, lot_id: int) -> list[m.LotReview]:
    """The lot's reviews still waiting for a disposition, oldest first."""
    r, d = m.LotReview, m.LotDisposition
    decided = sa.select(d.review_id)
    return list(session.scalars(sa.select(r).where(r.lot_id == lot_id, r.id.not_in(decided))
                                .order_by(r.started_at, r.id)))


def record_disposition(session: so.Session, *, lot_id: int, decision: str, reference: str | None,
                       note: str | None, actor: str, now: datetime) -> list[m.LotDisposition]:
    """Record the manufacturer's answer for every open review of a lot, in the caller's transaction (audited).

    ``decision`` is ``released`` (needs the manufacturer's ``reference``: the case
    or letter number) or ``discarded`` (the units still held, sealed and opened, in
    every fridge, are discarded with reason ``excursion``). A released lot is
    usable again until a new exposure opens a new review. Their lot-review alerts
    resolve now. Raises :class:`~fridge_monitor.inventory.InventoryError` with a
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
    lot = session.get(m.Lot, lot_id)
    if lot is None:
        raise InventoryError(f"there is no lot {lot_id}")
    waiting = open_reviews(session, lot_id)
    if waiting:
        # Lock order as in evaluation: the fridges' evaluation locks, then the alerts, then the audit
        # trail and the lot (inventory's order), so a disposition and a judgement never deadlock.
        for fridge_id in sorted({r.fridge_id for r in waiting}):
            lock_fridge(session, fridge_id)
    _lock_lot(session, lot_id)
    waiting = open_reviews(session, lot_id)  # again, under the lock: someone may have just decided
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
            if held.quantity > 0 and held.fridge_id is not None:
                inventory.discard(session, lot_id=lot_id, fridge_id=held.fridge_id, quantity=held.quantity,
                                  reason_code="excursion", reason=why, actor=actor, now=now,
                                  opened_vial_id=held.opened_vial_id)
    log.info("%s: %s by %s (%d review(s))", label, decision, actor, len(waiting))
    return made


def _resolve_review_alerts(session: so.Session, lot_id: int, review_ids: Iterable[int], now: datetime) -> None:
    a = m.Alert
    subjects = [review_subject(lot_id, rid) for rid in review_ids]
    for alert in session.scalars(sa.select(a).where(a.kind == REVIEW_KIND, a.subject.in_(subjects),
                                                    a.ended_at.is_(None)).with_for_update()):
        alert.ended_at = max(now, alert.started_at)
        alert.state = "resolved"
        alert.updated_at = now


def lock_fridge(session: so.Session, fridge_id: int) -> None:
    """Take one fridge's evaluation lock (its FridgeEvaluation row) until commit, changing nothing in it."""
    fe = m.FridgeEvaluation.__table__
    dialect = session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(fe)
    session.execute(insert.values(fridge_id=fridge_id, dirty_since=None, evaluated_at=None).on_conflict_do_update(
        index_elements=["fridge_id"], set_={"evaluated_at": fe.c.evaluated_at}))


def _lock_lot(session: so.Session, lot_id: int) -> None:
    """The lock inventory's movements take on a lot (audit append lock, then the lot row; SQLite: its write lock)."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": audit_trail._APPEND_LOCK})
        session.get(m.Lot, lot_id, with_for_update=True, populate_existing=True)
    else:
        inventory._write_lock(session)
