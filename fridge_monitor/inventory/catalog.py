"""What the stock is of: products and their GTINs, lots; and the error every stock operation raises."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.core import free_text, products
from fridge_monitor.store import audit_trail
from fridge_monitor.store import models as m
from fridge_monitor.store.db import dialect_insert, write_lock

if TYPE_CHECKING:
    pass

LOT_NUMBER_MAX = 50
PRODUCT_FIELDS = ("name", "form", "unit", "freezing_allowed", "protect_from_light", "beyond_use_hours",
                  "opened_low_c", "opened_high_c", "excursion_low_c", "excursion_high_c", "excursion_mkt_max_c",
                  "notes")


class InventoryError(ValueError):
    """A stock operation that cannot be done; the message says why, in words for staff."""


class UnknownGtin(InventoryError):
    """A scanned GTIN not linked to any product yet: offer to link it (:func:`link_gtin`)."""

    def __init__(self, gtin: str) -> None:
        super().__init__(f"GTIN {gtin} is not linked to a product yet: choose its product once, then scan again")
        self.gtin = gtin


def check_actor(actor: str) -> None:
    """Refuse a change without the name of the person making it."""
    if not actor.strip():
        raise InventoryError("a stock change needs the name of the person making it")


# -- products and GTINs --------------------------------------------------------------------------


def product(session: so.Session, product_id: int) -> products.Product:
    """A product's storage rules as plain values (for range checks and beyond-use times)."""
    row = session.get(m.Product, product_id)
    if row is None:
        raise InventoryError(f"there is no product {product_id}")
    return as_product(row)


def as_product(row: m.Product) -> products.Product:
    opened = None
    if row.opened_low_c is not None and row.opened_high_c is not None:
        opened = products.StorageRange(row.opened_low_c, row.opened_high_c)
    return products.Product(
        id=row.id, name=row.name, form=row.form, unit=row.unit,
        ranges=tuple(products.StorageRange(r.low_c, r.high_c) for r in row.ranges),
        freezing_allowed=row.freezing_allowed, protect_from_light=row.protect_from_light,
        beyond_use_hours=row.beyond_use_hours, opened_range=opened, gtins=tuple(g.gtin for g in row.gtins),
        allowance=allowance(row),
    )


def allowance(row: m.Product) -> products.Allowance | None:
    """The product's permitted excursions, when all three of its columns are set."""
    low, high, mkt = row.excursion_low_c, row.excursion_high_c, row.excursion_mkt_max_c
    if low is None or high is None or mkt is None:
        return None
    return products.Allowance(low, high, mkt)


def product_for_gtin(session: so.Session, gtin: str) -> m.Product | None:
    """The product a GTIN (any length, check digit verified) is linked to, or None."""
    return session.scalar(sa.select(m.Product).join(m.ProductGtin).where(m.ProductGtin.gtin == _gtin(gtin)))


def link_gtin(session: so.Session, gtin: str, product_id: int, *, actor: str, now: datetime) -> m.ProductGtin:
    """Link an unknown GTIN to its product, once (audited). Linking it again to the same product changes
    nothing; to another product is refused (an admin must look into it)."""
    check_actor(actor)
    code = _gtin(gtin)
    target = session.get(m.Product, product_id)
    if target is None:
        raise InventoryError(f"there is no product {product_id}")
    write_lock(session)
    inserted = session.execute(_insert_ignore(session, m.ProductGtin).values(
        gtin=code, product_id=product_id, linked_at=now, linked_by=actor).returning(m.ProductGtin.gtin)).first()
    link = session.get(m.ProductGtin, code, populate_existing=True)
    assert link is not None
    if link.product_id != product_id:
        raise InventoryError(f"GTIN {code} is already linked to {link.product.name} "
                             f"(by {link.linked_by} on {link.linked_at.date().isoformat()})")
    if inserted is not None:
        audit_trail.record(session, at=now, actor=actor, action="link", record_type="product_gtin", record_id=code,
                           field="product", new=target.name, reason=f"GTIN {code} is {target.name}")
    return link


def save_product(session: so.Session, *, actor: str, now: datetime, reason: str, product_id: int | None = None,
                 ranges: Sequence[tuple[float, float]] | None = None, **fields: Any) -> m.Product:
    """Create a product, or change one (``product_id``): ``fields`` are :data:`PRODUCT_FIELDS`, ``ranges``
    replaces the storage ranges. Audited field by field with old and new values; a changed product is
    marked edited (``edited_at``), so catalogue updates leave it alone."""
    check_actor(actor)
    unknown = set(fields) - set(PRODUCT_FIELDS)
    if unknown:
        raise InventoryError(f"unknown product field(s): {', '.join(sorted(unknown))}")
    if not reason.strip():
        raise InventoryError("give a reason for the change (it goes into the audit trail)")
    if free_text.too_long(reason.strip()):
        raise InventoryError(free_text.limit_message("the reason for the change"))
    if isinstance(fields.get("notes"), str) and free_text.too_long(fields["notes"].strip()):
        raise InventoryError(free_text.limit_message("the product's notes"))
    creating = product_id is None
    if creating:
        row = m.Product(created_at=now, name="", form="", unit="vial", freezing_allowed=False,
                        protect_from_light=False)
    else:
        found = session.get(m.Product, product_id)
        if found is None:
            raise InventoryError(f"there is no product {product_id}")
        row = found
    name = str(fields.get("name", row.name)).strip()
    if not name:
        raise InventoryError("a product needs a name")
    fields = {**fields, "name": name} if "name" in fields else fields
    clash = session.scalar(sa.select(m.Product.id).where(m.Product.name == name, m.Product.id != (product_id or 0)))
    if clash is not None:
        raise InventoryError(f"there is already a product named {name!r}")
    changes: list[tuple[str, object, object]] = []
    for field, value in fields.items():
        old = None if creating else getattr(row, field)
        if creating or old != value:
            changes.append((field, old, value))
            setattr(row, field, value)
    if ranges is not None:
        try:
            new = products.merge_ranges(ranges)
        except ValueError as exc:
            raise InventoryError(str(exc)) from None
        old_ranges = () if creating else tuple(products.StorageRange(r.low_c, r.high_c) for r in row.ranges)
        if creating or set(new) != set(old_ranges):
            changes.append(("ranges", None if creating else _ranges_text(old_ranges), _ranges_text(new)))
            row.ranges = [m.ProductRange(low_c=r.low_c, high_c=r.high_c) for r in new]
    try:
        with session.no_autoflush:  # validate before anything half-made reaches the database
            rules = as_product(row)
    except ValueError as exc:
        raise InventoryError(str(exc)) from None
    if not changes:
        return row
    if creating:
        session.add(row)
    else:
        row.edited_at, row.edited_by = now, actor
    session.flush()
    if creating:
        audit_trail.record(session, at=now, actor=actor, action="create", record_type="product", record_id=row.id,
                           new=f"{row.name}: {rules.ranges_label}", reason=reason)
    for field, old, value in [] if creating else changes:
        audit_trail.record(session, at=now, actor=actor, action="update", record_type="product", record_id=row.id,
                           field=field, old=old, new=value, reason=reason)
    return row


# -- lots ------------------------------------------------------------------------------------------


def find_lot(session: so.Session, product_id: int, lot_number: str) -> m.Lot | None:
    return session.scalar(sa.select(m.Lot).where(m.Lot.product_id == product_id,
                                                 m.Lot.lot_number == lot_number.strip()))


def lot_for(session: so.Session, *, product_id: int, lot_number: str, expiry: date, actor: str, now: datetime,
            gtin: str | None = None) -> m.Lot:
    """The lot of this product with this number, created (audited) the first time it is seen.

    A lot has one expiry date: a different one for a known lot is refused, since
    one of the two is a misread.
    """
    check_actor(actor)
    number = lot_number.strip()
    if not number:
        raise InventoryError("type the lot number printed on the pack")
    if len(number) > LOT_NUMBER_MAX:
        raise InventoryError(f"a lot number has at most {LOT_NUMBER_MAX} characters")
    target = session.get(m.Product, product_id)
    if target is None:
        raise InventoryError(f"there is no product {product_id}")
    code = _gtin(gtin) if gtin else None
    write_lock(session)
    inserted = session.execute(_insert_ignore(session, m.Lot).values(
        product_id=product_id, lot_number=number, expiry=expiry, gtin=code, created_at=now,
        created_by=actor).returning(m.Lot.id)).first()
    lot = find_lot(session, product_id, number)
    assert lot is not None
    if lot.expiry != expiry:
        raise InventoryError(f"lot {number} of {target.name} is recorded with expiry {lot.expiry.isoformat()}, "
                             f"not {expiry.isoformat()}: check the pack")
    if inserted is not None:
        audit_trail.record(session, at=now, actor=actor, action="create", record_type="lot", record_id=lot.id,
                           new=f"{target.name} lot {number}, expiry {expiry.isoformat()}",
                           reason="first received" + (f" (GTIN {code})" if code else ""))
    return lot


def _gtin(text: str) -> str:
    # Imported here: the barcode tables cost the ingest writer (which judges lots, never scans) 16 MB.
    from fridge_monitor.core import gs1

    try:
        return gs1.normalise_gtin(text)
    except gs1.ScanError as exc:
        raise InventoryError(str(exc)) from None


def _insert_ignore(session: so.Session, model: type[m.Base]) -> Any:
    """INSERT that does nothing when the row's unique key exists (a concurrent first sighting)."""
    return dialect_insert(session.get_bind().dialect.name, model.__table__).on_conflict_do_nothing()


def _ranges_text(ranges: Iterable[products.StorageRange]) -> str:
    return "; ".join(r.label for r in ranges)
