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
