"""The API's staff temperature checks: recording one for a fridge (signed in the body), and listing them."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from flask import abort, current_app, jsonify

from fridge_monitor.alerts.evaluate import Evaluator
from fridge_monitor.core.signatures import TEMPERATURE_CHECK
from fridge_monitor.core.times import today_at
from fridge_monitor.store import models as m
from fridge_monitor.store import signatures, staff_checks
from fridge_monitor.store.site_access import within
from fridge_monitor.web import scope, signing
from fridge_monitor.web.access import EVERYONE, STAFF, allow, signed_in
from fridge_monitor.web.api import bp, fields, iso
from fridge_monitor.web.api.contract import operation
from fridge_monitor.web.api.schemas.checks import Check, CheckBody, CheckList, CheckQuery
from fridge_monitor.web.api.schemas.common import FridgePath
from fridge_monitor.web.context import db, now_utc, settings
from fridge_monitor.web.scope import names

LISTED_DAYS = 7  # what GET /checks lists without from and to


def check_json(check: m.TemperatureCheck, fridge: str, site: str, shown: list[str]) -> Check:
    return {"id": check.id, "fridge": fridge, "site": site, "day": check.day.isoformat(), "slot": check.slot or None,
            "checked_at": iso(check.checked_at), "checked_by": check.checked_by, "current_c": check.current_c,
            "min_c": check.min_c, "max_c": check.max_c, "monitor_c": check.monitor_c, "comment": check.comment,
            "signatures": shown}


@bp.route("/fridges/<name>/checks", methods=["POST"])
@allow(*STAFF)
@names(name="fridge")
@operation("recordCheck", "Record a staff temperature check of a fridge: what the unit's own display reads "
           "(audited; signed where `[signatures] require_for` lists `checks`)", path=FridgePath, body=CheckBody,
           answers={201: (Check, "The check, with the monitor's value then and its signature."),
                    400: "The body does not fit (the message names the field): also a minimum above the maximum, "
                         "or `confirm_monitor` while the monitor has no reading to confirm.",
                    403: "The role may not record checks, or the signature is missing, wrong or not over HTTPS."})
def check_record(name: str, body: CheckBody) -> Any:
    fridge = fields.fridge_named(name)
    now = now_utc()
    comment = fields.stripped(body.comment)
    if body.confirm_monitor:
        view = staff_checks.monitor_view(db(), fridge.id, now, settings())
        if view is None:
            fields.bad("confirm_monitor", "the monitor has no reading to confirm: send what the display shows")
        reading = view.confirmed(comment)
    else:
        reading = staff_checks.Reading(body.current_c, body.min_c, body.max_c, comment)
    try:
        staff_checks.check_reading(reading)
    except staff_checks.CheckError as exc:
        fields.bad(exc.field, str(exc))
    meaning = signing.api_signer(body.signature, "a temperature check", now) if signing.needs("checks") else None
    session = db()
    site = next((s for s in settings().sites if s.name == fridge.site.name), None)
    check = staff_checks.record(session, fridge, site, reading, actor=signed_in().name, now=now)
    shown = []
    if meaning is not None:
        shown.append(signatures.sign_check(session, signed_in(), check, meaning, now).shown())
    session.commit()
    Evaluator(current_app.extensions["fridge_monitor"]["engine"], settings()).fridges([fridge.id])
    return jsonify(check_json(check, fridge.name, fridge.site.name, shown)), 201


def _today(site: str | None) -> date:
    """Today at the site asked for, or the latest of today's dates at the sites: a check's day is its site's, and
    a site east of UTC begins its day before UTC's."""
    return today_at(now_utc(), *(s.timezone for s in settings().sites if site in (None, s.name)))


@bp.route("/checks")
@allow(*EVERYONE)
@operation("listChecks", "Staff temperature checks of site-local days (default: the last 7 days)",
           query=CheckQuery, answers={200: (CheckList, "The checks, oldest first."),
                                      400: "A parameter does not fit (the message names it), or `from` is after "
                                           "`to`.",
                                      404: "There is no such site."})
def check_list(query: CheckQuery) -> Any:
    """Checks of the site-local days ``from`` to ``to`` (default: the last week), of one site or all."""
    last = query.last or _today(query.site or None)
    first = query.first or last - timedelta(days=LISTED_DAYS - 1)
    if first > last:
        abort(400, "parameter 'from': after 'to'")
    c, f, s = m.TemperatureCheck, m.Fridge, m.Site
    statement = (sa.select(c, f.name, s.name).join(f, f.id == c.fridge_id).join(s, s.id == f.site_id)
                 .where(c.day >= first, c.day <= last, within(f.id, scope.sites())).order_by(c.checked_at, c.id))
    site = query.site or None
    if site:
        site_id = db().scalar(sa.select(s.id).where(s.name == site))
        if site_id is None or not scope.sees(site_id):
            abort(404, f"there is no site named {site!r}")
        statement = statement.where(s.name == site)
    rows = db().execute(statement).all()
    signed = signatures.of_records(db(), TEMPERATURE_CHECK, [row[0].id for row in rows])
    answer: CheckList = {
        "checks": [check_json(check, fridge, site_name, [x.shown() for x in signed.get(str(check.id), [])])
                   for check, fridge, site_name in rows],
        "from": first.isoformat(), "to": last.isoformat(), "site": site}
    return jsonify(answer)
