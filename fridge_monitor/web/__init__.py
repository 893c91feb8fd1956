"""The web role: server-rendered pages for nurses, auditors and admins, and the JSON API.

``create_app`` builds the Flask app for a :class:`~fridge_monitor.config.Config`;
every route declares which roles may use it (:mod:`fridge_monitor.web.access`),
and a route that declares nothing is refused to everyone.
"""

from __future__ import annotations

import gc
import logging
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, g

from fridge_monitor.config import Config
from fridge_monitor.store import files as storage
from fridge_monitor.store import models as m
from fridge_monitor.store.db import first_line
from fridge_monitor.web.context import csrf

log = logging.getLogger(__name__)

# Where versions before issue 12 kept the signing key: in the database, where
# anyone who could read it could forge a session. Deleted when found.
OLD_SECRET_SETTING = "web_secret_key"


def create_app(config: Config, *, engine: sa.Engine | None = None, testing: bool = False) -> Flask:
    from fridge_monitor.store.db import create_engine

    app = Flask(__name__)
    engine = engine or create_engine(config.database)
    app.extensions["fridge_monitor"] = {"config": config, "engine": engine}
    web = config.web
    app.config.update(
        SECRET_KEY=signing_key(config),
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
    _forget_stored_secret(engine)
    csrf.init_app(app)

    from fridge_monitor.web import access, auth, errors, headers, routing, views

    routing.init_app(app)
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


def signing_key(config: Config) -> str:
    """The session signing key: ``[web] secret_key`` (or its env variable or ``$file:``), else the key file.

    Never the database: reading the database must not be enough to sign an admin's session.
    """
    if config.web["secret_key"]:
        return str(config.web["secret_key"])
    configured = config.web["secret_key_file"]
    path = Path(configured) if configured else storage.data_dir(config) / "secret_key"
    return storage.secret_from_file(path)


def _forget_stored_secret(engine: sa.Engine) -> None:
    """Delete the signing key older versions kept in the database (it signs nothing any more)."""
    try:
        with engine.begin() as conn:
            deleted = conn.execute(sa.delete(m.Setting).where(m.Setting.key == OLD_SECRET_SETTING)).rowcount
    except sa.exc.SQLAlchemyError as exc:
        log.warning("could not delete the old session key from the database (%s); it is not used",
                    first_line(exc))
        return
    if deleted:
        log.warning("deleted the session signing key kept in the database by an older version; sessions "
                    "signed with it are no longer accepted, so everyone signs in again")
