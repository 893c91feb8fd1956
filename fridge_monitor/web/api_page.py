"""The API's page for people: Swagger UI, served from this app (no CDN), reading ``/api/v1/openapi.json``.

Swagger UI's files come with the ``flask-swagger-ui`` package (its ``dist``: Swagger UI 5, Apache-2.0); only
its script and stylesheet are served, and the page starts it from a file of this app's own (``api-docs.js``),
so the Content-Security-Policy needs no inline script.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import flask_swagger_ui
from flask import Blueprint, abort, render_template, send_from_directory

from fridge_monitor.web.access import EVERYONE, allow

bp = Blueprint("api_page", __name__)
SWAGGER_UI = Path(flask_swagger_ui.__file__).parent / "dist"
SERVED = frozenset({"swagger-ui-bundle.js", "swagger-ui.css", "LICENSE", "VERSION"})


@bp.route("/api-docs")
@allow(*EVERYONE)
def page() -> Any:
    return render_template("api_docs.html", version=(SWAGGER_UI / "VERSION").read_text().strip())


@bp.route("/api-docs/swagger-ui/<asset>")
@allow(*EVERYONE)
def swagger_ui(asset: str) -> Any:
    """One of Swagger UI's files (the same for everyone, so it may be cached)."""
    if asset not in SERVED:
        abort(404)
    return send_from_directory(SWAGGER_UI, asset, max_age=7 * 86400)
