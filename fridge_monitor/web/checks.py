"""Staff temperature checks: one page per site, made for a phone at the fridge (read the display, type, sign)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm

from fridge_monitor.alerts.evaluate import Evaluator
from fridge_monitor.core.signatures import TEMPERATURE_CHECK
from fridge_monitor.core.staff_checks import slot_for
from fridge_monitor.core.status import age
from fridge_monitor.store import models as m
from fridge_monitor.store import signatures, staff_checks
from fridge_monitor.web import scope, signing
from fridge_monitor.web.access import EVERYONE, STAFF, allow, nav, signed_in
from fridge_monitor.web.context import db, now_utc, settings
from fridge_monitor.web.forms import decimal
from fridge_monitor.web.units import temperature

bp = Blueprint("checks", __name__)
nav("checks.index", "Checks", 25)

FIELDS = ("current_c", "min_c", "max_c")


class SignForm(FlaskForm, signing.SignatureFields):  # type: ignore[misc]  # wtforms and flask_wtf ship no types
    pass


def _visible_sites() -> list[m.Site]:
    query = sa.select(m.Site).order_by(m.Site.name)
    if scope.sites() is not None:
        query = query.where(m.Site.id.in_(sorted(scope.sites() or ())))
    return list(db().scalars(query))


def _site(name: str | None) -> m.Site:
    sites = _visible_sites()
    if not sites:
        abort(404, "no site is declared yet")
    found = next((s for s in sites if s.name == name), None) if name else sites[0]
    if found is None:
        abort(404, f"there is no site named {name!r}")
    return found


def _page(site: m.Site, form: SignForm, values: dict[int, dict[str, str]], errors: dict[int, dict[str, str]],
          status: int = 200) -> Any:
    now = now_utc()
    tz = ZoneInfo(site.timezone)
    unit = signed_in().display_unit
    decl = next((s for s in settings().sites if s.name == site.name), None)
    slot = slot_for(decl.checks, decl.check_tolerance, tz, now) if decl is not None and decl.checks else None
    conn = db().connection()
    fridges = list(db().scalars(sa.select(m.Fridge).where(m.Fridge.site_id == site.id, m.Fridge.retired_at.is_(None))
                                .order_by(m.Fridge.name)))
    recent = staff_checks.recent(conn, [f.id for f in fridges], now - timedelta(days=1))
    rows = []
    for fridge in fridges:
        shown = staff_checks.monitor_view(db(), fridge.id, now, settings())
        last = next((c for c in recent if c.fridge_id == fridge.id), None)
        rows.append({"id": fridge.id, "name": fridge.name,
                     "monitor": temperature(shown.current_c, unit) if shown else "no reading",
                     "monitor_age": age(now, shown.at) if shown else None,
                     "monitor_range": (f"min {temperature(shown.min_c, unit)} · max {temperature(shown.max_c, unit)} "
                                       f"since {shown.since.astimezone(tz):%H:%M}") if shown else None,
                     "confirmed": bool(values.get(fridge.id, {}).get("confirm")),
                     "last": (f"{last.checked_at.astimezone(tz):%H:%M} by {last.checked_by}" if last else None),
                     "typed": values.get(fridge.id, {}), "errors": errors.get(fridge.id, {})})
    return render_template(
        "checks.html", site=site, sites=[s.name for s in _visible_sites()],
        rows=rows, form=form, now=now.astimezone(tz), slot=f"{slot.at:%H:%M}" if slot else None,
        times=[f"{t:%H:%M}" for t in decl.checks] if decl is not None else [],
        may_record=signed_in().role in STAFF, signing=signing.needs("checks"), ask_name=signing.ask_name(),
    ), status


@bp.route("/checks")
@allow(*EVERYONE)
def index() -> Any:
    return _page(_site(request.args.get("site")), SignForm(formdata=None), {}, {})


@bp.route("/checks", methods=["POST"])
@allow(*STAFF)
def record() -> Any:
    site = _site(request.form.get("site"))
    form = SignForm()
    now = now_utc()
    fridges = {f.id: f for f in db().scalars(sa.select(m.Fridge).where(m.Fridge.site_id == site.id,
                                                                       m.Fridge.retired_at.is_(None)))}
    values = {fid: {field: request.form.get(f"{field}-{fid}", "") for field in (*FIELDS, "comment", "confirm")}
              for fid in fridges}
    readings: dict[int, staff_checks.Reading] = {}
    errors: dict[int, dict[str, str]] = {}
    for fid, typed in values.items():
        if typed["confirm"] and not any(typed[field].strip() for field in FIELDS):
            shown = staff_checks.monitor_view(db(), fid, now, settings())
            if shown is None:
                errors.setdefault(fid, {})["current_c"] = ("The monitor has no reading to confirm: type what the "
                                                           "display shows.")
            else:
                readings[fid] = shown.confirmed(typed["comment"].strip() or None)
            continue
        if typed["confirm"]:
            errors.setdefault(fid, {})["current_c"] = ("Either type what the display shows or confirm the monitor's "
                                                       "values, not both.")
            continue
        if not any(typed[field].strip() for field in FIELDS):
            continue  # not checked this time
        try:
            numbers = {field: decimal(typed[field]) for field in FIELDS}
        except ValueError:
            bad = next(f for f in FIELDS if typed[f].strip() and not _parses(typed[f]))
            errors.setdefault(fid, {})[bad] = "Type the temperature as a number, e.g. 4.5."
            continue
        reading = staff_checks.Reading(numbers["current_c"], numbers["min_c"], numbers["max_c"], typed["comment"])
        try:
            staff_checks.check_reading(reading)
        except staff_checks.CheckError as exc:
            errors.setdefault(fid, {})[exc.field] = str(exc)
            continue
        readings[fid] = reading
    if not readings and not errors:
        flash("Nothing recorded: type what a fridge's display shows.")
        return _page(site, form, values, errors, 400)
    if errors or (signing.needs("checks") and not signing.signer_ok(form, now)):
        return _page(site, form, values, errors, 400)
    session = db()
    decl = next((s for s in settings().sites if s.name == site.name), None)
    try:
        for fid, reading in readings.items():
            check = staff_checks.record(session, fridges[fid], decl, reading, actor=signed_in().name, now=now)
            if signing.needs("checks"):
                signatures.sign_check(session, signed_in(), check, form.meaning.data, now)
        session.commit()
    except signatures.SignatureError as exc:
        session.rollback()
        signing.error(form, exc)
        return _page(site, form, values, errors, 400)
    if signing.needs("checks"):
        signing.signed()
    # A reading far from the monitor's is a disagreement to look into: judged now, not at the next round.
    Evaluator(current_app.extensions["fridge_monitor"]["engine"], settings()).fridges(sorted(readings))
    flash(f"Check recorded for {', '.join(fridges[fid].name for fid in sorted(readings))}"
          f"{' and signed' if signing.needs('checks') else ''}.")
    return redirect(url_for("checks.index", site=site.name))


def _parses(text: str) -> bool:
    try:
        decimal(text)
    except ValueError:
        return False
    return True


def fridge_checks(fridge_id: int, tz: ZoneInfo, unit: str, since: datetime) -> list[dict[str, Any]]:
    """A fridge's recent checks for its page, each with its signature."""
    found = staff_checks.recent(db().connection(), [fridge_id], since)
    signed = signatures.of_records(db(), TEMPERATURE_CHECK, [c.id for c in found])
    return [{"at": c.checked_at.astimezone(tz).strftime("%d %b %Y %H:%M"), "slot": c.slot or "—",
             "by": c.checked_by, "current": temperature(c.current_c, unit), "min": temperature(c.min_c, unit),
             "max": temperature(c.max_c, unit), "monitor": temperature(c.monitor_c, unit),
             "comment": c.comment or "", "signatures": [s.shown() for s in signed.get(str(c.id), [])]}
            for c in found]
