"""The OpenAPI document's staff temperature checks."""

from __future__ import annotations

from typing import Any

from fridge_monitor.core.free_text import FREE_TEXT_MAX
from fridge_monitor.web.openapi.common import DAY, NAME, SIGNATURE, TIME, errors, ok

_CELSIUS = {"type": ["number", "null"], "minimum": -100, "maximum": 100}


def paths() -> dict[str, Any]:
    return {
        "/api/v1/fridges/{name}/checks": {"post": {
            "operationId": "recordCheck",
            "summary": "Record a staff temperature check of a fridge: what the unit's own display reads (nurse or "
                       "admin; audited; signed where `[signatures] require_for` lists `checks`)",
            "parameters": [NAME],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "properties": {
                    "confirm_monitor": {"type": "boolean", "default": False,
                                        "description": "Instead of the display's values: the display shows the "
                                                       "monitor's (its latest reading, and its min and max since the "
                                                       "last check, at most 24 h), and those are recorded."},
                    "current_c": {**_CELSIUS, "description": "The display's current temperature."},
                    "min_c": {**_CELSIUS, "description": "The display's minimum since the last check."},
                    "max_c": {**_CELSIUS, "description": "The display's maximum since the last check."},
                    "comment": {"type": "string", "maxLength": FREE_TEXT_MAX},
                    "signature": SIGNATURE},
                "oneOf": [{"required": ["current_c"]},
                          {"required": ["confirm_monitor"], "properties": {"confirm_monitor": {"const": True}}}]}}}},
            "responses": {"201": ok("Check", "The check, with the monitor's value then and its signature."),
                          **errors(400, 401, 403, 404)},
        }},
        "/api/v1/checks": {"get": {
            "operationId": "listChecks",
            "summary": "Staff temperature checks of site-local days (default: the last 7 days)",
            "parameters": [
                {"name": "site", "in": "query", "schema": {"type": "string"}, "description": "Only this site."},
                {"name": "from", "in": "query", "schema": DAY, "description": "First day, site-local."},
                {"name": "to", "in": "query", "schema": DAY, "description": "Last day, included."}],
            "responses": {"200": ok("CheckList", "The checks, oldest first."), **errors(400, 401, 404)},
        }},
    }


def schemas() -> dict[str, Any]:
    return {
        "Check": {"type": "object", "properties": {
            "id": {"type": "integer"}, "fridge": {"type": "string"}, "site": {"type": "string"}, "day": DAY,
            "slot": {"type": ["string", "null"], "description": "The site's check time it answers (hh:mm)."},
            "checked_at": TIME, "checked_by": {"type": "string"}, "current_c": _CELSIUS, "min_c": _CELSIUS,
            "max_c": _CELSIUS, "monitor_c": {**_CELSIUS, "description": "The monitor's reading at the check."},
            "comment": {"type": ["string", "null"]},
            "signatures": {"type": "array", "items": {"type": "string"}}}},
        "CheckList": {"type": "object", "properties": {
            "checks": {"type": "array", "items": {"$ref": "#/components/schemas/Check"}}, "from": DAY, "to": DAY,
            "site": {"type": ["string", "null"]}}},
    }
