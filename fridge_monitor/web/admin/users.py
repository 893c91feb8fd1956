"""Admin → Users: accounts, their roles, disabling and enabling, password resets (all through ``store.accounts``)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, SelectMultipleField, StringField, widgets
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from fridge_monitor.core.roles import ROLES, WHAT
from fridge_monitor.store import accounts, site_access
from fridge_monitor.store import models as m
from fridge_monitor.web.access import ADMIN, allow, signed_in
from fridge_monitor.web.admin import bp
from fridge_monitor.web.admin.changes import ReasonForm, get_or_404, save
from fridge_monitor.web.context import db, now_utc
from fridge_monitor.web.forms import options, reason_field, sentence
from fridge_monitor.web.forms import strip as _strip

ROLE_CHOICES = options((r, r.capitalize()) for r in ROLES)
SITES_HELP = ("Tick the sites this person works at: they will see and change only those sites' fridges, lots, "
              "alerts and exports. None ticked: every site. Admins always see every site. The audit trail is one "
              "record for every site: auditors read it whole.")


def sites_field() -> SelectMultipleField:
    return SelectMultipleField("Sites", coerce=int, option_widget=widgets.CheckboxInput(),
                               widget=widgets.ListWidget(prefix_label=False))


def _site_choices(form: FlaskForm) -> FlaskForm:
    form.sites.choices = [(site.id, site.name) for site in db().scalars(sa.select(m.Site).order_by(m.Site.name))]
    return form


def _check_full_name(_form: FlaskForm, field: StringField) -> None:
    try:
        accounts.check_full_name(field.data)
    except accounts.AccountError as exc:
        raise ValidationError(sentence(str(exc))) from None


class NewUserForm(FlaskForm):  # type: ignore[misc]  # wtforms and flask_wtf ship no types
    name = StringField("User name", filters=[_strip], validators=[DataRequired("Give a user name."), Length(max=100)])
    full_name = StringField("Full name", filters=[_strip], validators=[_check_full_name])
    role = SelectField("Role", choices=ROLE_CHOICES)
    sites = sites_field()
    password = PasswordField("Initial password", validators=[DataRequired("Give an initial password.")])
    confirm = PasswordField("Repeat the password", validators=[EqualTo("password", "The passwords differ.")])
    reason = reason_field()

    def validate_password(self, field: PasswordField) -> None:
        try:
            accounts.check_new_password(field.data)
        except accounts.AccountError as exc:
            raise ValidationError(sentence(str(exc))) from None


class RoleForm(FlaskForm):  # type: ignore[misc]  # wtforms and flask_wtf ship no types
    role = SelectField("Role", choices=ROLE_CHOICES)
    reason = reason_field()


class SitesForm(FlaskForm):  # type: ignore[misc]  # wtforms and flask_wtf ship no types
    sites = sites_field()
    reason = reason_field()


class FullNameForm(FlaskForm):  # type: ignore[misc]  # wtforms and flask_wtf ship no types
    full_name = StringField("Full name", filters=[_strip], validators=[_check_full_name])
    reason = reason_field()


class PasswordForm(FlaskForm):  # type: ignore[misc]  # wtforms and flask_wtf ship no types
    password = PasswordField("New password", validators=[DataRequired("Give the new password.")])
    confirm = PasswordField("Repeat the password", validators=[EqualTo("password", "The passwords differ.")])
    reason = reason_field()

    validate_password = NewUserForm.validate_password


@bp.route("/users")
@allow(*ADMIN)
def users() -> Any:
    rows = db().scalars(sa.select(m.User).order_by(m.User.disabled_at.is_not(None), m.User.name)).all()
    sites = {user.id: site_access.site_names_of(db(), user.id) for user in rows}
    return render_template("admin/users.html", rows=rows, now=now_utc(), sites=sites)


@bp.route("/users/new", methods=["GET", "POST"])
@allow(*ADMIN)
def new_user() -> Any:
    form = _site_choices(NewUserForm())
    if form.validate_on_submit():
        try:
            user = accounts.create_user(db(), form.name.data, form.role.data, form.password.data,
                                        actor=signed_in().name, now=now_utc(), reason=form.reason.data,
                                        full_name=form.full_name.data)
            if form.role.data != "admin":
                site_access.set_sites(db(), user, form.sites.data or [], actor=signed_in().name, now=now_utc(),
                                      reason=form.reason.data)
        except accounts.AccountError as exc:
            db().rollback()
            form.name.errors.append(sentence(str(exc)))
        else:
            if save():
                flash(f"User {user.name} created as {user.role}. Give them the initial password in person.")
                return redirect(url_for("admin.users"))
            form.name.errors.append(f"A user named {form.name.data!r} already exists.")
    return render_template("admin/user_new.html", form=form, sites_help=SITES_HELP,
                           role_help=" ".join(f"{r.capitalize()}: {WHAT[r]}." for r in ROLES))


def _user_page(user: m.User, **forms: FlaskForm) -> Any:
    forms.setdefault("role_form", RoleForm(formdata=None, prefix="role", role=user.role))
    forms.setdefault("name_form", FullNameForm(formdata=None, prefix="name", full_name=user.full_name or ""))
    forms.setdefault("status_form", ReasonForm(formdata=None, prefix="status"))
    forms.setdefault("password_form", PasswordForm(formdata=None, prefix="password"))
    listed = db().scalars(sa.select(m.UserSite.site_id).where(m.UserSite.user_id == user.id)).all()
    forms.setdefault("sites_form", _site_choices(SitesForm(formdata=None, prefix="sites", sites=list(listed))))
    return render_template("admin/user_edit.html", user=user, own=user.id == signed_in().id, sites_help=SITES_HELP,
                           **forms)


@bp.route("/users/<int:user_id>")
@allow(*ADMIN)
def edit_user(user_id: int) -> Any:
    return _user_page(get_or_404(m.User, user_id))


@bp.route("/users/<int:user_id>/role", methods=["POST"])
@allow(*ADMIN)
def change_role(user_id: int) -> Any:
    user = get_or_404(m.User, user_id)
    form = RoleForm(prefix="role")
    if form.validate_on_submit():
        if user.id == signed_in().id and form.role.data != "admin":
            form.role.errors.append("You cannot take the admin role from yourself; ask another admin.")
        elif form.role.data == user.role:
            flash("Nothing changed.")
            return redirect(url_for("admin.edit_user", user_id=user.id))
        else:
            accounts.set_role(db(), user, form.role.data, actor=signed_in().name, now=now_utc(),
                              reason=form.reason.data)
            db().commit()
            flash(f"{user.name} is now {user.role}.")
            return redirect(url_for("admin.users"))
    return _user_page(user, role_form=form)


@bp.route("/users/<int:user_id>/sites", methods=["POST"])
@allow(*ADMIN)
def change_sites(user_id: int) -> Any:
    """The sites a nurse, supervisor or auditor works at (none: every site)."""
    user = get_or_404(m.User, user_id)
    form = _site_choices(SitesForm(prefix="sites"))
    if form.validate_on_submit():
        if site_access.set_sites(db(), user, form.sites.data or [], actor=signed_in().name, now=now_utc(),
                                 reason=form.reason.data):
            db().commit()
            names = site_access.site_names_of(db(), user.id)
            flash(f"{user.name} now works at {', '.join(names) if names else 'every site'}"
                  + (" (admins always see every site)." if user.role == "admin" else "."))
        else:
            flash("Nothing changed.")
        return redirect(url_for("admin.edit_user", user_id=user.id))
    return _user_page(user, sites_form=form)


@bp.route("/users/<int:user_id>/full-name", methods=["POST"])
@allow(*ADMIN)
def change_full_name(user_id: int) -> Any:
    user = get_or_404(m.User, user_id)
    form = FullNameForm(prefix="name")
    if form.validate_on_submit():
        if accounts.set_full_name(db(), user, form.full_name.data, actor=signed_in().name, now=now_utc(),
                                  reason=form.reason.data):
            db().commit()
            flash(f"Full name of {user.name} recorded: {user.full_name or 'none'}.")
        else:
            flash("Nothing changed.")
        return redirect(url_for("admin.edit_user", user_id=user.id))
    return _user_page(user, name_form=form)


@bp.route("/users/<int:user_id>/status", methods=["POST"])
@allow(*ADMIN)
def change_status(user_id: int) -> Any:
    """Disable an account (it can no longer sign in; its API tokens are revoked) or enable it again."""
    user = get_or_404(m.User, user_id)
    form = ReasonForm(prefix="status")
    if form.validate_on_submit():
        disabling = user.disabled_at is None
        if disabling and user.id == signed_in().id:
            form.reason.errors.append("You cannot disable your own account; ask another admin.")
        else:
            accounts.set_disabled(db(), user, disabling, actor=signed_in().name, now=now_utc(),
                                  reason=form.reason.data)
            db().commit()
            flash(f"{user.name} {'disabled: they can no longer sign in' if disabling else 'enabled again'}.")
            return redirect(url_for("admin.users"))
    return _user_page(user, status_form=form)


@bp.route("/users/<int:user_id>/password", methods=["POST"])
@allow(*ADMIN)
def reset_password(user_id: int) -> Any:
    user = get_or_404(m.User, user_id)
    form = PasswordForm(prefix="password")
    if form.validate_on_submit():
        accounts.set_password(db(), user, form.password.data, actor=signed_in().name, now=now_utc(),
                              reason=form.reason.data)
        db().commit()
        flash(f"Password of {user.name} reset. Give them the new password in person.")
        return redirect(url_for("admin.users"))
    return _user_page(user, password_form=form)

