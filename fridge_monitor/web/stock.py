"""Stock forms for nurses and admins: receive, use, move, reconstitute, discard, correct a count.

Each form starts with one scan box. A barcode scanner types the vial's GS1
DataMatrix and presses Enter, which reads the scan (the form's first button)
and fills product, lot, expiry and serial for the person to check; the next
Enter records the change. An unknown GTIN is linked to its product once
(audited). Everything can be typed by hand too. The changes themselves are
:mod:`fridge_monitor.inventory.ledger`'s, in the request's transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from fridge_monitor.core import free_text, gs1, lots
from fridge_monitor.inventory import catalog
from fridge_monitor.inventory import ledger as inventory
from fridge_monitor.store import models as m
from fridge_monitor.web.access import STAFF, allow, signed_in
from fridge_monitor.web.context import db, now_utc
from fridge_monitor.web.forms import options, sentence, strip
from fridge_monitor.web.inventory import FridgeRow, fridges, local

bp = Blueprint("stock", __name__, url_prefix="/stock")

KINDS = {  # page title, button
    "receive": ("Receive stock", "Receive"),
    "use": ("Use stock", "Use"),
    "transfer": ("Move stock to another fridge", "Move"),
    "reconstitute": ("Reconstitute or open vials", "Reconstitute / open"),
    "discard": ("Discard stock", "Discard"),
    "correct": ("Correct a count", "Record the count"),
}
TABS = {"receive": "Receive", "use": "Use", "transfer": "Move", "reconstitute": "Reconstitute / open",
        "discard": "Discard", "correct": "Correct a count"}
DISCARD_LABELS = {
    "expired": "Expired",
    "excursion": "Exposed in a temperature excursion (disposition: discard)",
    "damaged": "Damaged or contaminated",
    "beyond_use": "Opened vial past its beyond-use time",
    "other": "Other (say why)",
}
NO_CHOICE = 0


class WholeNumberField(IntegerField):  # type: ignore[misc]  # wtforms and flask_wtf ship no types
    """A count of units; a message that says what to type."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = None
        if not valuelist or not valuelist[0].strip():
            return
        try:
            self.data = int(valuelist[0].strip())
        except ValueError:
            raise ValueError("Enter a whole number, such as 1.") from None


class StockForm(FlaskForm):  # type: ignore[misc]  # wtforms and flask_wtf ship no types
    scan = StringField("Scan the vial or pack", filters=[strip])
    gtin = HiddenField()
    last_read = HiddenField()  # the scan as last read: Enter again (from any field) records, not re-reads
    link_product = SelectField("This GTIN is", coerce=int, validate_choice=False)
    product = SelectField("Product", coerce=int, validate_choice=False)
    lot_number = StringField("Lot number", filters=[strip])
    expiry = DateField("Expiry date", validators=[Optional()])
    serial = StringField("Pack serial (optional)", filters=[strip])
    opened = SelectField("Sealed or opened", coerce=int, validate_choice=False)
    fridge = SelectField("Fridge", coerce=int, validate_choice=False)
    to_fridge = SelectField("Move to fridge", coerce=int, validate_choice=False)
    quantity = WholeNumberField("How many", default=1)
    counted = WholeNumberField("Counted now")
    reason_code = SelectField("Why discarded", choices=options(DISCARD_LABELS.items()), validate_choice=False)
    reason = TextAreaField("Note (optional)", filters=[strip], validators=[Length(max=free_text.FREE_TEXT_MAX)])
    confirm_later = BooleanField("Use this lot although another expires first")


def _hri(scan: gs1.Scan) -> str:
    """A scan again as the human-readable form, which has no control characters to carry in a form."""
    parts = [f"(01){scan.gtin}"]
    if scan.expiry is not None:
        parts.append(f"(17){scan.expiry:%y%m%d}")
    if scan.lot:
        parts.append(f"(10){scan.lot}")
    if scan.serial:
        parts.append(f"(21){scan.serial}")
    return "".join(parts)


def _setup(form: StockForm, kind: str, places: list[FridgeRow]) -> list[dict[str, Any]]:
    """Fill the select options; return the opened vial groups there are (for the "Sealed or opened" choice)."""
    products = db().execute(sa.select(m.Product.id, m.Product.name).where(m.Product.retired_at.is_(None))
                            .order_by(m.Product.name)).all()
    choose = [(NO_CHOICE, "— choose —")]
    form.product.choices = options(choose + [(p.id, p.name) for p in products])
    form.link_product.choices = options(choose + [(p.id, p.name) for p in products])
    live = [f for f in places if not f.retired]
    form.fridge.choices = options((f.id, f.name) for f in (live if kind == "receive" else places))
    form.to_fridge.choices = options(choose + [(f.id, f.name) for f in live])
    groups = []
    if kind in ("use", "transfer", "discard", "correct"):
        names = {f.id: f for f in places}
        now = now_utc()
        for s in inventory.stock(db()):
            if s.opened and s.fridge_id in names:
                tz = names[s.fridge_id].tz
                until = f", usable until {local(s.beyond_use_at, tz)}" if s.beyond_use_at else ""
                beyond = " — BEYOND USE" if lots.stock_status(s, now, tz) is lots.Status.BEYOND_USE else ""
                groups.append({"id": s.opened_vial_id, "lot_id": s.lot_id, "fridge_id": s.fridge_id,
                               "label": f"Opened vials #{s.opened_vial_id}: {s.product} lot {s.lot_number} in "
                                        f"{names[s.fridge_id].name}, {s.quantity} left{until}{beyond}"})
    form.opened.choices = options([(NO_CHOICE, "Sealed vials")] + [(g["id"], g["label"]) for g in groups])
    return groups


def _page(form: StockForm, kind: str, *, status: int = 200, linking: bool = False, read: str | None = None,
          groups: list[dict[str, Any]] | None = None, first: lots.Stock | None = None) -> Any:
    title, button = KINDS[kind]
    form.fridge.label.text = {"receive": "Into fridge", "transfer": "From fridge"}.get(kind, "Fridge")
    form.reason.label.text = {"discard": "Details (required for “Other”)",
                              "correct": "Why the count differs"}.get(kind, "Note (optional)")
    return render_template("inventory/stock_form.html", form=form, kind=kind, title=title, button=button,
                           kinds=TABS, linking=linking, read=read, groups=groups or [], first=first), status


@bp.route("/<kind>", methods=["GET", "POST"])
@allow(*STAFF)
def form(kind: str) -> Any:
    if kind not in KINDS:
        abort(404, f"there is no stock form {kind!r}; choose receive, use, transfer, reconstitute, discard or correct")
    places = fridges()
    form = StockForm()
    groups = _setup(form, kind, places)
    if request.method == "GET":
        wanted = request.args.get("fridge", "")
        form.fridge.data = next((f.id for f in places if f.name == wanted), None)
        form.quantity.data = 1
        return _page(form, kind, groups=groups)
    form.validate()  # type conversions and their messages (dates, whole numbers); the rest is checked below
    step = request.form.get("step", "save")
    if step == "read" and (not form.scan.data or form.scan.data == form.last_read.data):
        step = "save"  # Enter in any field presses the first button, "Read scan": nothing new to read
    if step == "link":
        return _link(form, kind, groups)
    if step == "read" or (form.scan.data and not form.lot_number.data and not form.opened.data):
        return _read(form, kind, groups)
    return _save(form, kind, groups, places)


def _read(form: StockForm, kind: str, groups: list[dict[str, Any]]) -> Any:
    """Read the scan into the form, for the person to check before recording."""
    try:
        scan = gs1.parse_scan(form.scan.data or "")
    except gs1.ScanError as exc:
        form.scan.errors = [sentence(str(exc))]
        return _page(form, kind, status=400, groups=groups)
    form.scan.data = form.last_read.data = _hri(scan)
    form.gtin.data = scan.gtin
    found = catalog.product_for_gtin(db(), scan.gtin)
    if found is None:
        form.link_product.data = NO_CHOICE
        return _page(form, kind, linking=True, groups=groups)
    for field, read in ((form.product, found.id), (form.lot_number, scan.lot or ""), (form.expiry, scan.expiry),
                        (form.serial, scan.serial or "")):
        field.data, field.raw_data = read, None  # what the scan says, not what the form held before
    missing = []
    if scan.lot is None:
        form.lot_number.errors = ["The code holds no lot number: type the lot printed on the pack."]
        missing.append("lot")
    if scan.expiry is None and kind == "receive":
        form.expiry.errors = ["The code holds no expiry date: type the expiry printed on the pack."]
        missing.append("expiry")
    read = (f"Read {found.name}" + (f", lot {scan.lot}" if scan.lot else "")
            + (f", expiry {scan.expiry.isoformat()}" if scan.expiry else "")
            + (f", serial {scan.serial}" if scan.serial else "") + ". Check, then press "
            + f"“{KINDS[kind][1]}”.")
    return _page(form, kind, status=400 if missing else 200, read=read, groups=groups)


def _link(form: StockForm, kind: str, groups: list[dict[str, Any]]) -> Any:
    """Link the scanned GTIN to the product chosen (once, audited), then read the scan again."""
    session = db()
    if not form.link_product.data:
        form.link_product.errors = ["Choose the product this GTIN belongs to."]
        return _page(form, kind, status=400, linking=True, groups=groups)
    try:
        link = catalog.link_gtin(session, form.gtin.data or "", form.link_product.data,
                                   actor=signed_in().name, now=now_utc())
        name = link.product.name
        session.commit()
    except catalog.InventoryError as exc:
        session.rollback()
        form.link_product.errors = [sentence(str(exc))]
        return _page(form, kind, status=400, linking=True, groups=groups)
    flash(f"GTIN {form.gtin.data} is now linked to {name}.")
    return _read(form, kind, groups)


def _field_for(message: str, kind: str, has_opened: bool) -> str:
    """Which field a refusal from the inventory service is about."""
    text = message.lower()
    if "opened vial" in text and has_opened:
        return "opened"
    if text.startswith(("only ", "no ", "the quantity")):
        return "counted" if kind == "correct" and not text.startswith("the quantity") else "quantity"
    if text.startswith(("the count",)):
        return "counted"
    if "choose a different fridge" in text:
        return "to_fridge"
    if "fridge" in text and text.startswith(("there is no fridge", "fridge ")):
        return "fridge"
    if text.startswith(("say why", "choose why")):
        return "reason" if kind != "discard" or text.startswith("say why") else "reason_code"
    if "serial" in text:
        return "serial"
    if "recorded with expiry" in text or "expiry" in text and "code" in text:
        return "expiry"
    if "gtin" in text:
        return "scan"
    return "lot_number"


def _resolve_lot(form: StockForm, kind: str, groups: list[dict[str, Any]], now: datetime) -> m.Lot | None:
    """The lot the form names, created on receipt; None with the problem placed on its field."""
    session = db()
    if form.opened.data:
        group = next((g for g in groups if g["id"] == form.opened.data), None)
        if group is None:
            form.opened.errors = ["That opened vial group is used up or gone: choose again."]
            return None
        return session.get(m.Lot, group["lot_id"])
    if not form.product.data:
        form.product.errors = ["Choose the product, or scan the vial."]
    if not form.lot_number.data:
        form.lot_number.errors = ["Type the lot number printed on the pack, or scan the vial."]
    if kind == "receive" and form.expiry.data is None and not form.expiry.errors:
        form.expiry.errors = ["Give the expiry date printed on the pack, or scan the vial."]
    if form.product.errors or form.lot_number.errors or form.expiry.errors:
        return None
    if kind == "receive":
        known = catalog.find_lot(session, form.product.data, form.lot_number.data)
        try:
            return catalog.lot_for(session, product_id=form.product.data, lot_number=form.lot_number.data,
                                     expiry=form.expiry.data, gtin=form.gtin.data or None,
                                     actor=signed_in().name, now=now)
        except catalog.InventoryError as exc:
            session.rollback()
            field = form.expiry if known is not None and known.expiry != form.expiry.data else form.lot_number
            field.errors = [sentence(str(exc))]
            return None
    lot = catalog.find_lot(session, form.product.data, form.lot_number.data)
    if lot is None:
        product = session.get(m.Product, form.product.data)
        form.lot_number.errors = [f"No lot {form.lot_number.data} of {product.name if product else 'this product'} "
                                  "is in stock records: check the lot number, or receive it first."]
        return None
    if form.expiry.data is not None and form.expiry.data != lot.expiry:
        form.expiry.errors = [f"Lot {lot.lot_number} is recorded with expiry {lot.expiry.isoformat()}, not "
                              f"{form.expiry.data.isoformat()}: check the pack."]
        return None
    return lot


def _fefo_first(form: StockForm, lot: m.Lot, fridge: FridgeRow, now: datetime) -> lots.Stock | None:
    """For a use of sealed vials: the units that should go first instead, unless confirmed."""
    if form.opened.data or form.confirm_later.data:
        return None
    ordered = lots.fefo(inventory.stock(db(), fridge_id=fridge.id, product_id=lot.product_id), now, fridge.tz)
    chosen = next((s for s in ordered if s.lot_id == lot.id and not s.opened), None)
    if chosen is None or not ordered or ordered[0] == chosen:
        return None  # the lot is first, or unusable here: the service says why
    return ordered[0]


def _save(form: StockForm, kind: str, groups: list[dict[str, Any]], places: list[FridgeRow]) -> Any:
    session = db()
    now = now_utc()
    group = next((g for g in groups if g["id"] == form.opened.data), None) if form.opened.data else None
    if group is not None:
        form.fridge.data = group["fridge_id"]  # an opened vial group is in one fridge
    fridge = next((f for f in places if f.id == form.fridge.data), None)
    if fridge is None:
        form.fridge.errors = ["Choose the fridge."]
    if kind == "transfer" and not any(f.id == form.to_fridge.data and not f.retired for f in places):
        form.to_fridge.errors = ["Choose the fridge to move the stock to."]
    if kind == "correct" and form.counted.data is None and not form.counted.errors:
        form.counted.errors = ["Type how many you counted (0 if none)."]
    if kind != "correct" and form.quantity.data is None and not form.quantity.errors:
        form.quantity.errors = ["Type how many, such as 1."]
    lot = _resolve_lot(form, kind, groups, now)
    if lot is None or fridge is None or any(f.errors for f in form):
        session.rollback()
        return _page(form, kind, status=400, groups=groups)
    if kind == "use":
        first = _fefo_first(form, lot, fridge, now)
        if first is not None:
            form.confirm_later.errors = [
                f"{'An opened vial of lot' if first.opened else 'Lot'} {first.lot_number} (expiry "
                f"{first.expiry.isoformat()}) should be used first. Use it instead, or tick the box to use lot "
                f"{lot.lot_number} anyway."]
            session.rollback()
            return _page(form, kind, status=409, groups=groups, first=first)
    actor, opened_id = signed_in().name, form.opened.data or None
    note = form.reason.data or None
    quantity, counted = form.quantity.data or 0, form.counted.data or 0  # checked above for the kinds needing them
    try:
        if kind == "receive":
            inventory.receive(session, lot_id=lot.id, fridge_id=fridge.id, quantity=quantity,
                              serial=form.serial.data or None, note=note, actor=actor, now=now)
        elif kind == "use":
            inventory.use(session, lot_id=lot.id, fridge_id=fridge.id, quantity=quantity,
                          opened_vial_id=opened_id, note=note, actor=actor, now=now)
        elif kind == "transfer":
            inventory.transfer(session, lot_id=lot.id, from_fridge_id=fridge.id, to_fridge_id=form.to_fridge.data,
                               quantity=quantity, opened_vial_id=opened_id, note=note, actor=actor,
                               now=now)
        elif kind == "reconstitute":
            movement = inventory.reconstitute(session, lot_id=lot.id, fridge_id=fridge.id,
                                              quantity=quantity, note=note, actor=actor, now=now)
        elif kind == "discard":
            inventory.discard(session, lot_id=lot.id, fridge_id=fridge.id, quantity=quantity,
                              reason_code=form.reason_code.data, reason=note, opened_vial_id=opened_id,
                              actor=actor, now=now)
        else:
            inventory.correct(session, lot_id=lot.id, fridge_id=fridge.id, counted=counted,
                              reason=form.reason.data or "", opened_vial_id=opened_id, actor=actor, now=now)
        held = inventory.quantity(session, lot.id, fridge.id)
        moved_to = inventory.quantity(session, lot.id, form.to_fridge.data) if kind == "transfer" else None
        until = movement.opened_vial.beyond_use_at if kind == "reconstitute" and movement.opened_vial else None
        product = session.get(m.Product, lot.product_id)
        session.commit()
    except catalog.InventoryError as exc:
        session.rollback()
        field = getattr(form, _field_for(str(exc), kind, bool(groups) and kind != "reconstitute"))
        field.errors = [sentence(str(exc))]
        return _page(form, kind, status=400, groups=groups)
    assert product is not None
    flash(_done(kind, form, product, lot, fridge, places, held, moved_to, until))
    return redirect(url_for("stock.form", kind=kind, fridge=fridge.name))


def _done(kind: str, form: StockForm, product: m.Product, lot: m.Lot, fridge: FridgeRow, places: list[FridgeRow],
          held: int, moved_to: int | None, until: datetime | None) -> str:
    """The flash after a change: what changed, and how many of the lot the fridge holds now."""
    def units(n: int) -> str:
        return f"{n} {product.unit if n == 1 else product.unit + 's'}"

    what = f"{product.name} lot {lot.lot_number}"
    count = form.quantity.data or 0
    opened = "opened " if form.opened.data else ""
    if kind == "receive":
        head = f"Received {units(count)} of {what} (expiry {lot.expiry.isoformat()}) into {fridge.name}."
    elif kind == "use":
        head = f"Used {count} {opened}{units(count).split(' ', 1)[1]} of {what} from {fridge.name}."
    elif kind == "transfer":
        target = next(f.name for f in places if f.id == form.to_fridge.data)
        return (f"Moved {units(count)} of {what} from {fridge.name} to {target}. {fridge.name} now holds "
                f"{units(held)} of this lot, {target} {units(moved_to or 0)}.")
    elif kind == "reconstitute":
        limit = f", usable until {local(until, fridge.tz)}" if until else ""
        head = f"Reconstituted {units(count)} of {what} in {fridge.name}{limit}."
    elif kind == "discard":
        head = f"Discarded {units(count)} of {what} from {fridge.name} ({DISCARD_LABELS[form.reason_code.data]})."
    else:
        head = f"Recorded a count of {units(form.counted.data or 0)} of {what} in {fridge.name}."
    return f"{head} {fridge.name} now holds {units(held)} of this lot."
