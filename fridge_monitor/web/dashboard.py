"""The landing page: every fridge's state at a glance, refreshed in place."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from itertools import groupby
from typing import Any

from flask import Blueprint, render_template

from fridge_monitor.overview import fridge_overview
from fridge_monitor.status import age, state
from fridge_monitor.web import db
from fridge_monitor.web.access import EVERYONE, allow, current_user, nav
from fridge_monitor.web.units import temperature

bp = Blueprint("dashboard", __name__)
nav("dashboard.index", "Dashboard")

# Until alarm profiles say otherwise: CDC's longest logging interval, doubled.
MAX_GAP = timedelta(minutes=30)


def _sites() -> list[tuple[str, list[dict[str, Any]]]]:
    now = datetime.now(timezone.utc)
    unit = current_user().display_unit
    conn = db().connection()
    rows = []
    for site, latest in fridge_overview(conn, now):
        current = state(latest, now, MAX_GAP)
        rows.append((site, {
            "name": latest.fridge,
            "state": current.value,
            "css": current.value.lower().replace(" ", "-"),
            "icon": {"OK": "✓", "OUT OF RANGE": "⚠", "NO DATA": "?", "NO SENSOR": "∅"}[current.value],
            "temperature": temperature(latest.temperature_c, unit) if current.value in ("OK", "OUT OF RANGE") else "—",
            "last": temperature(latest.temperature_c, unit),
            "min": temperature(latest.min_c, unit),
            "max": temperature(latest.max_c, unit),
            "range": f"{temperature(latest.low_c, unit)} … {temperature(latest.high_c, unit)}",
            "age": age(now, latest.measured_at),
        }))
    return [(site, [r for _, r in group]) for site, group in groupby(rows, key=lambda r: r[0])]


@bp.route("/")
@allow(*EVERYONE)
def index() -> Any:
    return render_template("dashboard.html", sites=_sites(), refreshed=datetime.now(timezone.utc))


@bp.route("/dashboard/tiles")
@allow(*EVERYONE)
def tiles() -> Any:
    """The live part of the dashboard, fetched every few seconds."""
    return render_template("_dashboard_tiles.html", sites=_sites(), refreshed=datetime.now(timezone.utc))
