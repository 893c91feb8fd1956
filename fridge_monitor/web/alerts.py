"""Alert pages: the list (what needs action first), one alert with its acknowledgement, and the banner on every page."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, TextAreaField, widgets
from wtforms.validators import DataRequired, Length

from fridge_monitor.alerts import handling as alerts
from fridge_monitor.core.signatures import ALERT_ACKNOWLEDGEMENT
from fridge_monitor.store import models as m
from fridge_monitor.store import signatures
from fridge_monitor.web import scope, signing
from fridge_monitor.web.access import EVERYONE, STAFF, allow, current_user, nav, signed_in
from fridge_monitor.web.context import db, settings
from fridge_monitor.web.scope import names
from fridge_monitor.web.units import temperature

bp = Blueprint("alert_views", __name__)
nav("alert_views.index", "Alerts", 20)

FILTERS = {
    "active": "Needs action (unacknowledged or ongoing)",
    "open": "Open",
    "acknowledged": "Acknowledged, still going on",
    "resolved": "Resolved",
    "all": "All",
}
HISTORY_LIMIT = 200


class AcknowledgeForm(FlaskForm, signing.SignatureFields):  # type: ignore[misc]  # wtforms and flask_wtf ship no types
    steps = SelectMultipleField("Steps taken", choices=[], validate_choice=False,
                                option_widget=widgets.CheckboxInput(), widget=widgets.ListWidget(prefix_label=False))
    action = TextAreaField(
        "Action taken",
        validators=[DataRequired("Describe the action taken: what you checked or did, and where the products are now."),
                    Length(max=alerts.ACTION_MAX)])


def local(at: datetime | None, tz: str) -> str:
    """A time in the fridge's site time zone, as nurses read it."""
    if at is None:
        return ""
    return at.astimezone(ZoneInfo(tz)).strftime("%d %b %Y %H:%M")


def duration(start: datetime, end: datetime | None, now: datetime) -> str:
    seconds = int(((end or now) - start).total_seconds())
    hours, rest = divmod(max(seconds, 0), 3600)
    minutes = rest // 60
    text = f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"
    return text if end is not None else f"{text} so far"


def view(row: alerts.AlertRow, now: datetime, unit: str) -> dict[str, Any]:
    """An alert as the pages show it."""
    a = row.alert
    return {
        "id": a.id, "fridge": row.fridge, "site": row.site, "timezone": row.timezone,
        "kind": a.kind, "rule": a.rule, "subject": a.subject, "severity": a.severity, "state": a.state,
        "label": row.label, "needs_ack": row.needs_ack, "title": a.title, "detail": a.detail,
        "started": local(a.started_at, row.timezone), "ended": local(a.ended_at, row.timezone),
        "started_iso": a.started_at.isoformat(), "duration": duration(a.started_at, a.ended_at, now),
        "peak": temperature(a.peak_c, unit) if a.peak_c is not None else None,
        "low": temperature(a.low_c, unit) if a.low_c is not None else None,
        "acknowledged_by": a.acknowledged_by, "acknowledged_at": local(a.acknowledged_at, row.timezone),
        "action": a.action, "excursion_id": a.excursion_id,
        "url": url_for("alert_views.detail", alert_id=a.id),
        "fridge_url": url_for("fridges.detail", name=row.fridge),
    }


@bp.app_context_processor
def banner() -> dict[str, Any]:
    """How many alerts wait for an acknowledgement, for the banner at the top of every page."""
    if current_user() is None:
        return {}
    waiting, alarms = alerts.waiting_count(db(), scope.sites())
    return {"alerts_waiting": waiting, "alarms_waiting": alarms}


@bp.route("/alerts/banner")
@allow(*EVERYONE)
def banner_part() -> Any:
    """The banner alone, fetched every few seconds so a new alert shows without reloading."""
    return render_template("_alert_banner.html", **banner())


@bp.route("/alerts")
@allow(*EVERYONE)
def index() -> Any:
    now = datetime.now(UTC)
    chosen = request.args.get("state", "active")
    error = None
    if chosen not in FILTERS:
        error = f"Unknown filter {chosen!r}; showing alerts that need action."
        chosen = "active"
    fridge = request.args.get("fridge", "").strip() or None
    names = scope.fridge_names()
    if fridge is not None and fridge not in names:
        error, fridge = f"There is no fridge named {fridge!r}; showing every fridge.", None
    rows = alerts.list_alerts(db(), state=None if chosen == "all" else chosen, fridge=fridge, sites=scope.sites())
    unit = signed_in().display_unit
    return render_template(
        "alerts.html", alerts=[view(r, now, unit) for r in rows], filters=FILTERS, chosen=chosen,
        fridges=names, fridge=fridge, error=error, failing=failing(),
    ), 400 if error else 200


def failing() -> list[dict[str, str]]:
    """Channels whose latest notification failed: those that serve the user's sites (a channel scoped to other
    sites is theirs to worry about)."""
    mine = None if not scope.limited() else set(db().scalars(sa.select(m.Site.name).where(
        m.Site.id.in_(sorted(scope.sites() or ())))))
    serves = {channel.name: set(channel.sites) for channel in settings().channels}
    return [{"channel": channel, "at": at.strftime("%d %b %H:%M UTC"), "detail": detail}
            for channel, at, detail in alerts.failing_channels(db())
            if mine is None or not serves.get(channel) or serves[channel] & mine]


def _form_for(kind: str) -> AcknowledgeForm:
    form = AcknowledgeForm()
    form.steps.choices = [(step, step) for step in alerts.steps_for(kind)]
    return form


@bp.route("/alerts/<int:alert_id>")
@allow(*EVERYONE)
@names(alert_id="alert")
def detail(alert_id: int) -> Any:
    row = alerts.get_alert(db(), alert_id)
    if row is None:
        abort(404, f"there is no alert {alert_id}")
    return _detail_page(row, _form_for(row.alert.kind))


def _detail_page(row: alerts.AlertRow, form: AcknowledgeForm, status: int = 200) -> Any:
    now = datetime.now(UTC)
    unit = signed_in().display_unit
    excursion = db().get(m.Excursion, row.alert.excursion_id) if row.alert.excursion_id else None
    return render_template(
        "alert.html", alert=view(row, now, unit), form=form,
        may_acknowledge=signed_in().role in STAFF and row.needs_ack,
        signing=row.needs_ack and alerts.needs_signature(row.alert, settings()),
        ask_name=signing.ask_name(),
        signatures=[sig.shown() for sig in signatures.of_records(db(), ALERT_ACKNOWLEDGEMENT, [row.alert.id])
                    .get(str(row.alert.id), [])],
        excursion=_excursion(excursion, row.timezone, now, unit) if excursion else None,
        deliveries=[_delivery(n) for n in alerts.notifications(db(), row.alert.id)],
        group=_group(row.alert),
    ), status


def _group(alert: m.Alert) -> dict[str, Any] | None:
    """The site or gateway outage a no-data alert is grouped under; or an outage's grouped alerts."""
    a, f = m.Alert, m.Fridge
    if alert.group_id is not None:
        outage = db().get(m.Alert, alert.group_id)
        if outage is not None:
            return {"under": (outage.id, outage.title)}
    members = db().execute(sa.select(a.id, f.name, a.title, a.state).join(f, a.fridge_id == f.id)
                           .where(a.group_id == alert.id).order_by(a.id)).all()
    return {"members": [tuple(row) for row in members]} if members else None


def _excursion(e: m.Excursion, tz: str, now: datetime, unit: str) -> dict[str, Any]:
    return {"rule": e.rule, "started": local(e.started_at, tz), "ended": local(e.ended_at, tz),
            "duration": duration(e.started_at, e.ended_at, now), "alarm_at": local(e.alarm_at, tz),
            "peak": temperature(e.peak_c, unit), "low": temperature(e.low_c, unit),
            "mkt": temperature(e.mkt_c, unit), "beyond": _seconds(e.time_beyond_s),
            "unknown": _seconds(e.unknown_s) if e.unknown_s else None,
            "readings": e.readings_count,
            "record_url": url_for("troubleshooting.page", excursion_id=e.id)}


def _seconds(value: float) -> str:
    hours, rest = divmod(int(value), 3600)
    return f"{hours} h {rest // 60:02d} min" if hours else f"{rest // 60} min"


def _delivery(n: m.Notification) -> dict[str, Any]:
    if n.sent_at is None:
        result = "waiting"
    else:
        result = "delivered" if n.ok else "FAILED"
    return {"channel": n.channel, "type": n.channel_type, "tier": n.tier, "event": n.event,
            "sequence": n.sequence, "attempt": n.attempt, "due": n.due_at.strftime("%d %b %H:%M:%S UTC"),
            "sent": n.sent_at.strftime("%d %b %H:%M:%S UTC") if n.sent_at else "", "result": result,
            "ok": n.ok, "detail": n.detail or ""}


@bp.route("/alerts/<int:alert_id>/acknowledge", methods=["POST"])
@allow(*STAFF)
@names(alert_id="alert")
def acknowledge(alert_id: int) -> Any:
    row = alerts.get_alert(db(), alert_id)
    if row is None:
        abort(404, f"there is no alert {alert_id}")
    form = _form_for(row.alert.kind)
    if not form.validate_on_submit():
        return _detail_page(row, form, 400)
    session = db()
    now = datetime.now(UTC)
    # Acknowledged meanwhile: the acknowledgement below says by whom, before any signature is asked for.
    needed = row.alert.acknowledged_at is None and alerts.needs_signature(row.alert, settings())
    if needed and not signing.signer_ok(form, now):
        return _detail_page(row, form, 400)
    try:
        alert = alerts.acknowledge(session, alert_id, signed_in(), form.action.data, form.steps.data or [], now)
        if needed:
            signatures.sign_acknowledgement(session, signed_in(), alert, form.meaning.data, now)
        session.commit()
    except signatures.SignatureError as exc:
        session.rollback()
        signing.error(form, exc)
        return _detail_page(row, form, 400)
    except alerts.AckError as exc:
        session.rollback()
        message = str(exc)[0].upper() + str(exc)[1:] + "."
        if exc.field is None:  # someone else acknowledged it meanwhile: show what they recorded
            flash(message)
            return _detail_page(alerts.get_alert(db(), alert_id) or row, form, 409)
        field = getattr(form, exc.field)
        field.errors = [*field.errors, message]
        return _detail_page(row, form, 400)
    if needed:
        signing.signed()
    flash(f"Alert {alert_id} acknowledged{' and signed' if needed else ''}. Thank you — your action is on record.")
    return redirect(url_for("alert_views.detail", alert_id=alert_id))
