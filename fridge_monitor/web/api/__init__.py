"""The JSON API under ``/api/v1``, one module per noun: fridges (with sensors, readings and statistics), alerts,
stock (scans, GTINs, movements, products) and lots; described by openapi.json (:mod:`fridge_monitor.web.openapi`).

Authenticated by the session cookie or ``Authorization: Bearer TOKEN``
(:mod:`fridge_monitor.web.access`); errors are ``{"error": {"code", "message"}}``.
Times are ISO 8601 in UTC; temperatures in °C. Every module adds its routes
to the one ``api`` blueprint defined here (endpoints ``api.*``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, jsonify

from fridge_monitor.core.times import iso_utc
from fridge_monitor.web.access import EVERYONE, allow
from fridge_monitor.web.openapi import document

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def iso(at: datetime | None) -> str | None:
    """An instant as the API writes it (UTC, ``Z``), or None."""
    return iso_utc(at) if at is not None else None


@bp.route("/openapi.json")
@allow(*EVERYONE)
def openapi() -> Any:
    return jsonify(document())
