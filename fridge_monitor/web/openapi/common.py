"""What the parts of the OpenAPI document share: the success and error responses, times and path parameters."""

from __future__ import annotations

from typing import Any

ERROR = {"$ref": "#/components/responses/Error"}
NAME = {"name": "name", "in": "path", "required": True, "description": "The fridge's name.",
        "schema": {"type": "string"}}
TIME = {"type": ["string", "null"], "format": "date-time", "description": "UTC, ISO 8601 with a Z suffix."}
DAY = {"type": "string", "format": "date"}


def ok(schema: str, description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


def errors(*codes: int) -> dict[str, Any]:
    return {str(code): ERROR for code in codes}


SIGNATURE = {
    "type": "object", "required": ["password", "meaning"],
    "description": "An electronic signature (21 CFR Part 11), needed where `[signatures] require_for` lists the "
                   "action (by default: alarms' acknowledgements and dispositions): the caller's own password, "
                   "sent over HTTPS when the site runs on it, and what the signature means. Without it such a "
                   "call is refused (403): a token alone never signs. A wrong password counts toward the lockout.",
    "properties": {"password": {"type": "string", "format": "password"},
                   "meaning": {"type": "string", "enum": ["performed", "reviewed", "approved", "responsible"]}},
}
