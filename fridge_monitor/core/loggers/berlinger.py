"""Berlinger Fridge-tag and Q-tag text reports: the ``.txt`` the device writes to USB beside its PDF (pure).

The report is an indented outline, one or more ``Key: value`` pairs a line::

    Device: Q-tag Fridge-tag 2 L
    Fw Vers: 4.0p1o
    Conf:
     Serial: 123456789
     Temp unit: C
     Logging Interval: 5
     Alarm:
      0:
       T AL: -0.5, t AL: 60
      1:
       T AL: +8.0, t AL: 600
    Hist:
     TS Report Creation: 2025-06-11 10:34
     1:
      Date: 2025-06-11
      Min T: +4.2, TS Min T: 08:33
      Max T: +8.5, TS Max T: 09:12
      Avrg T: +5.7
      Alarm:
       0:
        t Acc: 0
       1:
        t Acc: 33, TS A: 09:01, C A: 1
      Events: 0
    Data:
    <TAB>yyyy-MM-dd hh:mm<TAB>T<TAB>Out of limits
    <TAB>2025-06-11 00:00<TAB>4.4<TAB>
    <TAB>2025-06-11 00:05<TAB>8.4<TAB>x
    Cert:
     ...
    Sig: <hex>

A missing value is written ``--.-``. Devices without logging (Fridge-tag 2) have ``Hist`` only; a Q-tag CLm doc has
a run summary (``Res``) and ``Data``. The ``Data`` header row names the time
format. On a Fridge-tag without alarm types, alarm ``0`` is the cold alarm and
``1`` the heat alarm; a Q-tag numbers them 1..5 with a ``Type`` (0 off, 1 and 3
below, 2 and 4 above the limit; 3 and 4 accumulate over separate periods).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from fridge_monitor.core.loggers.download import (
    PLAUSIBLE_C,
    AlarmDay,
    AlarmSetting,
    DeviceDay,
    Download,
    LoggerFileError,
    Point,
    check_plausible,
    to_celsius,
)

_PAIR = re.compile(r"(?:^|,\s*)([A-Za-z0-9][A-Za-z0-9 ]*?):[ \t]*([^,]*)")
# Q-tag alarm types: direction, accumulating over separate periods.
_TYPES = {"1": ("low", False), "2": ("high", False), "3": ("low", True), "4": ("high", True)}
_FORMAT_TOKENS = (("yyyy", "%Y"), ("yy", "%y"), ("MM", "%m"), ("dd", "%d"), ("HH", "%H"), ("hh", "%H"),
                  ("mm", "%M"), ("ss", "%S"))
TRAILER_KEYS = ("Cert", "Sig Cert", "Sig")
MISSING = ("--.-", "---", "")


@dataclasses.dataclass(slots=True)
class Node:
    key: str
    value: str
    line: int
    children: list[Node] = dataclasses.field(default_factory=list)

    def get(self, key: str) -> Node | None:
        return next((c for c in self.children if c.key == key), None)

    def value_of(self, key: str) -> str | None:
        child = self.get(key)
        return child.value if child is not None else None

    def numbered(self) -> list[Node]:
        return [c for c in self.children if c.key.isdigit()]


def outline(lines: Iterable[tuple[int, str]]) -> tuple[Node, list[tuple[int, str]]]:
    """The report's outline from its numbered lines, and its tab-indented rows (a table's) with their numbers."""
    root = Node("", "", 0)
    stack: list[tuple[int, Node]] = [(-1, root)]
    rows: list[tuple[int, str]] = []
    for number, raw in lines:
        if not raw.strip():
            continue
        if raw.startswith("\t"):
            rows.append((number, raw))
            continue
        indent = len(raw) - len(raw.lstrip(" "))
        pairs = _PAIR.findall(raw.strip())
        if not pairs:
            raise LoggerFileError(f"expected 'Key: value', found {raw.strip()[:60]!r}", number)
        while stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1]
        node = None
        for key, value in pairs:
            node = Node(key.strip(), value.strip(), number)
            parent.children.append(node)
        assert node is not None
        stack.append((indent, node))
    return root, rows


def _number(node: Node | None, what: str, unit: str) -> float | None:
    if node is None or node.value in MISSING:
        return None
    try:
        value = float(node.value)
    except ValueError:
        raise LoggerFileError(f"{what} {node.value!r} is not a number", node.line) from None
    return check_plausible(to_celsius(value, unit), node.line)


def _integer(node: Node | None, what: str) -> int | None:
    if node is None or node.value == "":
        return None
    try:
        return int(node.value)
    except ValueError:
        raise LoggerFileError(f"{what} {node.value!r} is not a whole number", node.line) from None


def _clock(node: Node | None, what: str) -> time | None:
    if node is None or node.value == "":
        return None
    try:
        return time.fromisoformat(node.value)
    except ValueError:
        raise LoggerFileError(f"{what} {node.value!r} is not a time of day (hh:mm)", node.line) from None


def _moment(node: Node | None, what: str) -> datetime | None:
    if node is None or node.value == "":
        return None
    try:
        return datetime.strptime(node.value, "%Y-%m-%d %H:%M")
    except ValueError:
        raise LoggerFileError(f"{what} {node.value!r} is not a date and time (yyyy-MM-dd hh:mm)", node.line) from None


def _alarms(conf: Node, unit: str) -> tuple[AlarmSetting, ...]:
    section = conf.get("Alarm")
    if section is None:
        return ()
    settings = []
    for alarm in section.numbered():
        kind = alarm.value_of("Type")
        if kind == "0":
            continue  # switched off
        limit = _number(alarm.get("T AL"), f"alarm {alarm.key} limit", unit)
        delay = _integer(alarm.get("t AL"), f"alarm {alarm.key} delay")
        if limit is None or delay is None:
            raise LoggerFileError(f"alarm {alarm.key} has no limit (T AL) or delay (t AL)", alarm.line)
        if kind is None:
            if alarm.key not in ("0", "1"):
                raise LoggerFileError(f"alarm {alarm.key} has no type; a Fridge-tag numbers its alarms 0 and 1",
                                      alarm.line)
            direction, cumulative = ("low", None) if alarm.key == "0" else ("high", None)
        elif kind in _TYPES:
            direction, cumulative = _TYPES[kind]
        else:
            raise LoggerFileError(f"alarm {alarm.key} has an unknown type {kind!r}", alarm.line)
        settings.append(AlarmSetting(alarm.key, direction, limit, delay, cumulative))
    return tuple(settings)


def _day(entry: Node, unit: str) -> DeviceDay:
    date_node = entry.get("Date")
    if date_node is None:
        raise LoggerFileError(f"history entry {entry.key} has no Date", entry.line)
    try:
        day = date.fromisoformat(date_node.value)
    except ValueError:
        raise LoggerFileError(f"history date {date_node.value!r} is not a date (yyyy-MM-dd)", date_node.line) from None
    alarms = []
    section = entry.get("Alarm")
    for alarm in section.numbered() if section is not None else []:
        minutes = _integer(alarm.get("t Acc"), f"alarm {alarm.key} minutes (t Acc)")
        if minutes is None:
            raise LoggerFileError(f"alarm {alarm.key} of {day} has no accumulated minutes (t Acc)", alarm.line)
        alarms.append(AlarmDay(alarm.key, minutes, _clock(alarm.get("TS A"), "alarm time (TS A)"),
                               _integer(alarm.get("C A"), "alarm count (C A)")))
    return DeviceDay(
        day=day, line=entry.line,
        min_c=_number(entry.get("Min T"), "minimum (Min T)", unit),
        min_time=_clock(entry.get("TS Min T"), "time of the minimum (TS Min T)"),
        max_c=_number(entry.get("Max T"), "maximum (Max T)", unit),
        max_time=_clock(entry.get("TS Max T"), "time of the maximum (TS Max T)"),
        mean_c=_number(entry.get("Avrg T"), "mean (Avrg T)", unit),
        alarms=tuple(alarms),
        events=_integer(entry.get("Events"), "events"),
    )


def time_format(header: str, line: int) -> str:
    """The strptime format of a ``Data`` header's time column, e.g. ``yyyy-MM-dd hh:mm`` → ``%Y-%m-%d %H:%M``."""
    pattern = header
    for token, directive in _FORMAT_TOKENS:
        pattern = pattern.replace(token, directive)
    if "%Y" not in pattern and "%y" not in pattern or "%M" not in pattern:
        raise LoggerFileError(f"the Data header names no date and time format ({header!r})", line)
    return pattern


def _points(rows: list[tuple[int, str]], unit: str) -> tuple[Point, ...]:
    """The ``Data`` table: its header row, then one row per logged temperature (tens of thousands: kept lean)."""
    points: list[Point] = []
    fmt: str | None = None
    iso = False
    low, high = PLAUSIBLE_C
    new_point = tuple.__new__
    for number, raw in rows:
        cells = raw.split("\t")
        if fmt is None:
            if len(cells) < 3 or cells[2].strip() != "T":
                raise LoggerFileError("the Data table starts without its header (time, T, Out of limits)", number)
            fmt = time_format(cells[1].strip(), number)
            iso = fmt == "%Y-%m-%d %H:%M"
            continue
        if len(cells) < 3:
            raise LoggerFileError(f"a data row needs a time and a temperature, found {raw.strip()!r}", number)
        text, value_text = cells[1], cells[2]
        if value_text in MISSING or value_text.strip() in MISSING:
            continue  # the probe gave nothing (e.g. just after activation): no reading, not damage
        try:
            # The devices write ISO dates: the C parser then, strptime for any other declared format.
            local = (datetime.fromisoformat(text) if iso and len(text) == 16 and text[10] == " "
                     else datetime.strptime(text.strip(), fmt))
        except ValueError:
            raise LoggerFileError(f"time {text!r} does not match the header's format", number) from None
        try:
            value = float(value_text)
        except ValueError:
            raise LoggerFileError(f"temperature {value_text!r} is not a number", number) from None
        if unit != "C":
            value = to_celsius(value, unit)
        if not low <= value <= high:
            check_plausible(value, number)  # raises, naming the line
        # tuple.__new__: the named tuple without its Python-level constructor (this loop runs per reading).
        points.append(new_point(Point, (number, local, value, len(cells) > 3 and cells[3].strip() != "")))
    return tuple(points)


def read(text: str) -> Download:
    """Read a Fridge-tag / Q-tag report; raises :class:`LoggerFileError` naming the line."""
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines, start=1) if line.strip()), None)
    if first is None:
        raise LoggerFileError("the file is empty")
    if not lines[first - 1].startswith("Device:"):
        raise LoggerFileError("a Fridge-tag / Q-tag report begins with 'Device:'", first)
    # The Data table (tens of thousands of TAB-led rows) is cut off before the outline is read.
    data_at = next((i for i, line in enumerate(lines) if line.startswith("Data:")), None)
    table: list[tuple[int, str]] = []
    head = list(enumerate(lines, start=1)) if data_at is None else list(enumerate(lines[:data_at + 1], start=1))
    if data_at is not None:
        # Its TAB-led rows run to the next line that is not one (the Cert trailer), or to the end.
        end = data_at + 1
        while end < len(lines) and (not lines[end] or lines[end][0] == "\t"):
            end += 1
        table = [(number, line) for number, line in enumerate(lines[data_at + 1:end], start=data_at + 2) if line]
        head += list(enumerate(lines[end:], start=end + 1))
    root, rows = outline(head)
    marker = root.get("Marker")  # a Q-tag's marks: a table of their own, not temperatures
    if marker is not None:
        after = min((c.line for c in root.children if c.line > marker.line), default=len(lines) + 1)
        rows = [(number, raw) for number, raw in rows if not marker.line < number < after]
    if rows:
        raise LoggerFileError("a table row outside the Data section", rows[0][0])
    conf = root.get("Conf")
    if conf is None:
        raise LoggerFileError("the report has no Conf section (the device's configuration)")
    serial = conf.value_of("Serial")
    if not serial:
        raise LoggerFileError("the report's Conf section names no Serial", conf.line)
    unit_node = conf.get("Temp unit")
    unit = (unit_node.value if unit_node is not None else "C").upper()
    if unit not in ("C", "F"):
        raise LoggerFileError(f"unknown temperature unit {unit!r} (C or F)", unit_node.line if unit_node else None)
    interval = _integer(conf.get("Logging Interval"), "logging interval")
    hist = root.get("Hist")
    days = sorted((_day(entry, unit) for entry in hist.numbered()), key=lambda d: d.day) if hist else []
    seen: set[date] = set()
    for day in days:
        if day.day in seen:
            raise LoggerFileError(f"the history holds {day.day} twice", day.line)
        seen.add(day.day)
    points = _points(table, unit)
    if not days and not points:
        raise LoggerFileError("the report holds neither a history (Hist) nor data (Data)")
    signature = None
    cert = next((c for c in root.children if c.key in TRAILER_KEYS), None)
    if cert is not None:
        signature = "\n".join(lines[cert.line - 1:]).strip() + "\n"
    created = _moment(hist.get("TS Report Creation"), "report time") if hist is not None else None
    notes = (f"report created {created:%Y-%m-%d %H:%M} (device time)",) if created else ()
    return Download(
        format="fridgetag",
        model=root.value_of("Device") or "",
        serial=serial,
        firmware=root.value_of("Fw Vers"),
        unit=unit,
        interval=timedelta(minutes=interval) if interval else None,
        alarms=_alarms(conf, unit),
        days=tuple(days),
        points=points,
        signature=signature,
        notes=notes,
        created=created,
    )
