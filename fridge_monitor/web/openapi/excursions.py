"""The OpenAPI document's excursion troubleshooting records."""

from __future__ import annotations

from typing import Any

from fridge_monitor.web.openapi.common import TIME, errors, ok

_NULLABLE_C = {"type": ["number", "null"]}
_TEXT = {"type": ["string", "null"]}


def paths() -> dict[str, Any]:
    return {
        "/api/v1/excursions/{excursion_id}/record": {"get": {
            "operationId": "getExcursionRecord",
            "summary": "An excursion's troubleshooting record: what Fridge Monitor recorded, what staff filled in, "
                       "whether it is complete and its signatures (an alarm rule's excursion gives its episode's "
                       "record)",
            "parameters": [{"name": "excursion_id", "in": "path", "required": True,
                            "schema": {"type": "integer", "minimum": 1, "maximum": 9223372036854775807}}],
            "responses": {"200": ok("ExcursionRecord", "The record (its newest version)."), **errors(401, 404)},
        }},
    }


def schemas() -> dict[str, Any]:
    lot = {"type": "object", "properties": {
        "lot_id": {"type": "integer"}, "product": {"type": "string"}, "lot_number": {"type": "string"},
        "expiry": {"type": "string", "format": "date"}, "quantity": {"type": "integer"},
        "funding": {"type": ["string", "null"], "enum": ["public", "private", None]},
        "disposition": _TEXT}}
    return {
        "ExcursionRecord": {"type": "object", "properties": {
            "excursion_id": {"type": "integer"}, "fridge": {"type": "string"}, "site": {"type": "string"},
            "complete": {"type": "boolean"},
            "missing": {"type": "array", "items": {"type": "string"},
                        "description": "What the record still lacks, in words."},
            "version": {"type": ["integer", "null"]}, "saved_by": _TEXT,
            "saved_at": {"type": ["string", "null"], "format": "date-time"}, "confirmed_by": _TEXT,
            "signatures": {"type": "array", "items": {"type": "string"}},
            "facts": {"type": "object", "properties": {
                "allowed": {"type": "string"}, "rules": {"type": "array", "items": {"type": "string"}},
                "started_at": TIME, "ended_at": {"type": ["string", "null"], "format": "date-time"},
                "alarm_at": {"type": ["string", "null"], "format": "date-time"},
                "time_beyond_s": {"type": "number"}, "unknown_s": {"type": "number"}, "peak_c": {"type": "number"},
                "low_c": {"type": "number"}, "mkt_c": _NULLABLE_C, "readings": {"type": "integer"},
                "last_in_range_at": {"type": ["string", "null"], "format": "date-time"},
                "since_in_range_s": _NULLABLE_C, "lots": {"type": "array", "items": lot},
                "earlier": {"type": "array", "items": {"type": "string"}},
                "acknowledgements": {"type": "array", "items": {"type": "string"}}}},
            "entry": {"type": "object", "description": "What staff filled in (nulls where not yet)."},
            "pdf_url": {"type": "string"}}},
    }
