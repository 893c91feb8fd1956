"""Sign in (throttled per client address) and out (everywhere), and the user's own display preference."""

from __future__ import annotations

import math
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask_wtf import FlaskForm
from wtforms import PasswordField, RadioField, SelectChoice, StringField
from wtforms.validators import DataRequired, Length

from fridge_monitor.store import accounts, audit_trail
from fridge_monitor.web.access import EVERYONE, PUBLIC, allow, current_user, signed_in
from fridge_monitor.web.context import db, settings
from fridge_monitor.web.throttle import SlidingWindow

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):  # type: ignore[misc]  # wtforms and flask_wtf ship no types
    name = StringField("User name", validators=[DataRequired(), Length(max=100)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


class UnitForm(FlaskForm):  # type: ignore[misc]  # wtforms and flask_wtf ship no types
    unit = RadioField("Show temperatures in", choices=[SelectChoice("C", "°C"), SelectChoice("F", "°F")],
                      validators=[DataRequired()])


# Browsers drop tabs, newlines and other control characters from a URL and read a backslash as a slash,
# so "/<tab>/evil" and "/\evil" lead to another host: read the target as a browser would before judging it.
_DROPPED_BY_BROWSERS = re.compile(r"[\x00-\x1f\x7f]")


def _safe_next(target: str | None) -> str:
    """Only a path on this site, never another host: anything with a scheme or a host goes to the dashboard."""
    cleaned = _DROPPED_BY_BROWSERS.sub("", target or "").replace("\\", "/")
    parts = urlsplit(cleaned)
    if cleaned.startswith("/") and not cleaned.startswith("//") and not parts.scheme and not parts.netloc:
        return cleaned
    return url_for("dashboard.index")


@bp.record_once
def _make_throttle(state: BlueprintSetupState) -> None:
    web = state.app.extensions["fridge_monitor"]["config"].web
    state.app.extensions["login_throttle"] = SlidingWindow(web["login_attempts_per_minute"])


def _throttled() -> float:
    """Seconds this client must wait before another sign-in attempt (0: go ahead; the attempt is counted)."""
    window: SlidingWindow = current_app.extensions["login_throttle"]
    return window.attempt(request.remote_addr or "unknown", time.monotonic())


@bp.route("/login", methods=["GET", "POST"])
@allow(PUBLIC)
def login() -> Any:
    if current_user() is not None:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        wait_s = _throttled()
        if wait_s:
            seconds = math.ceil(wait_s)
            error = (f"too many sign-in attempts from this address; wait {seconds} second(s) and try again "
                     "(nothing was checked)")
            page = render_template("login.html", form=form, error=error)
            return page, 429, {"Retry-After": str(seconds)}
        web = settings().web
        result = accounts.authenticate(
            db(), form.name.data, form.password.data, now=datetime.now(UTC),
            max_failed=web["max_failed_logins"], lockout=timedelta(minutes=web["lockout_minutes"]),
        )
        db().commit()
        if isinstance(result, str):
            error = result
        else:
            session.clear()
            session.permanent = True
            session["user_id"] = result.id
            # Checked on every request (access.enforce): sign-out, a password reset or disabling raises it.
            session["session_version"] = result.session_version
            return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html", form=form, error=error), 401 if error else 200


@bp.route("/logout", methods=["POST"])
@allow(*EVERYONE)
def logout() -> Any:
    """Sign out everywhere: the user's session version moves on, so no copy of any of their cookies works."""
    user = current_user()
    if user is not None:  # always so under @allow(*EVERYONE)
        accounts.end_sessions(db(), user)
        db().commit()
    session.clear()
    flash("You are signed out.")
    return redirect(url_for("auth.login"))


@bp.route("/preferences", methods=["GET", "POST"])
@allow(*EVERYONE)
def preferences() -> Any:
    user = signed_in()
    form = UnitForm(unit=user.display_unit)
    if form.validate_on_submit():
        if user.display_unit != form.unit.data:
            audit_trail.record(db(), at=datetime.now(UTC), actor=user.name, action="update",
                               record_type="user", record_id=user.name, field="display_unit",
                               old=user.display_unit, new=form.unit.data, reason="own preference")
            user.display_unit = form.unit.data
        db().commit()
        flash("Saved.")
        return redirect(url_for("auth.preferences"))
    return render_template("preferences.html", form=form)
