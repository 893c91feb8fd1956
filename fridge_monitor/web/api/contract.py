"""Each API route's contract, declared once on its view: what it takes (path, query, JSON body) and answers.

:func:`operation` checks a request against its models before the view runs and hands the view the validated
``query`` and ``body``; anything else is 400 naming the parameter or field, in the API's one error shape.
:mod:`fridge_monitor.web.api.document` reads the same declarations to write ``openapi.json``.
Rules JSON Schema states across fields (one of these fields; this one when that one has a value) are
:class:`Either`, :class:`When` and :class:`Unless`: each gives its schema and checks a body alike.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar, get_args, get_origin

from flask import abort, request
from pydantic import BaseModel, ValidationError

from fridge_monitor.core.free_text import limit_message

F = TypeVar("F", bound=Callable[..., Any])


def _given(field: str) -> dict[str, Any]:
    """JSON Schema: ``field`` is there and not null (null counts as absent, as in the views)."""
    return {"required": [field], "properties": {field: {"not": {"type": "null"}}}}


@dataclasses.dataclass(frozen=True)
class Either:
    """All the fields of at least one of ``choices`` are given; ``hint`` names the others when none is."""

    choices: tuple[tuple[str, ...], ...]
    hint: str = ""

    def schema(self) -> dict[str, Any]:
        return {"anyOf": [{"allOf": [_given(f) for f in choice]} for choice in self.choices]}

    def refusal(self, given: set[str]) -> str | None:
        if any(set(choice) <= given for choice in self.choices):
            return None
        closest = max(self.choices, key=lambda choice: len(given & set(choice)))  # the first of the best
        missing = next(f for f in closest if f not in given)
        hint = f" ({self.hint})" if self.hint and not given & {f for c in self.choices for f in c} else ""
        return f"field '{missing}': missing{hint}"


@dataclasses.dataclass(frozen=True)
class When:
    """When ``field`` is ``value`` (absent counts as its default), ``needs`` are given too."""

    field: str
    value: Any
    needs: tuple[str, ...]
    why: str = "missing"
    absent_is_value: bool = False

    def schema(self) -> dict[str, Any]:
        other: dict[str, Any] = {"properties": {self.field: {"not": {"const": self.value}}}}
        if self.absent_is_value:
            other = {"allOf": [_given(self.field), other]}
        return {"anyOf": [other, {"allOf": [_given(f) for f in self.needs]}]}

    def refusal(self, given: set[str], body: BaseModel) -> str | None:
        if getattr(body, self.field) != self.value:
            return None
        missing = [f for f in self.needs if f not in given]
        return f"field '{missing[0]}': {self.why}" if missing else None


@dataclasses.dataclass(frozen=True)
class Unless:
    """When ``field`` is ``value``, none of ``excluded`` is given."""

    field: str
    value: Any
    excluded: tuple[str, ...]
    why: str

    def schema(self) -> dict[str, Any]:
        return {"anyOf": [{"properties": {self.field: {"not": {"const": self.value}}}},
                          {"not": {"anyOf": [_given(f) for f in self.excluded]}}]}

    def refusal(self, given: set[str], body: BaseModel) -> str | None:
        if getattr(body, self.field) == self.value and given & set(self.excluded):
            return f"field '{self.field}': {self.why}"
        return None


Rule = Either | When | Unless


class Body(BaseModel):
    """A JSON body's model adds its cross-field ``rules`` and what its text fields are ``called`` in errors."""

    rules: ClassVar[tuple[Rule, ...]] = ()
    called: ClassVar[dict[str, str]] = {}


@dataclasses.dataclass(frozen=True)
class Operation:
    """One route's contract. ``answers`` maps each status it can answer to (its shape or None, what it means)."""

    id: str
    summary: str
    description: str
    path: type[BaseModel] | None
    query: type[BaseModel] | None
    body: type[BaseModel] | None
    answers: Mapping[int, tuple[Any, str]]


def operation(operation_id: str, summary: str, *, answers: Mapping[int, tuple[Any, str] | str],
              description: str = "", path: type[BaseModel] | None = None, query: type[BaseModel] | None = None,
              body: type[BaseModel] | None = None) -> Callable[[F], F]:
    """Declare a view's contract; the view receives ``query=`` and ``body=`` (the validated models) as well as
    its URL arguments. ``answers`` may give an error status by its description alone."""
    declared = Operation(operation_id, summary, description, path, query, body,
                         {code: (None, said) if isinstance(said, str) else said for code, said in answers.items()})

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def checked(**arguments: Any) -> Any:
            if path is not None:
                _validated(path, arguments, "parameter")
            extra: dict[str, Any] = {}
            if query is not None:
                extra["query"] = _validated(query, _query_values(query), "parameter")
            if body is not None:
                extra["body"] = _body(body)
            return view(**arguments, **extra)

        checked.operation = declared  # type: ignore[attr-defined]
        return checked  # type: ignore[return-value]

    return decorate


def _key(name: str, model: type[BaseModel]) -> str:
    return model.model_fields[name].alias or name


def _is_list(annotation: Any) -> bool:
    return get_origin(annotation) is list or any(get_origin(a) is list for a in get_args(annotation))


def _query_values(model: type[BaseModel]) -> dict[str, Any]:
    """The query string as the model reads it: a list's items comma-separated (``status=usable,expiring``)."""
    known = {_key(name, model): field for name, field in model.model_fields.items()}
    unknown = [key for key in request.args if key not in known]
    if unknown:
        choices = ", ".join(known) or "none"
        abort(400, f"parameter {unknown[0]!r}: there is no such parameter (this route takes: {choices})")
    values: dict[str, Any] = {}
    for key, field in known.items():
        if key in request.args:
            given = request.args.getlist(key)
            # Every item is checked, an empty one too (``status=`` or ``a,,b`` is a mistake, not "no filter").
            values[key] = ([item.strip() for text in given for item in text.split(",")]
                           if _is_list(field.annotation) else given[0])
    return values


def _body(model: type[BaseModel]) -> BaseModel:
    extra: Any = model.model_config.get("json_schema_extra") or {}
    example = json.dumps(extra.get("examples", [{}])[0])
    if not request.is_json:
        abort(400, f"send a JSON object such as {example}")
    try:
        found = model.model_validate_json(request.get_data(cache=True))
    except ValidationError as exc:
        abort(400, _message(model, exc, "field", example))
    given = {name for name in found.model_fields_set if getattr(found, name) is not None}
    for rule in getattr(model, "rules", ()):
        refusal = rule.refusal(given) if isinstance(rule, Either) else rule.refusal(given, found)
        if refusal:
            abort(400, refusal)
    return found


def _validated(model: type[BaseModel], values: dict[str, Any], kind: str) -> BaseModel:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        abort(400, _message(model, exc, kind, ""))


def _message(model: type[BaseModel], exc: ValidationError, kind: str, example: str) -> str:
    """The first error as one sentence: ``field 'quantity': must be a whole number, 1 or more, not 0``."""
    error = exc.errors(include_url=False)[0]
    loc = [part for part in error["loc"] if isinstance(part, str)]
    if not loc:
        return f"send a JSON object such as {example}"
    name, field, inside = _field_of(model, loc)
    return f"{kind} '{name}': {_says(error, field, inside, getattr(model, 'called', {}))}"


def _field_of(model: type[BaseModel], loc: list[str]) -> tuple[str, Any, bool]:
    """The dotted name of the field an error is about, its FieldInfo, and whether the error is about one of the
    field's alternatives (``product``: an id or a name) rather than the field itself."""
    names: list[str] = []
    current: Any = model
    field = None
    for part in loc:
        fields = getattr(current, "model_fields", None)
        match = next((f for n, f in (fields or {}).items() if (f.alias or n) == part), None)
        if match is None:
            return ".".join(names or [part]), field, bool(names)
        names.append(part)
        field = match
        current = next((a for a in (match.annotation, *get_args(match.annotation))
                        if isinstance(a, type) and issubclass(a, BaseModel)), None)
    return ".".join(names), field, False


WHOLE = ("int_type", "int_parsing", "int_from_float")
NUMBER = ("float_type", "float_parsing", "finite_number")


def _says(error: Any, field: Any, inside: bool, called: dict[str, str]) -> str:
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    if inside and field is not None and field.description:
        return f"{value!r} will not do: {field.description[0].lower()}{field.description[1:]}"
    bound = ctx.get("ge", ctx.get("le"))
    number = "a whole number" if isinstance(bound, int) and not isinstance(bound, bool) else "a number"
    simple = {
        "missing": "missing", "extra_forbidden": "there is no such field", "string_type": "must be text",
        "list_type": "must be a list", "model_type": "must be an object", "dict_type": "must be an object",
        "model_attributes_type": "must be an object",
        "greater_than_equal": f"must be {number}, {ctx.get('ge')} or more, not {value!r}",
        "less_than_equal": f"must be {number}, at most {ctx.get('le')}, not {value!r}",
    }
    if kind in simple:
        return simple[kind]
    if kind in WHOLE:
        return f"must be a whole number, not {value!r}"
    if kind in NUMBER:
        return f"must be a number, not {value!r}"
    if kind == "string_too_long":
        return limit_message(called.get(str(error["loc"][0]), "this text"), ctx.get("max_length", 0))
    if kind == "string_pattern_mismatch":
        if isinstance(value, str) and "\x00" in value:
            return "must not contain a NUL character"
        return "missing" if isinstance(value, str) and not value.strip() else f"{value!r} is not of the expected form"
    if kind == "literal_error":
        expected = str(ctx.get("expected", "")).replace(" or ", ", ").replace("'", "")
        return f"{value!r} is not one of {expected}"
    if kind.startswith("date"):
        return f"{value!r} is not a date (YYYY-MM-DD)"
    if kind.startswith("bool"):
        return f"must be true or false, not {value!r}"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return str(error["msg"])
