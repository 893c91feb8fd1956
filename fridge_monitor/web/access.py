"""Who may use which route: every view declares its roles; undeclared means nobody.

Requests are authenticated by the session cookie or by ``Authorization:
Bearer TOKEN``. Forms and cookie-authenticated API writes must carry a CSRF
token; bearer-token calls need none (there is no cookie to ride on).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from flask import Flask, abort, current_app, g, redirect, request, session, url_for
from flask_wtf.csrf import CSRFError

from fridge_monitor.store import accounts, site_access
from fridge_monitor.store import models as m
from fridge_monitor.web import scope

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

PUBLIC = "public"
EVERYONE = ("nurse", "supervisor", "auditor", "admin")
STAFF = ("nurse", "supervisor", "admin")  # may change stock, record checks and acknowledge alerts
REVIEWERS = ("supervisor", "admin")  # may sign a fridge-month's review
ADMIN = ("admin",)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def allow(*roles: str) -> Callable[[F], F]:
    """Declare the roles that may call a view (``PUBLIC`` for no login)."""

    def decorate(view: F) -> F:
        view.allowed_roles = frozenset(roles)  # type: ignore[attr-defined]
        return view

    return decorate


def accepts_uploads(max_bytes: int) -> Callable[[F], F]:
    """Let a view take a request body up to ``max_bytes`` (files), once its caller is known to be allowed."""

    def decorate(view: F) -> F:
        view.max_upload_bytes = max_bytes  # type: ignore[attr-defined]
        return view

    return decorate


def current_user() -> m.User | None:
    user: m.User | None = g.get("user")
    return user


def signed_in() -> m.User:
    """The signed-in user, in a view that declares its roles (``enforce`` let no one else reach it)."""
    user: m.User | None = g.get("user")
    if user is None:
        raise RuntimeError("no one is signed in: only a view that declares its roles may ask who is")
    return user


def is_api() -> bool:
    return request.path.startswith("/api/")


def init_app(app: Flask) -> None:
    app.before_request(enforce)
    app.context_processor(lambda: {"current_user": current_user(), "nav_items": nav_items()})


def enforce() -> Any:
    from fridge_monitor.web.context import csrf, db

    view = current_app.view_functions.get(request.endpoint or "")
    if request.endpoint == "static":
        return None
    if view is None:
        return None  # 404 / 405 follow
    roles = getattr(view, "allowed_roles", None)
    if roles is None:
        log.error("route %s declares no roles; refusing it to everyone", request.endpoint)
        abort(403)
    now = datetime.now(UTC)
    g.user = None
    g.via_token = False
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        user = accounts.user_for_token(db(), header[7:].strip(), now)
        if user is None:
            abort(401, "the API token is not valid (unknown, expired, revoked, or its user is disabled)")
        db().commit()
        g.user, g.via_token = user, True
    elif "user_id" in session:
        user = db().get(m.User, session["user_id"])
        # A cookie from before the user's last sign-out, password reset or disabling carries an older
        # version: refused, even though its signature is good. A cookie signed before versions existed
        # (migration 0010) counts as version 0, the version every user starts with.
        if user is None or user.disabled_at is not None or session.get("session_version", 0) != user.session_version:
            session.clear()
        else:
            g.user = user
    if PUBLIC in roles:
        pass
    elif g.user is None:
        if is_api():
            abort(401, "sign in or send Authorization: Bearer TOKEN")
        return redirect(url_for("auth.login", next=request.full_path if request.args else request.path))
    elif g.user.role not in roles:
        abort(403, f"the {g.user.role} role may not do this")
    g.sites = site_access.sites_of(db(), g.user) if g.user is not None else None
    scope.check_url(db())
    limit = getattr(view, "max_upload_bytes", None)
    if limit is not None:
        request.max_content_length = limit  # read before the CSRF check parses the form
    if request.method not in SAFE_METHODS and not g.via_token and current_app.config.get("WTF_CSRF_ENABLED", True):
        try:
            csrf.protect()
        except CSRFError as exc:
            abort(400, f"the form has expired or lacks its security token ({exc.description}); reload the page")
    return None


# -- navigation ----------------------------------------------------------------

_NAV: list[tuple[int, str, str]] = []


def nav(endpoint: str, label: str, position: int) -> None:
    """Add a page to the top navigation at ``position`` (lower is further left);
    it shows for the roles its view allows."""
    _NAV.append((position, endpoint, label))
    _NAV.sort()


def nav_items() -> list[tuple[str, str]]:
    user = current_user()
    if user is None:
        return []
    items = []
    for _position, endpoint, label in _NAV:
        view = current_app.view_functions.get(endpoint)
        roles: frozenset[str] = getattr(view, "allowed_roles", frozenset())
        if user.role in roles and not (getattr(view, "every_site", None) and g.get("sites") is not None):
            items.append((url_for(endpoint), label))
    return items
