"""Reports to download: the monthly temperature log of a fridge as PDF."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, request, send_file

from fridge_monitor.reports import monthly as report
from fridge_monitor.reports import reviews
from fridge_monitor.store import models as m
from fridge_monitor.web.access import EVERYONE, allow, signed_in
from fridge_monitor.web.context import db
from fridge_monitor.web.scope import names

bp = Blueprint("reports", __name__)


@bp.route("/fridges/<name>/report.pdf")
@allow(*EVERYONE)
@names(name="fridge")
def monthly(name: str) -> Any:
    """``?month=YYYY-MM`` (default: this month at the fridge's site)."""
    now = datetime.now(UTC)
    zone = db().scalar(sa.select(m.Site.timezone).join(m.Fridge, m.Fridge.site_id == m.Site.id)
                       .where(m.Fridge.name == name))
    if zone is None:
        abort(404, f"there is no fridge named {name!r}")
    text = request.args.get("month", "").strip() or now.astimezone(ZoneInfo(zone)).strftime("%Y-%m")
    try:
        year, month = report.parse_month(text)
        # A signed month is its frozen copy; its addendum, if any, is on the month's review page.
        pdf = reviews.copies(db(), name, year, month, generated_by=signed_in().name, now=now,
                             config=current_app.extensions["fridge_monitor"]["config"]).pdf
    except report.ReportError as exc:
        abort(400, str(exc))
    return send_file(io.BytesIO(pdf), mimetype="application/pdf", as_attachment=True,
                     download_name=report.filename(name, year, month), max_age=0)
