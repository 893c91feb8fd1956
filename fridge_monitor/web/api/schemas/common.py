"""The types requests and answers are made of, each with its bounds, shared by every noun's models."""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema
from pydantic_core import PydanticCustomError
from typing_extensions import TypedDict

from fridge_monitor.core.free_text import FREE_TEXT_MAX
from fridge_monitor.core.signatures import MEANINGS

MAX_ID = 2**63 - 1  # ids are signed 64-bit integers in the database: a larger one names nothing
MAX_UNITS = 100_000  # units in one movement or count: far above any fridge, far below the database's integers
NAME_MAX = 200


def _escaped(chars: str) -> str:
    """A regex character class's inside for ``chars``, as \\uXXXX escapes with runs as ranges."""
    codes = sorted(ord(ch) for ch in chars)
    runs: list[list[int]] = []
    for code in codes:
        if runs and code == runs[-1][1] + 1:
            runs[-1][1] = code
        else:
            runs.append([code, code])
    return "".join(f"\\u{a:04x}" if a == b else f"\\u{a:04x}-\\u{b:04x}" for a, b in runs)


# What str.strip() removes, so that "not blank" means the same to the schema, to pydantic's regex engine and to
# the views, which strip what they are given. None lies beyond the Basic Multilingual Plane.
SPACES = "".join(chr(c) for c in range(0x10000) if chr(c).isspace())
NO_NUL = "^[^\\u0000]*$"  # PostgreSQL text cannot hold NUL
NOT_BLANK = f"^[^\\u0000]*[^\\u0000{_escaped(SPACES)}][^\\u0000]*$"
PATH_SEGMENT = "^[^/\\u0000]+$"  # what a URL segment can carry (see web.routing)


def one_of(values: tuple[str, ...]) -> Any:
    """``Literal[values]``: an enum in the schema, checked by pydantic, from the tuple the domain defines."""
    return Literal.__getitem__(values)


def _whole(value: Any) -> Any:
    """A JSON number without a fraction (``5`` or ``5.0``, as JSON Schema's ``integer``); not ``true``, not ``"5"``."""
    if isinstance(value, bool) or not isinstance(value, int | float) or (
            isinstance(value, float) and not value.is_integer()):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return int(value)


_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _day(value: Any) -> Any:
    """A day written YYYY-MM-DD (JSON Schema's ``date``), nothing else Python would read as one."""
    if isinstance(value, str):
        try:
            if not _ISO_DAY.fullmatch(value):
                raise ValueError(value)
            return date.fromisoformat(value)
        except ValueError:
            raise PydanticCustomError("date_parsing", "Input should be a valid date") from None
    return value


Id = Annotated[int, Field(ge=1, le=MAX_ID), BeforeValidator(_whole)]
Units = Annotated[int, Field(ge=1, le=MAX_UNITS), BeforeValidator(_whole)]
Count = Annotated[int, Field(ge=0, le=MAX_UNITS), BeforeValidator(_whole)]
Celsius = Annotated[float, Field(ge=-100, le=100, allow_inf_nan=False)]
Words = Annotated[str, Field(max_length=FREE_TEXT_MAX, pattern=NOT_BLANK,
                             description=f"Text that is not blank, at most {FREE_TEXT_MAX} characters.")]
Note = Annotated[str, Field(max_length=FREE_TEXT_MAX, pattern=NO_NUL,
                            description=f"Free text, at most {FREE_TEXT_MAX} characters (blank: none).")]
Name = Annotated[str, Field(max_length=NAME_MAX, pattern=NOT_BLANK)]
GTIN = Annotated[str, Field(pattern="^(?:[0-9]{8}|[0-9]{12,14})$", json_schema_extra={"format": "gtin"},
                            description="A GTIN-8, -12, -13 or -14; its check digit is verified.")]
Day = Annotated[date, BeforeValidator(_day)]
ProductRef = Annotated[Id | Name, Field(description="The product's id, or its exact name.")]

if TYPE_CHECKING:
    Meaning = str
else:
    Meaning = one_of(MEANINGS)

# Answers: instants are ISO 8601 in UTC with a Z suffix; days YYYY-MM-DD.
Time = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]
MaybeTime = Annotated[str | None, WithJsonSchema({"type": ["string", "null"], "format": "date-time"})]
DayText = Annotated[str, WithJsonSchema({"type": "string", "format": "date"})]
MaybeDayText = Annotated[str | None, WithJsonSchema({"type": ["string", "null"], "format": "date"})]


class Request(BaseModel):
    """A JSON body or a query string: unknown fields are refused (a typo would otherwise be ignored)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Query(BaseModel):
    """A query string: values are text, read as the field's type (``every=60`` is a number)."""

    model_config = ConfigDict(extra="forbid")


class Signature(Request):
    """An electronic signature (21 CFR Part 11), needed where ``[signatures] require_for`` lists the action (by
    default: alarms' acknowledgements and dispositions): the caller's own password, sent over HTTPS when the site
    runs on it, and what the signature means. Without it such a call is refused (403): a token alone never
    signs. A wrong password counts toward the lockout."""

    password: Annotated[str, Field(max_length=1024, pattern=NO_NUL, json_schema_extra={"format": "password"})]
    meaning: Meaning


class ErrorDetail(TypedDict):
    code: int
    message: Annotated[str, Field(description="What is wrong, naming the field or parameter, and what to do.")]


class Error(TypedDict):
    """Every error the API answers."""

    error: ErrorDetail


def enum_of(values: tuple[str, ...], *, nullable: bool = False, description: str | None = None) -> WithJsonSchema:
    """The schema of an answer's text that takes one of ``values`` (or null): ``Annotated[str, enum_of(...)]``."""
    schema: dict[str, Any] = {"type": ["string", "null"] if nullable else "string",
                              "enum": [*values, None] if nullable else list(values)}
    if description:
        schema["description"] = description
    return WithJsonSchema(schema)


def about(description: str) -> Any:
    """A field's description in the schema: ``Annotated[int, about("...")]``."""
    return Field(description=description)


class FridgePath(BaseModel):
    name: Annotated[str, Field(pattern=PATH_SEGMENT, description="The fridge's name.")]
