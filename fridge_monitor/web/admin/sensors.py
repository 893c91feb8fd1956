"""Admin → Sensors: which fridge each sensor is in and in what role, its calibration; retiring and reinstating."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField
from wtforms.validators import Length, Optional

from fridge_monitor.core.readings import SENSOR_ROLES
from fridge_monitor.core.times import today_at
from fridge_monitor.store import calibrations
from fridge_monitor.store import models as m
from fridge_monitor.store.sensors import unassigned_in_service
from fridge_monitor.store.sync import assign_sensor, assignment_problems, unassign_sensor
from fridge_monitor.web.access import ADMIN, allow
from fridge_monitor.web.admin import bp
from fridge_monitor.web.admin.changes import ReasonForm, audit, get_or_404, retire_or_reinstate
from fridge_monitor.web.context import db, now_utc, settings
from fridge_monitor.web.forms import options, reason_field
from fridge_monitor.web.forms import strip as _strip
from fridge_monitor.web.paging import Page


class SensorForm(FlaskForm):  # type: ignore[misc]  # wtforms and flask_wtf ship no types
    fridge = SelectField("Fridge", coerce=int, validate_choice=True)
    role = SelectField("Role in that fridge",
                       choices=options((r, f"{r.capitalize()}: {what}") for r, what in SENSOR_ROLES.items()))
    calibration_certificate = StringField("Calibration certificate number", filters=[_strip],
                                          validators=[Optional(), Length(max=100)])
    calibration_due = DateField("Calibration due", validators=[Optional()],
                                render_kw={"placeholder": "YYYY-MM-DD"})
    reason = reason_field()


@bp.route("/sensors")
@allow(*ADMIN)
def sensors() -> Any:
    """Every sensor, a page at a time: unassigned ones first (they wait for an admin), retired ones last."""
    total = db().scalar(sa.select(sa.func.count()).select_from(m.Sensor)) or 0
    page = Page.of(total, lambda n: url_for("admin.sensors", page=n))
    found = db().execute(
        sa.select(m.Sensor, m.Fridge.name.label("fridge"), m.Site.timezone)
        .outerjoin(m.Fridge, m.Sensor.fridge_id == m.Fridge.id).outerjoin(m.Site, m.Fridge.site_id == m.Site.id)
        .order_by(m.Sensor.retired_at.is_not(None), m.Sensor.fridge_id.is_not(None), m.Fridge.name,
                  m.Sensor.role.desc(), m.Sensor.id)
        .limit(page.size).offset(page.offset)
    ).all()
    waiting = db().scalar(sa.select(sa.func.count()).select_from(m.Sensor).where(unassigned_in_service())) or 0
    # Each sensor calibrated or not today at its fridge's site, as the fridge's alerts judge it (UTC's date for
    # one in no fridge).
    now = now_utc()
    days = {sensor.id: today_at(now, *([zone] if zone else [])) for sensor, _fridge, zone in found}
    return render_template("admin/sensors.html", rows=[(sensor, fridge) for sensor, fridge, _zone in found],
                           page=page, waiting=waiting, cap=settings().ingest["max_unassigned_sensors"],
                           calibration=calibrations.statuses_on(db().connection(), days, settings()))


def _sensor_form(sensor: m.Sensor) -> SensorForm:
    form = SensorForm(obj=sensor)
    if not form.is_submitted():
        form.fridge.data = sensor.fridge_id or 0
        form.role.data = sensor.role or "primary"
    fridges = db().execute(
        sa.select(m.Fridge.id, m.Fridge.name, m.Fridge.retired_at)
        .where(sa.or_(m.Fridge.retired_at.is_(None), m.Fridge.id == sensor.fridge_id)).order_by(m.Fridge.name)
    ).all()
    form.fridge.choices = options([(0, "— Unassigned —")] + [
        (row.id, row.name + (" (retired)" if row.retired_at else "")) for row in fridges])
    return form


def _assignment_label(fridge_id: int | None, role: str | None) -> str | None:
    if fridge_id is None:
        return None
    return f"{db().get_one(m.Fridge, fridge_id).name}/{role}"


@bp.route("/sensors/<path:sensor_id>", methods=["GET", "POST"])
@allow(*ADMIN)
def edit_sensor(sensor_id: str) -> Any:
    sensor = get_or_404(m.Sensor, sensor_id)
    form = _sensor_form(sensor)
    if form.validate_on_submit():
        fridge = db().get(m.Fridge, form.fridge.data) if form.fridge.data else None
        role = form.role.data if fridge else None
        problems = assignment_problems(db(), sensor, fridge, role) if fridge is not None and role else {}
        for field, problem in problems.items():
            form[field].errors.append(problem)
        if not problems:
            now = now_utc()
            changes: list[tuple[str, Any, Any]] = []
            was = _assignment_label(sensor.fridge_id, sensor.role)
            now_in = f"{fridge.name}/{role}" if fridge else None
            if was != now_in:
                if fridge is None:
                    unassign_sensor(db(), sensor.id, now)
                else:
                    assign_sensor(db(), sensor.id, fridge, form.role.data, now)
                changes.append(("assignment", was, now_in))
                if fridge is not None and sensor.retired_at is not None:  # put in a fridge: in service again
                    changes.append(("retired_at", sensor.retired_at.isoformat(), None))
                    sensor.retired_at = None
            if (sensor.calibration_certificate or None) != (form.calibration_certificate.data or None):
                changes.append(("calibration_certificate", sensor.calibration_certificate,
                                form.calibration_certificate.data or None))
                sensor.calibration_certificate = form.calibration_certificate.data or None
            if sensor.calibration_due != form.calibration_due.data:
                changes.append(("calibration_due", sensor.calibration_due, form.calibration_due.data))
                sensor.calibration_due = form.calibration_due.data
            if not changes:
                flash("Nothing changed.")
                return redirect(url_for("admin.sensors"))
            audit("sensor", sensor.id, changes, form.reason.data, now=now)
            db().commit()
            flash(f"Sensor {sensor.id} saved.")
            return redirect(url_for("admin.sensors"))
    return _sensor_page(sensor, form)


def _sensor_page(sensor: m.Sensor, form: SensorForm, retire_form: ReasonForm | None = None) -> Any:
    history = db().execute(
        sa.select(m.SensorAssignment, m.Fridge.name.label("fridge"))
        .join(m.Fridge, m.SensorAssignment.fridge_id == m.Fridge.id)
        .where(m.SensorAssignment.sensor_id == sensor.id).order_by(m.SensorAssignment.id.desc())
    ).all()
    return render_template("admin/sensor_form.html", form=form, sensor=sensor, history=history,
                           retire_form=retire_form or ReasonForm(formdata=None, prefix="retire"))


@bp.route("/sensors/<path:sensor_id>/retire", methods=["POST"])
@allow(*ADMIN)
def retire_sensor(sensor_id: str) -> Any:
    """Retire an unassigned sensor (or return a retired one to service); its readings stay.

    A retired sensor no longer waits for an admin on the dashboard, nor counts
    against ``[ingest] max_unassigned_sensors``: retiring the ids a broken or
    hostile publisher invented makes room for real new sensors.
    """
    sensor = get_or_404(m.Sensor, sensor_id)
    form = ReasonForm(prefix="retire")
    if form.validate_on_submit():
        if sensor.retired_at is None and sensor.fridge_id is not None:
            form.reason.errors.append("Unassign this sensor from its fridge first; a sensor in a fridge is in use.")
        else:
            retiring = retire_or_reinstate(sensor, "sensor", sensor.id, form.reason.data)
            flash(f"Sensor {sensor.id} {'retired' if retiring else 'returned to service'}.")
            return redirect(url_for("admin.sensors"))
    return _sensor_page(sensor, _sensor_form(sensor), retire_form=form)
