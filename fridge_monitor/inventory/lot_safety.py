"""Lot safety: lots judged against their product's ranges while in a fridge, reviews, dispositions and lot warnings."""

from __future__ import annotations

import dataclasses
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.config import Config
from fridge_monitor.core import exposure, free_text, lots, products
from fridge_monitor.core.checks import LOT_KINDS, RANGE_RULE, Finding
from fridge_monitor.inventory import ledger as inventory
from fridge_monitor.inventory.ledger import InventoryError
from fridge_monitor.store import audit_trail
from fridge_monitor.store import models as m
from fridge_monitor.store.db import dialect_insert, write_lock

log = logging.getLogger(__name__)

SYSTEM = "system"
DECISIONS = ("released", "discarded")
REFERENCE_MAX = 200
KINDS = LOT_KINDS
REVIEW_KIND = "lot-review"
TIME_KINDS = tuple(k for k in KINDS if k != REVIEW_KIND)  # raised by time passing: the scheduler's judgement
DEFAULT_GAP = timedelta(minutes=35)

Series = list[tuple[datetime, float]]


def review_subject(lot_id: int, review_id: int) -> str:
    """The ``subject`` of a lot-review alert: one alert per review (episode)."""
    return f"lot:{lot_id}/review:{review_id}"


def lot_subject(lot_id: int) -> str:
    return f"lot:{lot_id}"


def kinds_judged(by_time: bool) -> tuple[str, ...]:
    """The lot alert kinds a judgement settles (the others it leaves as they are)."""
    return KINDS if by_time else (REVIEW_KIND,)


# -- judging a fridge's lots -----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Window:
    """What evaluation knows of the fridge it judges: from ``start`` to ``now``."""

    fridge_id: int
    fridge: str
    timezone: str
    start: datetime
    now: datetime
    allowed_gap: timedelta
    clear_delay: timedelta
    settle_time: timedelta = exposure.DEFAULT_SETTLE
    hysteresis_c: float = 0.0


@dataclasses.dataclass(frozen=True, slots=True)
class _LotInfo:
    id: int
    number: str
    expiry: date
    product: products.Product

    @property
    def label(self) -> str:
        return f"lot {self.number} ({self.product.name})"


class LotJudge:
    """Judges the lots of one fridge in evaluation's transaction, under the fridge's evaluation lock.

    The lots held in the fridge during the judged window are judged against their
    product's ranges (:mod:`fridge_monitor.core.exposure`); an exposure puts the lot
    under review (a :class:`~fridge_monitor.store.models.LotReview`, matched by lot,
    fridge and overlapping episode, so judging again updates it). Its findings
    become alerts like the fridge's own: ``lot-review`` (waiting for a
    disposition) and, as time passes, ``lot-expiring``, ``lot-expired`` and
    ``beyond-use``.

    :meth:`reviews` writes the reviews, :meth:`findings` gives the lot alerts'
    findings, and :meth:`audit` — called last, after every alert change, so the
    audit trail's lock is taken after the alert rows (the order acknowledging and
    recording a disposition take them in) — audits the reviews it opened.
    """

    def __init__(self, session: so.Session, window: Window) -> None:
        self.session, self.window = session, window
        self.opened: list[tuple[m.LotReview, str]] = []
        self.withdrawn: list[tuple[int, str, str]] = []

    def reviews(self, series: Series, series_from: datetime, load_series: Callable[[datetime], Series], *,
                by_time: bool = True) -> None:
        """Open or update a review for each exposure of a lot in this fridge overlapping the window.

        ``series`` is the fridge's judged series from ``series_from``; a stored
        review reaching back before it is judged whole, with ``load_series(from)``.
        Right after a batch (``by_time`` False) the readings are judged up to the
        newest one: holding it on through the time since is the scheduler's to
        judge, as for the fridge's alarms (a buffer uploaded in parts would
        otherwise expose a lot received after its last piece). A review that the
        readings no longer bear out (late readings filled the picture in) and
        nobody has decided yet is withdrawn.
        """
        w, session = self.window, self.session
        r = m.LotReview
        earliest = session.scalar(sa.select(r.started_at).where(
            r.fridge_id == w.fridge_id, sa.or_(r.ended_at.is_(None), r.ended_at >= w.start))
            .order_by(r.started_at).limit(1))
        start = min(w.start, earliest) if earliest is not None else w.start
        need_from = start - w.allowed_gap
        lot_ids = _lots_in(session, w.fridge_id, need_from)
        if not lot_ids:
            return
        covered_from = series_from
        if need_from < series_from:
            series, covered_from = load_series(need_from), need_from
        judged = w.now if by_time else min(w.now, max((at for at, _c in series), default=w.now))
        held = _holdings(session, lot_ids, w.fridge_id)
        info = _lot_info(session, lot_ids)
        stored: dict[int, list[m.LotReview]] = defaultdict(list)
        for review in session.scalars(sa.select(r).where(
                r.fridge_id == w.fridge_id, r.lot_id.in_(lot_ids),
                sa.or_(r.ended_at.is_(None), r.ended_at >= need_from)).order_by(r.started_at, r.id)):
            stored[review.lot_id].append(review)
        for lot_id in lot_ids:
            holdings = [h for h in held.get(lot_id, []) if h.until is None or h.until >= need_from]
            product = info[lot_id].product
            judged_series = series
            if holdings and product.allowance is not None:
                # Permitted excursions last while the MKT since the lot came in stays low: judge whole stays.
                whole = [stay for stay in exposure.stays(held.get(lot_id, []))
                         if stay[-1].until is None or stay[-1].until >= need_from]
                holdings = [h for stay in whole for h in stay]
                since = min(stay[0].since for stay in whole) - w.allowed_gap
                if since < covered_from:
                    judged_series = load_series(since)
            used: set[int] = set()
            for found in exposure.exposures(judged_series, holdings, product, w.allowed_gap, w.clear_delay, judged,
                                            settle=w.settle_time, hysteresis_c=w.hysteresis_c) if holdings else []:
                if found.end is not None and found.end < start:
                    continue  # judged before, and nothing since reaches it
                match = next((rv for rv in stored[lot_id] if rv.id not in used and
                              _overlaps(found.start, found.end, rv.started_at, rv.ended_at)), None)
                review = self._write(info[lot_id], found, match)
                used.add(review.id)
            unmatched = [rv for rv in stored[lot_id] if rv.id not in used and rv.started_at <= judged
                         and (rv.ended_at is None or rv.ended_at >= w.start)]
            if unmatched:
                self._withdraw(info[lot_id], unmatched)

    def _withdraw(self, lot: _LotInfo, reviews: Sequence[m.LotReview]) -> None:
        decided = set(self.session.scalars(sa.select(m.LotDisposition.review_id).where(
            m.LotDisposition.review_id.in_([rv.id for rv in reviews]))))
        for review in reviews:
            if review.id in decided:
                continue  # a person's decision stands; the exposure it was about stays on record
            self._before_audited_change()
            self.withdrawn.append((review.id, lot.label, review.reason))
            self.session.delete(review)
            log.warning("%s: review %d withdrawn, the readings now show no exposure then", lot.label, review.id)
        self.session.flush()

    def _write(self, lot: _LotInfo, found: exposure.Exposure, review: m.LotReview | None) -> m.LotReview:
        w, session = self.window, self.session
        excursion_id = _excursion_for(session, w.fridge_id, lot.id, found, review)
        values = dict(started_at=found.start, ended_at=found.end, exposure_s=found.out_of_range.total_seconds(),
                      peak_c=found.peak_c, low_c=found.low_c, mkt_c=found.mkt_c,
                      reason=_reason(lot, w.fridge, found, w.now), excursion_id=excursion_id)
        if review is None:
            self._before_audited_change()
            review = m.LotReview(lot_id=lot.id, fridge_id=w.fridge_id, created_at=w.now, created_by=SYSTEM,
                                 updated_at=w.now, **values)
            session.add(review)
            session.flush()
            self.opened.append((review, lot.label))
            log.warning("%s under review: exposed in fridge %s from %s", lot.label, w.fridge,
                        found.start.isoformat(timespec="seconds"))
            return review
        changed = False
        for key, value in values.items():
            if getattr(review, key) != value:
                setattr(review, key, value)
                changed = True
        if changed:
            review.updated_at = w.now
        return review

    def _before_audited_change(self) -> None:
        """Inserting a review takes a key-share lock on its lot (the foreign key), which a stock movement
        wants exclusively after the audit trail's lock: so take the audit lock first, as movements do —
        and before it the rows of the alerts this judgement may still change, as acknowledging takes an
        alert row before the audit lock. Then no order of these can deadlock."""
        if self.opened or self.withdrawn or self.session.get_bind().dialect.name != "postgresql":
            return  # SQLite has one writer, and this transaction holds its lock already
        w, a = self.window, m.Alert
        self.session.execute(sa.select(a.id).where(
            a.fridge_id == w.fridge_id, sa.or_(a.ended_at.is_(None), a.ended_at >= w.start)).with_for_update())
        audit_trail.append_lock(self.session)

    def findings(self, *, by_time: bool, horizons: Sequence[int] = lots.DEFAULT_HORIZONS_DAYS) -> list[Finding]:
        """The lot alerts of this fridge: its reviews waiting for a disposition and, judging by time,
        lots expiring or expired and opened vials past their beyond-use time, with units left."""
        out = self._review_findings()
        if by_time:
            out += self._stock_findings(horizons)
        return out

    def _review_findings(self) -> list[Finding]:
        w, session = self.window, self.session
        r, d, lot, p = m.LotReview, m.LotDisposition, m.Lot, m.Product
        rows = session.execute(
            sa.select(r, lot.lot_number, p.name).join(lot, lot.id == r.lot_id).join(p, p.id == lot.product_id)
            .where(r.fridge_id == w.fridge_id, r.id.not_in(sa.select(d.review_id))).order_by(r.started_at, r.id))
        out = []
        for review, number, product in rows:
            out.append(Finding(
                REVIEW_KIND, "review", review_subject(review.lot_id, review.id), "alarm", review.started_at, None,
                f"Lot {number} ({product}) under review: do not use",
                f"{review.reason} Label it \"DO NOT USE\", keep it at its storage temperature, ask the "
                "manufacturer and record their answer (release or discard) for the lot.",
                review.peak_c, review.low_c))
        return out

    def _stock_findings(self, horizons: Sequence[int]) -> list[Finding]:
        w = self.window
        tz = ZoneInfo(w.timezone)
        today = w.now.astimezone(tz).date()
        held: dict[int, list[lots.Stock]] = defaultdict(list)
        for units in inventory.stock(self.session, fridge_id=w.fridge_id):
            if units.quantity > 0:
                held[units.lot_id].append(units)
        out = []
        for lot_id, stock in held.items():
            first = stock[0]
            label = f"lot {first.lot_number} ({first.product})"
            count = sum(s.quantity for s in stock)
            if first.review is lots.Review.DISCARDED:
                continue  # its units are being discarded with the disposition
            expired_at = lots.expires_at(first.expiry, tz)
            if w.now >= expired_at:
                out.append(Finding(
                    "lot-expired", "expired", lot_subject(lot_id), "alarm", expired_at.astimezone(UTC),
                    None, f"Expired stock on hand: {label}",
                    f"{label.capitalize()} expired on {first.expiry.isoformat()}; {count} unit(s) are still "
                    f"recorded in {w.fridge}. Take them out of use and discard them (reason: expired)."))
            else:
                horizon = lots.warning_horizon(first.expiry, today, horizons)
                if horizon is not None:
                    since = datetime.combine(first.expiry - timedelta(days=horizon), time(0), tz)
                    days = (first.expiry - today).days
                    out.append(Finding(
                        "lot-expiring", f"{horizon}-days", lot_subject(lot_id), "warning",
                        since.astimezone(UTC), None,
                        f"Expiring within {horizon} days: {label}",
                        f"{label.capitalize()} expires on {first.expiry.isoformat()} (in {days} days); "
                        f"{count} unit(s) in {w.fridge}. Use it first, or arrange a return or exchange."))
            for units in stock:
                if units.opened and units.beyond_use_at is not None and w.now >= units.beyond_use_at:
                    local = units.beyond_use_at.astimezone(tz)
                    out.append(Finding(
                        "beyond-use", "beyond-use", f"opened-vial:{units.opened_vial_id}", "alarm",
                        units.beyond_use_at, None, f"Past its beyond-use time: opened {label}",
                        f"{units.quantity} opened unit(s) of {label} in {w.fridge} were usable until "
                        f"{local:%Y-%m-%d %H:%M}. Do not use them: discard them (reason: beyond use)."))
        return out

    def audit(self) -> None:
        """Audit the reviews this judgement opened (the system put the lot under review) or withdrew."""
        for review, label in self.opened:
            audit_trail.record(self.session, at=self.window.now, actor=SYSTEM, action="create",
                               record_type="lot_review", record_id=review.id, field="status",
                               old=None, new="under_review", reason=f"{label}: {review.reason}")
        for review_id, label, reason in self.withdrawn:
            audit_trail.record(self.session, at=self.window.now, actor=SYSTEM, action="delete",
                               record_type="lot_review", record_id=review_id, field="status",
                               old="under_review", new=None,
                               reason=f"{label}: later readings show no exposure then (was: {reason})")
        self.opened.clear()
        self.withdrawn.clear()


def _overlaps(start_a: datetime, end_a: datetime | None, start_b: datetime, end_b: datetime | None) -> bool:
    return (end_b is None or start_a <= end_b) and (end_a is None or start_b <= end_a)


def _lots_in(session: so.Session, fridge_id: int, since: datetime) -> list[int]:
    """Lots held in the fridge now, or moved in or out of it since ``since``: only those can have been
    there during the window (the hot path reads no more)."""
    e, mv = m.StockEntry, m.StockMovement
    return list(session.scalars(
        sa.select(e.lot_id).join(mv, mv.id == e.movement_id).where(e.fridge_id == fridge_id).group_by(e.lot_id)
        .having(sa.or_(sa.func.sum(e.delta) != 0, sa.func.max(mv.at) >= since)).order_by(e.lot_id)))


def _holdings(session: so.Session, lot_ids: Sequence[int], fridge_id: int | None = None) -> dict[int, list[lots.Holding]]:
    """Each lot's holdings (in one fridge, or all), from its ledger entries in ledger order."""
    e, mv = m.StockEntry, m.StockMovement
    changes: dict[int, list[lots.Change]] = defaultdict(list)
    for lot_id, at, fridge, delta, opened in session.execute(
            sa.select(e.lot_id, mv.at, e.fridge_id, e.delta, e.opened_vial_id.is_not(None))
            .join(mv, mv.id == e.movement_id).where(e.lot_id.in_(list(lot_ids))).order_by(mv.id, e.id)):
        changes[lot_id].append(lots.Change(at, fridge, delta, opened))
    return {lot_id: [h for h in lots.holdings(found) if fridge_id is None or h.fridge_id == fridge_id]
            for lot_id, found in changes.items()}


def _lot_info(session: so.Session, lot_ids: Sequence[int]) -> dict[int, _LotInfo]:
    rows = session.scalars(sa.select(m.Lot).where(m.Lot.id.in_(list(lot_ids)))
                           .options(so.selectinload(m.Lot.product).selectinload(m.Product.ranges),
                                    so.selectinload(m.Lot.product).selectinload(m.Product.gtins)))
    rules: dict[int, products.Product] = {}
    out = {}
    for lot in rows:
        if lot.product_id not in rules:
            rules[lot.product_id] = inventory.as_product(lot.product)
        out[lot.id] = _LotInfo(lot.id, lot.lot_number, lot.expiry, rules[lot.product_id])
    return out


def _excursion_for(session: so.Session, fridge_id: int, lot_id: int, found: exposure.Exposure,
                   review: m.LotReview | None) -> int | None:
    """The fridge's excursion overlapping the exposure (its out-of-range record first), unless another
    review of this lot names it already (one review per lot and excursion)."""
    e, r = m.Excursion, m.LotReview
    query = sa.select(e.id).where(e.fridge_id == fridge_id, sa.or_(e.ended_at.is_(None), e.ended_at >= found.start))
    if found.end is not None:
        query = query.where(e.started_at <= found.end)
    taken = sa.select(r.excursion_id).where(r.lot_id == lot_id, r.excursion_id.is_not(None))
    if review is not None:
        taken = taken.where(r.id != review.id)
    query = query.where(e.id.not_in(taken))
    return session.scalar(query.order_by(sa.case((e.rule == RANGE_RULE, 0), else_=1), e.started_at, e.id).limit(1))


def _minutes(span: timedelta) -> str:
    total = int(span.total_seconds() // 60)
    hours, minutes = divmod(total, 60)
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"


def _ranges_text(product: products.Product) -> str:
    """The product's ranges as judged: "20 to 25 °C, or 2 to 8 °C; excursions 15 to 30 °C permitted while …"."""
    if product.allowance is None:
        return product.ranges_label
    return f"{product.ranges_label}; {product.allowance.label}"


def _reason(lot: _LotInfo, fridge: str, found: exposure.Exposure, now: datetime) -> str:
    ranges = _ranges_text(lot.product)
    if lot.product.opened_range is not None:
        ranges += f"; opened {lot.product.opened_range.label}"
    lasting = "" if found.end is not None else " so far"
    text = (f"In {fridge}, outside its product's storage range ({ranges}) for {_minutes(found.out_of_range)}"
            f"{lasting}: highest {found.peak_c:.1f} °C, lowest {found.low_c:.1f} °C")
    if found.mkt_c is not None:
        text += f", mean kinetic temperature {found.mkt_c:.1f} °C"
    if found.unknown > timedelta(0):
        text += (f"; {_minutes(found.unknown)} of it without readings, between readings outside the range "
                 "(counted as outside)")
    return text + "."


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
    standing in, each reading holding at most the profile's allowed gap);
    ``config`` lets profiles declared only in the config file count (else presets and
    the admin pages' profiles; an unknown one holds readings for 35 min).
    """
    from fridge_monitor.alerts import evaluate
    from fridge_monitor.core.rules import PRESETS
    from fridge_monitor.store import profiles
    from fridge_monitor.store.overview import segments

    info = _lot_info(session, [lot_id]).get(lot_id)
    if info is None:
        raise InventoryError(f"there is no lot {lot_id}")
    held = _holdings(session, [lot_id]).get(lot_id, [])
    fridges = {row.id: row for row in session.scalars(
        sa.select(m.Fridge).where(m.Fridge.id.in_({h.fridge_id for h in held})))} if held else {}
    stored = profiles.stored(session) if held else {}
    by_fridge: dict[int, list[lots.Holding]] = defaultdict(list)
    for holding in held:
        by_fridge[holding.fridge_id].append(holding)
    results: dict[tuple[int, datetime], tuple[lots.Holding, exposure.Summary]] = {}
    for fridge_id, holdings in by_fridge.items():
        fridge = fridges[fridge_id]
        declared = {p.name: p for p in config.alarm_profiles} if config is not None else {}
        base = (PRESETS.get(fridge.alarm_profile) or declared.get(fridge.alarm_profile)
                or stored.get(fridge.alarm_profile))
        gap = base.allowed_gap if base is not None else DEFAULT_GAP
        lo = min(h.since for h in holdings) - gap
        hi = max((h.until or now) for h in holdings)
        segs = segments(session.connection(), [fridge_id], lo, hi)
        series = evaluate.fridge_series(evaluate.readings_by_segment(session, segs, lo, hi), gap)
        for holding in holdings:
            results[fridge_id, holding.since] = (holding, exposure.summary(series, [holding], info.product, gap, now))
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
    return LotExposure(lot_id, info.product.name, _ranges_text(info.product), tuple(rows),
                       min(lows, default=None), max(highs, default=None),
                       sum(r.out_of_range_s for r in rows), exposure.overall_mkt(summaries))


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
    waiting = open_reviews(session, lot_id)
    # Lock order as in evaluation: the fridges' evaluation locks, then the alert rows, then the audit
    # trail and the lot (inventory's order), so a disposition never deadlocks with a judgement, an
    # acknowledgement (alert row, then audit) or a stock movement (audit, then lot).
    for fridge_id in sorted({r.fridge_id for r in waiting}):
        lock_fridge(session, fridge_id)
    a = m.Alert
    session.execute(sa.select(a.id).where(a.kind == REVIEW_KIND, a.subject.like(f"lot:{lot_id}/review:%"),
                                          a.ended_at.is_(None)).with_for_update())
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
                                                    a.ended_at.is_(None))):
        alert.ended_at = max(now, alert.started_at)
        alert.state = "resolved"
        alert.updated_at = now


def lock_fridge(session: so.Session, fridge_id: int) -> None:
    """Take one fridge's evaluation lock (its FridgeEvaluation row) until commit, changing nothing in it."""
    fe = m.FridgeEvaluation.__table__
    insert = dialect_insert(session.get_bind().dialect.name, fe)
    session.execute(insert.values(fridge_id=fridge_id, dirty_since=None, evaluated_at=None).on_conflict_do_update(
        index_elements=["fridge_id"], set_={"evaluated_at": fe.c.evaluated_at}))


def _lock_lot(session: so.Session, lot_id: int) -> None:
    """The lock inventory's movements take on a lot (audit append lock, then the lot row; SQLite: its write lock)."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        audit_trail.append_lock(session)
        session.get(m.Lot, lot_id, with_for_update=True, populate_existing=True)
    else:
        write_lock(session)
