"""The API's alerts: listed by state and fridge, one with its notifications, acknowledged with the action taken."""

from __future__ import annotations

from typing import Any

from flask import abort, jsonify

from fridge_monitor.alerts import handling as alerts
from fridge_monitor.core.times import iso_utc
from fridge_monitor.store import signatures
from fridge_monitor.web import scope, signing
from fridge_monitor.web.access import EVERYONE, STAFF, allow, signed_in
from fridge_monitor.web.api import bp, iso
from fridge_monitor.web.api.contract import operation
from fridge_monitor.web.api.schemas.alerts import Acknowledgement, Alert, AlertList, AlertPath, AlertQuery
from fridge_monitor.web.context import db, now_utc, settings
from fridge_monitor.web.scope import names


def alert_json(row: alerts.AlertRow, *, deliveries: bool = False) -> Alert:
    a = row.alert
    body: Alert = {
        "id": a.id, "fridge": row.fridge, "site": row.site, "kind": a.kind, "rule": a.rule, "subject": a.subject,
        "severity": a.severity, "state": a.state, "needs_acknowledgement": row.needs_ack,
        "title": a.title, "detail": a.detail, "started_at": iso_utc(a.started_at), "ended_at": iso(a.ended_at),
        "peak_c": a.peak_c, "low_c": a.low_c, "excursion_id": a.excursion_id, "group_id": a.group_id,
        "acknowledged_by": a.acknowledged_by, "acknowledged_at": iso(a.acknowledged_at), "action": a.action,
        "steps": list(alerts.steps_for(a.kind)),
    }
    if deliveries:
        body["notifications"] = [
            {"channel": n.channel, "type": n.channel_type, "tier": n.tier, "event": n.event,
             "sequence": n.sequence, "attempt": n.attempt, "due_at": iso(n.due_at), "sent_at": iso(n.sent_at),
             "ok": n.ok, "detail": n.detail}
            for n in alerts.notifications(db(), a.id)
        ]
    return body


@bp.route("/alerts")
@allow(*EVERYONE)
@operation("listAlerts", "Alerts; by default those needing action, unacknowledged first, oldest first",
           query=AlertQuery, answers={200: (AlertList, "Alerts, at most 500."), 404: "There is no such fridge."})
def alert_list(query: AlertQuery) -> Any:
    fridge = query.fridge or None
    if fridge is not None and not scope.sees_fridge(fridge):
        abort(404, f"there is no fridge named {fridge!r}")
    rows = alerts.list_alerts(db(), state=None if query.state == "all" else query.state, fridge=fridge,
                              sites=scope.sites())
    answer: AlertList = {"alerts": [alert_json(r) for r in rows], "state": query.state, "fridge": fridge}
    return jsonify(answer)


def _alert(alert_id: int) -> alerts.AlertRow:
    row = alerts.get_alert(db(), alert_id)
    if row is None:
        abort(404, f"there is no alert {alert_id}")
    return row


@bp.route("/alerts/<int:alert_id>")
@allow(*EVERYONE)
@names(alert_id="alert")
@operation("getAlert", "One alert with its notification log", path=AlertPath,
           answers={200: (Alert, "The alert.")})
def alert_one(alert_id: int) -> Any:
    return jsonify(alert_json(_alert(alert_id), deliveries=True))


@bp.route("/alerts/<int:alert_id>/acknowledge", methods=["POST"])
@allow(*STAFF)
@names(alert_id="alert")
@operation("acknowledgeAlert", "Acknowledge an alert with the action taken (audited; signed where `[signatures] "
           "require_for` lists its severity)", path=AlertPath, body=Acknowledgement,
           answers={200: (Alert, "The acknowledged alert."),
                    400: "The body does not fit (the message names the field), or a step is not one this alert "
                         "offers (see its `steps`).",
                    403: "The role may not acknowledge, or the signature is missing, wrong or not over HTTPS.",
                    409: "Already acknowledged (the message says by whom)."})
def alert_acknowledge(alert_id: int, body: Acknowledgement) -> Any:
    row = _alert(alert_id)
    now = now_utc()
    meaning = None
    if row.alert.acknowledged_at is None and alerts.needs_signature(row.alert, settings()):
        meaning = signing.api_signer(body.signature, f"acknowledging this {row.alert.severity}", now)
    session = db()
    try:
        alert = alerts.acknowledge(session, alert_id, signed_in(), body.action, body.steps, now)
        if meaning is not None:
            signatures.sign_acknowledgement(session, signed_in(), alert, meaning, now)
        session.commit()
    except signatures.SignatureError as exc:
        session.rollback()
        abort(403, f"field 'signature': {exc}")
    except alerts.AckError as exc:
        session.rollback()
        abort(409 if exc.field is None else 400, f"field '{exc.field}': {exc}" if exc.field else str(exc))
    return jsonify(alert_json(_alert(alert_id), deliveries=True))
