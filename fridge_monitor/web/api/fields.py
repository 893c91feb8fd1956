"""Reading an API request's JSON body, and finding the fridge, product, lot or opened vial it names.

Each function answers 400 (the field and what is wrong with it) or 404 (what
was not found) through :func:`flask.abort`, so a view reads as the happy path.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any, NoReturn

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import abort, request

from fridge_monitor.core import free_text, gs1
from fridge_monitor.inventory import catalog
from fridge_monitor.store import models as m
from fridge_monitor.store import site_access
from fridge_monitor.web import scope
from fridge_monitor.web.context import db


def bad(field: str, message: str) -> NoReturn:
    abort(400, f"field '{field}': {message}")


def json_body(example: str) -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, f"send a JSON object such as {example}")
    return body


def text(body: dict[str, Any], field: str, *, required: bool = True) -> str | None:
    value = body.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            bad(field, "missing")
        return None
    if not isinstance(value, str):
        bad(field, "must be text")
    if free_text.too_long(value.strip()):
        bad(field, free_text.limit_message("this text"))
    return value.strip()


def whole(body: dict[str, Any], field: str, *, minimum: int, required: bool = True) -> int | None:
    value = body.get(field)
    if value is None:
        if required:
            bad(field, f"missing (a whole number, {minimum} or more)")
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        bad(field, f"must be a whole number, {minimum} or more, not {value!r}")
    return value


def day(body: dict[str, Any], field: str) -> date:
    typed = text(body, field)
    assert typed is not None
    try:
        return date.fromisoformat(typed)
    except ValueError:
        bad(field, f"{typed!r} is not a date (YYYY-MM-DD)")


def fridge_named(name: str) -> m.Fridge:
    """The fridge called ``name``, if it lies in the user's sites (404 either way, the same words)."""
    found = db().scalar(sa.select(m.Fridge).where(m.Fridge.name == name))
    if found is None or not scope.sees(found.site_id):
        abort(404, f"there is no fridge named {name!r}")
    return found


def fridge_field(body: dict[str, Any], field: str) -> m.Fridge:
    name = text(body, field)
    assert name is not None
    return fridge_named(name)


def product_ref(value: object, field: str) -> m.Product:
    """A product by id (a number) or by its exact name."""
    if isinstance(value, bool) or not isinstance(value, (int, str)) or (isinstance(value, str) and not value.strip()):
        bad(field, "give the product's id (a number) or its name")
    if isinstance(value, int):
        found = db().get(m.Product, value)
    else:
        found = db().scalar(sa.select(m.Product).where(m.Product.name == value.strip()))
    if found is None:
        abort(404, f"there is no product {value!r}")
    return found


def product_for(body: dict[str, Any]) -> m.Product:
    """The product a body names by "product" (id or name) or by a linked "gtin"."""
    if body.get("product") is not None:
        return product_ref(body["product"], "product")
    gtin = text(body, "gtin", required=False)
    if gtin is None:
        abort(400, "field 'product': missing (give the product's id or name, or a linked 'gtin')")
    try:
        code = gs1.normalise_gtin(gtin)
    except gs1.ScanError as exc:
        bad("gtin", str(exc))
    found = catalog.product_for_gtin(db(), code)
    if found is None:
        abort(404, str(catalog.UnknownGtin(code)))
    return found


def lot_named(lot_id: int) -> m.Lot:
    """The lot ``lot_id``, if it lies in the user's sites (404 either way, the same words)."""
    found = db().get(m.Lot, lot_id)
    if found is None or not site_access.may_see(db(), scope.sites(), "lot", lot_id):
        abort(404, f"there is no lot {lot_id}")
    return found


def lot_for(body: dict[str, Any]) -> m.Lot:
    """The existing lot a body names by "lot_id", or by product (or gtin) and "lot" number."""
    lot_id = whole(body, "lot_id", minimum=1, required=False)
    if lot_id is not None:
        return lot_named(lot_id)
    if body.get("product") is None and body.get("gtin") is None:
        abort(400, "field 'lot_id': missing (or give 'product' or 'gtin' with the 'lot' number)")
    product = product_for(body)
    number = text(body, "lot")
    assert number is not None
    found = catalog.find_lot(db(), product.id, number)
    if found is None:
        abort(404, f"there is no lot {number} of {product.name}")
    return found


def opened_vial(body: dict[str, Any], lot: m.Lot) -> int | None:
    opened_id = whole(body, "opened_vial_id", minimum=1, required=False)
    if opened_id is not None:
        opened = db().get(m.OpenedVial, opened_id)
        if opened is None or opened.lot_id != lot.id:
            abort(404, f"there is no opened vial {opened_id} of lot {lot.lot_number}")
    return opened_id


@contextmanager
def inventory_change() -> Iterator[so.Session]:
    """The request's session for one inventory change: committed when the block ends, or rolled back and
    answered 409 with inventory's reason (nothing written)."""
    session = db()
    try:
        yield session
        session.commit()
    except catalog.InventoryError as exc:
        session.rollback()
        abort(409, str(exc))
