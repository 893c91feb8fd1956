"""The OpenAPI document's monthly reviews."""

from __future__ import annotations

from typing import Any

from fridge_monitor.core.free_text import FREE_TEXT_MAX
from fridge_monitor.web.openapi.common import SIGNATURE, TIME, errors, ok

_PATH = [
    {"name": "fridge", "in": "path", "required": True, "schema": {"type": "string"}, "description": "Fridge name."},
    {"name": "month", "in": "path", "required": True, "schema": {"type": "string", "pattern": r"^\d{4}-\d{2}$"},
     "description": "The month, YYYY-MM, in the site's time zone."},
]


def paths() -> dict[str, Any]:
    return {
        "/api/v1/reviews/{fridge}/{month}": {
            "get": {
                "operationId": "getReview",
                "summary": "A fridge-month's review: signed (with the changes since), or its open items",
                "parameters": _PATH,
                "responses": {"200": ok("Review", "The review, or the open items of a month not reviewed yet."),
                              **errors(400, 401, 404)},
            },
            "post": {
                "operationId": "signReview",
                "summary": "Review and sign a fridge-month that has ended (supervisor or admin; audited; signed "
                           "where `[signatures] require_for` lists `monthly-review`): its PDF is frozen",
                "parameters": _PATH,
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "properties": {
                        "comment": {"type": "string", "maxLength": FREE_TEXT_MAX},
                        "signature": SIGNATURE}}}}},
                "responses": {"201": ok("Review", "The signed review."),
                              **errors(400, 401, 403, 404, 409)},
            },
        },
    }


def schemas() -> dict[str, Any]:
    return {
        "Review": {"type": "object", "required": ["fridge", "month", "ended", "signed", "open_items"], "properties": {
            "fridge": {"type": "string"}, "month": {"type": "string"},
            "ended": {"type": "boolean", "description": "Whether the month is over (only then can it be signed)."},
            "signed": {"type": "boolean"},
            "open_items": {"type": "array", "items": {"type": "string"},
                           "description": "As they stand now, or as the reviewer saw them when signing."},
            "pdf_url": {"type": "string", "description": "The month's log; once signed, the frozen copy."},
            "id": {"type": "integer"}, "reviewed_by": {"type": "string"}, "reviewed_at": TIME,
            "comment": {"type": ["string", "null"]},
            "pdf_sha256": {"type": "string", "description": "SHA-256 of the frozen PDF."},
            "signatures": {"type": "array", "items": {"type": "string"}},
            "changes_since_signing": {"type": "array", "items": {"type": "string"}},
            "addendum_url": {"type": ["string", "null"]}}},
    }
