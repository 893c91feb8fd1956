"""The API's lots: each with its status, holdings, where it was, its movements and reviews; dispositions; and
the lot to take next from a fridge (first expiry, first out)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import abort, jsonify

from fridge_monitor.core import lots
from fridge_monitor.core.times import iso_utc
from fridge_monitor.inventory import ledger as inventory
from fridge_monitor.inventory import lot_safety
from fridge_monitor.store import models as m
from fridge_monitor.store import signatures
from fridge_monitor.store.site_access import within
from fridge_monitor.web import scope, signing
from fridge_monitor.web.access import EVERYONE, STAFF, allow, signed_in
from fridge_monitor.web.api import bp, fields, iso
from fridge_monitor.web.api.contract import operation
from fridge_monitor.web.api.schemas.common import MAX_ID, FridgePath
from fridge_monitor.web.api.schemas.lots import (
    Disposition,
    Lot,
    LotDetail,
    LotList,
    LotPath,
    LotQuery,
    LotReview,
    NextQuery,
    NextUnits,
)
from fridge_monitor.web.api.stock import movement_json
from fridge_monitor.web.context import db, now_utc
from fridge_monitor.web.inventory import horizons
from fridge_monitor.web.scope import names


def _fridge_zones(session: so.Session) -> dict[int, tuple[str, ZoneInfo]]:
    """The fridges of the user's sites: name and time zone by id."""
    rows = session.execute(sa.select(m.Fridge.id, m.Fridge.name, m.Site.timezone)
                           .join(m.Site, m.Site.id == m.Fridge.site_id).where(within(m.Fridge.id, scope.sites())))
    return {fid: (name, ZoneInfo(tz)) for fid, name, tz in rows}


def _default_zone(session: so.Session) -> ZoneInfo:
    """For a lot held nowhere: the first site's time zone (UTC without sites)."""
    tz = session.scalar(sa.select(m.Site.timezone).order_by(m.Site.id).limit(1))
    return ZoneInfo(tz) if tz else ZoneInfo("UTC")


def _lot_json(lot: m.Lot, review: lots.Review, held: list[lots.Stock], zones: dict[int, tuple[str, ZoneInfo]],
              fallback: ZoneInfo, now: datetime) -> Lot:
    per_fridge: dict[int, list[lots.Stock]] = defaultdict(list)
    for s in held:
        if s.fridge_id is not None:
            per_fridge[s.fridge_id].append(s)
    return {
        "id": lot.id, "product": lot.product.name, "product_id": lot.product_id, "lot": lot.lot_number,
        "expiry": lot.expiry.isoformat(), "gtin": lot.gtin,
        "status": lots.lot_status(lot.expiry, now, {zones[s.fridge_id][1] for s in held if s.fridge_id in zones}
                                  or {fallback}, held, review=review, horizons=horizons()).value,
        "review": review.value,
        "quantity": sum(s.quantity for s in held), "opened": sum(s.quantity for s in held if s.opened),
        "fridges": [{"fridge": zones[fid][0], "quantity": sum(s.quantity for s in units),
                     "opened": sum(s.quantity for s in units if s.opened)}
                    for fid, units in sorted(per_fridge.items(), key=lambda item: zones[item[0]][0])],
    }


@bp.route("/lots")
@allow(*EVERYONE)
@operation("listLots", "Lots held, with status and quantities, soonest expiry first", query=LotQuery,
           answers={200: (LotList, "The lots."), 404: "There is no such fridge."})
def lot_list(query: LotQuery) -> Any:
    session = db()
    name = query.fridge or None
    fridge = fields.fridge_named(name) if name is not None else None
    wanted, every = list(query.status), query.every
    now = now_utc()
    zones, fallback = _fridge_zones(session), _default_zone(session)
    held = [s for s in inventory.stock(session, fridge_id=fridge.id if fridge else None)
            if not scope.limited() or s.fridge_id in zones]
    by_lot: dict[int, list[lots.Stock]] = defaultdict(list)
    for s in held:
        by_lot[s.lot_id].append(s)
    statement = (sa.select(m.Lot).options(so.joinedload(m.Lot.product))
                 .order_by(m.Lot.expiry, m.Lot.lot_number, m.Lot.id))
    if not every:
        statement = statement.where(m.Lot.id.in_(list(by_lot)))
    elif scope.limited():  # every lot ever held or reviewed at the user's sites
        statement = statement.where(sa.or_(
            m.Lot.id.in_(sa.select(m.StockEntry.lot_id).where(m.StockEntry.fridge_id.in_(list(zones)))),
            m.Lot.id.in_(sa.select(m.LotReview.lot_id).where(m.LotReview.fridge_id.in_(list(zones))))))
    found = list(session.scalars(statement))
    reviews = inventory.review_states(session, [lot.id for lot in found])
    items = [_lot_json(lot, reviews[lot.id], by_lot.get(lot.id, []), zones, fallback, now) for lot in found]
    if wanted:
        items = [item for item in items if item["status"] in wanted]
    answer: LotList = {"lots": items, "fridge": name, "status": wanted or None, "generated_at": iso_utc(now)}
    return jsonify(answer)


@bp.route("/lots/<int:lot_id>")
@allow(*EVERYONE)
@names(lot_id="lot")
@operation("getLot", "One lot: holdings per fridge, where it was, movements, reviews and dispositions",
           path=LotPath, answers={200: (LotDetail, "The lot.")})
def lot_one(lot_id: int) -> Any:
    return jsonify(_lot_detail(lot_id))


def _lot_detail(lot_id: int) -> LotDetail:
    """The lot with its holdings per fridge and opened vial group, where it was, movements and reviews."""
    session = db()
    lot = fields.lot_named(lot_id)
    now = now_utc()
    zones, fallback = _fridge_zones(session), _default_zone(session)
    held = [s for s in inventory.stock(session, lot_id=lot_id) if not scope.limited() or s.fridge_id in zones]
    review = inventory.review_states(session, [lot_id])[lot_id]
    names = {fid: name for fid, (name, _tz) in zones.items()}
    detail = cast(LotDetail, _lot_json(lot, review, held, zones, fallback, now))  # the keys below complete it
    detail.update({
        "holdings": [
            {"fridge": zones[s.fridge_id][0], "quantity": s.quantity, "opened_vial_id": s.opened_vial_id,
             "opened_at": iso(s.opened_at), "beyond_use_at": iso(s.beyond_use_at),
             "status": lots.stock_status(s, now, zones[s.fridge_id][1], horizons()).value}
            for s in held if s.fridge_id is not None],
        "history": [
            {"fridge": zones[h.fridge_id][0], "quantity": h.quantity, "opened": h.opened, "since": iso_utc(h.since),
             "until": iso(h.until)}
            for h in inventory.location_history(session, lot_id) if h.fridge_id in zones],
        "movements": [movement_json(mv, names) for mv in inventory.movements(session, lot_id=lot_id)
                      if not scope.limited() or any(e.fridge_id in names for e in mv.entries)],
        "reviews": _reviews(session, lot_id, names),
    })
    return detail


def _reviews(session: so.Session, lot_id: int, names: dict[int, str]) -> list[LotReview]:
    r, d = m.LotReview, m.LotDisposition
    reviews = list(session.scalars(sa.select(r).where(r.lot_id == lot_id, within(r.fridge_id, scope.sites()))
                                  .order_by(r.started_at, r.id)))
    decided: dict[int, list[m.LotDisposition]] = defaultdict(list)
    if reviews:
        for row in session.scalars(sa.select(d).where(d.review_id.in_([x.id for x in reviews])).order_by(d.id)):
            decided[row.review_id].append(row)
    return [{
        "id": x.id, "fridge": names.get(x.fridge_id), "excursion_id": x.excursion_id,
        "started_at": iso_utc(x.started_at), "ended_at": iso(x.ended_at), "exposure_s": x.exposure_s,
        "peak_c": x.peak_c, "low_c": x.low_c, "mkt_c": x.mkt_c, "reason": x.reason,
        "created_at": iso_utc(x.created_at), "created_by": x.created_by,
        "decision": decided[x.id][-1].decision if decided[x.id] else None,
        "dispositions": [{"id": y.id, "decision": y.decision, "reference": y.reference, "note": y.note,
                          "decided_at": iso_utc(y.decided_at), "decided_by": y.decided_by,
                          "supersedes_id": y.supersedes_id} for y in decided[x.id]],
    } for x in reviews]


@bp.route("/lots/<int:lot_id>/disposition", methods=["POST"])
@allow(*STAFF)
@names(lot_id="lot")
@operation("recordDisposition", "Record the manufacturer's answer for the lot's open reviews (audited; signed "
           "where `[signatures] require_for` lists `dispositions`)", path=LotPath, body=Disposition,
           answers={200: (LotDetail, "The lot after the disposition, with `recorded` (the new dispositions' ids)."),
                    403: "The role may not decide, or the signature is missing, wrong or not over HTTPS.",
                    409: "No review of this lot waits for a disposition."})
def lot_disposition(lot_id: int, body: Disposition) -> Any:
    fields.lot_named(lot_id)
    reference, note = fields.stripped(body.reference), fields.stripped(body.note)
    user = signed_in()
    now = now_utc()
    meaning = signing.api_signer(body.signature, "a disposition", now) if signing.needs("dispositions") else None
    with fields.inventory_change() as session:
        made = lot_safety.record_disposition(session, lot_id=lot_id, decision=body.decision, reference=reference,
                                             note=note, actor=user.name, now=now, fridge_ids=scope.fridge_ids())
        if meaning is not None:
            signatures.sign_dispositions(session, user, made, meaning, now)
    answer = _lot_detail(lot_id)
    answer["recorded"] = [d.id for d in made]
    return jsonify(answer)


@bp.route("/fridges/<name>/next")
@allow(*EVERYONE)
@names(name="fridge")
@operation("nextUnits", "First-expiry-first-out: which units of a product to take from this fridge now",
           path=FridgePath, query=NextQuery,
           answers={200: (NextUnits, "The units to take."),
                    404: "No such fridge or product, or nothing usable of it there (the message lists what is "
                         "held and why it may not be used)."})
def fridge_next(name: str, query: NextQuery) -> Any:
    session = db()
    fridge = fields.fridge_named(name)
    value = query.product.strip()
    product = fields.product_ref(int(value) if value.isdigit() and int(value) <= MAX_ID else value, "product")
    now = now_utc()
    tz = ZoneInfo(fridge.site.timezone)
    held = inventory.stock(session, fridge_id=fridge.id, product_id=product.id)
    pick = lots.take_next(held, now, tz)
    if pick is None:
        why = "; ".join(f"lot {s.lot_number}{' (opened)' if s.opened else ''} "
                        f"{lots.stock_status(s, now, tz, horizons()).value}"
                        for s in held if s.quantity > 0)
        abort(404, f"nothing usable of {product.name} in fridge {name}" + (f" (held: {why})" if why else ""))
    answer: NextUnits = {
        "fridge": name, "product": product.name, "product_id": product.id, "lot_id": pick.lot_id,
        "lot": pick.lot_number, "expiry": pick.expiry.isoformat(), "quantity": pick.quantity,
        "opened_vial_id": pick.opened_vial_id, "beyond_use_at": iso(pick.beyond_use_at),
        "usable_until": iso_utc(lots.usable_until(pick, tz)),
        "status": lots.stock_status(pick, now, tz, horizons()).value,
    }
    return jsonify(answer)
