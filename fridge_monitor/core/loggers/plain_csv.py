"""A plain CSV from any other logger: a header row ``time,temperature_c`` then one row per reading (pure).

Times are ISO 8601 (``2026-03-01 08:00`` or ``2026-03-01T08:00:00``) unless a
``time_format`` (strptime, e.g. ``%d/%m/%Y %H:%M``) says otherwise; they are
the logger's local time. A column ``temperature_f`` instead holds °F.
The device is named on import (``--serial``): a plain CSV does not say.
"""

from __future__ import annotations

import csv
from datetime import datetime

from fridge_monitor.core.loggers.download import Download, LoggerFileError, Point, check_plausible, to_celsius

TIME_COLUMNS = ("time", "timestamp", "datetime", "date_time")
TEMPERATURE_COLUMNS = {"temperature_c": "C", "temperature": "C", "temp_c": "C", "temperature_f": "F",
                       "temp_f": "F"}


def _header(row: list[str]) -> tuple[int, int, str]:
    names = [cell.strip().lower() for cell in row]
    when = next((i for i, name in enumerate(names) if name in TIME_COLUMNS), None)
    value = next((i for i, name in enumerate(names) if name in TEMPERATURE_COLUMNS), None)
    if when is None or value is None:
        raise LoggerFileError(
            f"the header row must name a time column and a temperature column (time,temperature_c), found "
            f"{','.join(row)[:80]!r}", 1)
    return when, value, TEMPERATURE_COLUMNS[names[value]]


def parse_time(text: str, time_format: str | None, line: int) -> datetime:
    text = text.strip()
    try:
        local = datetime.strptime(text, time_format) if time_format else datetime.fromisoformat(text)
    except ValueError:
        expected = f"the format {time_format!r}" if time_format else "ISO 8601 (2026-03-01 08:00); see --time-format"
        raise LoggerFileError(f"time {text[:40]!r} does not match {expected}", line) from None
    if local.tzinfo is not None:
        raise LoggerFileError(f"time {text!r} carries an offset; a logger's times are local (see --tz)", line)
    return local


def read(text: str, *, time_format: str | None = None, serial: str = "") -> Download:
    """Read a plain CSV; raises :class:`LoggerFileError` naming the line."""
    rows = csv.reader(text.splitlines())
    header = next(rows, None)
    if header is None:
        raise LoggerFileError("the file is empty")
    when, value, unit = _header(header)
    points = []
    for number, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) <= max(when, value):
            raise LoggerFileError(f"expected {len(header)} columns, found {len(row)}", number)
        local = parse_time(row[when], time_format, number)
        try:
            reading = float(row[value])
        except ValueError:
            raise LoggerFileError(f"temperature {row[value].strip()[:20]!r} is not a number", number) from None
        points.append(Point(number, local, check_plausible(to_celsius(reading, unit), number)))
    if not points:
        raise LoggerFileError("the file holds no readings below its header")
    return Download(format="csv", model="CSV", serial=serial, unit=unit, points=tuple(points))
