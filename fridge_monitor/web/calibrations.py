"""A sensor's certificates of calibration: everyone reads them (and their files); admins record new ones."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateField, SelectField, StringField
from wtforms.validators import Optional

from fridge_monitor.core import calibration
from fridge_monitor.core.calibration import Point
from fridge_monitor.core.times import today_at
from fridge_monitor.store import calibrations
from fridge_monitor.store import models as m
from fridge_monitor.web import scope
from fridge_monitor.web.access import ADMIN, EVERYONE, accepts_uploads, allow, signed_in
from fridge_monitor.web.context import db, now_utc, settings
from fridge_monitor.web.forms import decimal, options
from fridge_monitor.web.forms import strip as _strip
from fridge_monitor.web.scope import names

bp = Blueprint("calibrations", __name__)

POINT_ROWS = 6  # test point rows the form offers
FIELDS = ("number", "laboratory", "accreditation_body", "accreditation_number", "model", "serial")


class CertificateForm(FlaskForm):  # type: ignore[misc]  # wtforms and flask_wtf ship no types
    number = StringField("Certificate number", filters=[_strip])
    laboratory = StringField("Calibration laboratory", filters=[_strip])
    accreditation_body = StringField("Accreditation body (ILAC-MRA signatory, e.g. A2LA, UKAS, DAkkS)",
                                     filters=[_strip])
    accreditation_number = StringField("Laboratory's ISO/IEC 17025 accreditation number", filters=[_strip])
    calibrated_on = DateField("Calibration date", validators=[Optional()], render_kw={"placeholder": "YYYY-MM-DD"})
    due_on = DateField("Next calibration due", validators=[Optional()], render_kw={"placeholder": "YYYY-MM-DD"})
    model = StringField("Device model", filters=[_strip])
    serial = StringField("Device serial number", filters=[_strip])
    uncertainty_c = StringField("Expanded uncertainty (°C)", filters=[_strip])
    lab_result = SelectField("The laboratory's result", choices=options([("pass", "Pass"), ("fail", "Fail")]))
    file = FileField("The certificate (PDF, PNG or JPEG)")


def _sensor(sensor_id: str) -> m.Sensor:
    sensor = db().get(m.Sensor, sensor_id)
    if sensor is None:
        abort(404, f"there is no sensor {sensor_id!r}")
    return sensor


def _points(errors: dict[str, str]) -> tuple[tuple[Point, ...], list[tuple[str, str]]]:
    """The test points typed (rows with both values), and the rows as typed (to show again)."""
    typed = [(request.form.get(f"reference-{i}", ""), request.form.get(f"measured-{i}", "")) for i in range(POINT_ROWS)]
    points = []
    for reference, measured in typed:
        if not reference.strip() and not measured.strip():
            continue
        try:
            ref, meas = decimal(reference), decimal(measured)
        except ValueError:
            errors["points"] = "Type each temperature as a number, e.g. 5.0."
            continue
        if ref is None or meas is None:
            errors["points"] = "Give both the reference and the measured temperature of each test point."
            continue
        points.append(Point(ref, meas))
    return tuple(points), typed


def _page(sensor: m.Sensor, form: CertificateForm, errors: dict[str, str], typed: list[tuple[str, str]],
          status: int = 200) -> Any:
    conn = db().connection()
    fridge = db().get(m.Fridge, sensor.fridge_id) if sensor.fridge_id else None
    # Calibrated today at the sensor's site, as its fridge's alerts judge it (UTC's date when in no fridge).
    today = today_at(now_utc(), *([fridge.site.timezone] if fridge is not None else []))
    limits = calibrations.limits(settings())
    certificates = []
    for row in calibrations.rows_of(conn, sensor.id):
        cert = calibrations.value(row)
        certificates.append({"row": row, "cert": cert, "problems": calibration.problems(cert, limits)})
    if fridge is not None and not scope.sees(fridge.site_id):
        fridge = None  # moved on to another site's fridge: not named to someone of this one
    return render_template(
        "calibration.html", sensor=sensor, fridge=fridge, certificates=certificates, form=form, errors=errors,
        typed=typed + [("", "")] * (POINT_ROWS - len(typed)),
        status=calibrations.statuses(conn, [sensor.id], today, settings())[sensor.id], limits=limits,
        legacy=(sensor.calibration_certificate, sensor.calibration_due), may_record=signed_in().role in ADMIN,
    ), status


@bp.route("/calibration/<path:sensor_id>")
@allow(*EVERYONE)
@names(sensor_id="sensor")
def page(sensor_id: str) -> Any:
    return _page(_sensor(sensor_id), CertificateForm(formdata=None), {}, [])


@bp.route("/calibration/<path:sensor_id>", methods=["POST"])
@allow(*ADMIN)
@names(sensor_id="sensor")
@accepts_uploads(calibrations.MAX_FILE_BYTES + 64 * 1024)
def record(sensor_id: str) -> Any:
    sensor = _sensor(sensor_id)
    form = CertificateForm()
    form.validate()
    errors: dict[str, str] = {f.name: f.errors[0] for f in form if f.errors}
    points, typed = _points(errors)
    try:
        uncertainty = decimal(form.uncertainty_c.data or "")
    except ValueError:
        errors["uncertainty_c"] = "Type the uncertainty as a number, e.g. 0.2."
        uncertainty = None
    upload = request.files.get("file")
    entry = calibrations.Entry(
        **{name: getattr(form, name).data or "" for name in FIELDS}, calibrated_on=form.calibrated_on.data,
        due_on=form.due_on.data, points=points, uncertainty_c=uncertainty, lab_result=form.lab_result.data or "",
        file_name=upload.filename if upload and upload.filename else "", content=upload.read() if upload else b"")
    now = now_utc()
    if not errors:
        try:
            calibrations.record(db(), sensor, entry, actor=signed_in().name, now=now, config=settings())
        except calibrations.CertificateError as exc:
            db().rollback()
            errors[exc.field] = str(exc)
    if errors:
        return _page(sensor, form, errors, typed, 400)
    db().commit()
    flash(f"Certificate {entry.number} recorded for {sensor.id}.")
    return redirect(url_for("calibrations.page", sensor_id=sensor.id))


@bp.route("/calibration-certificates/<int:certificate_id>/file")
@allow(*EVERYONE)
@names(certificate_id="certificate")
def certificate_file(certificate_id: int) -> Any:
    found = calibrations.content(db().connection(), certificate_id)
    if found is None:
        abort(404, "there is no such certificate")
    name, kind, digest, data = found
    safe = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in name) or "certificate"
    return current_app.response_class(data, mimetype=kind, headers={
        "Content-Disposition": f"attachment; filename=\"{safe}\"", "X-Content-SHA256": digest})
