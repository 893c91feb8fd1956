"""Admin → Products: each product's storage rules and GTINs; create, edit (audited, with a reason), link GTINs.

Changes go through :func:`fridge_monitor.inventory.ledger.save_product`, which audits
each changed field with its old and new value; a catalogue product once edited
here is left alone by later catalogue updates.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from fridge_monitor.core import free_text, products
from fridge_monitor.inventory import catalog
from fridge_monitor.store import models as m
from fridge_monitor.web.access import ADMIN, allow, signed_in
from fridge_monitor.web.context import db, now_utc
from fridge_monitor.web.forms import NumberField, TemperatureField, number_text, reason_field, sentence, strip

bp = Blueprint("admin_products", __name__, url_prefix="/admin/products")

RANGES = 3  # storage ranges a product may list (Xeomin has three)


class ProductForm(FlaskForm):  # type: ignore[misc]  # wtforms and flask_wtf ship no types
    name = StringField("Name", filters=[strip], validators=[DataRequired("Give the product a name."), Length(max=200)])
    form = StringField("Form", filters=[strip], validators=[Length(max=200)],
                       description="e.g. vial, powder for solution for injection")
    unit = StringField("Unit counted", filters=[strip], default="vial",
                       validators=[DataRequired("Say what one unit of stock is, such as vial or syringe."),
                                   Length(max=30)])
    range1_low = TemperatureField("Lowest (°C)", validators=[Optional()])
    range1_high = TemperatureField("Highest (°C)", validators=[Optional()])
    range2_low = TemperatureField("Lowest (°C)", validators=[Optional()])
    range2_high = TemperatureField("Highest (°C)", validators=[Optional()])
    range3_low = TemperatureField("Lowest (°C)", validators=[Optional()])
    range3_high = TemperatureField("Highest (°C)", validators=[Optional()])
    freezing_allowed = BooleanField("Freezing allowed")
    protect_from_light = BooleanField("Protect from light")
    beyond_use_hours = NumberField("Beyond-use limit after reconstitution or opening (hours)", "24",
                                   validators=[Optional()])
    opened_low_c = TemperatureField("Opened vials: lowest (°C)", validators=[Optional()])
    opened_high_c = TemperatureField("Opened vials: highest (°C)", validators=[Optional()])
    excursion_low_c = TemperatureField("Permitted excursions: lowest (°C)", validators=[Optional()])
    excursion_high_c = TemperatureField("Permitted excursions: highest (°C)", validators=[Optional()])
    excursion_mkt_max_c = TemperatureField("…while the mean kinetic temperature stays at or below (°C)",
                                           validators=[Optional()])
    notes = TextAreaField("Notes", filters=[strip], validators=[Length(max=free_text.FREE_TEXT_MAX)])
    reason = reason_field()

    def pairs(self) -> list[tuple[Any, Any]]:
        return [(getattr(self, f"range{i}_low"), getattr(self, f"range{i}_high")) for i in range(1, RANGES + 1)]

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        for low, high in [*self.pairs(), (self.opened_low_c, self.opened_high_c)]:
            if (low.data is None) != (high.data is None) and not low.errors and not high.errors:
                (low if low.data is None else high).errors.append("Give both limits of the range, or neither.")
                valid = False
        allowance = (self.excursion_low_c, self.excursion_high_c, self.excursion_mkt_max_c)
        given = [f for f in allowance if f.data is not None]
        if given and len(given) < len(allowance):
            missing = next(f for f in allowance if f.data is None)
            if not missing.errors:
                missing.errors.append("Give the permitted excursions' lowest, highest and MKT limit, or none of them.")
                valid = False
        elif given and valid:
            try:
                products.Allowance(*(f.data for f in given if f.data is not None))
            except ValueError as exc:
                self.excursion_mkt_max_c.errors.append(sentence(str(exc)))
                valid = False
        if not any(low.data is not None for low, _ in self.pairs()) and not self.range1_low.errors:
            self.range1_low.errors.append("A product needs at least one storage range, such as 2 to 8 °C.")
            valid = False
        if self.beyond_use_hours.data is not None and self.beyond_use_hours.data <= 0:
            self.beyond_use_hours.errors.append("The beyond-use limit is a positive number of hours, or empty.")
            valid = False
        return bool(valid)


def _products() -> list[m.Product]:
    return list(db().scalars(sa.select(m.Product).options(so.selectinload(m.Product.ranges),
                                                          so.selectinload(m.Product.gtins))
                             .order_by(m.Product.retired_at.is_not(None), m.Product.name)))


@bp.route("/")
@allow(*ADMIN)
def index() -> Any:
    rows = [(p, catalog.as_product(p)) for p in _products()]
    return render_template("admin/products.html", rows=rows, number=number_text)


def _fill(form: ProductForm, row: m.Product) -> None:
    for name in ("name", "form", "unit", "freezing_allowed", "protect_from_light", "beyond_use_hours",
                 "opened_low_c", "opened_high_c", "excursion_low_c", "excursion_high_c", "excursion_mkt_max_c",
                 "notes"):
        getattr(form, name).data = getattr(row, name)
    for (low, high), r in zip(form.pairs(), row.ranges, strict=False):
        low.data, high.data = r.low_c, r.high_c


def _store(form: ProductForm, product_id: int | None) -> Any:
    session = db()
    try:
        row = catalog.save_product(
            session, actor=signed_in().name, now=now_utc(), reason=form.reason.data, product_id=product_id,
            ranges=[(low.data, high.data) for low, high in form.pairs() if low.data is not None],
            name=form.name.data, form=form.form.data or "", unit=form.unit.data,
            freezing_allowed=bool(form.freezing_allowed.data), protect_from_light=bool(form.protect_from_light.data),
            beyond_use_hours=form.beyond_use_hours.data, opened_low_c=form.opened_low_c.data,
            opened_high_c=form.opened_high_c.data, excursion_low_c=form.excursion_low_c.data,
            excursion_high_c=form.excursion_high_c.data, excursion_mkt_max_c=form.excursion_mkt_max_c.data,
            notes=form.notes.data or None)
        name = row.name
        session.commit()
    except catalog.InventoryError as exc:
        session.rollback()
        message = sentence(str(exc))
        lowered = message.lower()
        field = (form.name if "name" in lowered else form.beyond_use_hours if "beyond-use" in lowered
                 else form.range1_low if "range" in lowered else form.reason)
        field.errors = [*field.errors, message]
        return None
    flash(f"Product {name} {'saved' if product_id else 'created'}.")
    return redirect(url_for("admin_products.index"))


@bp.route("/new", methods=["GET", "POST"])
@allow(*ADMIN)
def new() -> Any:
    form = ProductForm()
    if form.validate_on_submit():
        done = _store(form, None)
        if done is not None:
            return done
    return render_template("admin/product_form.html", form=form, product=None, gtin_error=None)


def _product(product_id: int) -> m.Product:
    row = db().get(m.Product, product_id)
    if row is None:
        abort(404, f"there is no product {product_id}")
    return row


@bp.route("/<int:product_id>", methods=["GET", "POST"])
@allow(*ADMIN)
def edit(product_id: int) -> Any:
    row = _product(product_id)
    form = ProductForm()
    if form.validate_on_submit():
        done = _store(form, product_id)
        if done is not None:
            return done
    elif not form.is_submitted():
        _fill(form, row)
    return render_template("admin/product_form.html", form=form, product=row, gtin_error=None)


@bp.route("/<int:product_id>/gtins", methods=["POST"])
@allow(*ADMIN)
def link_gtin(product_id: int) -> Any:
    row = _product(product_id)
    gtin = (request.form.get("gtin") or "").strip()
    session = db()
    try:
        link = catalog.link_gtin(session, gtin, row.id, actor=signed_in().name, now=now_utc())
        code = link.gtin
        session.commit()
    except catalog.InventoryError as exc:
        session.rollback()
        form = ProductForm()
        _fill(form, row)
        return render_template("admin/product_form.html", form=form, product=row, gtin_error=sentence(str(exc)),
                               gtin_typed=gtin), 400
    flash(f"GTIN {code} is linked to {row.name}.")
    return redirect(url_for("admin_products.edit", product_id=row.id))
