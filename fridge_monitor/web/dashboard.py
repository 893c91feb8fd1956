"""The landing page: every fridge's state at a glance, refreshed in place."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from itertools import groupby
from typing import Any

from flask import Blueprint, abort, render_template, request, url_for

from fridge_monitor.alerts import handling as alerts
from fridge_monitor.core import charts, lots
from fridge_monitor.core.status import State, age, status
from fridge_monitor.inventory import ledger as inventory
from fridge_monitor.store import calibrations, site_access, site_overview
from fridge_monitor.store import models as m
from fridge_monitor.store.logger_files import is_logger, last_downloads
from fridge_monitor.store.overview import FridgeNow, fridges_now
from fridge_monitor.store.sensors import count_unassigned, sensors
from fridge_monitor.store.series import profiles_of
from fridge_monitor.web import scope
from fridge_monitor.web.access import EVERYONE, allow, nav, signed_in
from fridge_monitor.web.alerts import failing as failing_channels
from fridge_monitor.web.context import db, settings
from fridge_monitor.web.inventory import horizons
from fridge_monitor.web.paging import Page
from fridge_monitor.web.scope import names
from fridge_monitor.web.units import temperature, to_unit

bp = Blueprint("dashboard", __name__)
nav("dashboard.index", "Dashboard", 10)

SPARK_HOURS = 24
UNASSIGNED_PAGE = 50
SEARCH_MAX = 100  # characters of a fridge-name search kept
TILES_MAX = 60  # tiles on one page: beyond, the sites list comes alone and a site's page or a search shows tiles


def sparkline(fridge: FridgeNow, now: datetime, unit: str) -> str:
    """The last 24 hours as a small chart (hourly min/max envelope and mean), allowed range drawn in."""
    start = now - timedelta(hours=SPARK_HOURS)
    to_display = None if unit == "C" else (lambda c: to_unit(c, unit))
    series = charts.convert([charts.Series(fridge.name, fridge.history)], to_display)
    low, high = to_unit(fridge.latest.low_c, unit), to_unit(fridge.latest.high_c, unit)
    return charts.render(
        series, start=start, end=now, tz=fridge.tz, band=(low, high), max_gap=timedelta(hours=1, minutes=30),
        title=f"{fridge.name}: last 24 hours",
        description=(f"Hourly minimum, maximum and mean temperature of {fridge.name} over the last 24 hours; "
                     f"the allowed range {low:.1f} to {high:.1f} °{unit} is shaded."),
        unit=f"°{unit}", width=320, height=90, chart_id=f"spark-{fridge.id}", compact=True,
    )


def alert_line(alert: m.Alert) -> dict[str, Any]:
    """One alert as a line on a tile: what it is and what it still needs."""
    waiting = alert.acknowledged_at is None
    if waiting:
        label = "over, needs acknowledgement" if alert.ended_at is not None else "needs acknowledgement"
    else:
        label = f"acknowledged by {alert.acknowledged_by}, still going on"
    return {"title": alert.title, "severity": alert.severity, "waiting": waiting, "label": label}


def stock_line(fridge: FridgeNow, held: list[lots.Stock], now: datetime) -> dict[str, Any]:
    """Units held, lots expiring within the first warning horizon, lots under review; links to the inventory."""
    warn = horizons()
    by_lot: dict[int, list[lots.Stock]] = defaultdict(list)
    for s in held:
        by_lot[s.lot_id].append(s)
    states = [lots.lot_status(units[0].expiry, now, [fridge.tz], units, review=units[0].review, horizons=warn)
              for units in by_lot.values()]
    return {"units": sum(s.quantity for s in held), "lots": len(states),
            "expiring": sum(1 for st in states if st is lots.Status.EXPIRING),
            "review": sum(1 for st in states if st is lots.Status.UNDER_REVIEW),
            "url": url_for("inventory.index", fridge=fridge.name)}


def tile(fridge: FridgeNow, now: datetime, unit: str, active: list[m.Alert] | None = None,
         held: list[lots.Stock] | None = None, downloaded: datetime | None = None,
         uncalibrated: list[str] | None = None) -> dict[str, Any]:
    latest = fridge.latest
    active = active or []
    waiting = sum(1 for a in active if alerts.flags_fridge(a))
    current = status(latest, now, fridge.max_gap, fridge.low_battery_pct, alerts_waiting=waiting)
    live = current not in (State.NO_DATA, State.NO_SENSOR)
    weak = [s for s in fridge.sensors if s.battery_pct is not None and s.battery_pct < fridge.low_battery_pct]
    return {
        "name": fridge.name,
        "url": url_for("fridges.detail", name=fridge.name),
        "state": current.value,
        "css": current.css,
        "icon": current.icon,
        "temperature": temperature(latest.temperature_c, unit) if live else "—",
        "last_known": None if live or latest.temperature_c is None else temperature(latest.temperature_c, unit),
        "min": temperature(latest.min_c, unit),
        "max": temperature(latest.max_c, unit),
        "range": f"{temperature(latest.low_c, unit)} … {temperature(latest.high_c, unit)}",
        "age": age(now, latest.measured_at),
        "last_at": latest.measured_at.astimezone(fridge.tz).strftime("%d %b %H:%M") if latest.measured_at else None,
        "weak": [f"{s.id} {s.battery_pct:.0f} %" for s in weak],
        "uncalibrated": uncalibrated or [],
        "sensors": len(fridge.sensors),
        # A fridge with data loggers: when a logger file was last imported (logger-only fridges are read so).
        "downloaded": downloaded.astimezone(fridge.tz).strftime("%d %b %Y %H:%M") if downloaded else None,
        "loggers_only": bool(fridge.sensors) and all(is_logger(s.id) for s in fridge.sensors),
        "chart": sparkline(fridge, now, unit),
        "stock": stock_line(fridge, held or [], now),
        "alerts": [alert_line(a) for a in sorted(active, key=lambda a: (a.acknowledged_at is not None,
                                                                          a.severity != "alarm", a.started_at))],
    }


def site_list(now: datetime, rows: list[site_overview.SiteRow]) -> list[dict[str, Any]]:
    """Each of the user's sites with its fridges counted by what their tiles show."""
    conn = db().connection()
    waiting = alerts.waiting_by_fridge(db(), scope.sites())
    counts: dict[int, Counter[State]] = defaultdict(Counter)
    judged = site_overview.fridge_states(conn, now, within=scope.sites(), profile_of=profiles_of(db(), settings()))
    for fridge in judged:
        counts[fridge.site_id][status(fridge.latest, now, fridge.max_gap, fridge.low_battery_pct,
                                      alerts_waiting=waiting.get(fridge.id, 0))] += 1
    out = []
    for site in rows:
        seen = counts[site.id]
        silent = seen[State.NO_DATA] + seen[State.NO_SENSOR]
        out.append({"id": site.id, "name": site.name, "timezone": site.timezone,
                    "url": url_for("dashboard.site", site_id=site.id), "fridges": sum(seen.values()),
                    "ok": seen[State.OK], "alerts": seen[State.ALERT], "out": seen[State.OUT_OF_RANGE],
                    "silent": silent, "battery": seen[State.LOW_BATTERY],
                    "attention": bool(seen[State.ALERT] or seen[State.OUT_OF_RANGE] or silent)})
    return out


def _context(site_id: int | None = None) -> dict[str, Any]:
    now = datetime.now(UTC)
    unit = signed_in().display_unit
    conn = db().connection()
    search = request.args.get("q", "").strip()[:SEARCH_MAX]
    rows = site_overview.sites(conn, scope.sites())
    listed = site_list(now, rows) if site_id is None and len(rows) > 1 else []
    chosen = next((site for site in rows if site.id == site_id), None)
    # With many sites the list comes first; tiles follow for a few fridges, a search or one site's page.
    in_list = sum(site["fridges"] for site in listed)
    too_many = in_list if listed and not search and in_list > TILES_MAX else 0
    shown_sites = {site_id} if site_id is not None else scope.sites()
    fridges = [] if too_many else fridges_now(
        conn, now, profile_of=profiles_of(db(), settings()), history=timedelta(hours=SPARK_HOURS),
        search=search or None, sites=shown_sites, limit=TILES_MAX + 1)
    more = len(fridges) > TILES_MAX
    fridges = fridges[:TILES_MAX]
    active = alerts.open_by_fridge(db(), [f.id for f in fridges])
    held: dict[int | None, list[lots.Stock]] = defaultdict(list)
    for units in inventory.stock(db(), fridge_ids=[f.id for f in fridges]) if fridges else []:
        held[units.fridge_id].append(units)
    downloads = last_downloads(conn, [f.id for f in fridges])
    uncalibrated = calibrations.not_calibrated(
        conn, [(f.id, [s.id for s in f.sensors], now.astimezone(f.tz).date()) for f in fridges], settings())
    sites = [
        (site, group[0].timezone, [tile(f, now, unit, active.get(f.id), held.get(f.id), downloads.get(f.id),
                                        uncalibrated.get(f.id, [])) for f in group])
        for site, group in ((s, list(g)) for s, g in groupby(fridges, key=lambda f: f.site))
    ]
    def here(n: int | None) -> str:
        if site_id is not None:
            return url_for("dashboard.site", site_id=site_id, page=n, q=search or None)
        return url_for("dashboard.index", page=n, q=search or None)

    # Sensors that belong to no fridge belong to no site: shown to those who see every site.
    page = Page.of(count_unassigned(conn) if scope.sites() is None else 0, here, size=UNASSIGNED_PAGE)
    loose = [
        {"id": s.id, "last_seen": age(now, s.last_seen_at), "temperature": temperature(s.temperature_c, unit),
         "battery": f"{s.battery_pct:.0f} %" if s.battery_pct is not None else "—",
         "url": url_for("admin.edit_sensor", sensor_id=s.id)}
        for s in (sensors(conn, unassigned=True, limit=page.size, offset=page.offset) if page.total else [])
    ]
    failing = failing_channels()
    refresh = url_for("dashboard.tiles", site=site_id, page=page.number if page.number > 1 else None,
                      q=search or None)
    return {"sites": sites, "unassigned": loose, "unassigned_page": page, "refreshed": now, "failing": failing,
            "is_admin": signed_in().role == "admin", "search": search, "site_list": listed, "site": chosen,
            "too_many": too_many, "more": more, "tiles_max": TILES_MAX,
            "refresh": refresh, "search_url": here(None)}


@bp.route("/")
@allow(*EVERYONE)
def index() -> Any:
    return render_template("dashboard.html", **_context())


@bp.route("/sites/<int:site_id>")
@allow(*EVERYONE)
@names(site_id="site")
def site(site_id: int) -> Any:
    """One site's fridges (the dashboard of a hospital group opens on the list of its sites)."""
    return render_template("dashboard.html", **_context(site_id))


@bp.route("/dashboard/tiles")
@allow(*EVERYONE)
def tiles() -> Any:
    """The live part of the dashboard (one site's, with ``?site=ID``), fetched every few seconds."""
    site_id = request.args.get("site", type=int)
    if request.args.get("site") is not None and (site_id is None or not site_access.may_see(
            db(), scope.sites(), "site", site_id)):
        abort(404, f"there is no site {request.args.get('site')}")
    return render_template("_dashboard_tiles.html", **_context(site_id))
