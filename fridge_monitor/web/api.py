"""The JSON API under ``/api/v1``: fridges with their state, sensors, readings; described by openapi.json.

Authenticated by the session cookie or ``Authorization: Bearer TOKEN``
(:mod:`fridge_monitor.web.access`); errors are ``{"error": {"code", "message"}}``.
Times are ISO 8601 in UTC; temperatures in °C.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Blueprint, abort, jsonify, request

from fridge_monitor.alerts import handling as alerts
from fridge_monitor.core.status import status, workday_start
from fridge_monitor.reports.export import PeriodError, iso_utc, parse_bound
from fridge_monitor.reports.temperature_log import fridge_stats
from fridge_monitor.store import models as m
from fridge_monitor.store.overview import (
    DEFAULT_MAX_GAP,
    FridgeNow,
    SensorInfo,
    bucketed_readings,
    fridges_now,
    raw_readings,
    sensors,
)
from fridge_monitor.web import db, settings
from fridge_monitor.web.access import EVERYONE, STAFF, allow, current_user
from fridge_monitor.web.openapi import document

bp = Blueprint("api", __name__, url_prefix="/api/v1")

MAX_RAW = 100_000
MIN_EVERY = 1
MAX_SPAN = timedelta(days=3 * 366 + 1)


def _iso(at: datetime | None) -> str | None:
    return iso_utc(at) if at is not None else None


def sensor_json(s: SensorInfo) -> dict[str, Any]:
    return {
        "id": s.id, "format": s.format, "device": s.device, "fridge": s.fridge, "role": s.role,
        "temperature_c": s.temperature_c, "last_measured_at": _iso(s.last_measured_at),
        "last_seen_at": _iso(s.last_seen_at), "battery_pct": s.battery_pct, "online": s.online,
        "calibration_certificate": s.calibration_certificate,
        "calibration_due": s.calibration_due.isoformat() if s.calibration_due else None,
    }


def fridge_json(f: FridgeNow, now: datetime, active: list[m.Alert] | None = None) -> dict[str, Any]:
    latest = f.latest
    active = active or []
    waiting = sum(1 for a in active if a.acknowledged_at is None)
    flagged = sum(1 for a in active if alerts.flags_fridge(a))
    return {
        "name": f.name, "site": f.site, "timezone": f.timezone, "kind": f.kind,
        "range": {"low_c": latest.low_c, "high_c": latest.high_c},
        "status": status(latest, now, DEFAULT_MAX_GAP, alerts_waiting=flagged).value,
        "alerts": {"waiting": waiting, "ongoing": sum(1 for a in active if a.ended_at is None),
                   "ids": [a.id for a in active]},
        "temperature_c": latest.temperature_c,
        "last_reading_at": _iso(latest.measured_at),
        "today": {"since": iso_utc(workday_start(now, f.tz)), "min_c": latest.min_c, "max_c": latest.max_c},
        "sensors": [sensor_json(s) for s in f.sensors],
    }


@bp.route("/fridges")
@allow(*EVERYONE)
def fridges() -> Any:
    now = datetime.now(UTC)
    found = fridges_now(db().connection(), now, history=timedelta(0))
    active = alerts.open_by_fridge(db())
    return jsonify({"fridges": [fridge_json(f, now, active.get(f.id)) for f in found], "generated_at": iso_utc(now)})


def _one(name: str, now: datetime) -> FridgeNow:
    found = fridges_now(db().connection(), now, name=name, history=timedelta(0))
    if not found:
        abort(404, f"there is no fridge named {name!r}")
    return found[0]


@bp.route("/fridges/<name>")
@allow(*EVERYONE)
def fridge(name: str) -> Any:
    now = datetime.now(UTC)
    found = _one(name, now)
    return jsonify(fridge_json(found, now, alerts.open_by_fridge(db()).get(found.id)))


@bp.route("/sensors")
@allow(*EVERYONE)
def sensor_list() -> Any:
    return jsonify({"sensors": [sensor_json(s) for s in sensors(db().connection())]})


def _bound(param: str, tz: ZoneInfo, *, end: bool) -> datetime | None:
    text = request.args.get(param)
    if text is None or not text.strip():
        return None
    try:
        return parse_bound(text.strip().replace(" ", "+") if "T" in text else text.strip(), tz, end=end)
    except PeriodError as exc:
        abort(400, f"parameter '{param}': {exc}")


def _fridge_period(name: str, now: datetime) -> tuple[sa.Row[Any], datetime, datetime]:
    """(the fridge's id and time zone, start, end) from ``?from=&to=``, read in the site's zone; last 24 h by default."""
    fridge_row = db().execute(sa.select(m.Fridge.id, m.Site.timezone).join(m.Site).where(m.Fridge.name == name)).first()
    if fridge_row is None:
        abort(404, f"there is no fridge named {name!r}")
    tz = ZoneInfo(fridge_row.timezone)
    end = _bound("to", tz, end=True) or now
    start = _bound("from", tz, end=False) or end - timedelta(days=1)
    if end <= start:
        abort(400, "parameter 'to': the period is empty (to is not after from)")
    if end - start > MAX_SPAN:
        abort(400, "parameter 'from': the period may span at most three years")
    return fridge_row, start, end


@bp.route("/fridges/<name>/readings")
@allow(*EVERYONE)
def readings(name: str) -> Any:
    now = datetime.now(UTC)
    fridge_row, start, end = _fridge_period(name, now)
    every_text = request.args.get("every")
    body: dict[str, Any] = {"fridge": name, "from": iso_utc(start), "to": iso_utc(end)}
    conn = db().connection()
    if every_text is None or every_text == "":
        rows = raw_readings(conn, fridge_row.id, start, end, MAX_RAW + 1)
        if len(rows) > MAX_RAW:
            abort(400, f"parameter 'every': more than {MAX_RAW} readings in this period; "
                       "ask for a shorter period or for buckets with every=<seconds>")
        body["every"] = None
        body["readings"] = [{"at": iso_utc(at), "sensor": sid, "temperature_c": temp} for at, sid, temp in rows]
        return jsonify(body)
    try:
        every = int(every_text)
    except ValueError:
        abort(400, f"parameter 'every': {every_text!r} is not a whole number of seconds")
    if every < MIN_EVERY or every > 366 * 86400:
        abort(400, "parameter 'every': must be between 1 second and 366 days (31622400 seconds)")
    if (end - start).total_seconds() / every > MAX_RAW:
        abort(400, f"parameter 'every': {every} s buckets would make more than {MAX_RAW} buckets; choose a larger one")
    body["every"] = every
    body["buckets"] = [
        {"start": iso_utc(at), "sensor": sid, "min_c": low, "max_c": high, "mean_c": round(mean, 4), "count": count}
        for at, sid, low, high, mean, count in bucketed_readings(conn, fridge_row.id, start, end, every)
    ]
    return jsonify(body)


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


@bp.route("/fridges/<name>/stats")
@allow(*EVERYONE)
def statistics(name: str) -> Any:
    now = datetime.now(UTC)
    fridge_row, start, end = _fridge_period(name, now)
    found = fridge_stats(db(), fridge_row.id, start, end, config=settings(), now=now)
    if found is None:  # removed since the line above: fridges are retired, not deleted, so hardly ever
        abort(404, f"there is no fridge named {name!r}")
    return jsonify({
        "fridge": name, "timezone": fridge_row.timezone, "from": iso_utc(start), "to": iso_utc(end),
        "min_c": found.min_c, "max_c": found.max_c, "mean_c": _rounded(found.mean_c, 3),
        "mkt_c": _rounded(found.mkt_c, 3), "time_out_of_range_s": round(found.time_out_of_range_s, 3),
        "coverage": round(found.coverage, 4), "readings": found.readings,
    })


ALERT_STATES = ("active", "open", "acknowledged", "resolved", "all")


def alert_json(row: alerts.AlertRow, *, deliveries: bool = False) -> dict[str, Any]:
    a = row.alert
    body: dict[str, Any] = {
        "id": a.id, "fridge": row.fridge, "site": row.site, "kind": a.kind, "rule": a.rule, "subject": a.subject,
        "severity": a.severity, "state": a.state, "needs_acknowledgement": row.needs_ack,
        "title": a.title, "detail": a.detail, "started_at": _iso(a.started_at), "ended_at": _iso(a.ended_at),
        "peak_c": a.peak_c, "low_c": a.low_c, "excursion_id": a.excursion_id,
        "acknowledged_by": a.acknowledged_by, "acknowledged_at": _iso(a.acknowledged_at), "action": a.action,
        "steps": list(alerts.steps_for(a.kind)),
    }
    if deliveries:
        body["notifications"] = [
            {"channel": n.channel, "type": n.channel_type, "tier": n.tier, "event": n.event,
             "sequence": n.sequence, "attempt": n.attempt, "due_at": _iso(n.due_at), "sent_at": _iso(n.sent_at),
             "ok": n.ok, "detail": n.detail}
            for n in alerts.notifications(db(), a.id)
        ]
    return body


@bp.route("/alerts")
@allow(*EVERYONE)
def alert_list() -> Any:
    state = request.args.get("state", "active") or "active"
    if state not in ALERT_STATES:
        abort(400, f"parameter 'state': {state!r} is not one of {', '.join(ALERT_STATES)}")
    fridge = request.args.get("fridge") or None
    if fridge is not None and db().scalar(sa.select(m.Fridge.id).where(m.Fridge.name == fridge)) is None:
        abort(404, f"there is no fridge named {fridge!r}")
    rows = alerts.list_alerts(db(), state=None if state == "all" else state, fridge=fridge)
    return jsonify({"alerts": [alert_json(r) for r in rows], "state": state, "fridge": fridge})


def _alert(alert_id: int) -> alerts.AlertRow:
    row = alerts.get_alert(db(), alert_id)
    if row is None:
        abort(404, f"there is no alert {alert_id}")
    return row


@bp.route("/alerts/<int:alert_id>")
@allow(*EVERYONE)
def alert_one(alert_id: int) -> Any:
    return jsonify(alert_json(_alert(alert_id), deliveries=True))


@bp.route("/alerts/<int:alert_id>/acknowledge", methods=["POST"])
@allow(*STAFF)
def alert_acknowledge(alert_id: int) -> Any:
    _alert(alert_id)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, 'send a JSON object such as {"action": "Moved the vials to fridge B; coordinator told"}')
    action, steps = body.get("action"), body.get("steps", [])
    if not isinstance(action, str):
        abort(400, "field 'action': describe the action taken, as text")
    if not isinstance(steps, list) or not all(isinstance(step, str) for step in steps):
        abort(400, "field 'steps': a list of the step texts offered for this alert (see its 'steps')")
    session = db()
    try:
        alerts.acknowledge(session, alert_id, current_user(), action, steps, datetime.now(UTC))
        session.commit()
    except alerts.AckError as exc:
        session.rollback()
        abort(409 if exc.field is None else 400, f"field '{exc.field}': {exc}" if exc.field else str(exc))
    return jsonify(alert_json(_alert(alert_id), deliveries=True))


@bp.route("/openapi.json")
@allow(*EVERYONE)
def openapi() -> Any:
    return jsonify(document())


# The inventory routes live in their own module on this same blueprint.
from fridge_monitor.web import api_inventory as _inventory  # noqa: E402,F401
