"""Admin pages: sites, fridges, sensors, users (and alarm profiles, from :mod:`.admin_profiles`); all audited.

Each saved change writes one audit event per changed field (old → new) in
the same transaction as the change itself, with the signed-in admin as actor.
Nothing is ever deleted: fridges are retired, users disabled, sensors unassigned or retired.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from wtforms import DateField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional, ValidationError

from fridge_monitor.config import DEFAULT_ALARM_PROFILES, FRIDGE_KINDS
from fridge_monitor.ingest.batches import unassigned_in_service
from fridge_monitor.store import accounts, audit_trail, profiles
from fridge_monitor.store import models as m
from fridge_monitor.store.sync import assign_sensor, unassign_sensor
from fridge_monitor.web import admin_profiles, db, settings
from fridge_monitor.web.access import ADMIN, allow, current_user, nav
from fridge_monitor.web.forms import TemperatureField, options, reason_field
from fridge_monitor.web.forms import strip as _strip
from fridge_monitor.web.paging import Page

bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.register_blueprint(admin_profiles.bp)

SENSOR_ROLES = ("primary", "backup")
CALIBRATION_WARNING = timedelta(days=30)
KIND_LABELS = {
    "refrigerator": "Refrigerator (2 … 8 °C)",
    "freezer": "Freezer (−50 … −15 °C)",
    "ultra-cold": "Ultra-cold (−90 … −60 °C)",
    "room": "Controlled room (20 … 25 °C)",
    "custom": "Custom range",
}


class SiteForm(FlaskForm):
    name = StringField("Name", filters=[_strip], validators=[DataRequired("Give the site a name."), Length(max=200)])
    timezone = StringField("Time zone", filters=[_strip],
                           validators=[DataRequired("Give the site's time zone, such as Europe/Berlin.")])
    reason = reason_field()

    def validate_timezone(self, field: StringField) -> None:
        try:
            ZoneInfo(field.data)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationError(f"{field.data!r} is not an IANA time zone; use a name such as "
                                  f"Europe/Berlin or America/New_York.") from None


class FridgeForm(FlaskForm):
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
        for field in (self.low_c, self.high_c):
            if not -200.0 <= field.data <= 100.0:
                field.errors.append("Enter a temperature between −200 and 100 °C.")
        if self.low_c.errors or self.high_c.errors:
            return False
        if self.low_c.data >= self.high_c.data:
            self.high_c.errors.append(
                f"The highest allowed temperature must be above the lowest ({self.low_c.data:g} °C).")
            return False
        if not self.alarm_profile.data:
            self.alarm_profile.data = DEFAULT_ALARM_PROFILES.get(self.kind.data, "")
        known = profiles.known(db(), settings())
        if self.alarm_profile.data and self.alarm_profile.data not in known:
            self.alarm_profile.errors.append(f"Unknown alarm profile. Choose one of: {', '.join(known)} "
                                             f"(make your own under Admin → Alarm profiles).")
            return False
        return valid


class ReasonForm(FlaskForm):
    reason = reason_field()


class SensorForm(FlaskForm):
    fridge = SelectField("Fridge", coerce=int, validate_choice=True)
    role = SelectField("Role in that fridge", choices=options((r, r.capitalize()) for r in SENSOR_ROLES))
    calibration_certificate = StringField("Calibration certificate number", filters=[_strip],
                                          validators=[Optional(), Length(max=100)])
    calibration_due = DateField("Calibration due", validators=[Optional()],
                                render_kw={"placeholder": "YYYY-MM-DD"})
    reason = reason_field()


ROLE_CHOICES = options((r, r.capitalize()) for r in accounts.ROLES)


class NewUserForm(FlaskForm):
    name = StringField("User name", filters=[_strip], validators=[DataRequired("Give a user name."), Length(max=100)])
    role = SelectField("Role", choices=ROLE_CHOICES)
    password = PasswordField("Initial password", validators=[DataRequired("Give an initial password.")])
    confirm = PasswordField("Repeat the password", validators=[EqualTo("password", "The passwords differ.")])
    reason = reason_field()

    def validate_password(self, field: PasswordField) -> None:
        try:
            accounts.check_new_password(field.data)
        except accounts.AccountError as exc:
            raise ValidationError(f"{str(exc)[0].upper()}{str(exc)[1:]}.") from None


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES)
    reason = reason_field()


class PasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired("Give the new password.")])
    confirm = PasswordField("Repeat the password", validators=[EqualTo("password", "The passwords differ.")])
    reason = reason_field()

    validate_password = NewUserForm.validate_password


# -- helpers ------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


def _audit(record_type: str, record_id: str, changes: list[tuple[str, Any, Any]], reason: str, *,
           action: str = "update", now: datetime) -> None:
    for field, old, new in changes:
        audit_trail.record(db(), at=now, actor=current_user().name, action=action, record_type=record_type,
                           record_id=record_id, field=field, old=old, new=new, reason=reason)


def _number(value: float | None) -> str | None:
    # str(float) as config sync writes it, so old and new values read alike in the trail.
    return None if value is None else str(float(value))


def _get(model: type[Any], key: Any) -> Any:
    row = db().get(model, key)
    if row is None:
        abort(404, f"no such {model.__name__.lower()}")
    return row


def _name_taken(model: type[Any], name: str, own_id: int | None) -> bool:
    query = sa.select(model.id).where(sa.func.lower(model.name) == name.lower())
    if own_id is not None:
        query = query.where(model.id != own_id)
    return db().scalar(query) is not None


def _save() -> bool:
    """Commit; False (and rolled back) when a concurrent change took a unique name first."""
    try:
        db().commit()
    except sa.exc.IntegrityError:
        db().rollback()
        return False
    return True


# -- overview -----------------------------------------------------------------


@bp.route("/")
@allow(*ADMIN)
def index() -> Any:
    def count(query):
        return db().scalar(sa.select(sa.func.count()).select_from(query))
    return render_template(
        "admin/index.html",
        sites=count(m.Site), fridges=count(sa.select(m.Fridge).where(m.Fridge.retired_at.is_(None)).subquery()),
        sensors=count(m.Sensor), unassigned=count(sa.select(m.Sensor).where(m.Sensor.fridge_id.is_(None)).subquery()),
        users=count(sa.select(m.User).where(m.User.disabled_at.is_(None)).subquery()),
        profiles=profiles.known(db(), settings()),
    )


# -- sites --------------------------------------------------------------------


@bp.route("/sites")
@allow(*ADMIN)
def sites() -> Any:
    rows = db().execute(
        sa.select(m.Site, sa.func.count(m.Fridge.id).label("fridges"))
        .outerjoin(m.Fridge, sa.and_(m.Fridge.site_id == m.Site.id, m.Fridge.retired_at.is_(None)))
        .group_by(m.Site.id).order_by(m.Site.name)
    ).all()
    return render_template("admin/sites.html", rows=rows)


def _site_page(form: SiteForm, site: m.Site | None) -> Any:
    return render_template("admin/site_form.html", form=form, site=site, zones=sorted(available_timezones()))


@bp.route("/sites/new", methods=["GET", "POST"])
@allow(*ADMIN)
def new_site() -> Any:
    form = SiteForm()
    if form.validate_on_submit():
        if _name_taken(m.Site, form.name.data, None):
            form.name.errors.append(f"A site named {form.name.data!r} already exists.")
        else:
            now = _now()
            site = m.Site(name=form.name.data, timezone=form.timezone.data, created_at=now)
            db().add(site)
            db().flush()
            _audit("site", site.name, [("timezone", None, site.timezone)], form.reason.data, action="create", now=now)
            if _save():
                flash(f"Site {site.name} created.")
                return redirect(url_for("admin.sites"))
            form.name.errors.append(f"A site named {form.name.data!r} already exists.")
    return _site_page(form, None)


@bp.route("/sites/<int:site_id>", methods=["GET", "POST"])
@allow(*ADMIN)
def edit_site(site_id: int) -> Any:
    site = _get(m.Site, site_id)
    form = SiteForm(obj=site)
    if form.validate_on_submit():
        if _name_taken(m.Site, form.name.data, site.id):
            form.name.errors.append(f"Another site is already named {form.name.data!r}.")
        else:
            changes = [(f, getattr(site, f), getattr(form, f).data) for f in ("name", "timezone")
                       if getattr(site, f) != getattr(form, f).data]
            if not changes:
                flash("Nothing changed.")
                return redirect(url_for("admin.sites"))
            now = _now()
            for field, _old, new in changes:
                setattr(site, field, new)
            _audit("site", site.name, changes, form.reason.data, now=now)
            if _save():
                flash(f"Site {site.name} saved.")
                return redirect(url_for("admin.sites"))
            form.name.errors.append(f"Another site is already named {form.name.data!r}.")
    return _site_page(form, site)


# -- fridges ------------------------------------------------------------------


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
    assigned = []
    if fridge is not None:
        assigned = db().scalars(sa.select(m.Sensor).where(m.Sensor.fridge_id == fridge.id).order_by(m.Sensor.id)).all()
    return render_template(
        "admin/fridge_form.html", form=form, fridge=fridge, retire_form=retire_form or ReasonForm(formdata=None, prefix="retire"),
        assigned=assigned, profiles=profiles.known(db(), settings()),
        presets={k: v for k, v in FRIDGE_KINDS.items() if v},
        declared=fridge is not None and fridge.name in _declared_fridges(),
    )


FRIDGE_FIELDS = ("name", "site", "kind", "low_c", "high_c", "alarm_profile")


def _fridge_values(fridge: m.Fridge) -> dict[str, Any]:
    return {"name": fridge.name, "site": db().get(m.Site, fridge.site_id).name, "kind": fridge.kind,
            "low_c": _number(fridge.low_c), "high_c": _number(fridge.high_c), "alarm_profile": fridge.alarm_profile}


def _apply_fridge(fridge: m.Fridge, form: FridgeForm) -> None:
    fridge.name = form.name.data
    fridge.site_id = form.site.data
    fridge.kind = form.kind.data
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
        if _name_taken(m.Fridge, form.name.data, None):
            form.name.errors.append(f"A fridge named {form.name.data!r} already exists (retired ones count too).")
        else:
            now = _now()
            fridge = m.Fridge(created_at=now)
            _apply_fridge(fridge, form)
            db().add(fridge)
            db().flush()
            values = _fridge_values(fridge)
            _audit("fridge", fridge.name, [(f, None, values[f]) for f in FRIDGE_FIELDS if f != "name"],
                   form.reason.data, action="create", now=now)
            if _save():
                flash(f"Fridge {fridge.name} created. Assign its sensors on the Sensors page.")
                return redirect(url_for("admin.fridges"))
            form.name.errors.append(f"A fridge named {form.name.data!r} already exists.")
    return _fridge_page(form, None)


@bp.route("/fridges/<int:fridge_id>", methods=["GET", "POST"])
@allow(*ADMIN)
def edit_fridge(fridge_id: int) -> Any:
    fridge = _get(m.Fridge, fridge_id)
    form = _fridge_form(fridge)
    if form.is_submitted() and form.kind.data != fridge.kind and FRIDGE_KINDS.get(form.kind.data) \
            and (form.low_c.data, form.high_c.data) == (fridge.low_c, fridge.high_c):
        # The kind changed but the limits were left as they were: take the new kind's preset.
        form.low_c.data = form.high_c.data = None
    if form.validate_on_submit():
        if _name_taken(m.Fridge, form.name.data, fridge.id):
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
            _audit("fridge", fridge.name, changes, form.reason.data, now=_now())
            if _save():
                flash(f"Fridge {fridge.name} saved.")
                return redirect(url_for("admin.fridges"))
            form.name.errors.append(f"Another fridge is already named {form.name.data!r}.")
    return _fridge_page(form, fridge)


@bp.route("/fridges/<int:fridge_id>/retire", methods=["POST"])
@allow(*ADMIN)
def retire_fridge(fridge_id: int) -> Any:
    """Retire a fridge (or return a retired one to service); its history stays."""
    fridge = _get(m.Fridge, fridge_id)
    form = ReasonForm(prefix="retire")
    if form.validate_on_submit():
        assigned = db().scalars(sa.select(m.Sensor.id).where(m.Sensor.fridge_id == fridge.id)).all()
        if fridge.retired_at is None and assigned:
            form.reason.errors.append(
                f"Unassign or move its sensors first ({', '.join(assigned)}), so no reading lands in a retired fridge.")
        else:
            now = _now()
            retiring = fridge.retired_at is None
            old = None if retiring else fridge.retired_at.isoformat()
            fridge.retired_at = now if retiring else None
            _audit("fridge", fridge.name, [("retired_at", old, now.isoformat() if retiring else None)],
                   form.reason.data, action="retire" if retiring else "reinstate", now=now)
            db().commit()
            flash(f"Fridge {fridge.name} {'retired' if retiring else 'returned to service'}.")
            return redirect(url_for("admin.fridges"))
    return _fridge_page(_fridge_form(fridge), fridge, retire_form=form)


# -- sensors ------------------------------------------------------------------


def _calibration_state(due: date | None, today: date) -> str | None:
    if due is None:
        return None
    if due < today:
        return "overdue"
    if due - today <= CALIBRATION_WARNING:
        return "due soon"
    return None


@bp.route("/sensors")
@allow(*ADMIN)
def sensors() -> Any:
    """Every sensor, a page at a time: unassigned ones first (they wait for an admin), retired ones last."""
    total = db().scalar(sa.select(sa.func.count()).select_from(m.Sensor)) or 0
    page = Page.of(total, lambda n: url_for("admin.sensors", page=n))
    rows = db().execute(
        sa.select(m.Sensor, m.Fridge.name.label("fridge"))
        .outerjoin(m.Fridge, m.Sensor.fridge_id == m.Fridge.id)
        .order_by(m.Sensor.retired_at.is_not(None), m.Sensor.fridge_id.is_not(None), m.Fridge.name,
                  m.Sensor.role.desc(), m.Sensor.id)
        .limit(page.size).offset(page.offset)
    ).all()
    waiting = db().scalar(sa.select(sa.func.count()).select_from(m.Sensor).where(unassigned_in_service())) or 0
    today = _now().date()
    return render_template("admin/sensors.html", rows=rows, today=today, page=page, waiting=waiting,
                           cap=settings().ingest["max_unassigned_sensors"],
                           calibration=lambda due: _calibration_state(due, today))


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
    return f"{db().get(m.Fridge, fridge_id).name}/{role}"


@bp.route("/sensors/<path:sensor_id>", methods=["GET", "POST"])
@allow(*ADMIN)
def edit_sensor(sensor_id: str) -> Any:
    sensor = _get(m.Sensor, sensor_id)
    form = _sensor_form(sensor)
    if form.validate_on_submit():
        fridge = db().get(m.Fridge, form.fridge.data) if form.fridge.data else None
        role = form.role.data if fridge else None
        if fridge is not None and fridge.retired_at is not None and fridge.id != sensor.fridge_id:
            form.fridge.errors.append(f"Fridge {fridge.name} is retired; choose a fridge in service.")
        if fridge is not None and role == "primary":
            other = db().scalar(sa.select(m.Sensor.id).where(
                m.Sensor.fridge_id == fridge.id, m.Sensor.role == "primary", m.Sensor.id != sensor.id))
            if other is not None:
                form.role.errors.append(f"Fridge {fridge.name} already has a primary sensor ({other}); "
                                        f"make this one a backup, or make {other} a backup first.")
        if not form.fridge.errors and not form.role.errors:
            now = _now()
            changes: list[tuple[str, Any, Any]] = []
            was = _assignment_label(sensor.fridge_id, sensor.role)
            now_in = f"{fridge.name}/{role}" if fridge else None
            if was != now_in:
                if fridge is None:
                    unassign_sensor(db(), sensor.id, now)
                else:
                    assign_sensor(db(), sensor.id, fridge, role, now)
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
            _audit("sensor", sensor.id, changes, form.reason.data, now=now)
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
    sensor = _get(m.Sensor, sensor_id)
    form = ReasonForm(prefix="retire")
    if form.validate_on_submit():
        if sensor.retired_at is None and sensor.fridge_id is not None:
            form.reason.errors.append("Unassign this sensor from its fridge first; a sensor in a fridge is in use.")
        else:
            now = _now()
            retiring = sensor.retired_at is None
            old = None if retiring else sensor.retired_at.isoformat()
            sensor.retired_at = now if retiring else None
            _audit("sensor", sensor.id, [("retired_at", old, now.isoformat() if retiring else None)],
                   form.reason.data, action="retire" if retiring else "reinstate", now=now)
            db().commit()
            flash(f"Sensor {sensor.id} {'retired' if retiring else 'returned to service'}.")
            return redirect(url_for("admin.sensors"))
    return _sensor_page(sensor, _sensor_form(sensor), retire_form=form)


# -- users --------------------------------------------------------------------


@bp.route("/users")
@allow(*ADMIN)
def users() -> Any:
    rows = db().scalars(sa.select(m.User).order_by(m.User.disabled_at.is_not(None), m.User.name)).all()
    return render_template("admin/users.html", rows=rows, now=_now())


@bp.route("/users/new", methods=["GET", "POST"])
@allow(*ADMIN)
def new_user() -> Any:
    form = NewUserForm()
    if form.validate_on_submit():
        try:
            user = accounts.create_user(db(), form.name.data, form.role.data, form.password.data,
                                        actor=current_user().name, now=_now(), reason=form.reason.data)
        except accounts.AccountError as exc:
            db().rollback()
            form.name.errors.append(f"{str(exc)[0].upper()}{str(exc)[1:]}.")
        else:
            if _save():
                flash(f"User {user.name} created as {user.role}. Give them the initial password in person.")
                return redirect(url_for("admin.users"))
            form.name.errors.append(f"A user named {form.name.data!r} already exists.")
    return render_template("admin/user_new.html", form=form)


def _user_page(user: m.User, **forms: FlaskForm) -> Any:
    forms.setdefault("role_form", RoleForm(formdata=None, prefix="role", role=user.role))
    forms.setdefault("status_form", ReasonForm(formdata=None, prefix="status"))
    forms.setdefault("password_form", PasswordForm(formdata=None, prefix="password"))
    return render_template("admin/user_edit.html", user=user, own=user.id == current_user().id, **forms)


@bp.route("/users/<int:user_id>")
@allow(*ADMIN)
def edit_user(user_id: int) -> Any:
    return _user_page(_get(m.User, user_id))


@bp.route("/users/<int:user_id>/role", methods=["POST"])
@allow(*ADMIN)
def change_role(user_id: int) -> Any:
    user = _get(m.User, user_id)
    form = RoleForm(prefix="role")
    if form.validate_on_submit():
        if user.id == current_user().id and form.role.data != "admin":
            form.role.errors.append("You cannot take the admin role from yourself; ask another admin.")
        elif form.role.data == user.role:
            flash("Nothing changed.")
            return redirect(url_for("admin.edit_user", user_id=user.id))
        else:
            _audit("user", user.name, [("role", user.role, form.role.data)], form.reason.data, now=_now())
            user.role = form.role.data
            db().commit()
            flash(f"{user.name} is now {user.role}.")
            return redirect(url_for("admin.users"))
    return _user_page(user, role_form=form)


@bp.route("/users/<int:user_id>/status", methods=["POST"])
@allow(*ADMIN)
def change_status(user_id: int) -> Any:
    """Disable an account (it can no longer sign in; its API tokens are revoked) or enable it again."""
    user = _get(m.User, user_id)
    form = ReasonForm(prefix="status")
    if form.validate_on_submit():
        disabling = user.disabled_at is None
        if disabling and user.id == current_user().id:
            form.reason.errors.append("You cannot disable your own account; ask another admin.")
        else:
            accounts.set_disabled(db(), user, disabling, actor=current_user().name, now=_now(),
                                  reason=form.reason.data)
            db().commit()
            flash(f"{user.name} {'disabled: they can no longer sign in' if disabling else 'enabled again'}.")
            return redirect(url_for("admin.users"))
    return _user_page(user, status_form=form)


@bp.route("/users/<int:user_id>/password", methods=["POST"])
@allow(*ADMIN)
def reset_password(user_id: int) -> Any:
    user = _get(m.User, user_id)
    form = PasswordForm(prefix="password")
    if form.validate_on_submit():
        accounts.set_password(db(), user, form.password.data, actor=current_user().name, now=_now(),
                              reason=form.reason.data)
        db().commit()
        flash(f"Password of {user.name} reset. Give them the new password in person.")
        return redirect(url_for("admin.users"))
    return _user_page(user, password_form=form)


nav("admin.index", "Admin", 90)
