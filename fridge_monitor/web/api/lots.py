"""The API's lots: each with its status, holdings, where it was, its movements and reviews; dispositions; and
the lot to take next from a fridge (first expiry, first out)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import abort, jsonify, request

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
from fridge_monitor.web.api.stock import movement_json
from fridge_monitor.web.context import db, now_utc
from fridge_monitor.web.inventory import horizons
from fridge_monitor.web.scope import names

STATUSES = tuple(s.value for s in lots.Status)


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
              fallback: ZoneInfo, now: datetime) -> dict[str, Any]:
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
def lot_list() -> Any:
    session = db()
    name = request.args.get("fridge") or None
    fridge = fields.fridge_named(name) if name is not None else None
    wanted = [s.strip() for s in (request.args.get("status") or "").split(",") if s.strip()]
    unknown = [s for s in wanted if s not in STATUSES]
    if unknown:
        abort(400, f"parameter 'status': {unknown[0]!r} is not one of {', '.join(STATUSES)}")
    every = request.args.get("all", "").lower() in ("1", "true", "yes")
    now = now_utc()
    zones, fallback = _fridge_zones(session), _default_zone(session)
    held = [s for s in inventory.stock(session, fridge_id=fridge.id if fridge else None)
            if not scope.limited() or s.fridge_id in zones]
    by_lot: dict[int, list[lots.Stock]] = defaultdict(list)
    for s in held:
        by_lot[s.lot_id].append(s)
    query = sa.select(m.Lot).options(so.joinedload(m.Lot.product)).order_by(m.Lot.expiry, m.Lot.lot_number, m.Lot.id)
    if not every:
        query = query.where(m.Lot.id.in_(list(by_lot)))
    elif scope.limited():  # every lot ever held or reviewed at the user's sites
        query = query.where(sa.or_(
            m.Lot.id.in_(sa.select(m.StockEntry.lot_id).where(m.StockEntry.fridge_id.in_(list(zones)))),
            m.Lot.id.in_(sa.select(m.LotReview.lot_id).where(m.LotReview.fridge_id.in_(list(zones))))))
    found = list(session.scalars(query))
    reviews = inventory.review_states(session, [lot.id for lot in found])
    items = [_lot_json(lot, reviews[lot.id], by_lot.get(lot.id, []), zones, fallback, now) for lot in found]
    if wanted:
        items = [item for item in items if item["status"] in wanted]
    return jsonify({"lots": items, "fridge": name, "status": wanted or None, "generated_at": iso_utc(now)})


@bp.route("/lots/<int:lot_id>")
@allow(*EVERYONE)
@names(lot_id="lot")
def lot_one(lot_id: int) -> Any:
    return jsonify(_lot_detail(lot_id))


def _lot_detail(lot_id: int) -> dict[str, Any]:
    """The lot with its holdings per fridge and opened vial group, where it was, movements and reviews."""
    session = db()
    lot = fields.lot_named(lot_id)
    now = now_utc()
    zones, fallback = _fridge_zones(session), _default_zone(session)
    held = [s for s in inventory.stock(session, lot_id=lot_id) if not scope.limited() or s.fridge_id in zones]
    review = inventory.review_states(session, [lot_id])[lot_id]
    body = _lot_json(lot, review, held, zones, fallback, now)
    body["holdings"] = [
        {"fridge": zones[s.fridge_id][0], "quantity": s.quantity, "opened_vial_id": s.opened_vial_id,
         "opened_at": iso(s.opened_at), "beyond_use_at": iso(s.beyond_use_at),
         "status": lots.stock_status(s, now, zones[s.fridge_id][1], horizons()).value}
        for s in held if s.fridge_id is not None
    ]
    body["history"] = [
        {"fridge": zones[h.fridge_id][0], "quantity": h.quantity, "opened": h.opened, "since": iso_utc(h.since),
         "until": iso(h.until)}
        for h in inventory.location_history(session, lot_id) if h.fridge_id in zones
    ]
    names = {fid: name for fid, (name, _tz) in zones.items()}
    body["movements"] = [movement_json(mv, names) for mv in inventory.movements(session, lot_id=lot_id)
                         if not scope.limited() or any(e.fridge_id in names for e in mv.entries)]
    body["reviews"] = _reviews(session, lot_id, names)
    return body


def _reviews(session: so.Session, lot_id: int, names: dict[int, str]) -> list[dict[str, Any]]:
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
def lot_disposition(lot_id: int) -> Any:
    fields.lot_named(lot_id)
    body = fields.json_body('{"decision": "released", "reference": "MFR-2026-0042", "note": "stability data OK"}')
    decision = fields.text(body, "decision")
    if decision not in lot_safety.DECISIONS:
        fields.bad("decision", f"{decision!r} is not one of {', '.join(lot_safety.DECISIONS)}")
    reference, note = fields.text(body, "reference", required=False), fields.text(body, "note", required=False)
    if decision == "released" and reference is None:
        fields.bad("reference", "a release needs the manufacturer's reference (case or letter number)")
    user = signed_in()
    now = now_utc()
    meaning = signing.api_signer(body, "a disposition", now) if signing.needs("dispositions") else None
    with fields.inventory_change() as session:
        made = lot_safety.record_disposition(session, lot_id=lot_id, decision=decision, reference=reference,
                                             note=note, actor=user.name, now=now, fridge_ids=scope.fridge_ids())
        if meaning is not None:
            signatures.sign_dispositions(session, user, made, meaning, now)
    return jsonify({**_lot_detail(lot_id), "recorded": [d.id for d in made]})


@bp.route("/fridges/<name>/next")
@allow(*EVERYONE)
@names(name="fridge")
def fridge_next(name: str) -> Any:
    session = db()
    fridge = fields.fridge_named(name)
    value = request.args.get("product")
    if value is None or not value.strip():
        abort(400, "parameter 'product': which product (its id or name)?")
    product = fields.product_ref(int(value) if value.strip().isdigit() else value, "product")
    now = now_utc()
    tz = ZoneInfo(fridge.site.timezone)
    held = inventory.stock(session, fridge_id=fridge.id, product_id=product.id)
    pick = lots.take_next(held, now, tz)
    if pick is None:
        why = "; ".join(f"lot {s.lot_number}{' (opened)' if s.opened else ''} "
                        f"{lots.stock_status(s, now, tz, horizons()).value}"
                        for s in held if s.quantity > 0)
        abort(404, f"nothing usable of {product.name} in fridge {name}" + (f" (held: {why})" if why else ""))
    return jsonify({
        "fridge": name, "product": product.name, "product_id": product.id, "lot_id": pick.lot_id,
        "lot": pick.lot_number, "expiry": pick.expiry.isoformat(), "quantity": pick.quantity,
        "opened_vial_id": pick.opened_vial_id, "beyond_use_at": iso(pick.beyond_use_at),
        "usable_until": iso_utc(lots.usable_until(pick, tz)),
        "status": lots.stock_status(pick, now, tz, horizons()).value,
    })
