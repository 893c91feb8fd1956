"""The inventory part of the JSON API: scans, stock movements, lots with their status, FEFO, products."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import abort, jsonify, request

from fridge_monitor.core import free_text, gs1, lots
from fridge_monitor.inventory import ledger as inventory
from fridge_monitor.inventory import lot_safety
from fridge_monitor.inventory.ledger import InventoryError
from fridge_monitor.reports.export import iso_utc
from fridge_monitor.store import models as m
from fridge_monitor.web import db, settings
from fridge_monitor.web.access import EVERYONE, STAFF, allow, current_user
from fridge_monitor.web.api import bp

STATUSES = tuple(s.value for s in lots.Status)
# The most decisive first, as lots.status() ranks them: a lot held in several time zones shows the strictest.
_PRECEDENCE = (lots.Status.DISCARDED, lots.Status.EXPIRED, lots.Status.BEYOND_USE, lots.Status.UNDER_REVIEW,
               lots.Status.EXPIRING, lots.Status.RELEASED, lots.Status.USABLE)


# -- reading the request -----------------------------------------------------------------------------


def _bad(field: str, message: str) -> NoReturn:
    abort(400, f"field '{field}': {message}")


def _body(example: str) -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, f"send a JSON object such as {example}")
    return body


def _text(body: dict[str, Any], field: str, *, required: bool = True) -> str | None:
    value = body.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            _bad(field, "missing")
        return None
    if not isinstance(value, str):
        _bad(field, "must be text")
    if free_text.too_long(value.strip()):
        _bad(field, free_text.limit_message("this text"))
    return value.strip()


def _whole(body: dict[str, Any], field: str, *, minimum: int, required: bool = True) -> int | None:
    value = body.get(field)
    if value is None:
        if required:
            _bad(field, f"missing (a whole number, {minimum} or more)")
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        _bad(field, f"must be a whole number, {minimum} or more, not {value!r}")
    return value


def _day(body: dict[str, Any], field: str) -> date:
    text = _text(body, field)
    assert text is not None
    try:
        return date.fromisoformat(text)
    except ValueError:
        _bad(field, f"{text!r} is not a date (YYYY-MM-DD)")


# -- finding what the request names ------------------------------------------------------------------


def _fridge_named(name: str) -> m.Fridge:
    found = db().scalar(sa.select(m.Fridge).where(m.Fridge.name == name))
    if found is None:
        abort(404, f"there is no fridge named {name!r}")
    return found


def _fridge_field(body: dict[str, Any], field: str) -> m.Fridge:
    name = _text(body, field)
    assert name is not None
    return _fridge_named(name)


def _product_ref(value: object, field: str) -> m.Product:
    """A product by id (a number) or by its exact name."""
    if isinstance(value, bool) or not isinstance(value, (int, str)) or (isinstance(value, str) and not value.strip()):
        _bad(field, "give the product's id (a number) or its name")
    if isinstance(value, int):
        found = db().get(m.Product, value)
    else:
        found = db().scalar(sa.select(m.Product).where(m.Product.name == value.strip()))
    if found is None:
        abort(404, f"there is no product {value!r}")
    return found


def _product_for(body: dict[str, Any]) -> m.Product:
    """The product a body names by "product" (id or name) or by a linked "gtin"."""
    if body.get("product") is not None:
        return _product_ref(body["product"], "product")
    gtin = _text(body, "gtin", required=False)
    if gtin is None:
        abort(400, "field 'product': missing (give the product's id or name, or a linked 'gtin')")
    try:
        code = gs1.normalise_gtin(gtin)
    except gs1.ScanError as exc:
        _bad("gtin", str(exc))
    found = inventory.product_for_gtin(db(), code)
    if found is None:
        abort(404, str(inventory.UnknownGtin(code)))
    return found


def _lot(lot_id: int) -> m.Lot:
    found = db().get(m.Lot, lot_id)
    if found is None:
        abort(404, f"there is no lot {lot_id}")
    return found


def _lot_for(body: dict[str, Any]) -> m.Lot:
    """The existing lot a body names by "lot_id", or by product (or gtin) and "lot" number."""
    lot_id = _whole(body, "lot_id", minimum=1, required=False)
    if lot_id is not None:
        return _lot(lot_id)
    if body.get("product") is None and body.get("gtin") is None:
        abort(400, "field 'lot_id': missing (or give 'product' or 'gtin' with the 'lot' number)")
    product = _product_for(body)
    number = _text(body, "lot")
    assert number is not None
    found = inventory.find_lot(db(), product.id, number)
    if found is None:
        abort(404, f"there is no lot {number} of {product.name}")
    return found


def _opened_vial(body: dict[str, Any], lot: m.Lot) -> int | None:
    opened_id = _whole(body, "opened_vial_id", minimum=1, required=False)
    if opened_id is not None:
        opened = db().get(m.OpenedVial, opened_id)
        if opened is None or opened.lot_id != lot.id:
            abort(404, f"there is no opened vial {opened_id} of lot {lot.lot_number}")
    return opened_id


def _fridge_names(session: so.Session, ids: Iterable[int]) -> dict[int, str]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = session.execute(sa.select(m.Fridge.id, m.Fridge.name).where(m.Fridge.id.in_(wanted)))
    return {fridge_id: name for fridge_id, name in rows}


def _fridge_zones(session: so.Session) -> dict[int, tuple[str, ZoneInfo]]:
    rows = session.execute(sa.select(m.Fridge.id, m.Fridge.name, m.Site.timezone)
                           .join(m.Site, m.Site.id == m.Fridge.site_id))
    return {fid: (name, ZoneInfo(tz)) for fid, name, tz in rows}


def _default_zone(session: so.Session) -> ZoneInfo:
    """For a lot held nowhere: the first site's time zone (UTC without sites)."""
    tz = session.scalar(sa.select(m.Site.timezone).order_by(m.Site.id).limit(1))
    return ZoneInfo(tz) if tz else ZoneInfo("UTC")


# -- JSON shapes -------------------------------------------------------------------------------------


def _iso(at: datetime | None) -> str | None:
    return iso_utc(at) if at is not None else None


def movement_json(mv: m.StockMovement, names: dict[int, str]) -> dict[str, Any]:
    entries = [{"fridge": names.get(e.fridge_id), "delta": e.delta, "opened_vial_id": e.opened_vial_id}
               for e in mv.entries]
    fridges = list(dict.fromkeys(entry["fridge"] for entry in entries))
    body: dict[str, Any] = {
        "id": mv.id, "kind": mv.kind, "at": iso_utc(mv.at),
        "lot": {"id": mv.lot_id, "number": mv.lot.lot_number, "product": mv.lot.product.name,
                "expiry": mv.lot.expiry.isoformat()},
        "quantity": mv.quantity, "actor": mv.actor, "reason_code": mv.reason_code, "reason": mv.reason,
        "counted": mv.counted, "corrects_id": mv.corrects_id,
        "fridge": fridges[0] if mv.kind != "transfer" and fridges else None,
        "from": None, "to": None, "fridges": fridges, "entries": entries,
        "opened_vial": None,
    }
    if mv.kind == "transfer":
        body["from"] = next((x["fridge"] for x in entries if x["delta"] < 0), None)
        body["to"] = next((x["fridge"] for x in entries if x["delta"] > 0), None)
    if mv.opened_vial is not None:
        ov = mv.opened_vial
        body["opened_vial"] = {"id": ov.id, "opened_at": iso_utc(ov.opened_at), "beyond_use_at": _iso(ov.beyond_use_at)}
    return body


def product_json(p: m.Product) -> dict[str, Any]:
    opened = None if p.opened_low_c is None or p.opened_high_c is None else {
        "low_c": p.opened_low_c, "high_c": p.opened_high_c}
    return {
        "id": p.id, "name": p.name, "form": p.form, "unit": p.unit,
        "ranges": [{"low_c": r.low_c, "high_c": r.high_c} for r in p.ranges],
        "gtins": [g.gtin for g in p.gtins],
        "freezing_allowed": p.freezing_allowed, "protect_from_light": p.protect_from_light,
        "beyond_use_hours": p.beyond_use_hours, "opened_range": opened,
        "permitted_excursions": None if (allowance := inventory.allowance(p)) is None else {
            "low_c": allowance.low_c, "high_c": allowance.high_c, "mkt_max_c": allowance.mkt_max_c},
        "notes": p.notes, "retired_at": _iso(p.retired_at),
    }


def _horizons() -> tuple[int, ...]:
    """``[inventory] expiry_warning_days``: a lot within the widest of them is ``expiring``."""
    return tuple(settings().inventory["expiry_warning_days"])


def _strictest(statuses: Iterable[lots.Status]) -> lots.Status:
    return min(statuses, key=_PRECEDENCE.index)


def _lot_status(lot: m.Lot, review: lots.Review, held: list[lots.Stock], zones: dict[int, tuple[str, ZoneInfo]],
                fallback: ZoneInfo, now: datetime) -> lots.Status:
    """The lot as a whole in the time zone of each fridge holding it (the strictest wins); ``beyond_use``
    when every unit held is in opened vials past their beyond-use time."""
    tzs = {zones[s.fridge_id][1] for s in held if s.fridge_id in zones} or {fallback}
    whole = _strictest(lots.status(lot.expiry, now, tz, review=review, horizons=_horizons()) for tz in tzs)
    units = [s for s in held if s.quantity > 0]
    if whole.usable or whole is lots.Status.UNDER_REVIEW:
        if units and all(s.opened and s.beyond_use_at is not None and now >= s.beyond_use_at for s in units):
            return lots.Status.BEYOND_USE
    return whole


def _lot_json(lot: m.Lot, review: lots.Review, held: list[lots.Stock], zones: dict[int, tuple[str, ZoneInfo]],
              fallback: ZoneInfo, now: datetime) -> dict[str, Any]:
    per_fridge: dict[int, list[lots.Stock]] = defaultdict(list)
    for s in held:
        if s.fridge_id is not None:
            per_fridge[s.fridge_id].append(s)
    return {
        "id": lot.id, "product": lot.product.name, "product_id": lot.product_id, "lot": lot.lot_number,
        "expiry": lot.expiry.isoformat(), "gtin": lot.gtin,
        "status": _lot_status(lot, review, held, zones, fallback, now).value,
        "review": review.value,
        "quantity": sum(s.quantity for s in held), "opened": sum(s.quantity for s in held if s.opened),
        "fridges": [{"fridge": zones[fid][0], "quantity": sum(s.quantity for s in units),
                     "opened": sum(s.quantity for s in units if s.opened)}
                    for fid, units in sorted(per_fridge.items(), key=lambda item: zones[item[0]][0])],
    }


# -- writing -----------------------------------------------------------------------------------------


def _apply(move: Callable[[so.Session, str, datetime], m.StockMovement]) -> Any:
    """Run one stock movement in the request's transaction: 200 with the movement and the lot's new
    quantities in the fridges it touched, or 409 with inventory's reason (nothing written)."""
    session = db()
    user = current_user()
    assert user is not None
    now = datetime.now(UTC)
    try:
        movement = move(session, user.name, now)
        touched = sorted({e.fridge_id for e in movement.entries})
        names = _fridge_names(session, touched)
        quantities = {names[fid]: inventory.quantity(session, movement.lot_id, fid) for fid in touched}
        total = inventory.quantity(session, movement.lot_id)
        body = {"movement": movement_json(movement, names), "quantities": quantities, "lot_quantity": total}
        session.commit()
    except InventoryError as exc:
        session.rollback()
        abort(409, str(exc))
    return jsonify(body)


@bp.route("/scan", methods=["POST"])
@allow(*EVERYONE)
def scan() -> Any:
    """Read a vial code (writes nothing, so every role may scan)."""
    body = _body('{"code": "]d201095060001343521727013110C3709C3"}')
    code = body.get("code")
    if not isinstance(code, str):
        _bad("code", "the text the scanner typed")
    try:
        found = gs1.parse_scan(code)
    except gs1.ScanError as exc:
        abort(400, str(exc))
    product = inventory.product_for_gtin(db(), found.gtin)
    lot = inventory.find_lot(db(), product.id, found.lot) if product is not None and found.lot else None
    answer: dict[str, Any] = {
        "gtin": found.gtin, "lot": found.lot, "expiry": found.expiry.isoformat() if found.expiry else None,
        "serial": found.serial, "product": product_json(product) if product is not None else None,
        "lot_id": lot.id if lot is not None else None, "message": None,
    }
    if product is None:
        answer["message"] = str(inventory.UnknownGtin(found.gtin))
    elif found.lot is None or found.expiry is None:
        missing = " and ".join(x for x, v in (("lot", found.lot), ("expiry", found.expiry)) if v is None)
        answer["message"] = f"the code holds no {missing}: type what is printed on the pack"
    return jsonify(answer)


def _with_scan(body: dict[str, Any]) -> dict[str, Any]:
    """The body with what its "code" (a raw scan) holds: GTIN, lot, expiry and serial; a field typed as well
    fills what the code lacks and must agree with what it holds."""
    code = body.get("code")
    if code is None:
        return body
    if not isinstance(code, str):
        _bad("code", "the text the scanner typed")
    try:
        found = gs1.parse_scan(code)
    except gs1.ScanError as exc:
        _bad("code", str(exc))
    merged = dict(body)
    read = {"gtin": found.gtin, "lot": found.lot, "expiry": found.expiry.isoformat() if found.expiry else None,
            "serial": found.serial}
    for field, value in read.items():
        typed = body.get(field)
        if value is None:
            continue
        if typed is not None and field != "gtin" and str(typed).strip() != value:
            _bad(field, f"{typed!r} differs from the scanned code ({value}): check the pack")
        merged[field] = value
    return merged


@bp.route("/gtins", methods=["POST"])
@allow(*STAFF)
def gtin_link() -> Any:
    """Link a GTIN to its product, once (audited): then its scans name the product."""
    body = _body('{"gtin": "09506000134352", "product": "Botox 100 U (onabotulinumtoxinA)"}')
    gtin = _text(body, "gtin")
    assert gtin is not None
    try:
        gs1.normalise_gtin(gtin)
    except gs1.ScanError as exc:
        _bad("gtin", str(exc))
    if body.get("product") is None:
        _bad("product", "missing (the product's id or name)")
    product = _product_ref(body["product"], "product")
    user = current_user()
    assert user is not None
    session = db()
    try:
        link = inventory.link_gtin(session, gtin, product.id, actor=user.name, now=datetime.now(UTC))
        answer = {"gtin": link.gtin, "product": product_json(link.product), "linked_at": iso_utc(link.linked_at),
                  "linked_by": link.linked_by}
        session.commit()
    except InventoryError as exc:
        session.rollback()
        abort(409, str(exc))
    return jsonify(answer)


@bp.route("/stock/receive", methods=["POST"])
@allow(*STAFF)
def stock_receive() -> Any:
    body = _with_scan(_body('{"fridge": "A1", "product": "Botox 100 U", "lot": "C3709C3", '
                            '"expiry": "2027-01-31", "quantity": 5}'))
    fridge = _fridge_field(body, "fridge")
    product = _product_for(body)
    number, expiry = _text(body, "lot"), _day(body, "expiry")
    quantity = _whole(body, "quantity", minimum=1)
    serial, note = _text(body, "serial", required=False), _text(body, "note", required=False)
    gtin = _text(body, "gtin", required=False)
    if gtin is not None and body.get("product") is not None:
        linked = _product_for({"gtin": gtin})  # the product and the GTIN must name the same thing
        if linked.id != product.id:
            _bad("product", f"GTIN {gtin} is linked to {linked.name}, not {product.name}: check the pack")
    assert number is not None and quantity is not None

    def move(session: so.Session, actor: str, now: datetime) -> m.StockMovement:
        lot = inventory.lot_for(session, product_id=product.id, lot_number=number, expiry=expiry, gtin=gtin,
                                actor=actor, now=now)
        return inventory.receive(session, lot_id=lot.id, fridge_id=fridge.id, quantity=quantity, serial=serial,
                                 note=note, actor=actor, now=now)

    return _apply(move)


@bp.route("/stock/use", methods=["POST"])
@allow(*STAFF)
def stock_use() -> Any:
    body = _body('{"fridge": "A1", "lot_id": 12, "quantity": 1}')
    fridge = _fridge_field(body, "fridge")
    lot = _lot_for(body)
    quantity = _whole(body, "quantity", minimum=1, required=False) or 1
    opened = _opened_vial(body, lot)
    note = _text(body, "note", required=False)
    return _apply(lambda session, actor, now: inventory.use(
        session, lot_id=lot.id, fridge_id=fridge.id, quantity=quantity, opened_vial_id=opened, note=note,
        actor=actor, now=now))


@bp.route("/stock/transfer", methods=["POST"])
@allow(*STAFF)
def stock_transfer() -> Any:
    body = _body('{"from": "A1", "to": "B2", "lot_id": 12, "quantity": 3}')
    source, target = _fridge_field(body, "from"), _fridge_field(body, "to")
    lot = _lot_for(body)
    quantity = _whole(body, "quantity", minimum=1)
    assert quantity is not None
    opened = _opened_vial(body, lot)
    note = _text(body, "note", required=False)
    return _apply(lambda session, actor, now: inventory.transfer(
        session, lot_id=lot.id, from_fridge_id=source.id, to_fridge_id=target.id, quantity=quantity,
        opened_vial_id=opened, note=note, actor=actor, now=now))


@bp.route("/stock/reconstitute", methods=["POST"])
@allow(*STAFF)
def stock_reconstitute() -> Any:
    body = _body('{"fridge": "A1", "lot_id": 12, "quantity": 1}')
    fridge = _fridge_field(body, "fridge")
    lot = _lot_for(body)
    quantity = _whole(body, "quantity", minimum=1, required=False) or 1
    note = _text(body, "note", required=False)
    return _apply(lambda session, actor, now: inventory.reconstitute(
        session, lot_id=lot.id, fridge_id=fridge.id, quantity=quantity, note=note, actor=actor, now=now))


@bp.route("/stock/discard", methods=["POST"])
@allow(*STAFF)
def stock_discard() -> Any:
    body = _body('{"fridge": "A1", "lot_id": 12, "quantity": 1, "reason_code": "damaged", "reason": "dropped"}')
    fridge = _fridge_field(body, "fridge")
    lot = _lot_for(body)
    quantity = _whole(body, "quantity", minimum=1)
    assert quantity is not None
    reason_code = _text(body, "reason_code")
    if reason_code not in inventory.DISCARD_REASONS:
        _bad("reason_code", f"{reason_code!r} is not one of {', '.join(inventory.DISCARD_REASONS)}")
    reason = _text(body, "reason", required=reason_code == "other")
    opened = _opened_vial(body, lot)
    return _apply(lambda session, actor, now: inventory.discard(
        session, lot_id=lot.id, fridge_id=fridge.id, quantity=quantity, reason_code=reason_code, reason=reason,
        opened_vial_id=opened, actor=actor, now=now))


@bp.route("/stock/correct", methods=["POST"])
@allow(*STAFF)
def stock_correct() -> Any:
    body = _body('{"fridge": "A1", "lot_id": 12, "counted": 4, "reason": "counted at the weekly check"}')
    fridge = _fridge_field(body, "fridge")
    lot = _lot_for(body)
    counted = _whole(body, "counted", minimum=0)
    reason = _text(body, "reason")
    assert counted is not None and reason is not None
    opened = _opened_vial(body, lot)
    corrects = _whole(body, "corrects_id", minimum=1, required=False)
    return _apply(lambda session, actor, now: inventory.correct(
        session, lot_id=lot.id, fridge_id=fridge.id, counted=counted, reason=reason, opened_vial_id=opened,
        corrects_id=corrects, actor=actor, now=now))


# -- reading -----------------------------------------------------------------------------------------


@bp.route("/lots")
@allow(*EVERYONE)
def lot_list() -> Any:
    session = db()
    name = request.args.get("fridge") or None
    fridge = _fridge_named(name) if name is not None else None
    wanted = [s.strip() for s in (request.args.get("status") or "").split(",") if s.strip()]
    unknown = [s for s in wanted if s not in STATUSES]
    if unknown:
        abort(400, f"parameter 'status': {unknown[0]!r} is not one of {', '.join(STATUSES)}")
    every = request.args.get("all", "").lower() in ("1", "true", "yes")
    now = datetime.now(UTC)
    held = inventory.stock(session, fridge_id=fridge.id if fridge else None)
    by_lot: dict[int, list[lots.Stock]] = defaultdict(list)
    for s in held:
        by_lot[s.lot_id].append(s)
    query = sa.select(m.Lot).options(so.joinedload(m.Lot.product)).order_by(m.Lot.expiry, m.Lot.lot_number, m.Lot.id)
    if not every:
        query = query.where(m.Lot.id.in_(list(by_lot)))
    found = list(session.scalars(query))
    reviews = inventory.review_states(session, [lot.id for lot in found])
    zones, fallback = _fridge_zones(session), _default_zone(session)
    items = [_lot_json(lot, reviews[lot.id], by_lot.get(lot.id, []), zones, fallback, now) for lot in found]
    if wanted:
        items = [item for item in items if item["status"] in wanted]
    return jsonify({"lots": items, "fridge": name, "status": wanted or None, "generated_at": iso_utc(now)})


@bp.route("/lots/<int:lot_id>")
@allow(*EVERYONE)
def lot_one(lot_id: int) -> Any:
    return jsonify(_lot_detail(lot_id))


def _lot_detail(lot_id: int) -> dict[str, Any]:
    """The lot with its holdings per fridge and opened vial group, where it was, movements and reviews."""
    session = db()
    lot = _lot(lot_id)
    now = datetime.now(UTC)
    held = inventory.stock(session, lot_id=lot_id)
    review = inventory.review_states(session, [lot_id])[lot_id]
    zones, fallback = _fridge_zones(session), _default_zone(session)
    body = _lot_json(lot, review, held, zones, fallback, now)
    body["holdings"] = [
        {"fridge": zones[s.fridge_id][0], "quantity": s.quantity, "opened_vial_id": s.opened_vial_id,
         "opened_at": _iso(s.opened_at), "beyond_use_at": _iso(s.beyond_use_at),
         "status": lots.stock_status(s, now, zones[s.fridge_id][1], _horizons()).value}
        for s in held if s.fridge_id is not None
    ]
    body["history"] = [
        {"fridge": zones[h.fridge_id][0], "quantity": h.quantity, "opened": h.opened, "since": iso_utc(h.since),
         "until": _iso(h.until)}
        for h in inventory.location_history(session, lot_id)
    ]
    names = {fid: name for fid, (name, _tz) in zones.items()}
    body["movements"] = [movement_json(mv, names) for mv in inventory.movements(session, lot_id=lot_id)]
    body["reviews"] = _reviews(session, lot_id, names)
    return body


def _reviews(session: so.Session, lot_id: int, names: dict[int, str]) -> list[dict[str, Any]]:
    r, d = m.LotReview, m.LotDisposition
    reviews = list(session.scalars(sa.select(r).where(r.lot_id == lot_id).order_by(r.started_at, r.id)))
    decided: dict[int, list[m.LotDisposition]] = defaultdict(list)
    if reviews:
        for row in session.scalars(sa.select(d).where(d.review_id.in_([x.id for x in reviews])).order_by(d.id)):
            decided[row.review_id].append(row)
    return [{
        "id": x.id, "fridge": names.get(x.fridge_id), "excursion_id": x.excursion_id,
        "started_at": iso_utc(x.started_at), "ended_at": _iso(x.ended_at), "exposure_s": x.exposure_s,
        "peak_c": x.peak_c, "low_c": x.low_c, "mkt_c": x.mkt_c, "reason": x.reason,
        "created_at": iso_utc(x.created_at), "created_by": x.created_by,
        "decision": decided[x.id][-1].decision if decided[x.id] else None,
        "dispositions": [{"id": y.id, "decision": y.decision, "reference": y.reference, "note": y.note,
                          "decided_at": iso_utc(y.decided_at), "decided_by": y.decided_by,
                          "supersedes_id": y.supersedes_id} for y in decided[x.id]],
    } for x in reviews]


@bp.route("/lots/<int:lot_id>/disposition", methods=["POST"])
@allow(*STAFF)
def lot_disposition(lot_id: int) -> Any:
    _lot(lot_id)
    body = _body('{"decision": "released", "reference": "MFR-2026-0042", "note": "stability data OK"}')
    decision = _text(body, "decision")
    if decision not in lot_safety.DECISIONS:
        _bad("decision", f"{decision!r} is not one of {', '.join(lot_safety.DECISIONS)}")
    reference, note = _text(body, "reference", required=False), _text(body, "note", required=False)
    if decision == "released" and reference is None:
        _bad("reference", "a release needs the manufacturer's reference (case or letter number)")
    user = current_user()
    assert user is not None
    session = db()
    try:
        made = lot_safety.record_disposition(session, lot_id=lot_id, decision=decision, reference=reference,
                                             note=note, actor=user.name, now=datetime.now(UTC))
        session.commit()
    except InventoryError as exc:
        session.rollback()
        abort(409, str(exc))
    return jsonify({**_lot_detail(lot_id), "recorded": [d.id for d in made]})


@bp.route("/fridges/<name>/next")
@allow(*EVERYONE)
def fridge_next(name: str) -> Any:
    session = db()
    fridge = _fridge_named(name)
    value = request.args.get("product")
    if value is None or not value.strip():
        abort(400, "parameter 'product': which product (its id or name)?")
    product = _product_ref(int(value) if value.strip().isdigit() else value, "product")
    now = datetime.now(UTC)
    tz = ZoneInfo(fridge.site.timezone)
    held = inventory.stock(session, fridge_id=fridge.id, product_id=product.id)
    pick = lots.take_next(held, now, tz)
    if pick is None:
        why = "; ".join(f"lot {s.lot_number}{' (opened)' if s.opened else ''} "
                        f"{lots.stock_status(s, now, tz, _horizons()).value}"
                        for s in held if s.quantity > 0)
        abort(404, f"nothing usable of {product.name} in fridge {name}" + (f" (held: {why})" if why else ""))
    return jsonify({
        "fridge": name, "product": product.name, "product_id": product.id, "lot_id": pick.lot_id,
        "lot": pick.lot_number, "expiry": pick.expiry.isoformat(), "quantity": pick.quantity,
        "opened_vial_id": pick.opened_vial_id, "beyond_use_at": _iso(pick.beyond_use_at),
        "usable_until": iso_utc(lots.usable_until(pick, tz)),
        "status": lots.stock_status(pick, now, tz, _horizons()).value,
    })


@bp.route("/products")
@allow(*EVERYONE)
def product_list() -> Any:
    rows = db().scalars(sa.select(m.Product).options(so.selectinload(m.Product.ranges),
                                                     so.selectinload(m.Product.gtins)).order_by(m.Product.name))
    return jsonify({"products": [product_json(p) for p in rows]})
