"""Finding the fridge, product, lot or opened vial a request names, once its contract has checked its shape.

Each function answers 400 (the field and what is wrong with it) or 404 (what
was not found) through :func:`flask.abort`, so a view reads as the happy path.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import abort

from fridge_monitor.core import gs1
from fridge_monitor.inventory import catalog
from fridge_monitor.store import models as m
from fridge_monitor.store import site_access
from fridge_monitor.web import scope
from fridge_monitor.web.api.schemas.stock import WhichLot
from fridge_monitor.web.context import db


def bad(field: str, message: str) -> NoReturn:
    abort(400, f"field '{field}': {message}")


def stripped(text: str | None) -> str | None:
    """Typed text without its surrounding spaces; None when nothing is left."""
    return (text or "").strip() or None


def fridge_named(name: str) -> m.Fridge:
    """The fridge called ``name``, if it lies in the user's sites (404 either way, the same words)."""
    found = db().scalar(sa.select(m.Fridge).where(m.Fridge.name == name))
    if found is None or not scope.sees(found.site_id):
        abort(404, f"there is no fridge named {name!r}")
    return found


def product_ref(value: int | str, field: str) -> m.Product:
    """A product by id (a number) or by its exact name."""
    if isinstance(value, int):
        found = db().get(m.Product, value)
    else:
        found = db().scalar(sa.select(m.Product).where(m.Product.name == value.strip()))
    if found is None:
        abort(404, f"there is no product {value.strip() if isinstance(value, str) else value!r}")
    return found


def product_for(product: int | str | None, gtin: str | None) -> m.Product:
    """The product named by ``product`` (id or name) or by a linked ``gtin`` (the contract asked for one)."""
    if product is not None:
        return product_ref(product, "product")
    if gtin is None:
        abort(400, "field 'product': missing (give the product's id or name, or a linked 'gtin')")
    code = gtin_of(gtin)
    found = catalog.product_for_gtin(db(), code)
    if found is None:
        abort(404, str(catalog.UnknownGtin(code)))
    return found


def gtin_of(gtin: str, field: str = "gtin") -> str:
    """The GTIN as GTIN-14, its check digit verified (else 400)."""
    try:
        return gs1.normalise_gtin(gtin)
    except gs1.ScanError as exc:
        bad(field, str(exc))


def lot_named(lot_id: int) -> m.Lot:
    """The lot ``lot_id``, if it lies in the user's sites (404 either way, the same words)."""
    found = db().get(m.Lot, lot_id)
    if found is None or not site_access.may_see(db(), scope.sites(), "lot", lot_id):
        abort(404, f"there is no lot {lot_id}")
    return found


def lot_for(body: WhichLot) -> m.Lot:
    """The existing lot a body names by ``lot_id``, or by product (or GTIN) and lot number."""
    if body.lot_id is not None:
        return lot_named(body.lot_id)
    product = product_for(body.product, body.gtin)
    number = stripped(body.lot) or ""
    found = catalog.find_lot(db(), product.id, number)
    if found is None:
        abort(404, f"there is no lot {number} of {product.name}")
    return found


def opened_vial(opened_id: int | None, lot: m.Lot) -> int | None:
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
