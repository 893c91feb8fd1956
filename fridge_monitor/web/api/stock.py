"""The API's stock: reading a scan, linking a GTIN, the stock movements (receive, use, transfer, reconstitute,
discard, correct) and the products they are of."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
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
from fridge_monitor.web.api.contract import operation
from fridge_monitor.web.api.schemas.stock import (
    Correct,
    Discard,
    Entry,
    GtinLink,
    GtinLinked,
    Movement,
    Product,
    ProductList,
    Range,
    Receive,
    Reconstitute,
    ScanBody,
    ScanRead,
    StockChange,
    Transfer,
    Use,
)
from fridge_monitor.web.context import db, now_utc


def _fridge_names(session: so.Session, ids: Iterable[int]) -> dict[int, str]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = session.execute(sa.select(m.Fridge.id, m.Fridge.name).where(m.Fridge.id.in_(wanted)))
    return {fridge_id: name for fridge_id, name in rows}


def movement_json(mv: m.StockMovement, names: dict[int, str]) -> Movement:
    entries: list[Entry] = [{"fridge": names.get(e.fridge_id), "delta": e.delta, "opened_vial_id": e.opened_vial_id}
                            for e in mv.entries]
    fridges = list(dict.fromkeys(entry["fridge"] for entry in entries))
    body: Movement = {
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


def product_json(p: m.Product) -> Product:
    opened: Range | None = None if p.opened_low_c is None or p.opened_high_c is None else {
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
        body: StockChange = {"movement": movement_json(movement, names), "quantities": quantities,
                             "lot_quantity": total}
    return jsonify(body)


MOVED: dict[int, tuple[Any, str] | str] = {200: (StockChange, "The movement and the lot's new quantities."),
         404: "No such fridge, product, lot or opened vial (or the GTIN is not linked to a product)."}


@bp.route("/scan", methods=["POST"])
@allow(*EVERYONE)
@operation("readScan", "Read what a barcode scanner typed for a vial's GS1 code (changes nothing)", body=ScanBody,
           answers={200: (ScanRead, "What the code holds and the product its GTIN is linked to."),
                    400: "The code cannot be read safely (the message says why)."})
def scan(body: ScanBody) -> Any:
    """Read a vial code (writes nothing, so every role may scan)."""
    try:
        found = gs1.parse_scan(body.code)
    except gs1.ScanError as exc:
        abort(400, f"field 'code': {exc}")
    product = catalog.product_for_gtin(db(), found.gtin)
    lot = catalog.find_lot(db(), product.id, found.lot) if product is not None and found.lot else None
    if lot is not None and not site_access.may_see(db(), scope.sites(), "lot", lot.id):
        lot = None  # known only at other sites: received here, it is a new holding of the same lot
    answer: ScanRead = {
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


def _with_scan(body: Receive) -> tuple[str | None, str | None, date | None, str | None]:
    """(GTIN, lot, expiry, serial): what the body's ``code`` (a raw scan) holds; a field typed as well fills what
    the code lacks and must agree with what it holds."""
    typed = (body.gtin, fields.stripped(body.lot), body.expiry, fields.stripped(body.serial))
    if body.code is None:
        return typed
    try:
        found = gs1.parse_scan(body.code)
    except gs1.ScanError as exc:
        fields.bad("code", str(exc))
    read = (found.gtin, found.lot, found.expiry, found.serial)
    for field, was_typed, value in zip(("lot", "expiry", "serial"), typed[1:], read[1:], strict=True):
        if value is not None and was_typed is not None and was_typed != value:
            shown = was_typed.isoformat() if isinstance(was_typed, date) else was_typed
            fields.bad(field, f"{shown!r} differs from the scanned code ({value}): check the pack")
    gtin, lot, expiry, serial = (scanned if scanned is not None else given for given, scanned in zip(typed, read,
                                                                                                   strict=True))
    return gtin, lot, expiry, serial  # type: ignore[return-value]


@bp.route("/gtins", methods=["POST"])
@allow(*STAFF)
@operation("linkGtin", "Link a GTIN to its product, once (audited): then its scans name the product", body=GtinLink,
           answers={200: (GtinLinked, "The link (linking again to the same product changes nothing)."),
                    404: "There is no such product.", 409: "The GTIN is linked to another product already."})
def gtin_link(body: GtinLink) -> Any:
    fields.gtin_of(body.gtin)
    product = fields.product_ref(body.product, "product")
    user = signed_in()
    with fields.inventory_change() as session:
        link = catalog.link_gtin(session, body.gtin, product.id, actor=user.name, now=now_utc())
        answer: GtinLinked = {"gtin": link.gtin, "product": product_json(link.product),
                              "linked_at": iso_utc(link.linked_at), "linked_by": link.linked_by}
    return jsonify(answer)


@bp.route("/stock/receive", methods=["POST"])
@allow(*STAFF)
@operation("receiveStock", "Units arrive in a fridge; the lot is created the first time it is seen", body=Receive,
           answers={**MOVED, 400: "The body does not fit (the message names the field): also a typed field that "
                                  "differs from the scanned code, a code without the lot or expiry, or a "
                                  "product that is not the one its GTIN is linked to.",
                    409: "Refused: expired lot, another expiry recorded for this lot, a serial received before, "
                         "retired fridge."})
def stock_receive(body: Receive) -> Any:
    gtin, number, expiry, serial = _with_scan(body)
    fridge = fields.fridge_named(body.fridge.strip())
    product = fields.product_for(body.product, gtin)
    if number is None:
        fields.bad("lot", "missing")
    if expiry is None:
        fields.bad("expiry", "missing")
    note = fields.stripped(body.note)
    if gtin is not None and body.product is not None:
        linked = fields.product_for(None, gtin)  # the product and the GTIN must name the same thing
        if linked.id != product.id:
            fields.bad("product", f"GTIN {gtin} is linked to {linked.name}, not {product.name}: check the pack")
    quantity = body.quantity

    def move(session: so.Session, actor: str, now: datetime) -> m.StockMovement:
        lot = catalog.lot_for(session, product_id=product.id, lot_number=number, expiry=expiry, gtin=gtin,
                              actor=actor, now=now)
        return inventory.receive(session, lot_id=lot.id, fridge_id=fridge.id, quantity=quantity, serial=serial,
                                 note=note, actor=actor, now=now)

    return _apply(move)


@bp.route("/stock/use", methods=["POST"])
@allow(*STAFF)
@operation("useStock", "Units taken out to administer", body=Use,
           answers={**MOVED, 409: "Refused: not enough units (the message says how many are left), lot expired, "
                                  "under review, discarded, or the opened vial is past its beyond-use time."})
def stock_use(body: Use) -> Any:
    fridge, lot = fields.fridge_named(body.fridge.strip()), fields.lot_for(body)
    opened = fields.opened_vial(body.opened_vial_id, lot)
    return _apply(lambda session, actor, now: inventory.use(
        session, lot_id=lot.id, fridge_id=fridge.id, quantity=body.quantity, opened_vial_id=opened,
        note=fields.stripped(body.note), actor=actor, now=now))


@bp.route("/stock/transfer", methods=["POST"])
@allow(*STAFF)
@operation("transferStock", "Units moved between fridges (whatever the lot's status)", body=Transfer,
           answers={**MOVED, 409: "Refused: not enough units in `from`, the same fridge twice, `to` retired."})
def stock_transfer(body: Transfer) -> Any:
    source, target = fields.fridge_named(body.source.strip()), fields.fridge_named(body.target.strip())
    lot = fields.lot_for(body)
    opened = fields.opened_vial(body.opened_vial_id, lot)
    return _apply(lambda session, actor, now: inventory.transfer(
        session, lot_id=lot.id, from_fridge_id=source.id, to_fridge_id=target.id, quantity=body.quantity,
        opened_vial_id=opened, note=fields.stripped(body.note), actor=actor, now=now))


@bp.route("/stock/reconstitute", methods=["POST"])
@allow(*STAFF)
@operation("reconstituteStock", "Sealed vials reconstituted or opened: they become an opened vial group with a "
           "beyond-use time", body=Reconstitute,
           answers={**MOVED, 409: "Refused: not enough sealed units, lot not usable."})
def stock_reconstitute(body: Reconstitute) -> Any:
    fridge, lot = fields.fridge_named(body.fridge.strip()), fields.lot_for(body)
    return _apply(lambda session, actor, now: inventory.reconstitute(
        session, lot_id=lot.id, fridge_id=fridge.id, quantity=body.quantity, note=fields.stripped(body.note),
        actor=actor, now=now))


@bp.route("/stock/discard", methods=["POST"])
@allow(*STAFF)
@operation("discardStock", "Units thrown away, with a reason", body=Discard,
           answers={**MOVED, 409: "Refused: not enough units."})
def stock_discard(body: Discard) -> Any:
    fridge, lot = fields.fridge_named(body.fridge.strip()), fields.lot_for(body)
    opened = fields.opened_vial(body.opened_vial_id, lot)
    return _apply(lambda session, actor, now: inventory.discard(
        session, lot_id=lot.id, fridge_id=fridge.id, quantity=body.quantity, reason_code=body.reason_code,
        reason=fields.stripped(body.reason), opened_vial_id=opened, actor=actor, now=now))


@bp.route("/stock/correct", methods=["POST"])
@allow(*STAFF)
@operation("correctStock", "A count that differs from the records: a new movement of the difference", body=Correct,
           answers={**MOVED, 409: "Refused: the count matches the records, or `corrects_id` is not a movement of "
                                  "this lot."})
def stock_correct(body: Correct) -> Any:
    fridge, lot = fields.fridge_named(body.fridge.strip()), fields.lot_for(body)
    opened = fields.opened_vial(body.opened_vial_id, lot)
    return _apply(lambda session, actor, now: inventory.correct(
        session, lot_id=lot.id, fridge_id=fridge.id, counted=body.counted, reason=body.reason.strip(),
        opened_vial_id=opened, corrects_id=body.corrects_id, actor=actor, now=now))


@bp.route("/products")
@allow(*EVERYONE)
@operation("listProducts", "Every product with its storage ranges and linked GTINs",
           answers={200: (ProductList, "Products by name.")})
def product_list() -> Any:
    rows = db().scalars(sa.select(m.Product).options(so.selectinload(m.Product.ranges),
                                                     so.selectinload(m.Product.gtins)).order_by(m.Product.name))
    answer: ProductList = {"products": [product_json(p) for p in rows]}
    return jsonify(answer)
