"""The OpenAPI description of the fridges, their sensors, readings and statistics."""

from __future__ import annotations

from typing import Any

from fridge_monitor.web.openapi.common import NAME, TIME, errors, ok

# ?from=&to=: the period of readings or statistics.
PERIOD = [
    {"name": "from", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "Start: a date YYYY-MM-DD (midnight in the site's time zone) or an ISO 8601 "
                    "date-time (without offset: site time). Default: 24 hours before `to`."},
    {"name": "to", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "End, exclusive: a date (that whole day is included) or an ISO 8601 "
                    "date-time. Default: now."},
]


def paths() -> dict[str, Any]:
    """The fridge and sensor paths."""
    return {
        "/api/v1/fridges": {"get": {
            "operationId": "listFridges", "summary": "Every fridge in service with its state now",
            "responses": {"200": ok("FridgeList", "Fridges by site, then name."), **errors(401, 403)},
        }},
        "/api/v1/fridges/{name}": {"get": {
            "operationId": "getFridge", "summary": "One fridge with its state now (retired ones too)",
            "parameters": [NAME],
            "responses": {"200": ok("Fridge", "The fridge."), **errors(401, 403, 404)},
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
                NAME,
                *PERIOD,
                {"name": "every", "in": "query", "required": False,
                 "schema": {"type": "integer", "minimum": 1, "maximum": 31622400},
                 "description": "Bucket size in seconds; omit for raw readings."},
            ],
            "responses": {"200": ok("Readings", "Raw readings or buckets."), **errors(400, 401, 403, 404)},
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
                NAME,
                *PERIOD,
            ],
            "responses": {"200": ok("Stats", "The period's statistics."), **errors(400, 401, 403, 404)},
        }},
        "/api/v1/sensors": {"get": {
            "operationId": "listSensors", "summary": "Every known sensor, assigned or not",
            "responses": {"200": ok("SensorList", "Sensors by id."), **errors(401, 403)},
        }},
    }


def schemas() -> dict[str, Any]:
    """Sensor, Fridge, Stats, Readings and their lists."""
    return {
        "Sensor": {"type": "object", "properties": {
            "id": {"type": "string", "description": "<format>:<device>[:<channel>]"},
            "format": {"type": "string"}, "device": {"type": "string"},
            "fridge": {"type": ["string", "null"]},
            "role": {"type": ["string", "null"], "enum": ["primary", "backup", "aux", None]},
            "temperature_c": {"type": ["number", "null"]},
            "last_measured_at": TIME, "last_seen_at": TIME,
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
            "last_reading_at": TIME,
            "today": {"type": "object", "description": "Since local midnight at the fridge's site.",
                      "properties": {"since": TIME, "min_c": {"type": ["number", "null"]},
                                     "max_c": {"type": ["number", "null"]}}},
            "sensors": {"type": "array", "items": {"$ref": "#/components/schemas/Sensor"}},
        }},
        "FridgeList": {"type": "object", "properties": {
            "fridges": {"type": "array", "items": {"$ref": "#/components/schemas/Fridge"}},
            "generated_at": TIME}},
        "Stats": {"type": "object", "properties": {
            "fridge": {"type": "string"}, "timezone": {"type": "string"}, "from": TIME, "to": TIME,
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
            "fridge": {"type": "string"}, "from": TIME, "to": TIME,
            "every": {"type": ["integer", "null"]},
            "readings": {"type": "array", "items": {"type": "object", "properties": {
                "at": TIME, "sensor": {"type": "string"}, "temperature_c": {"type": "number"}}}},
            "buckets": {"type": "array", "items": {"type": "object", "properties": {
                "start": TIME, "sensor": {"type": "string"}, "min_c": {"type": "number"},
                "max_c": {"type": "number"}, "mean_c": {"type": "number"}, "count": {"type": "integer"}}}},
        }},
    }
