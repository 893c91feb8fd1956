"""The OpenAPI 3.1 description of ``/api/v1``, written by hand (a test keeps it in step with the routes).

One module per noun holds its paths and schemas: :mod:`.fridges`, :mod:`.alerts`, :mod:`.inventory`.
"""

from __future__ import annotations

from typing import Any

from fridge_monitor.web.openapi import alerts, checks, excursions, fridges, inventory, reviews
from fridge_monitor.web.openapi.common import errors


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Fridge Monitor API",
            "version": "1",
            "description": (
                "Read the state and temperature history of medical fridges. Temperatures are in °C, "
                "times in UTC. Authenticate with the browser session or `Authorization: Bearer TOKEN` "
                "(`fridge-monitor users token NAME`). Every role (nurse, supervisor, auditor, admin) may read and "
                "scan; nurses, supervisors and admins may acknowledge alerts, change stock, record checks and "
                "dispositions; supervisors and admins sign monthly reviews."
            ),
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}, {"session": []}],
        "paths": {
            **fridges.paths(),
            **alerts.paths(),
            **inventory.paths(),
            **checks.paths(),
            **reviews.paths(),
            **excursions.paths(),
            "/api/v1/openapi.json": {"get": {
                "operationId": "openapi", "summary": "This document",
                "responses": {"200": {"description": "OpenAPI 3.1 document.",
                                      "content": {"application/json": {"schema": {"type": "object"}}}},
                              **errors(401, 403)},
            }},
        },
        "webhooks": alerts.webhooks(),
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
                **fridges.schemas(),
                **alerts.schemas(),
                **inventory.schemas(),
                **checks.schemas(),
                **reviews.schemas(),
                **excursions.schemas(),
            },
        },
    }
