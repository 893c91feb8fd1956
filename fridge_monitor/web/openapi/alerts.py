"""The OpenAPI description of the alerts, and of the webhook that notifies of them."""

from __future__ import annotations

from typing import Any

from fridge_monitor.alerts.notify.message import JSON_VERSION
from fridge_monitor.core.checks import KINDS
from fridge_monitor.core.escalation import EVENTS
from fridge_monitor.core.free_text import FREE_TEXT_MAX
from fridge_monitor.web.openapi.common import SIGNATURE, TIME, errors, ok

ALERT_ID = {"name": "alert_id", "in": "path", "required": True, "description": "The alert's id.",
            "schema": {"type": "integer"}}


def paths() -> dict[str, Any]:
    """The alert paths."""
    return {
        "/api/v1/alerts": {"get": {
            "operationId": "listAlerts",
            "summary": "Alerts; by default those needing action, unacknowledged first, oldest first",
            "parameters": [
                {"name": "state", "in": "query", "required": False,
                 "schema": {"type": "string", "enum": ["active", "open", "acknowledged", "resolved", "all"],
                            "default": "active"},
                 "description": "`active`: waiting for an acknowledgement or still going on; or a stored "
                                "state; or `all`."},
                {"name": "fridge", "in": "query", "required": False, "schema": {"type": "string"},
                 "description": "Only this fridge's alerts (404 if there is no such fridge)."},
            ],
            "responses": {"200": ok("AlertList", "Alerts, at most 500."), **errors(400, 401, 403, 404)},
        }},
        "/api/v1/alerts/{alert_id}": {"get": {
            "operationId": "getAlert", "summary": "One alert with its notification log",
            "parameters": [ALERT_ID],
            "responses": {"200": ok("Alert", "The alert."), **errors(401, 403, 404)},
        }},
        "/api/v1/alerts/{alert_id}/acknowledge": {"post": {
            "operationId": "acknowledgeAlert",
            "summary": "Acknowledge an alert with the action taken (nurse or admin; audited)",
            "parameters": [ALERT_ID],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["action"], "properties": {
                    "action": {"type": "string", "maxLength": FREE_TEXT_MAX,
                               "description": "What was checked or done, and where the products are now."},
                    "steps": {"type": "array", "items": {"type": "string"},
                              "description": "Steps taken, chosen among the alert's `steps`."},
                    "signature": SIGNATURE,
                }}}}},
            "responses": {"200": ok("Alert", "The acknowledged alert."),
                          **errors(400, 401, 403, 404),
                          "409": {"$ref": "#/components/responses/Error",
                                  "description": "Already acknowledged (the message says by whom)."}},
        }},
    }


def webhooks() -> dict[str, Any]:
    """The alert notification a webhook channel receives."""
    return {
        "alertNotification": {"post": {
            "operationId": "alertNotification",
            "summary": "An alert notification, POSTed to each `webhook` channel in `[[alerts.channels]]`",
            "description": (
                "Signed with HMAC-SHA256 of the body in `X-Fridge-Monitor-Signature: sha256=<hex>` when the "
                "channel has a `secret`. The `mqtt` channels publish the same object, plus `active`, as the "
                "fridge's retained alert state. Any 2xx answer counts as delivered; others are retried."
            ),
            "security": [],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/AlertNotification"}}}},
            "responses": {"2XX": {"description": "Received."}},
        }},
    }


def schemas() -> dict[str, Any]:
    """Alert, AlertNotification and AlertList."""
    return {
        "Alert": {"type": "object", "properties": {
            "id": {"type": "integer"}, "fridge": {"type": "string"}, "site": {"type": "string"},
            "kind": {"type": "string", "enum": list(KINDS)},
            "rule": {"type": "string", "description": "`out-of-range`, an alarm rule's name such as "
                                                      "`heat` or `freeze`, or the check's name."},
            "subject": {"type": "string", "description": "The sensor, for sensor checks (the door contact or plug "
                                                         "for door-open, power-lost and compressor-stopped); "
                                                         "`site:<name>` or `gateway:<id>` for an outage."},
            "severity": {"type": "string", "enum": ["warning", "alarm"]},
            "state": {"type": "string", "enum": ["open", "acknowledged", "resolved"]},
            "needs_acknowledgement": {"type": "boolean"},
            "title": {"type": "string"}, "detail": {"type": "string"},
            "started_at": TIME, "ended_at": TIME,
            "peak_c": {"type": ["number", "null"]}, "low_c": {"type": ["number", "null"]},
            "excursion_id": {"type": ["integer", "null"]},
            "group_id": {"type": ["integer", "null"],
                         "description": "The site-offline or gateway-offline alert this no-data alert is grouped "
                                        "under (only that one is notified)."},
            "acknowledged_by": {"type": ["string", "null"]}, "acknowledged_at": TIME,
            "action": {"type": ["string", "null"]},
            "steps": {"type": "array", "items": {"type": "string"},
                      "description": "The steps offered when acknowledging this kind of alert."},
            "notifications": {"type": "array", "description": "Only on a single alert.",
                              "items": {"type": "object", "properties": {
                                  "channel": {"type": "string"}, "type": {"type": "string"},
                                  "tier": {"type": "integer"},
                                  "event": {"type": "string", "enum": list(EVENTS)},
                                  "sequence": {"type": "integer"}, "attempt": {"type": "integer"},
                                  "due_at": TIME, "sent_at": TIME, "ok": {"type": ["boolean", "null"]},
                                  "detail": {"type": ["string", "null"]}}}},
        }},
        "AlertNotification": {"type": "object", "required": [
            "version", "event", "alert_id", "kind", "state", "severity", "fridge", "site", "title",
            "started_at", "updated_at"], "properties": {
            "version": {"type": "integer", "const": JSON_VERSION,
                        "description": "Changes when a field is removed or changes its meaning; fields may "
                                       "be added within a version."},
            "event": {"type": "string", "enum": list(EVENTS), "description": (
                "Why this message is sent: `opened` (tier 1 at once), `escalated` (a higher tier, nobody "
                "acknowledged in time), `reminder` (still not acknowledged), `changed` (the severity "
                "changed while the alert lasts), `acknowledged` (told to the channels that received the "
                "alert), `resolved` (the condition ended).")},
            "alert_id": {"type": "integer"},
            "kind": {"type": "string", "description": "As an Alert's `kind`."},
            "state": {"type": "string", "enum": ["open", "acknowledged", "resolved"],
                      "description": "The alert's state when the message was sent."},
            "severity": {"type": "string", "enum": ["warning", "alarm"]},
            "fridge": {"type": "string"}, "site": {"type": "string"},
            "title": {"type": "string"}, "detail": {"type": "string"},
            "started_at": TIME,
            "updated_at": {**TIME, "description": "UTC; when it ended, for a resolved alert."},
            "acknowledged_by": {"type": ["string", "null"]}, "acknowledged_at": TIME,
            "action": {"type": ["string", "null"]},
            "url": {"type": ["string", "null"], "description": "The alert's page, when `[alerts] base_url` "
                                                               "is set."},
            "active": {"type": "boolean", "description": "MQTT state only: false once the alert is "
                                                         "resolved and acknowledged."},
        }},
        "AlertList": {"type": "object", "properties": {
            "alerts": {"type": "array", "items": {"$ref": "#/components/schemas/Alert"}},
            "state": {"type": "string"}, "fridge": {"type": ["string", "null"]}}},
    }
