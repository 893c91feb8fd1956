"""The API's staff temperature checks: recording one for a fridge (signed in the body), and listing them."""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from flask import abort, current_app, jsonify, request

from fridge_monitor.alerts.evaluate import Evaluator
from fridge_monitor.core.signatures import TEMPERATURE_CHECK
from fridge_monitor.store import models as m
from fridge_monitor.store import signatures, staff_checks
from fridge_monitor.store.site_access import within
from fridge_monitor.web import scope, signing
from fridge_monitor.web.access import EVERYONE, STAFF, allow, signed_in
from fridge_monitor.web.api import bp, fields, iso
from fridge_monitor.web.context import db, now_utc, settings
from fridge_monitor.web.scope import names

LISTED_DAYS = 7  # what GET /checks lists without from and to


def _temperature(body: dict[str, Any], field: str) -> float | None:
    value = body.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        fields.bad(field, "must be a number of °C")
    return float(value)


def check_json(check: m.TemperatureCheck, fridge: str, site: str, shown: list[str]) -> dict[str, Any]:
    return {"id": check.id, "fridge": fridge, "site": site, "day": check.day.isoformat(), "slot": check.slot or None,
            "checked_at": iso(check.checked_at), "checked_by": check.checked_by, "current_c": check.current_c,
            "min_c": check.min_c, "max_c": check.max_c, "monitor_c": check.monitor_c, "comment": check.comment,
            "signatures": shown}


@bp.route("/fridges/<name>/checks", methods=["POST"])
@allow(*STAFF)
@names(name="fridge")
def check_record(name: str) -> Any:
    fridge = fields.fridge_named(name)
    body = fields.json_body('{"current_c": 4.7, "min_c": 3.9, "max_c": 5.8, "comment": "", '
                            '"signature": {"password": "...", "meaning": "performed"}}')
    now = now_utc()
    comment = fields.text(body, "comment", required=False)
    confirm = body.get("confirm_monitor", False)
    if not isinstance(confirm, bool):
        fields.bad("confirm_monitor", "must be true or false")
    typed = any(body.get(field) is not None for field in ("current_c", "min_c", "max_c"))
    if confirm and typed:
        fields.bad("confirm_monitor", "either the display's values or confirm_monitor, not both")
    if confirm:
        view = staff_checks.monitor_view(db(), fridge.id, now, settings())
        if view is None:
            fields.bad("confirm_monitor", "the monitor has no reading to confirm: send what the display shows")
        reading = view.confirmed(comment)
    else:
        reading = staff_checks.Reading(_temperature(body, "current_c"), _temperature(body, "min_c"),
                                       _temperature(body, "max_c"), comment)
    try:
        staff_checks.check_reading(reading)
    except staff_checks.CheckError as exc:
        fields.bad(exc.field, str(exc))
    meaning = signing.api_signer(body, "a temperature check", now) if signing.needs("checks") else None
    session = db()
    site = next((s for s in settings().sites if s.name == fridge.site.name), None)
    check = staff_checks.record(session, fridge, site, reading, actor=signed_in().name, now=now)
    shown = []
    if meaning is not None:
        shown.append(signatures.sign_check(session, signed_in(), check, meaning, now).shown())
    session.commit()
    Evaluator(current_app.extensions["fridge_monitor"]["engine"], settings()).fridges([fridge.id])
    return jsonify(check_json(check, fridge.name, fridge.site.name, shown)), 201


def _day(param: str) -> date | None:
    value = request.args.get(param)
    if value is None or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        abort(400, f"parameter '{param}': {value!r} is not a date (YYYY-MM-DD)")


@bp.route("/checks")
@allow(*EVERYONE)
def check_list() -> Any:
    """Checks of the site-local days ``from`` to ``to`` (default: the last week), of one site or all."""
    last = _day("to") or now_utc().date()
    first = _day("from") or last - timedelta(days=LISTED_DAYS - 1)
    if first > last:
        abort(400, "parameter 'from': after 'to'")
    c, f, s = m.TemperatureCheck, m.Fridge, m.Site
    query = (sa.select(c, f.name, s.name).join(f, f.id == c.fridge_id).join(s, s.id == f.site_id)
             .where(c.day >= first, c.day <= last, within(f.id, scope.sites())).order_by(c.checked_at, c.id))
    site = request.args.get("site")
    if site:
        site_id = db().scalar(sa.select(s.id).where(s.name == site))
        if site_id is None or not scope.sees(site_id):
            abort(404, f"there is no site named {site!r}")
        query = query.where(s.name == site)
    rows = db().execute(query).all()
    signed = signatures.of_records(db(), TEMPERATURE_CHECK, [row[0].id for row in rows])
    return jsonify({"checks": [check_json(check, fridge, site_name, [x.shown() for x in signed.get(str(check.id), [])])
                               for check, fridge, site_name in rows],
                    "from": first.isoformat(), "to": last.isoformat(), "site": site or None})
