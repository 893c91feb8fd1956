"""Judging the lots of one fridge against their products' ranges, in evaluation's transaction.

Evaluation hands :class:`LotEvaluation` the fridge's judged series over its window;
an exposure puts a lot under review, and the judge's findings become lot alerts.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.core import exposure, lots
from fridge_monitor.core.checks import RANGE_RULE, Finding
from fridge_monitor.core.loggers.alarms import LoggerEpisode, device_exposures
from fridge_monitor.inventory import ledger as inventory
from fridge_monitor.inventory.lot_safety import (
    REVIEW_KIND,
    SYSTEM,
    LotInfo,
    lot_holdings,
    lot_info,
    lot_subject,
    ranges_text,
    review_subject,
)
from fridge_monitor.store import audit_trail
from fridge_monitor.store import models as m
from fridge_monitor.store.period import fridge_period_stats
from fridge_monitor.store.series import Readings

log = logging.getLogger(__name__)


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



class LotEvaluation:
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

    def reviews(self, series: Readings, series_from: datetime, load_series: Callable[[datetime], Readings], *,
                by_time: bool = True, device: Sequence[LoggerEpisode] = ()) -> None:
        """Open or update a review for each exposure of a lot in this fridge overlapping the window.

        ``series`` is the fridge's judged series from ``series_from``; a stored
        review reaching back before it is judged whole, with ``load_series(from)``.
        Right after a batch (``by_time`` False) the readings are judged up to the
        newest one: holding it on through the time since is the scheduler's to
        judge, as for the fridge's alarms (a buffer uploaded in parts would
        otherwise expose a lot received after its last piece). A review that the
        readings no longer bear out (late readings filled the picture in) and
        nobody has decided yet is withdrawn. A product with permitted excursions
        is judged by the MKT since each stay began: the stay's time before the
        series comes from the rollups, so a lot kept for years costs no more. ``device``: the alarm episodes of
        the fridge's loggers that keep a daily history only, judged as exposures by their extremes.
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
        if need_from < series_from:
            series = load_series(need_from)
        judged = w.now if by_time else min(w.now, max((at for at, _c in series), default=w.now))
        held = lot_holdings(session, lot_ids, w.fridge_id)
        info = lot_info(session, lot_ids)
        stored: dict[int, list[m.LotReview]] = defaultdict(list)
        for review in session.scalars(sa.select(r).where(
                r.fridge_id == w.fridge_id, r.lot_id.in_(lot_ids),
                sa.or_(r.ended_at.is_(None), r.ended_at >= need_from)).order_by(r.started_at, r.id)):
            stored[review.lot_id].append(review)
        for lot_id in lot_ids:
            holdings = [h for h in held.get(lot_id, []) if h.until is None or h.until >= need_from]
            product = info[lot_id].product
            mkt_before: dict[datetime, tuple[float, float]] = {}
            if holdings and product.allowance is not None:
                # Permitted excursions last while the MKT since the lot came in stays low: judge whole stays,
                # their time before the series' first reading from the rollups (not years of raw readings).
                whole = [stay for stay in exposure.stays(held.get(lot_id, []))
                         if stay[-1].until is None or stay[-1].until >= need_from]
                holdings = [h for stay in whole for h in stay]
                first = min((at for at, _c in series), default=judged)
                for stay in whole:
                    if stay[0].since < first:
                        before = fridge_period_stats(session, w.fridge_id, stay[0].since, first, -math.inf, math.inf,
                                                     w.allowed_gap)
                        mkt_before[stay[0].since] = (before.known_s, before.arrhenius_s)
            used: set[int] = set()
            found_all = exposure.exposures(series, holdings, product, w.allowed_gap, w.clear_delay, judged,
                                           settle=w.settle_time, hysteresis_c=w.hysteresis_c,
                                           mkt_before=mkt_before) if holdings else []
            if device:
                found_all = sorted([*found_all, *device_exposures(device, held.get(lot_id, []), product)],
                                   key=lambda e: e.start)
            for found in found_all:
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

    def _withdraw(self, lot: LotInfo, reviews: Sequence[m.LotReview]) -> None:
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

    def _write(self, lot: LotInfo, found: exposure.Exposure, review: m.LotReview | None) -> m.LotReview:
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



def _reason(lot: LotInfo, fridge: str, found: exposure.Exposure, now: datetime) -> str:
    ranges = ranges_text(lot.product)
    if lot.product.opened_range is not None:
        ranges += f"; opened {lot.product.opened_range.label}"
    lasting = "" if found.end is not None else " so far"
    text = (f"In {fridge}, outside its product's storage range ({ranges}) for {_minutes(found.out_of_range)}"
            f"{lasting}: highest {found.peak_c:.1f} °C, lowest {found.low_c:.1f} °C")
    if found.mkt_c is not None:
        text += f", mean kinetic temperature {found.mkt_c:.1f} °C"
    if found.readings == 0:
        text += "; as its data logger recorded the days (a daily history, no readings)"
    if found.unknown > timedelta(0):
        text += (f"; {_minutes(found.unknown)} of it without readings, between readings outside the range "
                 "(counted as outside)")
    return text + "."
