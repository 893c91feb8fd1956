"""The web role: server-rendered pages for nurses, auditors and admins, and the JSON API.

``create_app`` builds the Flask app for a :class:`~fridge_monitor.config.Config`;
every route declares which roles may use it (:mod:`fridge_monitor.web.access`),
and a route that declares nothing is refused to everyone.
"""

from __future__ import annotations

import gc
import secrets
from datetime import timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Flask, g
from flask_wtf.csrf import CSRFProtect

from fridge_monitor import models as m
from fridge_monitor.config import Config

csrf = CSRFProtect()

SECRET_SETTING = "web_secret_key"


def create_app(config: Config, *, engine: sa.Engine | None = None, testing: bool = False) -> Flask:
    from fridge_monitor.db import create_engine

    app = Flask(__name__)
    engine = engine or create_engine(config.database)
    app.extensions["fridge_monitor"] = {"config": config, "engine": engine}
    web = config.web
    app.config.update(
        SECRET_KEY=web["secret_key"] or _stored_secret(engine),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=web["https"],
        SESSION_COOKIE_NAME="fridge_monitor_session",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=web["session_hours"]),
        # Checked in access.enforce(), after authentication: bearer-token API calls carry no cookie to forge.
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=None,
        TESTING=testing,
        MAX_CONTENT_LENGTH=1024 * 1024,
    )
    csrf.init_app(app)

    from fridge_monitor.web import access, auth, errors, headers, views

    access.init_app(app)
    headers.init_app(app, https=web["https"])
    errors.init_app(app)
    app.register_blueprint(auth.bp)
    for blueprint in views.blueprints():
        app.register_blueprint(blueprint)

    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        session = g.pop("db", None)
        if session is not None:
            session.close()

    # Everything built so far (models, templates, routes) lives as long as the
    # process: keep it out of the cyclic garbage collector's scans, which would
    # otherwise pause busy requests.
    gc.freeze()
    return app


def db() -> so.Session:
    """The request's database session (closed when the request ends)."""
    if "db" not in g:
        from flask import current_app

        g.db = so.Session(current_app.extensions["fridge_monitor"]["engine"], expire_on_commit=False)
    return g.db


def settings() -> Config:
    from flask import current_app

    return current_app.extensions["fridge_monitor"]["config"]


def _stored_secret(engine: sa.Engine) -> str:
    """A random signing key made once and kept in the database, shared by all web processes."""
    with so.Session(engine) as session, session.begin():
        row = session.get(m.Setting, SECRET_SETTING)
        if row is None:
            row = m.Setting(key=SECRET_SETTING, value=secrets.token_urlsafe(48))
            session.add(row)
        return row.value
