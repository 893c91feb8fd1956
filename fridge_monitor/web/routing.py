"""What a URL's parts may be, for every page and API route: ids within 64 bits, segments without NUL.

An id beyond what the database stores, or a name with a NUL character (which PostgreSQL cannot compare), names
no record: such a URL matches no route and is answered 404 before any view or query runs.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter, Map, UnicodeConverter

MAX_ID = 2**63 - 1  # the database's ids are signed 64-bit integers


class Id(IntegerConverter):
    """``<int:...>``: a record's id, at most 2**63 - 1 (0 reaches the view, which finds no such record)."""

    def __init__(self, url_map: Map, fixed_digits: int = 0, min: int | None = None,  # noqa: A002 (werkzeug's names)
                 max: int | None = MAX_ID, signed: bool = False) -> None:
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


class Segment(UnicodeConverter):
    """``<name>``: one path segment, without NUL."""

    regex = "[^/\x00]+"


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = Id
    app.url_map.converters["default"] = Segment
    app.url_map.converters["string"] = Segment
