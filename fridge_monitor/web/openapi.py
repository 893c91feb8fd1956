"""The OpenAPI 3.1 description of ``/api/v1``, written by hand (a test keeps it in step with the routes)."""

from __future__ import annotations

from typing import Any

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
                "(`fridge-monitor users token NAME`). Every role (nurse, auditor, admin) may read; "
                "nurses and admins may acknowledge alerts."
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
                        "action": {"type": "string", "maxLength": 2000,
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
            "/api/v1/openapi.json": {"get": {
                "operationId": "openapi", "summary": "This document",
                "responses": {"200": {"description": "OpenAPI 3.1 document.",
                                      "content": {"application/json": {"schema": {"type": "object"}}}},
                              **_errors(401, 403)},
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
                                                       "sensor-disagreement"]},
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
                                          "tier": {"type": "integer"}, "event": {"type": "string"},
                                          "sequence": {"type": "integer"}, "attempt": {"type": "integer"},
                                          "due_at": _TIME, "sent_at": _TIME, "ok": {"type": ["boolean", "null"]},
                                          "detail": {"type": ["string", "null"]}}}},
                }},
                "AlertList": {"type": "object", "properties": {
                    "alerts": {"type": "array", "items": {"$ref": "#/components/schemas/Alert"}},
                    "state": {"type": "string"}, "fridge": {"type": ["string", "null"]}}},
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
