"""The JSON API under ``/api/v1``, one module per noun: fridges (with sensors, readings and statistics), alerts,
stock (scans, GTINs, movements, products), lots, checks, reviews and excursion records.

Each view declares its contract (:mod:`.contract`: the typed models of :mod:`.schemas` it takes and answers),
which both checks its requests and writes ``openapi.json`` (:mod:`.document`). Authenticated by the session
cookie or ``Authorization: Bearer TOKEN`` (:mod:`fridge_monitor.web.access`); errors are
``{"error": {"code", "message"}}``. Times are ISO 8601 in UTC; temperatures in °C. Every module adds its
routes to the one ``api`` blueprint defined here (endpoints ``api.*``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, current_app, jsonify

from fridge_monitor.core.times import iso_utc
from fridge_monitor.web.access import EVERYONE, allow
from fridge_monitor.web.api.contract import operation

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def iso(at: datetime | None) -> str | None:
    """An instant as the API writes it (UTC, ``Z``), or None."""
    return iso_utc(at) if at is not None else None


@bp.route("/openapi.json")
@allow(*EVERYONE)
@operation("openapi", "This document: the OpenAPI 3.1 description of every route, from the routes themselves",
           answers={200: (dict[str, Any], "The OpenAPI 3.1 document.")})
def openapi() -> Any:
    from fridge_monitor.web.api.document import document

    kept = current_app.extensions["fridge_monitor"]  # the routes are fixed once the app is built
    if "openapi" not in kept:
        kept["openapi"] = document()
    return jsonify(kept["openapi"])
