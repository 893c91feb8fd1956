"""CSV cells a spreadsheet cannot run: every CSV export writes its rows through :func:`writer` (pure).

A text cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
is a formula to Excel and LibreOffice (a payload ``=HYPERLINK(...)`` from any
MQTT publisher, a stock reason ``@SUM(1)``), so it is written with a leading
``'``, which the spreadsheet shows as text. Numbers stay numbers: a value that
is a plain number (``-18.5``, ``-3``) is never changed. So that the change can
be undone exactly (``audit.csv`` must reproduce its hashes), text that is
apostrophes before such a start gets one more apostrophe too, and
:func:`unguard` strips exactly the one :func:`guard` added.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from datetime import datetime, tzinfo
from typing import Any, TextIO

from fridge_monitor.core.times import iso_utc

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def _needs_guard(text: str) -> bool:
    bare = text.lstrip("'")
    return bare.startswith(FORMULA_START) and _PLAIN_NUMBER.fullmatch(bare) is None


def guard(value: Any) -> Any:
    """``value`` as a CSV cell no spreadsheet runs as a formula; numbers and other text unchanged."""
    if isinstance(value, str) and _needs_guard(value):
        return "'" + value
    return value


def unguard(text: str) -> str:
    """The text :func:`guard` was given, from the cell it made."""
    return text[1:] if text.startswith("'") and _needs_guard(text[1:]) else text


class Writer:
    """``csv.writer`` whose every cell goes through :func:`guard`."""

    def __init__(self, out: TextIO, **options: Any) -> None:
        self._writer = csv.writer(out, lineterminator="\n", **options)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([guard(cell) for cell in row])


def writer(out: TextIO, **options: Any) -> Writer:
    """The CSV writer of every export: rows end in ``\\n`` and no cell is a formula."""
    return Writer(out, **options)


def utc_or_empty(moment: datetime | None) -> str:
    """A moment's cell: :func:`~fridge_monitor.core.times.iso_utc`, or empty for none."""
    return iso_utc(moment) if moment is not None else ""


def local_or_empty(moment: datetime | None, tz: tzinfo) -> str:
    """A moment's local-time cell (ISO 8601 with its offset), or empty for none."""
    return moment.astimezone(tz).isoformat() if moment is not None else ""


def write_all(out: TextIO, header: list[str], rows: Iterable[Iterable[Any]]) -> int:
    """The header, then every row, through :func:`writer`; the number of rows."""
    csv_out = writer(out)
    csv_out.writerow(header)
    count = 0
    for row in rows:
        csv_out.writerow(row)
        count += 1
    return count
