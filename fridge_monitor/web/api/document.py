"""``openapi.json``, written from the routes themselves: each ``/api/v1`` view's :func:`~.contract.operation`,
its URL rule (path and methods) and the roles it allows; no route is listed by hand.

Every operation answers 401 without credentials; 403 when its roles are not everyone's; 400 when it takes
parameters or a body (the one error shape names the one at fault); 404 when its path names a record.
"""

from __future__ import annotations

import re
from typing import Any

from flask import current_app
from pydantic import BaseModel, TypeAdapter
from werkzeug.routing import Rule

from fridge_monitor.web.access import EVERYONE
from fridge_monitor.web.api.contract import Operation
from fridge_monitor.web.api.schemas.alerts import AlertNotification
from fridge_monitor.web.api.schemas.common import Error

PREFIX = "/api/v1/"
REF = "#/components/schemas/{model}"
DESCRIPTION = (
    "The state, temperature history, alerts and stock of medical fridges. Temperatures are in °C, times in UTC "
    "(ISO 8601 with a Z). Authenticate with the browser session or `Authorization: Bearer TOKEN` "
    "(`fridge-monitor users token NAME`). Every error is `{\"error\": {\"code\": 400, \"message\": \"...\"}}`; a "
    "400 names the parameter or field at fault. An unknown query parameter or field is refused, not ignored."
)
GENERAL = {
    400: "The request does not fit this description (the message names the parameter or field); or a form's "
         "CSRF token is missing on a call authenticated by the session cookie.",
    401: "No valid credentials: sign in or send `Authorization: Bearer TOKEN`.",
    403: "The caller's role may not do this (the message says why).",
    404: "No such record, or one outside the caller's sites (the same words either way).",
    413: "The body is larger than 1 MiB.",
}


def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the app's ``/api/v1`` routes."""
    found: list[tuple[Rule, Any, Operation]] = []
    for rule in sorted(current_app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.rule.startswith(PREFIX):
            view = current_app.view_functions[rule.endpoint]
            declared = getattr(view, "operation", None)
            if declared is None:
                raise RuntimeError(f"{rule.endpoint} declares no contract (web.api.contract.operation)")
            found.append((rule, view, declared))
    schemas = _Schemas([declared for _rule, _view, declared in found])
    paths: dict[str, dict[str, Any]] = {}
    for rule, view, declared in found:
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(declared, view, rule, method, schemas)
    notification = schemas.ref(AlertNotification, "serialization")
    return {
        "openapi": "3.1.0",
        "info": {"title": "Fridge Monitor API", "version": "1", "description": DESCRIPTION},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}, {"session": []}],
        "paths": paths,
        "webhooks": {"alertNotification": {"post": {
            "operationId": "alertNotification",
            "summary": "An alert notification, POSTed to each `webhook` channel in `[[alerts.channels]]`",
            "description": (
                "Signed with HMAC-SHA256 of the body in `X-Fridge-Monitor-Signature: sha256=<hex>` when the "
                "channel has a `secret`. The `mqtt` channels publish the same object, plus `active`, as the "
                "fridge's retained alert state. Any 2xx answer counts as delivered; others are retried."),
            "security": [],
            "requestBody": {"required": True, "content": {"application/json": {"schema": notification}}},
            "responses": {"2XX": {"description": "Received."}},
        }}},
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "An API token from `fridge-monitor users token NAME`."},
                "session": {"type": "apiKey", "in": "cookie", "name": "fridge_monitor_session",
                            "description": "The browser session after signing in."},
            },
            "schemas": schemas.all(),
        },
    }


class _Schemas:
    """The JSON Schemas of every body and answer the operations name, as components referred to by name."""

    def __init__(self, operations: list[Operation]) -> None:
        wanted: dict[tuple[int, Any], tuple[Any, Any]] = {(id(Error), "serialization"): (Error, "serialization"),
                                                         (id(AlertNotification), "serialization"):
                                                             (AlertNotification, "serialization")}
        for declared in operations:
            if declared.body is not None:
                wanted[(id(declared.body), "validation")] = (declared.body, "validation")
            for shape, _said in declared.answers.values():
                if shape is not None:
                    wanted[(id(shape), "serialization")] = (shape, "serialization")
        keyed = [(key[0], mode, TypeAdapter(shape)) for key, (shape, mode) in wanted.items()]
        tops, defs = TypeAdapter.json_schemas(keyed, ref_template=REF)
        self.tops: dict[Any, dict[str, Any]] = dict(tops)
        self.found: dict[str, Any] = dict(defs.get("$defs", {}))
        for key, (shape, _mode) in wanted.items():
            rules = getattr(shape, "rules", ())
            top = self.tops[key]
            if rules and "$ref" in top:
                self.found[top["$ref"].rsplit("/", 1)[1]]["allOf"] = [rule.schema() for rule in rules]

    def ref(self, shape: Any, mode: str) -> dict[str, Any]:
        return dict(self.tops[(id(shape), mode)])

    def inline(self, model: type[BaseModel]) -> dict[str, Any]:
        """A path or query model's schema; the types it refers to become components."""
        shown = model.model_json_schema(ref_template=REF, mode="validation")
        self.found.update(shown.pop("$defs", {}))
        return shown

    def all(self) -> dict[str, Any]:
        return dict(sorted(self.found.items()))


def _operation(declared: Operation, view: Any, rule: Rule, method: str, schemas: _Schemas) -> dict[str, Any]:
    roles = sorted(getattr(view, "allowed_roles", ()))
    said = {code: text for code, (_shape, text) in declared.answers.items()}
    statuses: dict[int, str] = {401: GENERAL[401]}
    if set(roles) != set(EVERYONE):
        statuses[403] = GENERAL[403]
    if declared.path or declared.query or declared.body or method != "GET":
        statuses[400] = GENERAL[400]
    if rule.arguments:
        statuses[404] = GENERAL[404]
    if declared.body is not None:
        statuses[413] = GENERAL[413]
    statuses.update(said)
    responses: dict[str, Any] = {}
    for code in sorted(statuses):
        shape = declared.answers.get(code, (None, ""))[0]
        if shape is None and code >= 400:
            shape = Error
        answer: dict[str, Any] = {"description": statuses[code]}
        if shape is not None:
            answer["content"] = {"application/json": {"schema": schemas.ref(shape, "serialization")}}
        responses[str(code)] = answer
    description = declared.description + ("\n\n" if declared.description else "") + \
        f"Roles: {', '.join(roles)}."
    found: dict[str, Any] = {
        "operationId": declared.id, "summary": declared.summary, "description": description,
        "tags": [view.__module__.rsplit(".", 1)[-1]],
        "parameters": _parameters(declared, schemas),
        "responses": responses,
    }
    if declared.body is not None:
        found["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": schemas.ref(declared.body, "validation")}}}
    if not found["parameters"]:
        del found["parameters"]
    return found


def _parameters(declared: Operation, schemas: _Schemas) -> list[dict[str, Any]]:
    found = []
    for where, model in (("path", declared.path), ("query", declared.query)):
        if model is None:
            continue
        shown = schemas.inline(model)
        required = set(shown.get("required", ()))
        for name, schema in shown.get("properties", {}).items():
            schema = _not_null(dict(schema))
            description = schema.pop("description", None)
            schema.pop("title", None)
            parameter: dict[str, Any] = {"name": name, "in": where, "required": where == "path" or name in required,
                                         "schema": schema}
            if description:
                parameter["description"] = description
            if schema.get("type") == "array" or any(s.get("type") == "array" for s in schema.get("anyOf", ())):
                parameter.update(style="form", explode=False)
            found.append(parameter)
    return found


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A parameter's schema without the null pydantic gives an optional field: a query string has no null."""
    choices = [s for s in schema.get("anyOf", ()) if s != {"type": "null"}]
    if "anyOf" in schema and len(choices) < len(schema["anyOf"]):
        rest = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
        schema = {**choices[0], **rest} if len(choices) == 1 else {"anyOf": choices, **rest}
    if schema.get("default", 0) is None:
        del schema["default"]
    return schema
