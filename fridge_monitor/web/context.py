"""What every view reads: the request's database session, the app's config, the time now; and the CSRF guard.

Kept apart from ``create_app`` (in the package's ``__init__``), so that the
views import this module and the app factory imports the views, never back.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

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


def today_at(now: datetime, *zones: str) -> date:
    """The date ``now`` at the latest of these sites' zones (a site east of UTC begins its day first), or UTC's
    date without one: a site's day, as its daily log and its alerts count days."""
    return max((now.astimezone(ZoneInfo(zone)).date() for zone in zones), default=now.astimezone(UTC).date())


def settings() -> Config:
    config: Config = current_app.extensions["fridge_monitor"]["config"]
    return config
