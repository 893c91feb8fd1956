"""The API's stock: reading a scan, linking a GTIN, the stock movements (receive, use, transfer, reconstitute,
discard, correct) and the products they are of."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import abort, jsonify

from fridge_monitor.core import gs1
from fridge_monitor.core.times import iso_utc
from fridge_monitor.inventory import catalog
from fridge_monitor.inventory import ledger as inventory
from fridge_monitor.store import models as m
from fridge_monitor.store import site_access
from fridge_monitor.web import scope
from fridge_monitor.web.access import EVERYONE, STAFF, allow, signed_in
from fridge_monitor.web.api import bp, fields, iso
from fridge_monitor.web.context import db, now_utc


def _fridge_names(session: so.Session, ids: Iterable[int]) -> dict[int, str]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = session.execute(sa.select(m.Fridge.id, m.Fridge.name).where(m.Fridge.id.in_(wanted)))
    return {fridge_id: name for fridge_id, name in rows}


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
        body["from"] = next((names.get(e.fridge_id) for e in mv.entries if e.delta < 0), None)
        body["to"] = next((names.get(e.fridge_id) for e in mv.entries if e.delta > 0), None)
    if mv.opened_vial is not None:
        ov = mv.opened_vial
        body["opened_vial"] = {"id": ov.id, "opened_at": iso_utc(ov.opened_at), "beyond_use_at": iso(ov.beyond_use_at)}
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
        "permitted_excursions": None if (allowance := catalog.allowance(p)) is None else {
            "low_c": allowance.low_c, "high_c": allowance.high_c, "mkt_max_c": allowance.mkt_max_c},
        "notes": p.notes, "retired_at": iso(p.retired_at),
    }


def _apply(move: Callable[[so.Session, str, datetime], m.StockMovement]) -> Any:
    """Run one stock movement in the request's transaction: 200 with the movement and the lot's new
    quantities in the fridges it touched, or 409 with inventory's reason (nothing written)."""
    user = signed_in()
    now = now_utc()
    with fields.inventory_change() as session:
        movement = move(session, user.name, now)
        touched = sorted({e.fridge_id for e in movement.entries})
        names = _fridge_names(session, touched)
        quantities = {names[fid]: inventory.quantity(session, movement.lot_id, fid) for fid in touched}
        total = inventory.quantity(session, movement.lot_id)
        body = {"movement": movement_json(movement, names), "quantities": quantities, "lot_quantity": total}
    return jsonify(body)


def _units_in_fridge() -> tuple[dict[str, Any], m.Fridge, m.Lot, int]:
    """The body of a movement of some units of one lot in one fridge ("quantity" 1 unless given),
    with the fridge, the lot and the count it names, read in that order."""
    body = fields.json_body('{"fridge": "A1", "lot_id": 12, "quantity": 1}')
    fridge = fields.fridge_field(body, "fridge")
    lot = fields.lot_for(body)
    quantity = fields.whole(body, "quantity", minimum=1, required=False) or 1
    return body, fridge, lot, quantity


@bp.route("/scan", methods=["POST"])
@allow(*EVERYONE)
def scan() -> Any:
    """Read a vial code (writes nothing, so every role may scan)."""
    body = fields.json_body('{"code": "]d201095060001343521727013110C3709C3"}')
    code = body.get("code")
    if not isinstance(code, str):
        fields.bad("code", "the text the scanner typed")
    try:
        found = gs1.parse_scan(code)
    except gs1.ScanError as exc:
        abort(400, str(exc))
    product = catalog.product_for_gtin(db(), found.gtin)
    lot = catalog.find_lot(db(), product.id, found.lot) if product is not None and found.lot else None
    if lot is not None and not site_access.may_see(db(), scope.sites(), "lot", lot.id):
        lot = None  # known only at other sites: received here, it is a new holding of the same lot
    answer: dict[str, Any] = {
        "gtin": found.gtin, "lot": found.lot, "expiry": found.expiry.isoformat() if found.expiry else None,
        "serial": found.serial, "product": product_json(product) if product is not None else None,
        "lot_id": lot.id if lot is not None else None, "message": None,
    }
    if product is None:
        answer["message"] = str(catalog.UnknownGtin(found.gtin))
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
        fields.bad("code", "the text the scanner typed")
    try:
        found = gs1.parse_scan(code)
    except gs1.ScanError as exc:
        fields.bad("code", str(exc))
    merged = dict(body)
    read = {"gtin": found.gtin, "lot": found.lot, "expiry": found.expiry.isoformat() if found.expiry else None,
            "serial": found.serial}
    for field, value in read.items():
        typed = body.get(field)
        if value is None:
            continue
        if typed is not None and field != "gtin" and str(typed).strip() != value:
            fields.bad(field, f"{typed!r} differs from the scanned code ({value}): check the pack")
        merged[field] = value
    return merged


@bp.route("/gtins", methods=["POST"])
@allow(*STAFF)
def gtin_link() -> Any:
    """Link a GTIN to its product, once (audited): then its scans name the product."""
    body = fields.json_body('{"gtin": "09506000134352", "product": "Botox 100 U (onabotulinumtoxinA)"}')
    gtin = fields.text(body, "gtin")
    assert gtin is not None
    try:
        gs1.normalise_gtin(gtin)
    except gs1.ScanError as exc:
        fields.bad("gtin", str(exc))
    if body.get("product") is None:
        fields.bad("product", "missing (the product's id or name)")
    product = fields.product_ref(body["product"], "product")
    user = signed_in()
    with fields.inventory_change() as session:
        link = catalog.link_gtin(session, gtin, product.id, actor=user.name, now=now_utc())
        answer = {"gtin": link.gtin, "product": product_json(link.product), "linked_at": iso_utc(link.linked_at),
                  "linked_by": link.linked_by}
    return jsonify(answer)


@bp.route("/stock/receive", methods=["POST"])
@allow(*STAFF)
def stock_receive() -> Any:
    body = _with_scan(fields.json_body('{"fridge": "A1", "product": "Botox 100 U", "lot": "C3709C3", '
                            '"expiry": "2027-01-31", "quantity": 5}'))
    fridge = fields.fridge_field(body, "fridge")
    product = fields.product_for(body)
    number, expiry = fields.text(body, "lot"), fields.day(body, "expiry")
    quantity = fields.whole(body, "quantity", minimum=1)
    serial, note = fields.text(body, "serial", required=False), fields.text(body, "note", required=False)
    gtin = fields.text(body, "gtin", required=False)
    if gtin is not None and body.get("product") is not None:
        linked = fields.product_for({"gtin": gtin})  # the product and the GTIN must name the same thing
        if linked.id != product.id:
            fields.bad("product", f"GTIN {gtin} is linked to {linked.name}, not {product.name}: check the pack")
    assert number is not None and quantity is not None

    def move(session: so.Session, actor: str, now: datetime) -> m.StockMovement:
        lot = catalog.lot_for(session, product_id=product.id, lot_number=number, expiry=expiry, gtin=gtin,
                                actor=actor, now=now)
        return inventory.receive(session, lot_id=lot.id, fridge_id=fridge.id, quantity=quantity, serial=serial,
                                 note=note, actor=actor, now=now)

    return _apply(move)


@bp.route("/stock/use", methods=["POST"])
@allow(*STAFF)
def stock_use() -> Any:
    body, fridge, lot, quantity = _units_in_fridge()
    opened = fields.opened_vial(body, lot)
    note = fields.text(body, "note", required=False)
    return _apply(lambda session, actor, now: inventory.use(
        session, lot_id=lot.id, fridge_id=fridge.id, quantity=quantity, opened_vial_id=opened, note=note,
        actor=actor, now=now))


@bp.route("/stock/transfer", methods=["POST"])
@allow(*STAFF)
def stock_transfer() -> Any:
    body = fields.json_body('{"from": "A1", "to": "B2", "lot_id": 12, "quantity": 3}')
    source, target = fields.fridge_field(body, "from"), fields.fridge_field(body, "to")
    lot = fields.lot_for(body)
    quantity = fields.whole(body, "quantity", minimum=1)
    assert quantity is not None
    opened = fields.opened_vial(body, lot)
    note = fields.text(body, "note", required=False)
    return _apply(lambda session, actor, now: inventory.transfer(
        session, lot_id=lot.id, from_fridge_id=source.id, to_fridge_id=target.id, quantity=quantity,
        opened_vial_id=opened, note=note, actor=actor, now=now))


@bp.route("/stock/reconstitute", methods=["POST"])
@allow(*STAFF)
def stock_reconstitute() -> Any:
    body, fridge, lot, quantity = _units_in_fridge()
    note = fields.text(body, "note", required=False)
    return _apply(lambda session, actor, now: inventory.reconstitute(
        session, lot_id=lot.id, fridge_id=fridge.id, quantity=quantity, note=note, actor=actor, now=now))


@bp.route("/stock/discard", methods=["POST"])
@allow(*STAFF)
def stock_discard() -> Any:
    body = fields.json_body('{"fridge": "A1", "lot_id": 12, "quantity": 1, "reason_code": "damaged", '
                            '"reason": "dropped"}')
    fridge = fields.fridge_field(body, "fridge")
    lot = fields.lot_for(body)
    quantity = fields.whole(body, "quantity", minimum=1)
    assert quantity is not None
    reason_code = fields.text(body, "reason_code")
    if reason_code not in inventory.DISCARD_REASONS:
        fields.bad("reason_code", f"{reason_code!r} is not one of {', '.join(inventory.DISCARD_REASONS)}")
    reason = fields.text(body, "reason", required=reason_code == "other")
    opened = fields.opened_vial(body, lot)
    return _apply(lambda session, actor, now: inventory.discard(
        session, lot_id=lot.id, fridge_id=fridge.id, quantity=quantity, reason_code=reason_code, reason=reason,
        opened_vial_id=opened, actor=actor, now=now))


@bp.route("/stock/correct", methods=["POST"])
@allow(*STAFF)
def stock_correct() -> Any:
    body = fields.json_body('{"fridge": "A1", "lot_id": 12, "counted": 4, "reason": "counted at the weekly check"}')
    fridge = fields.fridge_field(body, "fridge")
    lot = fields.lot_for(body)
    counted = fields.whole(body, "counted", minimum=0)
    reason = fields.text(body, "reason")
    assert counted is not None and reason is not None
    opened = fields.opened_vial(body, lot)
    corrects = fields.whole(body, "corrects_id", minimum=1, required=False)
    return _apply(lambda session, actor, now: inventory.correct(
        session, lot_id=lot.id, fridge_id=fridge.id, counted=counted, reason=reason, opened_vial_id=opened,
        corrects_id=corrects, actor=actor, now=now))


@bp.route("/products")
@allow(*EVERYONE)
def product_list() -> Any:
    rows = db().scalars(sa.select(m.Product).options(so.selectinload(m.Product.ranges),
                                                     so.selectinload(m.Product.gtins)).order_by(m.Product.name))
    return jsonify({"products": [product_json(p) for p in rows]})
