"""LogTag Analyzer CSV exports (UTRED30, TRED30, UTRID-16, VaxTag…) (pure).

The export opens with ``key,value`` rows about the logger, then a column
header and one row per reading (number, date, time, temperature)::

    Serial #,D0C500100160
    Description,Vaccine fridge 2
    Reading interval,5 minutes
    Non alert range,2.0  to  8.0 °C
    Last reading,2024-11-15 12:04:00
    Reading,Date,Time,Temperature (°C)
    1,2024-11-15,08:00:00,4.5
    2,2024-11-15,08:05:00,4.6

The Analyzer writes dates as its user set them: ISO (``2024-11-15``) or with
slashes, day first (``15/11/2024``) or month first. A date whose first number
is over 12 shows day-first, whose second is over 12 month-first; when no date
in the file tells them apart, day-first is assumed and the download says so.
A locale with decimal commas uses ``;`` between fields (``4,5``).
"""

from __future__ import annotations

import csv
import re
from datetime import date, datetime, time, timedelta

from fridge_monitor.core.loggers.download import Download, LoggerFileError, Point, check_plausible, to_celsius

_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_SLASHED = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})$")
_NUMBER = re.compile(r"^[+-]?\d+(?:[.,]\d+)?")
_INTERVAL = re.compile(r"^(\d+)\s*(second|sec|minute|min|hour|hr)s?$", re.IGNORECASE)
_UNITS = {"second": 1, "sec": 1, "minute": 60, "min": 60, "hour": 3600, "hr": 3600}
MISSING = ("", "--.-", "---", "-")


def _delimiter(lines: list[str]) -> str:
    """``,`` unless the header rows are separated by ``;`` or tabs (a decimal-comma locale)."""
    for line in lines[:10]:
        for candidate in ("\t", ";", ","):
            if candidate in line:
                return candidate
    return ","


def _unit(text: str) -> str | None:
    if "°F" in text or "(F)" in text or text.strip().endswith(" F"):
        return "F"
    if "°C" in text or "(C)" in text or text.strip().endswith(" C"):
        return "C"
    return None


def _interval(text: str) -> timedelta | None:
    text = text.strip()
    if match := _INTERVAL.match(text):
        return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2).lower()])
    try:
        clock = time.fromisoformat(text)
    except ValueError:
        return None
    return timedelta(hours=clock.hour, minutes=clock.minute, seconds=clock.second) or None


def _is_data_header(cells: list[str]) -> bool:
    lowered = [c.strip().lower() for c in cells]
    return len(cells) >= 2 and any("date" in c for c in lowered) and any("time" in c for c in lowered) and any(
        "temp" in c or "°" in c for c in lowered)


class DateOrder:
    """Which way the file's slashed dates run, decided from all of them."""

    def __init__(self, dates: list[tuple[str, int]]) -> None:
        self.order = "iso"
        slashed = [(m, line) for text, line in dates if (m := _SLASHED.match(text.strip()))]
        if not slashed:
            return
        day_first = any(int(m.group(1)) > 12 for m, _ in slashed)
        month_first = any(int(m.group(2)) > 12 for m, _ in slashed)
        if day_first and month_first:
            line = next(line for m, line in slashed if int(m.group(2)) > 12)
            raise LoggerFileError("the dates run both day-first and month-first; the file is damaged", line)
        self.order = "month-first" if month_first else "day-first"
        self.assumed = not (day_first or month_first)

    def note(self) -> str | None:
        if self.order == "iso":
            return None
        example = "15/11/2024" if self.order == "day-first" else "11/15/2024"
        why = "no date in the file tells day and month apart" if self.assumed else "as the dates show"
        return f"dates read {self.order} ({example}): {why}"

    def parse(self, text: str, line: int) -> date:
        text = text.strip()
        try:
            if match := _ISO.match(text):
                return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
            if match := _SLASHED.match(text):
                first, second, year = (int(g) for g in match.groups())
                year += 2000 if year < 100 else 0
                day, month = (first, second) if self.order == "day-first" else (second, first)
                return date(year, month, day)
        except ValueError:
            pass
        raise LoggerFileError(f"date {text[:20]!r} is not a date (2024-11-15 or 15/11/2024)", line)


def _clock(text: str, line: int) -> time:
    text = text.strip()
    for fmt in ("%H:%M:%S", "%H:%M", "%I:%M:%S %p", "%I:%M %p"):
        try:
            return datetime.strptime(text, fmt).time()
        except ValueError:
            continue
    raise LoggerFileError(f"time {text[:20]!r} is not a time of day (hh:mm:ss)", line)


def _temperature(text: str, decimal_comma: bool, unit: str, line: int) -> float | None:
    text = text.strip()
    if text in MISSING:
        return None
    match = _NUMBER.match(text)
    rest = text[match.end():].strip() if match else text
    if match is None or rest not in ("", "°C", "°F", "C", "F"):
        raise LoggerFileError(f"temperature {text[:20]!r} is not a number", line)
    number = match.group(0).replace(",", ".") if decimal_comma or "," in match.group(0) else match.group(0)
    return check_plausible(to_celsius(float(number), _unit(rest) or unit), line)


def read(text: str) -> Download:
    """Read a LogTag Analyzer CSV export; raises :class:`LoggerFileError` naming the line."""
    lines = text.splitlines()
    if not any(line.strip() for line in lines):
        raise LoggerFileError("the file is empty")
    delimiter = _delimiter(lines)
    rows = list(csv.reader(lines, delimiter=delimiter))
    header: dict[str, tuple[str, int]] = {}
    start = None
    for number, cells in enumerate(rows, start=1):
        if not any(c.strip() for c in cells):
            continue
        if _is_data_header(cells):
            start = number
            break
        if len(cells) >= 2:
            header.setdefault(cells[0].strip().rstrip(":").lower(), (cells[1].strip(), number))
    if start is None:
        raise LoggerFileError("no column header (reading, date, time, temperature) was found: "
                              "export the readings from LogTag Analyzer as CSV")
    serial = header.get("serial #") or header.get("serial number") or header.get("serial")
    if serial is None or not serial[0]:
        raise LoggerFileError("the export names no logger (a 'Serial #' row)")
    columns = [c.strip().lower() for c in rows[start - 1]]
    date_col = next(i for i, c in enumerate(columns) if "date" in c)
    # A "Date Time" column holds both (the Analyzer writes one or two columns, as its user set it up).
    time_col = next((i for i, c in enumerate(columns) if "time" in c and i != date_col), date_col)
    temp_col = next(i for i, c in enumerate(columns) if ("temp" in c or "°" in c) and i not in (date_col, time_col))
    unit = _unit(rows[start - 1][temp_col]) or _unit(header.get("non alert range", ("", 0))[0]) or "C"
    body = [(number, cells) for number, cells in enumerate(rows[start:], start=start + 1)
            if any(c.strip() for c in cells)]
    for number, cells in body:
        if len(cells) <= max(date_col, time_col, temp_col):
            raise LoggerFileError(f"expected {len(columns)} fields, found {len(cells)}", number)
    def split(text: str) -> tuple[str, str]:
        """A combined cell's date and time (``15/11/2024 08:00:00``, ``2024-11-15T08:00:00``)."""
        day, _sep, clock = text.strip().replace("T", " ", 1).partition(" ")
        return day, clock

    def when(cells: list[str]) -> tuple[str, str]:
        return split(cells[date_col]) if time_col == date_col else (cells[date_col], cells[time_col])

    order = DateOrder([(when(cells)[0], number) for number, cells in body])
    points = []
    for number, cells in body:
        value = _temperature(cells[temp_col], delimiter == ";", unit, number)
        if value is None:
            continue
        day_text, clock_text = when(cells)
        local = datetime.combine(order.parse(day_text, number), _clock(clock_text, number))
        points.append(Point(number, local, value))
    if not points:
        raise LoggerFileError("the export holds no readings below its column header")
    note = order.note()
    model = next((header[k][0] for k in ("product", "product type", "logger type", "model") if header.get(k, ("",))[0]),
                 "")
    return Download(
        format="logtag",
        model=f"LogTag {model}" if model else "LogTag",
        serial=serial[0],
        unit=unit,
        interval=_interval(header.get("reading interval", ("", 0))[0]),
        points=tuple(points),
        notes=(note,) if note else (),
    )
