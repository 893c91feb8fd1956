"""One lot's page: what it is, where it is, its ledger, its reviews and dispositions, its temperature history."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from fridge_monitor.core import free_text, lots
from fridge_monitor.core.signatures import LOT_DISPOSITION
from fridge_monitor.inventory import catalog, lot_safety
from fridge_monitor.inventory import ledger as inventory
from fridge_monitor.store import models as m
from fridge_monitor.store import signatures, troubleshooting
from fridge_monitor.store.site_access import within
from fridge_monitor.web import scope, signing
from fridge_monitor.web.access import EVERYONE, STAFF, allow, signed_in
from fridge_monitor.web.context import db, now_utc, settings
from fridge_monitor.web.forms import options, sentence, strip
from fridge_monitor.web.inventory import FridgeRow, fridges, horizons, local, lot_rows, status_label
from fridge_monitor.web.scope import names
from fridge_monitor.web.units import temperature

bp = Blueprint("lots", __name__)

KIND_LABELS = {"receive": "Received", "use": "Used", "transfer": "Moved", "reconstitute": "Reconstituted / opened",
               "discard": "Discarded", "correct": "Count corrected"}
DECISION_LABELS = {"released": "Released — the manufacturer says the lot may be used",
                   "discarded": "Discard — every unit still held is discarded"}


class DispositionForm(FlaskForm, signing.SignatureFields):  # type: ignore[misc]  # wtforms/flask_wtf: no types
    decision = RadioField("Manufacturer's disposition", choices=options(DECISION_LABELS.items()),
                          validators=[DataRequired("Choose released or discard.")])
    reference = StringField("Manufacturer's reference (case or letter number)", filters=[strip],
                            validators=[Length(max=lot_safety.REFERENCE_MAX)])
    note = TextAreaField("Note", filters=[strip], validators=[Length(max=free_text.FREE_TEXT_MAX)])

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        if self.decision.data == "released" and not self.reference.data:
            self.reference.errors = [*self.reference.errors,
                                     "A release needs the manufacturer's reference (case or letter number)."]
            return False
        return bool(valid)


def duration(seconds: float) -> str:
    hours, rest = divmod(int(round(seconds)), 3600)
    return f"{hours} h {rest // 60:02d} min" if hours else f"{rest // 60} min"


def _lot_tz(lot_id: int, places: dict[int, FridgeRow]) -> ZoneInfo:
    """The time zone to show a lot's times in: the site of the fridge that holds (or last held) it."""
    history = inventory.location_history(db(), lot_id)
    for holding in reversed(history):
        if holding.fridge_id in places:
            return places[holding.fridge_id].tz
    return next(iter(places.values())).tz if places else ZoneInfo("UTC")


def _movement(mv: m.StockMovement, places: dict[int, FridgeRow], tz: ZoneInfo) -> dict[str, Any]:
    changes = []
    for e in mv.entries:
        name = places[e.fridge_id].name if e.fridge_id in places else f"fridge {e.fridge_id}"
        what = f" (opened #{e.opened_vial_id})" if e.opened_vial_id else ""
        changes.append(f"{name}{what} {'+' if e.delta > 0 else '−'}{abs(e.delta)}")
    why = " ".join(filter(None, [mv.reason_code.replace("_", " ") + ":" if mv.reason_code else None, mv.reason]))
    if mv.counted is not None:
        why = f"counted {mv.counted}" + (f"; {why}" if why else "")
    if mv.corrects_id is not None:
        why += f" (corrects movement {mv.corrects_id})"
    return {"id": mv.id, "at": local(mv.at, tz), "actor": mv.actor, "kind": KIND_LABELS.get(mv.kind, mv.kind),
            "quantity": mv.quantity, "changes": ", ".join(changes), "why": why.strip(": ")}


def _reviews(lot_id: int, places: dict[int, FridgeRow], tz: ZoneInfo, unit: str) -> list[dict[str, Any]]:
    r, d = m.LotReview, m.LotDisposition
    reviews = list(db().scalars(sa.select(r).where(r.lot_id == lot_id, within(r.fridge_id, scope.sites()))
                                .order_by(r.started_at, r.id)))
    decided: dict[int, list[m.LotDisposition]] = defaultdict(list)
    for disposition in db().scalars(sa.select(d).where(d.review_id.in_([x.id for x in reviews])).order_by(d.id)):
        decided[disposition.review_id].append(disposition)
    signed = signatures.of_records(db(), LOT_DISPOSITION, [a.id for answers in decided.values() for a in answers])
    out = []
    for review in reviews:
        answers = decided.get(review.id, [])
        out.append({
            "id": review.id, "fridge": places[review.fridge_id].name if review.fridge_id in places else "?",
            "excursion_id": review.excursion_id, "started": local(review.started_at, tz),
            "ended": local(review.ended_at, tz) or "still going on", "exposure": duration(review.exposure_s),
            "peak": temperature(review.peak_c, unit), "low": temperature(review.low_c, unit),
            "mkt": temperature(review.mkt_c, unit), "reason": review.reason, "by": review.created_by,
            "current": answers[-1].decision if answers else None,
            "dispositions": [{"decision": a.decision, "reference": a.reference, "note": a.note,
                              "by": a.decided_by, "at": local(a.decided_at, tz),
                              "signatures": [sig.shown() for sig in signed.get(str(a.id), [])],
                              "superseded": a is not answers[-1]} for a in answers],
        })
    return out


def _history(lot_id: int, places: dict[int, FridgeRow], tz: ZoneInfo, unit: str, now: datetime) -> dict[str, Any]:
    """The lot's temperature history across fridges (:func:`lot_safety.lot_exposure`), as the page shows it."""
    seen = lot_safety.lot_exposure(db(), lot_id, now=now, config=settings())
    rows = []
    for h in seen.holdings:
        place = places.get(h.fridge_id)
        if place is None and scope.limited():
            continue  # held at a site that is not the user's
        where = place.tz if place else tz
        period: dict[str, Any] = {"from": h.since.astimezone(where).date().isoformat(),
                                  "to": (h.until or now).astimezone(where).date().isoformat()}
        chart = url_for("fridges.detail", name=h.fridge, range="custom", **period)
        rows.append({"fridge": h.fridge, "since": local(h.since, where), "until": local(h.until, where),
                     "quantity": h.quantity, "opened": h.opened, "low": temperature(h.low_c, unit),
                     "high": temperature(h.high_c, unit), "known": duration(h.known_s),
                     "out": duration(h.out_of_range_s), "out_s": h.out_of_range_s,
                     "mkt": temperature(h.mkt_c, unit), "readings": h.readings, "chart": chart})
    return {"ranges": seen.ranges, "rows": rows, "low": temperature(seen.low_c, unit),
            "high": temperature(seen.high_c, unit), "out": duration(seen.out_of_range_s),
            "out_s": seen.out_of_range_s, "mkt": temperature(seen.mkt_c, unit),
            "known": any(h.known_s > 0 for h in seen.holdings)}


def _page(lot: m.Lot, form: DispositionForm, status: int = 200) -> Any:
    session = db()
    now = now_utc()
    unit = signed_in().display_unit
    places = {f.id: f for f in fridges()}
    tz = _lot_tz(lot.id, places)
    stock = inventory.stock(session, lot_id=lot.id)
    zones = {places[s.fridge_id].tz for s in stock if s.fridge_id in places} or {tz}
    current = lots.lot_status(lot.expiry, now, zones, stock, review=inventory.review_states(session, [lot.id])[lot.id],
                              horizons=horizons())
    held: dict[int | None, list[lots.Stock]] = defaultdict(list)
    for s in stock:
        held[s.fridge_id].append(s)
    where: list[dict[str, Any]] = [{"fridge": places[fid], "row": lot_rows(units, places[fid].tz, now)[0]}
             for fid, units in held.items() if fid in places]
    serials = session.execute(
        sa.select(m.LotSerial.serial, m.StockMovement.at, m.StockMovement.actor)
        .join(m.StockMovement, m.StockMovement.id == m.LotSerial.movement_id)
        .where(m.LotSerial.lot_id == lot.id).order_by(m.LotSerial.id)).all()
    reviews = _reviews(lot.id, places, tz, unit)
    waiting = [r for r in reviews if r["current"] is None]
    return render_template(
        "inventory/lot.html", lot=lot, product=lot.product, tz=tz, status=current,
        signing=signing.needs("dispositions"), ask_name=signing.ask_name(),
        label=status_label(current, lot.expiry, now.astimezone(tz).date()), where=where,
        total=sum(w["row"]["sealed"] + w["row"]["opened"] for w in where),
        serials=[{"serial": s.serial, "at": local(s.at, tz), "by": s.actor} for s in serials],
        ledger=[_movement(mv, places, tz) for mv in inventory.movements(session, lot_id=lot.id)
                if not scope.limited() or any(e.fridge_id in places for e in mv.entries)],
        reviews=reviews, waiting=waiting, form=form, may_decide=signed_in().role in STAFF and bool(waiting),
        usable=lots.Status(current).usable, history=_history(lot.id, places, tz, unit, now),
        may_change_funding=signed_in().role in STAFF,
    ), status


def _lot(lot_id: int) -> m.Lot:
    lot = db().get(m.Lot, lot_id)
    if lot is None:
        abort(404, f"there is no lot {lot_id}")
    return lot


@bp.route("/lots/<int:lot_id>")
@allow(*EVERYONE)
@names(lot_id="lot")
def detail(lot_id: int) -> Any:
    return _page(_lot(lot_id), DispositionForm())


@bp.route("/lots/<int:lot_id>/funding", methods=["POST"])
@allow(*STAFF)
@names(lot_id="lot")
def funding(lot_id: int) -> Any:
    """Who paid for the lot: public (programme) or private stock, as troubleshooting records ask."""
    lot = _lot(lot_id)
    try:
        troubleshooting.set_funding(db(), lot, request.form.get("funding", ""), actor=signed_in().name,
                                    now=now_utc(), reason="set on the lot's page")
    except troubleshooting.RecordError as exc:
        abort(400, str(exc))
    db().commit()
    flash(f"Lot {lot.lot_number} is {lot.funding} stock.")
    return redirect(url_for("lots.detail", lot_id=lot.id))


@bp.route("/lots/<int:lot_id>/disposition", methods=["POST"])
@allow(*STAFF)
@names(lot_id="lot")
def disposition(lot_id: int) -> Any:
    lot = _lot(lot_id)
    form = DispositionForm()
    if not form.validate():
        return _page(lot, form, 400)
    session = db()
    now = now_utc()
    needed = signing.needs("dispositions")
    if needed and not signing.signer_ok(form, now):
        return _page(lot, form, 400)
    try:
        made = lot_safety.record_disposition(session, lot_id=lot.id, decision=form.decision.data,
                                             fridge_ids=scope.fridge_ids(),
                                             reference=form.reference.data or None, note=form.note.data or None,
                                             actor=signed_in().name, now=now)
        if needed:
            signatures.sign_dispositions(session, signed_in(), made, form.meaning.data, now)
        session.commit()
    except signatures.SignatureError as exc:
        session.rollback()
        signing.error(form, exc)
        return _page(lot, form, 400)
    except catalog.InventoryError as exc:
        session.rollback()
        message = sentence(str(exc))
        field = form.reference if "reference" in message else form.decision
        field.errors = [*field.errors, message]
        return _page(lot, form, 400)
    if needed:
        signing.signed()
    if form.decision.data == "released":
        flash(f"Lot {lot.lot_number} released (manufacturer's reference {form.reference.data}): it may be used again.")
    else:
        flash(f"Lot {lot.lot_number} dispositioned for discard: every unit still held was discarded.")
    return redirect(url_for("lots.detail", lot_id=lot.id))

