"""An excursion's troubleshooting record: the facts Fridge Monitor filled in, the form staff complete and sign,
and its PDF."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_wtf import FlaskForm

from fridge_monitor.alerts.evaluate import Evaluator
from fridge_monitor.core.signatures import EXCURSION_RECORD
from fridge_monitor.core.troubleshooting import FUNDING, Entry, Facts, LotEntry, missing, since_in_range
from fridge_monitor.reports import troubleshooting_pdf
from fridge_monitor.store import models as m
from fridge_monitor.store import signatures, troubleshooting
from fridge_monitor.web import signing
from fridge_monitor.web.access import EVERYONE, STAFF, allow, signed_in
from fridge_monitor.web.context import db, now_utc, settings
from fridge_monitor.web.forms import decimal
from fridge_monitor.web.scope import names

bp = Blueprint("troubleshooting", __name__)

TEXTS = ("found_by", "other_contents", "earlier_problems", "actions", "contacted", "case_number", "contact_answer",
         "outcome")
NUMBERS = ("room_c", "found_c", "found_min_c", "found_max_c")


class SignForm(FlaskForm, signing.SignatureFields):  # type: ignore[misc]  # wtforms and flask_wtf ship no types
    pass


def _excursion(excursion_id: int) -> m.Excursion:
    found = db().get(m.Excursion, excursion_id)
    if found is None:
        abort(404, f"there is no excursion {excursion_id}")
    return found


def _typed(facts: Facts, tz: ZoneInfo, errors: dict[str, str]) -> Entry:
    """The entry as the form typed it; errors next to the fields that cannot be read."""
    numbers: dict[str, float | None] = {}
    for field in NUMBERS:
        try:
            numbers[field] = decimal(request.form.get(field, ""))
        except ValueError:
            errors[field] = "Type the temperature as a number, e.g. 21.5."
            numbers[field] = None
    found_at = None
    typed_at = request.form.get("found_at", "").strip()
    if typed_at:
        try:
            found_at = datetime.fromisoformat(typed_at).replace(tzinfo=tz)
        except ValueError:
            errors["found_at"] = "Give the date and time, e.g. 2026-12-06 08:15."
    lots = tuple(LotEntry(lot.lot_id, request.form.get(f"funding-{lot.lot_id}") or None,
                          request.form.get(f"outcome-{lot.lot_id}", "").strip() or None) for lot in facts.lots)
    def text(field: str) -> str | None:
        return request.form.get(field, "").strip() or None

    return Entry(found_at=found_at, found_by=text("found_by"), room_c=numbers["room_c"], found_c=numbers["found_c"],
                 found_min_c=numbers["found_min_c"], found_max_c=numbers["found_max_c"],
                 other_contents=text("other_contents"), earlier_problems=text("earlier_problems"),
                 actions=text("actions"), contacted=text("contacted"), case_number=text("case_number"),
                 contact_answer=text("contact_answer"), lots=lots, outcome=text("outcome"))


def _prefilled(facts: Facts, entry: Entry, tz: ZoneInfo) -> dict[str, Any]:
    """The form's values: the saved entry, or for a new record what the records already say."""
    user = signed_in()
    values: dict[str, Any] = {field: getattr(entry, field) for field in (*TEXTS, *NUMBERS)}
    values["found_at"] = entry.found_at.astimezone(tz).strftime("%Y-%m-%dT%H:%M") if entry.found_at else ""
    if not values["found_by"]:
        values["found_by"] = user.full_name or user.name
    if not values["actions"] and facts.acknowledgements:
        values["actions"] = "\n".join(facts.acknowledgements)
    values["lots"] = {lot.lot_id: {"funding": entry.lot(lot.lot_id).funding or lot.funding,
                                   "outcome": entry.lot(lot.lot_id).outcome or lot.disposition or ""}
                      for lot in facts.lots}
    return values


def _page(excursion: m.Excursion, form: SignForm, entry: Entry | None, errors: dict[str, str],
          status: int = 200) -> Any:
    session = db()
    facts = troubleshooting.facts(session, excursion, settings())
    row = troubleshooting.current(session, excursion.id)
    saved = troubleshooting.entry_of(row)
    tz = ZoneInfo(facts.timezone)
    shown = signatures.of_records(session, EXCURSION_RECORD, [row.id]).get(str(row.id), []) if row else []
    alert = session.scalars(sa.select(m.Alert).where(m.Alert.excursion_id == excursion.id).order_by(m.Alert.id)
                            .limit(1)).first()
    return render_template(
        "troubleshooting.html", excursion=excursion, facts=facts, tz=tz, row=row, errors=errors,
        values=_prefilled(facts, entry if entry is not None else saved, tz), form=form,
        gaps=missing(saved, facts), signatures=[s.shown() for s in shown], funding=FUNDING, alert=alert,
        since=since_in_range(facts), may_edit=signed_in().role in STAFF,
        signing=signing.needs("excursion-records"), ask_name=signing.ask_name(),
    ), status


@bp.route("/excursions/<int:excursion_id>/record")
@allow(*EVERYONE)
@names(excursion_id="excursion")
def page(excursion_id: int) -> Any:
    excursion = _excursion(excursion_id)
    owner = troubleshooting.anchor(db(), excursion)
    if owner.id != excursion.id:  # an alarm rule's excursion: its episode's one record
        return redirect(url_for("troubleshooting.page", excursion_id=owner.id))
    return _page(excursion, SignForm(formdata=None), None, {})


@bp.route("/excursions/<int:excursion_id>/record", methods=["POST"])
@allow(*STAFF)
@names(excursion_id="excursion")
def save(excursion_id: int) -> Any:
    excursion = troubleshooting.anchor(db(), _excursion(excursion_id))
    form = SignForm()
    session = db()
    facts = troubleshooting.facts(session, excursion, settings())
    errors: dict[str, str] = {}
    entry = _typed(facts, ZoneInfo(facts.timezone), errors)
    finish = request.form.get("finish") == "1"
    needs = finish and signing.needs("excursion-records")
    if finish and not needs and request.form.get("confirm") != "1":
        errors["confirm"] = "Tick that you confirm the record is complete and correct."
    if errors or (needs and not signing.signer_ok(form, now_utc())):
        return _page(excursion, form, entry, errors, 400)
    now = now_utc()
    try:
        row = troubleshooting.save(session, excursion, entry, actor=signed_in().name, now=now, finish=finish,
                                   signed=needs, config=settings())
        if needs:
            signatures.sign_record(session, signed_in(), row, excursion.fridge_id, form.meaning.data, now)
        session.commit()
    except (troubleshooting.RecordError, signatures.SignatureError) as exc:
        session.rollback()
        if isinstance(exc, signatures.SignatureError):
            signing.error(form, exc)
        else:
            errors[exc.field] = str(exc)
        return _page(excursion, form, entry, errors, 400)
    if needs:
        signing.signed()
    if finish:  # a reminder that was waiting for it ends now, not at the scheduler's next round
        Evaluator(current_app.extensions["fridge_monitor"]["engine"], settings()).fridges([excursion.fridge_id])
    flash(f"Troubleshooting record saved (version {row.version})" + (", complete and signed." if needs else
                                                                     ", complete." if finish else ", as a draft."))
    return redirect(url_for("troubleshooting.page", excursion_id=excursion.id))


@bp.route("/excursions/<int:excursion_id>/record.pdf")
@allow(*EVERYONE)
@names(excursion_id="excursion")
def pdf(excursion_id: int) -> Any:
    excursion = troubleshooting.anchor(db(), _excursion(excursion_id))
    made, name = troubleshooting_pdf.record_pdf(db(), excursion, generated_by=signed_in().name, now=now_utc(),
                                                config=settings())
    return send_file(io.BytesIO(made), mimetype="application/pdf", as_attachment=True, download_name=name,
                     max_age=0)
