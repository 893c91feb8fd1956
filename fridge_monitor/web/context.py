"""What every view reads: the request's database session, the app's config, the time now; and the CSRF guard.

Kept apart from ``create_app`` (in the package's ``__init__``), so that the
views import this module and the app factory imports the views, never back.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy.orm as so
from flask import current_app, g
from flask_wtf.csrf import CSRFProtect

from fridge_monitor.config import Config

csrf = CSRFProtect()


def db() -> so.Session:
    """The request's database session (closed when the request ends)."""
    if "db" not in g:
        g.db = so.Session(current_app.extensions["fridge_monitor"]["engine"], expire_on_commit=False)
    session: so.Session = g.db
    return session


def now_utc() -> datetime:
    """The time now, in UTC: what a page or API call records and judges against."""
    return datetime.now(UTC)


def settings() -> Config:
    config: Config = current_app.extensions["fridge_monitor"]["config"]
    return config
