"""Admin → Alarm profiles: every profile a fridge may name, and the forms to make and change one's own.

Presets are built in and config-file profiles come from ``[[alarm_profiles]]``;
both are read-only here. Admin-made ones are saved through
:func:`fridge_monitor.store.profiles.save`, which validates them exactly as the
config file's are and audits the old and new definition with the reason.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from fridge_monitor.core.rules import ProfileError
from fridge_monitor.store import models as m
from fridge_monitor.store import profiles
from fridge_monitor.web.access import ADMIN, allow, signed_in
from fridge_monitor.web.admin.profile_form import ProfileForm, form_data, pad
from fridge_monitor.web.context import db, now_utc, settings
from fridge_monitor.web.forms import number_text

# Registered on the admin blueprint: /admin/alarm-profiles/..., endpoints admin.alarm_profiles.*
bp = Blueprint("alarm_profiles", __name__, url_prefix="/alarm-profiles")


def minutes(length: timedelta) -> str:
    """A length of time as an admin typed it: ``35 min``, ``1 h``, ``24 h``, ``90 min``."""
    total = length.total_seconds() / 60
    if total >= 60 and total % 60 == 0:
        return f"{number_text(total / 60)} h"
    return f"{number_text(total)} min"


def celsius(value: float, unit: bool = True) -> str:
    """One decimal as everywhere else, more where the profile says more (a threshold of 7.75 stays 7.75)."""
    text = f"{value:.1f}" if round(value, 1) == value else number_text(value)
    return f"{text} °C" if unit else text


def _fridges_by_profile() -> dict[str, list[Any]]:
    rows = db().execute(sa.select(m.Fridge.id, m.Fridge.name, m.Fridge.alarm_profile, m.Fridge.retired_at)
                        .order_by(m.Fridge.retired_at.is_not(None), m.Fridge.name)).all()
    out: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        out[row.alarm_profile].append(row)
    return out


# -- pages --------------------------------------------------------------------


@bp.route("/")
@allow(*ADMIN)
def index() -> Any:
    known = profiles.known(db(), settings())
    used = _fridges_by_profile()
    orphans = [row for name, rows in used.items() if name not in known for row in rows if row.retired_at is None]
    return render_template("admin/alarm_profiles.html", known=known, used=used, orphans=orphans,
                           unusable=profiles.unusable(db(), settings()), minutes=minutes, celsius=celsius)


def _taken(name: str) -> str | None:
    """Why a new profile may not have this name (names differing only in case would be mixed up)."""
    for other, found in profiles.known(db(), settings()).items():
        if other.lower() == name.lower():
            if found.source == "preset":
                return f"{other} is a built-in preset, which cannot be changed. Choose another name."
            if found.source == "config file":
                return f"{other} is declared in the config file; change it there, or choose another name."
            return f"An alarm profile named {other!r} already exists; edit it instead, or choose another name."
    for other in profiles.unusable(db(), settings()):
        if other.lower() == name.lower():
            return f"A stored alarm profile named {other!r} already exists; edit it instead, or choose another name."
    return None


def _form_page(form: ProfileForm, editing: str | None, copied: str | None = None) -> Any:
    pad(form)
    return render_template("admin/alarm_profile_form.html", form=form, editing=editing, copied=copied,
                           sources=profiles.known(db(), settings()),
                           used=_fridges_by_profile().get(editing, []) if editing else [])


def _store(form: ProfileForm, before: dict[str, Any] | None) -> Any:
    """Save through :func:`profiles.save` (audited): a redirect to the list, or None with the problem on the form."""
    try:
        profile = profiles.save(db(), settings(), form.definition(), actor=signed_in().name,
                                reason=form.reason.data, now=now_utc())
    except ProfileError as exc:
        db().rollback()
        form.place(exc)
        return None
    if before == profiles.to_definition(profile):
        db().rollback()
        flash("Nothing changed.")
        return redirect(url_for("admin.alarm_profiles.index"))
    try:
        db().commit()
    except sa.exc.IntegrityError:  # another admin took the name a moment ago
        db().rollback()
        form.name.errors.append(f"An alarm profile named {profile.name!r} already exists; choose another name.")
        return None
    flash(f"Alarm profile {profile.name} {'saved' if before else 'created'}. "
          f"Fridges that name it are judged by it from their next evaluation.")
    return redirect(url_for("admin.alarm_profiles.index"))


@bp.route("/new", methods=["GET", "POST"])
@allow(*ADMIN)
def new() -> Any:
    copied = request.args.get("copy") if request.method == "GET" else None
    if copied:
        found = profiles.known(db(), settings()).get(copied)
        if found is None:
            abort(404, f"no alarm profile named {copied!r} to copy")
        form = ProfileForm(data=form_data({**profiles.to_definition(found.profile), "name": ""}))
    else:
        form = ProfileForm()
    if form.validate_on_submit():
        problem = _taken(form.name.data)
        if problem:
            form.name.errors.append(problem)
        else:
            done = _store(form, None)
            if done is not None:
                return done
    return _form_page(form, None, copied)


@bp.route("/edit", methods=["GET", "POST"])
@allow(*ADMIN)
def edit() -> Any:
    # The name travels in the query string: profile names may hold any character, slashes included.
    name = request.args.get("name", "")
    found = profiles.known(db(), settings()).get(name)
    if found is not None and not found.editable:
        flash(f"{name} is a {found.source} profile and read-only here; copy it to make your own.")
        return redirect(url_for("admin.alarm_profiles.index"))
    before = profiles.stored_definition(db(), name)
    if before is None:
        abort(404, f"no alarm profile named {name!r}")
    form = ProfileForm(data=form_data(before))
    form.name.data = name  # a profile keeps its name: fridges refer to it by name
    if form.validate_on_submit():
        done = _store(form, before)
        if done is not None:
            return done
    return _form_page(form, name)
