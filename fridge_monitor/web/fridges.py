"""One fridge: its chart and statistics over a chosen range, its sensors and its daily min/max log."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, render_template, request

from fridge_monitor.alerts import handling as alerts
from fridge_monitor.core import calibration as calibration_rules
from fridge_monitor.core import charts
from fridge_monitor.core.calibration import Status
from fridge_monitor.core.daily import day_bounds
from fridge_monitor.core.period import PeriodError, parse_period
from fridge_monitor.core.stats import PeriodStats
from fridge_monitor.core.status import age, is_silent, status
from fridge_monitor.reports.temperature_log import fridge_stats
from fridge_monitor.store import calibrations
from fridge_monitor.store.logger_files import is_logger
from fridge_monitor.store.overview import daily_min_max, fridges_now, history, rollups
from fridge_monitor.store.sensors import SensorInfo
from fridge_monitor.store.series import profiles_of, segments
from fridge_monitor.web import checks as staff_checks
from fridge_monitor.web import logger_files
from fridge_monitor.web.access import EVERYONE, STAFF, allow, signed_in
from fridge_monitor.web.alerts import duration, view
from fridge_monitor.web.channel_charts import channel_charts
from fridge_monitor.web.context import db, settings
from fridge_monitor.web.scope import names
from fridge_monitor.web.units import temperature, to_unit

bp = Blueprint("fridges", __name__)

RANGES = {"day": timedelta(days=1), "week": timedelta(days=7), "month": timedelta(days=30),
          "year": timedelta(days=365)}
CALIBRATION_WARNING = timedelta(days=30)
CUSTOM_LONGEST = timedelta(days=3 * 366)


def chosen_range(args: Any, tz: ZoneInfo, now: datetime) -> tuple[str, datetime, datetime, str | None]:
    """(range name, start, end, error) from ``?range=`` and, for ``custom``, ``?from=&to=`` dates or times."""
    name = args.get("range", "day")
    if name in RANGES:
        return name, now - RANGES[name], now, None
    if name != "custom":
        return "day", now - RANGES["day"], now, f"unknown range {name!r}: choose day, week, month, year or custom"
    start_text, end_text = args.get("from", "").strip(), args.get("to", "").strip()
    if not start_text or not end_text:
        return "day", now - RANGES["day"], now, "a custom range needs both a from and a to date"
    try:
        start, end = parse_period(start_text, end_text, tz)
    except PeriodError as exc:
        return "day", now - RANGES["day"], now, str(exc)
    if end - start > CUSTOM_LONGEST:
        return "day", now - RANGES["day"], now, "a custom range may span at most three years"
    return "custom", start, min(end, max(now, start + timedelta(minutes=1))), None


def calibration(found: Status, today: date) -> tuple[str, str]:
    """(text, css) for a sensor's calibration: not calibrated is flagged, and so is a certificate due within 30
    days."""
    if not found.calibrated:
        return found.text, "flag-bad"
    assert found.due_on is not None  # a calibrated sensor has a certificate in force
    if found.due_on - today <= CALIBRATION_WARNING:
        days = (found.due_on - today).days
        return f"{found.text} — due in {days} day{'s' if days != 1 else ''}", "flag-warn"
    return found.text, ""


def _pairing(sensors: Any, conn: Any) -> list[str]:
    """The fridge page's warnings about its devices: no backup, or primary and backup due together."""
    live = [s for s in sensors if not is_logger(s.id)]
    due = calibrations.due_dates(conn, [(s.id, s.calibration_due) for s in live])
    primary = next(((s.id, due[s.id]) for s in live if s.role == "primary"), None)
    return calibration_rules.pairing_warnings(primary, [(s.id, due[s.id]) for s in live if s.role == "backup"])


def link_state(sensor: SensorInfo, now: datetime, max_gap: timedelta, heard_until: datetime | None = None) -> str:
    """How a sensor is heard from; silent past the fridge's allowed gap, as its no-data alarm judges it."""
    if is_logger(sensor.id):
        return "data logger: read when its file is imported"
    if is_silent(sensor.last_measured_at, now, max_gap, heard_until):
        return (f"silent (no reading for over {hours_minutes(max_gap.total_seconds())})" if sensor.last_measured_at
                else "never reported")
    if sensor.online is False:
        return "offline (device reported)"
    return "online"


def hours_minutes(seconds: float) -> str:
    """``0 min``, ``45 min``, ``3 h 05 min``: time out of range as a person reads it."""
    hours, rest = divmod(int(round(seconds)), 3600)
    return f"{hours} h {rest // 60:02d} min" if hours else f"{rest // 60} min"


def stats_view(found: PeriodStats | None, unit: str, tz: tzinfo) -> dict[str, Any] | None:
    if found is None:
        return None

    def first_held(at: datetime | None) -> str:
        return f"from {at.astimezone(tz).strftime('%d %b %Y %H:%M')}" if at is not None else ""

    return {"min": temperature(found.min_c, unit), "max": temperature(found.max_c, unit),
            "min_at": first_held(found.min_at), "max_at": first_held(found.max_at),
            "mean": temperature(found.mean_c, unit), "mkt": temperature(found.mkt_c, unit),
            "out": hours_minutes(found.time_out_of_range_s), "coverage": f"{found.coverage * 100:.1f} %",
            "readings": found.readings}


@bp.route("/fridges/<name>")
@allow(*EVERYONE)
@names(name="fridge")
def detail(name: str) -> Any:
    now = datetime.now(UTC)
    unit = signed_in().display_unit
    conn = db().connection()
    found = fridges_now(conn, now, name=name, profile_of=profiles_of(db(), settings()))
    if not found:
        abort(404, f"there is no fridge named {name!r}")
    fridge = found[0]
    tz = fridge.tz
    range_name, start, end, error = chosen_range(request.args, tz, now)
    last_day = (end - timedelta(microseconds=1)).astimezone(tz).date()
    first_day = start.astimezone(tz).date()
    # The chart and the daily log read the same hourly rollups: once, from the first day's start.
    since, until = min(start, day_bounds(first_day, tz)[0]), max(end, day_bounds(last_day, tz)[1])
    hourly = rollups(conn, {seg.sensor_id for seg in segments(conn, [fridge.id], since, until)}, since, until)
    made = history(conn, fridge.id, start, end, tz, max_gap=fridge.max_gap, hourly=hourly)
    low, high = to_unit(fridge.latest.low_c, unit), to_unit(fridge.latest.high_c, unit)
    what = {"raw": "every reading", "hourly": "hourly minimum, maximum and mean",
            "daily": "daily minimum, maximum and mean"}[made.resolution]

    def local(at: datetime) -> str:
        return at.astimezone(tz).strftime("%d %b %Y %H:%M")

    others = channel_charts(conn, fridge.id, fridge.name, start, end, tz, now)
    chart = charts.render(
        charts.convert(made.series, None if unit == "C" else (lambda c: to_unit(c, unit))),
        start=start, end=end, tz=tz, band=(low, high), max_gap=made.max_gap,
        title=f"{fridge.name}: {local(start)} to {local(end)} ({fridge.timezone})",
        description=(f"Temperature of {fridge.name}, {what}, per sensor; the allowed range "
                     f"{low:.1f} to {high:.1f} °{unit} is shaded. Times in {fridge.timezone}."),
        unit=f"°{unit}", width=960, height=320, chart_id="fridge-chart", spans=others.door_spans,
    )
    days = daily_min_max(conn, fridge.id, first_day, last_day, tz, now, hourly)
    today = now.astimezone(tz).date()
    calibrated = calibrations.statuses(conn, [s.id for s in fridge.sensors], today, settings())
    past = alerts.history(db(), fridge.name)
    waiting, flagging = alerts.waiting_on(db(), fridge.id)
    current = status(fridge.latest, now, fridge.max_gap, fridge.low_battery_pct, alerts_waiting=flagging)
    return render_template(
        "fridge.html",
        fridge=fridge,
        state=current,
        current=temperature(fridge.latest.temperature_c, unit),
        today_min=temperature(fridge.latest.min_c, unit),
        today_max=temperature(fridge.latest.max_c, unit),
        allowed=f"{temperature(fridge.latest.low_c, unit)} … {temperature(fridge.latest.high_c, unit)}",
        age=age(now, fridge.latest.measured_at),
        chart=chart,
        door_spans=others.door_spans,
        channel_charts=others.charts,
        period_stats=stats_view(fridge_stats(db(), fridge.id, start, end, config=settings(), now=now), unit, tz),
        resolution=what,
        range_name=range_name,
        ranges=list(RANGES),
        start_text=request.args.get("from", start.astimezone(tz).date().isoformat()),
        end_text=request.args.get("to", last_day.isoformat()),
        error=error,
        sensors=[
            {
                "id": s.id, "role": s.role or "—",
                "battery": f"{s.battery_pct:.0f} %" if s.battery_pct is not None else "—",
                "low_battery": s.battery_pct is not None and s.battery_pct < fridge.low_battery_pct,
                "value": temperature(s.temperature_c, unit),
                "last_seen": (f"{age(now, s.last_seen_at)} ago ({local(s.last_seen_at)})" if s.last_seen_at
                              else "never"),
                "link": link_state(s, now, fridge.max_gap, fridge.latest.heard_until),
                "calibration": calibration(calibrated[s.id], today),
            }
            for s in fridge.sensors
        ],
        alerts=[view(row, now, unit) for row in past],
        waiting=waiting,
        excursions=[
            {"rule": e.rule, "severity": e.severity, "started": local(e.started_at),
             "ended": local(e.ended_at) if e.ended_at else "", "duration": duration(e.started_at, e.ended_at, now),
             "peak": temperature(e.peak_c, unit), "low": temperature(e.low_c, unit),
             "mkt": temperature(e.mkt_c, unit)}
            for e in alerts.excursions(db(), fridge.id)
        ],
        days=[
            {"day": day, "min": temperature(agg.min_c, unit), "max": temperature(agg.max_c, unit),
             "mean": temperature(agg.mean_c, unit), "count": agg.count,
             "out": agg.count and agg.min_c is not None and agg.max_c is not None
             and (agg.min_c < fridge.latest.low_c or agg.max_c > fridge.latest.high_c)}
            for day, agg in days
        ],
        loggers=logger_files.section(fridge.id, tz, last_day, now, unit),
        calibration_warnings=_pairing(fridge.sensors, conn),
        checks=staff_checks.fridge_checks(fridge.id, tz, unit, now - timedelta(days=14)),
        can_upload=signed_in().role in STAFF,
    ), 400 if error else 200
