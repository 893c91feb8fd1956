"""The OpenAPI 3.1 description of ``/api/v1``, written by hand (a test keeps it in step with the routes)."""

from __future__ import annotations

from typing import Any

from fridge_monitor.alerts.notify.message import JSON_VERSION
from fridge_monitor.core.escalation import EVENTS
from fridge_monitor.core.free_text import FREE_TEXT_MAX

_ERROR = {"$ref": "#/components/responses/Error"}
_NAME = {"name": "name", "in": "path", "required": True, "description": "The fridge's name.",
         "schema": {"type": "string"}}
_ALERT_ID = {"name": "alert_id", "in": "path", "required": True, "description": "The alert's id.",
             "schema": {"type": "integer"}}
_TIME = {"type": ["string", "null"], "format": "date-time", "description": "UTC, ISO 8601 with a Z suffix."}


def _ok(schema: str, description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(code): _ERROR for code in codes}


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Fridge Monitor API",
            "version": "1",
            "description": (
                "Read the state and temperature history of medical fridges. Temperatures are in °C, "
                "times in UTC. Authenticate with the browser session or `Authorization: Bearer TOKEN` "
                "(`fridge-monitor users token NAME`). Every role (nurse, auditor, admin) may read and scan; "
                "nurses and admins may acknowledge alerts, change stock and record dispositions."
            ),
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}, {"session": []}],
        "paths": {
            "/api/v1/fridges": {"get": {
                "operationId": "listFridges", "summary": "Every fridge in service with its state now",
                "responses": {"200": _ok("FridgeList", "Fridges by site, then name."), **_errors(401, 403)},
            }},
            "/api/v1/fridges/{name}": {"get": {
                "operationId": "getFridge", "summary": "One fridge with its state now (retired ones too)",
                "parameters": [_NAME],
                "responses": {"200": _ok("Fridge", "The fridge."), **_errors(401, 403, 404)},
            }},
            "/api/v1/fridges/{name}/readings": {"get": {
                "operationId": "fridgeReadings",
                "summary": "The fridge's readings in a period, raw or in buckets",
                "description": (
                    "Readings belong to the fridge their sensor was in at the time. Without `every`, raw "
                    "readings (at most 100000; otherwise 400). With `every`, per-sensor buckets of that many "
                    "seconds aligned to the Unix epoch, each with min, max, mean and count."
                ),
                "parameters": [
                    _NAME,
                    {"name": "from", "in": "query", "required": False, "schema": {"type": "string"},
                     "description": "Start: a date YYYY-MM-DD (midnight in the site's time zone) or an ISO 8601 "
                                    "date-time (without offset: site time). Default: 24 hours before `to`."},
                    {"name": "to", "in": "query", "required": False, "schema": {"type": "string"},
                     "description": "End, exclusive: a date (that whole day is included) or an ISO 8601 "
                                    "date-time. Default: now."},
                    {"name": "every", "in": "query", "required": False,
                     "schema": {"type": "integer", "minimum": 1, "maximum": 31622400},
                     "description": "Bucket size in seconds; omit for raw readings."},
                ],
                "responses": {"200": _ok("Readings", "Raw readings or buckets."), **_errors(400, 401, 403, 404)},
            }},
            "/api/v1/fridges/{name}/stats": {"get": {
                "operationId": "fridgeStats",
                "summary": "Statistics of the fridge's temperature over a period",
                "description": (
                    "From the readings the rules judge (the primary sensor; a backup stands in while it is "
                    "silent), each holding until the next one for at most the allowed gap: minimum, maximum, "
                    "time-weighted mean, mean kinetic temperature (USP, ΔH/R = 10 000 K), the time outside the "
                    "fridge's range, and coverage, the share of the period with a known temperature. A period "
                    "still going on counts up to now. Figures are null when no temperature is known."
                ),
                "parameters": [
                    _NAME,
                    {"name": "from", "in": "query", "required": False, "schema": {"type": "string"},
                     "description": "Start: a date YYYY-MM-DD (midnight in the site's time zone) or an ISO 8601 "
                                    "date-time (without offset: site time). Default: 24 hours before `to`."},
                    {"name": "to", "in": "query", "required": False, "schema": {"type": "string"},
                     "description": "End, exclusive: a date (that whole day is included) or an ISO 8601 "
                                    "date-time. Default: now."},
                ],
                "responses": {"200": _ok("Stats", "The period's statistics."), **_errors(400, 401, 403, 404)},
            }},
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
                "responses": {"200": _ok("AlertList", "Alerts, at most 500."), **_errors(400, 401, 403, 404)},
            }},
            "/api/v1/alerts/{alert_id}": {"get": {
                "operationId": "getAlert", "summary": "One alert with its notification log",
                "parameters": [_ALERT_ID],
                "responses": {"200": _ok("Alert", "The alert."), **_errors(401, 403, 404)},
            }},
            "/api/v1/alerts/{alert_id}/acknowledge": {"post": {
                "operationId": "acknowledgeAlert",
                "summary": "Acknowledge an alert with the action taken (nurse or admin; audited)",
                "parameters": [_ALERT_ID],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["action"], "properties": {
                        "action": {"type": "string", "maxLength": FREE_TEXT_MAX,
                                   "description": "What was checked or done, and where the products are now."},
                        "steps": {"type": "array", "items": {"type": "string"},
                                  "description": "Steps taken, chosen among the alert's `steps`."},
                    }}}}},
                "responses": {"200": _ok("Alert", "The acknowledged alert."),
                              **_errors(400, 401, 403, 404),
                              "409": {"$ref": "#/components/responses/Error",
                                      "description": "Already acknowledged (the message says by whom)."}},
            }},
            "/api/v1/sensors": {"get": {
                "operationId": "listSensors", "summary": "Every known sensor, assigned or not",
                "responses": {"200": _ok("SensorList", "Sensors by id."), **_errors(401, 403)},
            }},
            **_inventory_paths(),
            "/api/v1/openapi.json": {"get": {
                "operationId": "openapi", "summary": "This document",
                "responses": {"200": {"description": "OpenAPI 3.1 document.",
                                      "content": {"application/json": {"schema": {"type": "object"}}}},
                              **_errors(401, 403)},
            }},
        },
        "webhooks": {
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
        },
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "An API token from `fridge-monitor users token NAME`."},
                "session": {"type": "apiKey", "in": "cookie", "name": "fridge_monitor_session",
                            "description": "The browser session after signing in."},
            },
            "responses": {"Error": {
                "description": "An error; `message` says what is wrong and what to do.",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            }},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                    "type": "object", "required": ["code", "message"],
                    "properties": {"code": {"type": "integer"}, "message": {"type": "string"}},
                }}},
                "Sensor": {"type": "object", "properties": {
                    "id": {"type": "string", "description": "<format>:<device>[:<channel>]"},
                    "format": {"type": "string"}, "device": {"type": "string"},
                    "fridge": {"type": ["string", "null"]},
                    "role": {"type": ["string", "null"], "enum": ["primary", "backup", None]},
                    "temperature_c": {"type": ["number", "null"]},
                    "last_measured_at": _TIME, "last_seen_at": _TIME,
                    "battery_pct": {"type": ["number", "null"]}, "online": {"type": ["boolean", "null"]},
                    "calibration_certificate": {"type": ["string", "null"]},
                    "calibration_due": {"type": ["string", "null"], "format": "date"},
                }},
                "SensorList": {"type": "object", "properties": {
                    "sensors": {"type": "array", "items": {"$ref": "#/components/schemas/Sensor"}}}},
                "Fridge": {"type": "object", "properties": {
                    "name": {"type": "string"}, "site": {"type": "string"}, "timezone": {"type": "string"},
                    "kind": {"type": "string"},
                    "range": {"type": "object", "properties": {"low_c": {"type": "number"},
                                                               "high_c": {"type": "number"}}},
                    "status": {"type": "string",
                               "enum": ["OK", "OUT OF RANGE", "NO DATA", "LOW BATTERY", "NO SENSOR", "ALERT"],
                               "description": "ALERT: the temperature is fine now but an alert waits for an "
                                              "acknowledgement."},
                    "alerts": {"type": "object", "properties": {
                        "waiting": {"type": "integer", "description": "Alerts waiting for an acknowledgement."},
                        "ongoing": {"type": "integer", "description": "Alerts whose condition lasts."},
                        "ids": {"type": "array", "items": {"type": "integer"}}}},
                    "temperature_c": {"type": ["number", "null"]},
                    "last_reading_at": _TIME,
                    "today": {"type": "object", "description": "Since local midnight at the fridge's site.",
                              "properties": {"since": _TIME, "min_c": {"type": ["number", "null"]},
                                             "max_c": {"type": ["number", "null"]}}},
                    "sensors": {"type": "array", "items": {"$ref": "#/components/schemas/Sensor"}},
                }},
                "FridgeList": {"type": "object", "properties": {
                    "fridges": {"type": "array", "items": {"$ref": "#/components/schemas/Fridge"}},
                    "generated_at": _TIME}},
                "Alert": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "fridge": {"type": "string"}, "site": {"type": "string"},
                    "kind": {"type": "string", "enum": ["excursion", "no-data", "low-battery", "calibration-due",
                                                       "sensor-disagreement", "lot-review", "lot-expiring",
                                                       "lot-expired", "beyond-use"]},
                    "rule": {"type": "string", "description": "`out-of-range`, an alarm rule's name such as "
                                                              "`heat` or `freeze`, or the check's name."},
                    "subject": {"type": "string", "description": "The sensor, for sensor checks."},
                    "severity": {"type": "string", "enum": ["warning", "alarm"]},
                    "state": {"type": "string", "enum": ["open", "acknowledged", "resolved"]},
                    "needs_acknowledgement": {"type": "boolean"},
                    "title": {"type": "string"}, "detail": {"type": "string"},
                    "started_at": _TIME, "ended_at": _TIME,
                    "peak_c": {"type": ["number", "null"]}, "low_c": {"type": ["number", "null"]},
                    "excursion_id": {"type": ["integer", "null"]},
                    "acknowledged_by": {"type": ["string", "null"]}, "acknowledged_at": _TIME,
                    "action": {"type": ["string", "null"]},
                    "steps": {"type": "array", "items": {"type": "string"},
                              "description": "The steps offered when acknowledging this kind of alert."},
                    "notifications": {"type": "array", "description": "Only on a single alert.",
                                      "items": {"type": "object", "properties": {
                                          "channel": {"type": "string"}, "type": {"type": "string"},
                                          "tier": {"type": "integer"},
                                          "event": {"type": "string", "enum": list(EVENTS)},
                                          "sequence": {"type": "integer"}, "attempt": {"type": "integer"},
                                          "due_at": _TIME, "sent_at": _TIME, "ok": {"type": ["boolean", "null"]},
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
                    "started_at": _TIME,
                    "updated_at": {**_TIME, "description": "UTC; when it ended, for a resolved alert."},
                    "acknowledged_by": {"type": ["string", "null"]}, "acknowledged_at": _TIME,
                    "action": {"type": ["string", "null"]},
                    "url": {"type": ["string", "null"], "description": "The alert's page, when `[alerts] base_url` "
                                                                       "is set."},
                    "active": {"type": "boolean", "description": "MQTT state only: false once the alert is "
                                                                 "resolved and acknowledged."},
                }},
                "AlertList": {"type": "object", "properties": {
                    "alerts": {"type": "array", "items": {"$ref": "#/components/schemas/Alert"}},
                    "state": {"type": "string"}, "fridge": {"type": ["string", "null"]}}},
                **_inventory_schemas(),
                "Stats": {"type": "object", "properties": {
                    "fridge": {"type": "string"}, "timezone": {"type": "string"}, "from": _TIME, "to": _TIME,
                    "min_c": {"type": ["number", "null"]}, "max_c": {"type": ["number", "null"]},
                    "mean_c": {"type": ["number", "null"], "description": "Time-weighted mean."},
                    "mkt_c": {"type": ["number", "null"], "description": "Mean kinetic temperature (USP <1079>)."},
                    "time_out_of_range_s": {"type": "number",
                                            "description": "Known time outside the fridge's range, in seconds."},
                    "coverage": {"type": "number", "minimum": 0, "maximum": 1,
                                 "description": "Share of the period (up to now) with a known temperature."},
                    "readings": {"type": "integer", "description": "Readings taken in the period."},
                }},
                "Readings": {"type": "object", "properties": {
                    "fridge": {"type": "string"}, "from": _TIME, "to": _TIME,
                    "every": {"type": ["integer", "null"]},
                    "readings": {"type": "array", "items": {"type": "object", "properties": {
                        "at": _TIME, "sensor": {"type": "string"}, "temperature_c": {"type": "number"}}}},
                    "buckets": {"type": "array", "items": {"type": "object", "properties": {
                        "start": _TIME, "sensor": {"type": "string"}, "min_c": {"type": "number"},
                        "max_c": {"type": "number"}, "mean_c": {"type": "number"}, "count": {"type": "integer"}}}},
                }},
            },
        },
    }


# -- inventory -----------------------------------------------------------------------------------------

_LOT_ID = {"name": "lot_id", "in": "path", "required": True, "description": "The lot's id.",
           "schema": {"type": "integer"}}
_STATUSES = ["usable", "expiring", "expired", "under_review", "released", "discarded", "beyond_use"]
_DAY = {"type": "string", "format": "date"}
_WHICH_LOT = {
    "lot_id": {"type": "integer", "description": "The lot; or name it by `product` (or `gtin`) and `lot`."},
    "product": {"type": ["integer", "string"], "description": "The product's id or exact name."},
    "gtin": {"type": "string", "description": "A GTIN linked to the product (instead of `product`)."},
    "lot": {"type": "string", "description": "The lot number printed on the pack."},
}
_OPENED = {"opened_vial_id": {"type": "integer", "description": "Units of this opened vial group instead of "
                                                                 "sealed ones."}}
_NOTE = {"note": {"type": "string", "maxLength": FREE_TEXT_MAX, "description": "Free text kept with the movement."}}


def _stock_change(operation: str, summary: str, required: list[str], properties: dict[str, Any],
                  refused: str, description: str | None = None) -> dict[str, Any]:
    return {"post": {
        "operationId": operation, "summary": summary, **({"description": description} if description else {}),
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": required, "properties": properties}}}},
        "responses": {"200": _ok("StockChange", "The movement and the lot's new quantities."),
                      **_errors(400, 401, 403),
                      "404": {"$ref": "#/components/responses/Error",
                              "description": "No such fridge, product, lot or opened vial (or the GTIN is not "
                                             "linked to a product)."},
                      "409": {"$ref": "#/components/responses/Error", "description": refused}},
    }}


def _inventory_paths() -> dict[str, Any]:
    quantity = {"type": "integer", "minimum": 1}
    return {
        "/api/v1/scan": {"post": {
            "operationId": "readScan", "summary": "Read what a barcode scanner typed for a vial's GS1 code "
                                                  "(changes nothing; every role)",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["code"], "properties": {"code": {
                    "type": "string",
                    "description": "The scan as typed, with GS (0x1D) or U+241D separators and an optional `]d2` "
                                   "prefix, or the printed `(01)…(17)…(10)…`."}}}}}},
            "responses": {"200": _ok("Scan", "What the code holds and the product its GTIN is linked to."),
                          **_errors(401, 403),
                          "400": {"$ref": "#/components/responses/Error",
                                  "description": "The code cannot be read safely (the message says why)."}},
        }},
        "/api/v1/gtins": {"post": {
            "operationId": "linkGtin", "summary": "Link a GTIN to its product, once (nurse or admin; audited)",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["gtin", "product"], "properties": {
                    "gtin": {"type": "string", "description": "GTIN-8, -12, -13 or -14 (check digit verified)."},
                    "product": _WHICH_LOT["product"]}}}}},
            "responses": {"200": {"description": "The link (linking again to the same product changes nothing).",
                                  "content": {"application/json": {"schema": {"type": "object", "properties": {
                                      "gtin": {"type": "string"}, "product": {"$ref": "#/components/schemas/Product"},
                                      "linked_at": _TIME, "linked_by": {"type": "string"}}}}}},
                          **_errors(400, 401, 403, 404),
                          "409": {"$ref": "#/components/responses/Error",
                                  "description": "The GTIN is linked to another product already."}},
        }},
        "/api/v1/stock/receive": _stock_change(
            "receiveStock", "Units arrive in a fridge; the lot is created the first time it is seen",
            ["fridge", "quantity"],
            {"fridge": {"type": "string"}, "product": _WHICH_LOT["product"], "gtin": _WHICH_LOT["gtin"],
             "code": {"type": "string", "description": "A raw scan instead of `gtin`, `lot`, `expiry` and "
                                                       "`serial` (typed fields fill what it lacks)."},
             "lot": _WHICH_LOT["lot"], "expiry": _DAY, "quantity": quantity,
             "serial": {"type": "string", "description": "The pack's serial (AI 21); a pack is received once."},
             **_NOTE},
            "Refused: expired lot, another expiry recorded for this lot, a serial received before, retired fridge.",
            "Give `fridge` and `quantity`, and either `code` or `product` (or `gtin`), `lot` and `expiry`."),
        "/api/v1/stock/use": _stock_change(
            "useStock", "Units taken out to administer", ["fridge"],
            {"fridge": {"type": "string"}, **_WHICH_LOT, "quantity": {**quantity, "default": 1}, **_OPENED,
             **_NOTE},
            "Refused: not enough units (the message says how many are left), lot expired, under review, "
            "discarded, or the opened vial is past its beyond-use time."),
        "/api/v1/stock/transfer": _stock_change(
            "transferStock", "Units moved between fridges (whatever the lot's status)", ["from", "to", "quantity"],
            {"from": {"type": "string"}, "to": {"type": "string"}, **_WHICH_LOT, "quantity": quantity, **_OPENED,
             **_NOTE},
            "Refused: not enough units in `from`, the same fridge twice, `to` retired."),
        "/api/v1/stock/reconstitute": _stock_change(
            "reconstituteStock", "Sealed vials reconstituted or opened: they become an opened vial group with a "
                                 "beyond-use time", ["fridge"],
            {"fridge": {"type": "string"}, **_WHICH_LOT, "quantity": {**quantity, "default": 1}, **_NOTE},
            "Refused: not enough sealed units, lot not usable."),
        "/api/v1/stock/discard": _stock_change(
            "discardStock", "Units thrown away, with a reason", ["fridge", "quantity", "reason_code"],
            {"fridge": {"type": "string"}, **_WHICH_LOT, "quantity": quantity,
             "reason_code": {"type": "string", "enum": ["expired", "excursion", "damaged", "beyond_use", "other"]},
             "reason": {"type": "string", "maxLength": FREE_TEXT_MAX, "description": "Required with `other`."},
             **_OPENED},
            "Refused: not enough units."),
        "/api/v1/stock/correct": _stock_change(
            "correctStock", "A count that differs from the records: a new movement of the difference",
            ["fridge", "counted", "reason"],
            {"fridge": {"type": "string"}, **_WHICH_LOT, "counted": {"type": "integer", "minimum": 0},
             "reason": {"type": "string", "maxLength": FREE_TEXT_MAX}, "corrects_id": {"type": "integer",
                                                           "description": "The movement that was wrong."},
             **_OPENED},
            "Refused: the count matches the records."),
        "/api/v1/lots": {"get": {
            "operationId": "listLots", "summary": "Lots held, with status and quantities, soonest expiry first",
            "parameters": [
                {"name": "fridge", "in": "query", "required": False, "schema": {"type": "string"},
                 "description": "Only lots held in this fridge, with its quantities (404 if no such fridge)."},
                {"name": "status", "in": "query", "required": False, "schema": {"type": "string"},
                 "description": "Only lots in these statuses, comma-separated: " + ", ".join(_STATUSES) + "."},
                {"name": "all", "in": "query", "required": False, "schema": {"type": "boolean"},
                 "description": "Also lots with nothing left."},
            ],
            "responses": {"200": _ok("LotList", "The lots."), **_errors(400, 401, 403, 404)},
        }},
        "/api/v1/lots/{lot_id}": {"get": {
            "operationId": "getLot", "summary": "One lot: holdings per fridge, where it was, movements, reviews "
                                                "and dispositions",
            "parameters": [_LOT_ID],
            "responses": {"200": _ok("LotDetail", "The lot."), **_errors(401, 403, 404)},
        }},
        "/api/v1/lots/{lot_id}/disposition": {"post": {
            "operationId": "recordDisposition",
            "summary": "Record the manufacturer's answer for the lot's open reviews (nurse or admin; audited). "
                       "`discarded` discards every unit still held.",
            "parameters": [_LOT_ID],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["decision"], "properties": {
                    "decision": {"type": "string", "enum": ["released", "discarded"]},
                    "reference": {"type": "string", "maxLength": 200,
                                  "description": "The manufacturer's case or letter number; required to release."},
                    "note": {"type": "string", "maxLength": FREE_TEXT_MAX}}}}}},
            "responses": {"200": _ok("LotDetail", "The lot after the disposition, with `recorded` (the new "
                                                  "dispositions' ids)."),
                          **_errors(400, 401, 403, 404),
                          "409": {"$ref": "#/components/responses/Error",
                                  "description": "No review of this lot waits for a disposition."}},
        }},
        "/api/v1/fridges/{name}/next": {"get": {
            "operationId": "nextUnits", "summary": "First-expiry-first-out: which units of a product to take from "
                                                   "this fridge now",
            "parameters": [_NAME, {"name": "product", "in": "query", "required": True,
                                   "schema": {"type": "string"}, "description": "The product's id or exact name."}],
            "responses": {"200": _ok("NextUnits", "The units to take."), **_errors(400, 401, 403),
                          "404": {"$ref": "#/components/responses/Error",
                                  "description": "No such fridge or product, or nothing usable of it there (the "
                                                 "message lists what is held and why it may not be used)."}},
        }},
        "/api/v1/products": {"get": {
            "operationId": "listProducts", "summary": "Every product with its storage ranges and linked GTINs",
            "responses": {"200": _ok("ProductList", "Products by name."), **_errors(401, 403)},
        }},
    }


def _inventory_schemas() -> dict[str, Any]:
    integer, text = {"type": "integer"}, {"type": "string"}
    nullable_text = {"type": ["string", "null"]}
    status = {"type": "string", "enum": _STATUSES,
              "description": "usable, expiring (within the widest `[inventory] expiry_warning_days`, 90 by "
                             "default), expired (after local midnight ending the expiry "
                             "day), under_review (after an excursion), released, discarded, beyond_use (opened "
                             "vials past their beyond-use time)."}
    movement = {"type": "object", "properties": {
        "id": integer, "kind": {"type": "string", "enum": ["receive", "use", "transfer", "reconstitute",
                                                           "discard", "correct"]},
        "at": _TIME, "lot": {"type": "object", "properties": {"id": integer, "number": text, "product": text,
                                                              "expiry": _DAY}},
        "quantity": {"type": "integer", "description": "Units moved (a correction: the difference)."},
        "actor": text, "reason_code": nullable_text, "reason": nullable_text,
        "counted": {"type": ["integer", "null"]}, "corrects_id": {"type": ["integer", "null"]},
        "fridge": {"type": ["string", "null"], "description": "The fridge (null for a transfer)."},
        "from": nullable_text, "to": nullable_text, "fridges": {"type": "array", "items": text},
        "entries": {"type": "array", "items": {"type": "object", "properties": {
            "fridge": text, "delta": integer, "opened_vial_id": {"type": ["integer", "null"]}}}},
        "opened_vial": {"type": ["object", "null"], "properties": {
            "id": integer, "opened_at": _TIME, "beyond_use_at": _TIME}},
    }}
    product = {"type": "object", "properties": {
        "id": integer, "name": text, "form": text, "unit": text,
        "ranges": {"type": "array", "items": {"type": "object", "properties": {
            "low_c": {"type": "number"}, "high_c": {"type": "number"}}}},
        "gtins": {"type": "array", "items": text},
        "freezing_allowed": {"type": "boolean"}, "protect_from_light": {"type": "boolean"},
        "beyond_use_hours": {"type": ["number", "null"]},
        "opened_range": {"type": ["object", "null"], "properties": {"low_c": {"type": "number"},
                                                                   "high_c": {"type": "number"}}},
        "permitted_excursions": {
            "type": ["object", "null"],
            "description": "USP <659>-style allowance: unopened units between low_c and high_c are not put under "
                           "review while the mean kinetic temperature of their stay is at most mkt_max_c.",
            "properties": {"low_c": {"type": "number"}, "high_c": {"type": "number"},
                           "mkt_max_c": {"type": "number"}}},
        "notes": nullable_text, "retired_at": _TIME,
    }}
    lot = {"type": "object", "properties": {
        "id": integer, "product": text, "product_id": integer, "lot": text, "expiry": _DAY, "gtin": nullable_text,
        "status": status, "review": {"type": "string", "enum": ["none", "open", "released", "discarded"]},
        "quantity": {"type": "integer", "description": "Units held (in the fridge asked for, else everywhere)."},
        "opened": {"type": "integer", "description": "Of which in opened vials."},
        "fridges": {"type": "array", "items": {"type": "object", "properties": {
            "fridge": text, "quantity": integer, "opened": integer}}},
    }}
    return {
        "Product": product,
        "ProductList": {"type": "object", "properties": {"products": {"type": "array", "items": product}}},
        "Scan": {"type": "object", "properties": {
            "gtin": text, "lot": nullable_text, "expiry": {"type": ["string", "null"], "format": "date"},
            "serial": nullable_text,
            "product": {"oneOf": [product, {"type": "null"}],
                        "description": "null when the GTIN is not linked to a product yet (see `message`)."},
            "lot_id": {"type": ["integer", "null"], "description": "The lot, when it is known already."},
            "message": {"type": ["string", "null"], "description": "What to do when the code is not enough."},
        }},
        "Movement": movement,
        "StockChange": {"type": "object", "properties": {
            "movement": movement,
            "quantities": {"type": "object", "additionalProperties": integer,
                           "description": "The lot's units now in each fridge the movement touched."},
            "lot_quantity": {"type": "integer", "description": "The lot's units now in all fridges."},
        }},
        "Lot": lot,
        "LotList": {"type": "object", "properties": {
            "lots": {"type": "array", "items": lot}, "fridge": nullable_text,
            "status": {"type": ["array", "null"], "items": text}, "generated_at": _TIME}},
        "LotDetail": {"allOf": [lot, {"type": "object", "properties": {
            "holdings": {"type": "array", "items": {"type": "object", "properties": {
                "fridge": text, "quantity": integer, "opened_vial_id": {"type": ["integer", "null"]},
                "opened_at": _TIME, "beyond_use_at": _TIME, "status": status}}},
            "history": {"type": "array", "items": {"type": "object", "properties": {
                "fridge": text, "quantity": integer, "opened": integer, "since": _TIME, "until": _TIME}}},
            "movements": {"type": "array", "items": movement},
            "reviews": {"type": "array", "items": {"type": "object", "properties": {
                "id": integer, "fridge": text, "excursion_id": {"type": ["integer", "null"]},
                "started_at": _TIME, "ended_at": _TIME, "exposure_s": {"type": "number"},
                "peak_c": {"type": ["number", "null"]}, "low_c": {"type": ["number", "null"]},
                "mkt_c": {"type": ["number", "null"]}, "reason": text, "created_at": _TIME, "created_by": text,
                "decision": {"type": ["string", "null"], "enum": ["released", "discarded", None]},
                "dispositions": {"type": "array", "items": {"type": "object", "properties": {
                    "id": integer, "decision": text, "reference": nullable_text, "note": nullable_text,
                    "decided_at": _TIME, "decided_by": text, "supersedes_id": {"type": ["integer", "null"]}}}},
            }}},
            "recorded": {"type": "array", "items": integer, "description": "Only after a disposition."},
        }}]},
        "NextUnits": {"type": "object", "properties": {
            "fridge": text, "product": text, "product_id": integer, "lot_id": integer, "lot": text,
            "expiry": _DAY, "quantity": integer, "opened_vial_id": {"type": ["integer", "null"]},
            "beyond_use_at": _TIME, "usable_until": _TIME, "status": status}},
    }
