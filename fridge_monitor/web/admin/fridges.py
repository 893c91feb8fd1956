"""Admin → Fridges: each fridge's site, kind, allowed range and alarm profile; retiring and reinstating."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from fridge_monitor.config import DEFAULT_ALARM_PROFILES, FRIDGE_KINDS
from fridge_monitor.store import models as m
from fridge_monitor.store import profiles
from fridge_monitor.web.access import ADMIN, allow
from fridge_monitor.web.admin import bp
from fridge_monitor.web.admin.changes import (
    ReasonForm,
    add_new,
    audit,
    get_or_404,
    name_taken,
    number,
    retire_or_reinstate,
    save,
)
from fridge_monitor.web.context import db, now_utc, settings
from fridge_monitor.web.forms import TemperatureField, options, reason_field
from fridge_monitor.web.forms import strip as _strip

KIND_LABELS = {
    "refrigerator": "Refrigerator (2 … 8 °C)",
    "freezer": "Freezer (−50 … −15 °C)",
    "ultra-cold": "Ultra-cold (−90 … −60 °C)",
    "room": "Controlled room (20 … 25 °C)",
    "custom": "Custom range",
}


class FridgeForm(FlaskForm):  # type: ignore[misc]  # wtforms and flask_wtf ship no types
    name = StringField("Name", filters=[_strip], validators=[DataRequired("Give the fridge a name."), Length(max=200)])
    site = SelectField("Site", coerce=int, validate_choice=True)
    kind = SelectField("Kind", choices=options(KIND_LABELS.items()))
    low_c = TemperatureField("Lowest allowed (°C)", validators=[Optional()])
    high_c = TemperatureField("Highest allowed (°C)", validators=[Optional()])
    alarm_profile = StringField("Alarm profile", filters=[_strip], validators=[Length(max=100)])
    reason = reason_field()

    def validate(self, extra_validators: Any = None) -> bool:
        # Check the range even when another field failed, so every problem shows at once.
        valid = super().validate(extra_validators)
        if self.kind.errors or self.low_c.errors or self.high_c.errors:
            return False
        preset = FRIDGE_KINDS[self.kind.data]
        if preset is None:
            for field in (self.low_c, self.high_c):
                if field.data is None:
                    field.errors.append("A custom range needs both limits.")
            if self.low_c.errors or self.high_c.errors:
                return False
        else:
            if self.low_c.data is None:
                self.low_c.data = preset[0]
            if self.high_c.data is None:
                self.high_c.data = preset[1]
        low, high = self.low_c.data, self.high_c.data
        assert low is not None and high is not None  # both typed, or taken from the kind's preset
        for field, value in ((self.low_c, low), (self.high_c, high)):
            if not -200.0 <= value <= 100.0:
                field.errors.append("Enter a temperature between −200 and 100 °C.")
        if self.low_c.errors or self.high_c.errors:
            return False
        if low >= high:
            self.high_c.errors.append(f"The highest allowed temperature must be above the lowest ({low:g} °C).")
            return False
        if not self.alarm_profile.data:
            self.alarm_profile.data = DEFAULT_ALARM_PROFILES.get(self.kind.data, "")
        known = profiles.known(db(), settings())
        if self.alarm_profile.data and self.alarm_profile.data not in known:
            self.alarm_profile.errors.append(f"Unknown alarm profile. Choose one of: {', '.join(known)} "
                                             f"(make your own under Admin → Alarm profiles).")
            return False
        return bool(valid)


def _declared_fridges() -> set[str]:
    return {decl.name for decl in settings().fridges}


@bp.route("/fridges")
@allow(*ADMIN)
def fridges() -> Any:
    rows = db().execute(
        sa.select(m.Fridge, m.Site.name.label("site"))
        .join(m.Site, m.Fridge.site_id == m.Site.id)
        .order_by(m.Fridge.retired_at.is_not(None), m.Site.name, m.Fridge.name)
    ).all()
    sensors: dict[int, list[m.Sensor]] = {}
    for sensor in db().scalars(sa.select(m.Sensor).where(m.Sensor.fridge_id.is_not(None)).order_by(m.Sensor.id)):
        if sensor.fridge_id is not None:
            sensors.setdefault(sensor.fridge_id, []).append(sensor)
    return render_template("admin/fridges.html", rows=rows, sensors=sensors, kinds=KIND_LABELS,
                           declared=_declared_fridges())


def _fridge_form(fridge: m.Fridge | None) -> FridgeForm:
    form = FridgeForm(obj=fridge)
    if fridge is not None and not form.is_submitted():
        form.site.data = fridge.site_id
    site_rows = db().execute(sa.select(m.Site.id, m.Site.name).order_by(m.Site.name)).all()
    form.site.choices = options((row.id, row.name) for row in site_rows)
    return form


def _fridge_page(form: FridgeForm, fridge: m.Fridge | None, retire_form: ReasonForm | None = None) -> Any:
    assigned: list[m.Sensor] = []
    if fridge is not None:
        assigned = list(db().scalars(sa.select(m.Sensor).where(m.Sensor.fridge_id == fridge.id)
                                     .order_by(m.Sensor.id)))
    return render_template(
        "admin/fridge_form.html", form=form, fridge=fridge,
        retire_form=retire_form or ReasonForm(formdata=None, prefix="retire"), assigned=assigned,
        profiles=profiles.known(db(), settings()),
        presets={k: v for k, v in FRIDGE_KINDS.items() if v},
        declared=fridge is not None and fridge.name in _declared_fridges(),
    )


FRIDGE_FIELDS = ("name", "site", "kind", "low_c", "high_c", "alarm_profile")


def _fridge_values(fridge: m.Fridge) -> dict[str, Any]:
    return {"name": fridge.name, "site": db().get_one(m.Site, fridge.site_id).name, "kind": fridge.kind,
            "low_c": number(fridge.low_c), "high_c": number(fridge.high_c), "alarm_profile": fridge.alarm_profile}


def _apply_fridge(fridge: m.Fridge, form: FridgeForm) -> None:
    fridge.name = form.name.data
    fridge.site_id = form.site.data
    fridge.kind = form.kind.data
    assert form.low_c.data is not None and form.high_c.data is not None  # FridgeForm.validate fills both
    fridge.low_c = form.low_c.data
    fridge.high_c = form.high_c.data
    fridge.alarm_profile = form.alarm_profile.data


@bp.route("/fridges/new", methods=["GET", "POST"])
@allow(*ADMIN)
def new_fridge() -> Any:
    form = _fridge_form(None)
    if not form.site.choices:
        flash("Create a site first: every fridge belongs to a site.")
        return redirect(url_for("admin.new_site"))
    if form.validate_on_submit():
        if name_taken(m.Fridge, form.name.data, None):
            form.name.errors.append(f"A fridge named {form.name.data!r} already exists (retired ones count too).")
        else:
            now = now_utc()
            fridge = m.Fridge(created_at=now)
            _apply_fridge(fridge, form)
            values = _fridge_values(fridge)
            if add_new(fridge, "fridge", [(f, values[f]) for f in FRIDGE_FIELDS if f != "name"], form.reason.data,
                       now=now):
                flash(f"Fridge {fridge.name} created. Assign its sensors on the Sensors page.")
                return redirect(url_for("admin.fridges"))
            form.name.errors.append(f"A fridge named {form.name.data!r} already exists.")
    return _fridge_page(form, None)


@bp.route("/fridges/<int:fridge_id>", methods=["GET", "POST"])
@allow(*ADMIN)
def edit_fridge(fridge_id: int) -> Any:
    fridge = get_or_404(m.Fridge, fridge_id)
    form = _fridge_form(fridge)
    if form.is_submitted() and form.kind.data != fridge.kind and FRIDGE_KINDS.get(form.kind.data) \
            and (form.low_c.data, form.high_c.data) == (fridge.low_c, fridge.high_c):
        # The kind changed but the limits were left as they were: take the new kind's preset.
        form.low_c.data = form.high_c.data = None
    if form.validate_on_submit():
        if name_taken(m.Fridge, form.name.data, fridge.id):
            form.name.errors.append(f"Another fridge is already named {form.name.data!r}.")
        else:
            before = _fridge_values(fridge)
            _apply_fridge(fridge, form)
            db().flush()
            after = _fridge_values(fridge)
            changes = [(f, before[f], after[f]) for f in FRIDGE_FIELDS if before[f] != after[f]]
            if not changes:
                db().rollback()
                flash("Nothing changed.")
                return redirect(url_for("admin.fridges"))
            audit("fridge", fridge.name, changes, form.reason.data, now=now_utc())
            if save():
                flash(f"Fridge {fridge.name} saved.")
                return redirect(url_for("admin.fridges"))
            form.name.errors.append(f"Another fridge is already named {form.name.data!r}.")
    return _fridge_page(form, fridge)


@bp.route("/fridges/<int:fridge_id>/retire", methods=["POST"])
@allow(*ADMIN)
def retire_fridge(fridge_id: int) -> Any:
    """Retire a fridge (or return a retired one to service); its history stays."""
    fridge = get_or_404(m.Fridge, fridge_id)
    form = ReasonForm(prefix="retire")
    if form.validate_on_submit():
        assigned = db().scalars(sa.select(m.Sensor.id).where(m.Sensor.fridge_id == fridge.id)).all()
        if fridge.retired_at is None and assigned:
            form.reason.errors.append(
                f"Unassign or move its sensors first ({', '.join(assigned)}), so no reading lands in a retired fridge.")
        else:
            retiring = retire_or_reinstate(fridge, "fridge", fridge.name, form.reason.data)
            flash(f"Fridge {fridge.name} {'retired' if retiring else 'returned to service'}.")
            return redirect(url_for("admin.fridges"))
    return _fridge_page(_fridge_form(fridge), fridge, retire_form=form)
