"""Files downloaded from stand-alone data loggers, read into plain values (pure).

Three families, one reader each:

- ``fridgetag``: Berlinger Fridge-tag and Q-tag text reports (the ``.txt`` the
  device writes to USB beside its PDF), :mod:`.berlinger`;
- ``logtag``: LogTag Analyzer CSV exports, :mod:`.logtag`;
- ``csv``: a plain ``time,temperature_c`` CSV for any other logger, :mod:`.plain_csv`.

Every reader returns a :class:`Download` or raises :class:`LoggerFileError`
naming the line. Times in a download are the device's local wall-clock time,
without offset; :mod:`.local_time` places them in a time zone.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time, timedelta

FORMATS = ("fridgetag", "logtag", "csv")
FORMAT_NAMES = {"fridgetag": "Berlinger Fridge-tag / Q-tag report", "logtag": "LogTag Analyzer CSV export",
                "csv": "CSV (time, temperature)"}
PLAUSIBLE_C = (-100.0, 100.0)  # as for MQTT readings: beyond this a logger's value is damage, not weather


class LoggerFileError(ValueError):
    """A logger file that cannot be read: one sentence, naming the line where it went wrong (1-based)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(f"line {line}: {message}" if line is not None else message)
        self.line = line


@dataclasses.dataclass(frozen=True, slots=True)
class AlarmSetting:
    """One of the device's configured alarms: beyond ``limit_c`` for ``delay_min`` minutes (``T AL``, ``t AL``).

    ``cumulative`` says whether the minutes add up over separate periods (Q-tag types 3 and 4);
    None where the file does not say.
    """

    number: str
    direction: str  # "high" or "low"
    limit_c: float
    delay_min: int
    cumulative: bool | None = None

    @property
    def rule(self) -> str:
        """The name an alert for this alarm carries: ``logger-heat`` or ``logger-cold``."""
        return "logger-heat" if self.direction == "high" else "logger-cold"


@dataclasses.dataclass(frozen=True, slots=True)
class AlarmDay:
    """What one alarm accumulated on one day: ``t Acc`` minutes beyond its limit, first at ``TS A``, ``C A``."""

    number: str
    minutes: int
    first: time | None = None
    count: int | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class DeviceDay:
    """The device's own summary of one local day (a ``Hist`` entry): extremes with their times, mean, alarms."""

    day: date
    line: int
    min_c: float | None
    min_time: time | None
    max_c: float | None
    max_time: time | None
    mean_c: float | None
    alarms: tuple[AlarmDay, ...] = ()
    events: int | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Point:
    """One logged temperature at the device's local time; ``flagged``: the device marked it out of limits."""

    line: int
    local: datetime  # naive: the device's wall clock
    temperature_c: float
    flagged: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class Download:
    """A logger file as read: the device, its alarm settings, its days and its logged points."""

    format: str
    model: str
    serial: str
    firmware: str | None = None
    unit: str = "C"  # the unit the file is written in; every value here is °C
    interval: timedelta | None = None
    alarms: tuple[AlarmSetting, ...] = ()
    days: tuple[DeviceDay, ...] = ()
    points: tuple[Point, ...] = ()
    signature: str | None = None  # the Cert / Sig trailer, as written
    created: datetime | None = None  # when the device wrote the report (its local time), if it says
    notes: tuple[str, ...] = ()  # what the reader assumed, e.g. which date order

    def alarm(self, number: str) -> AlarmSetting | None:
        return next((a for a in self.alarms if a.number == number), None)


def reached(setting: AlarmSetting, minutes: int) -> bool:
    """Whether ``minutes`` beyond the limit in a day reach the alarm (a zero delay alarms at the first minute)."""
    return minutes > 0 and minutes >= setting.delay_min


def to_celsius(value: float, unit: str) -> float:
    """A logger's value in ``unit`` ("C" or "F") as °C, to 0.01 °C (loggers write tenths)."""
    return round((value - 32.0) * 5.0 / 9.0, 2) if unit == "F" else value


def check_plausible(value_c: float, line: int) -> float:
    low, high = PLAUSIBLE_C
    if not low <= value_c <= high:
        raise LoggerFileError(f"temperature {value_c:g} °C is outside the plausible range {low:g}..{high:g} °C",
                              line)
    return value_c


def detect(name: str, data: bytes) -> str | None:
    """Which family a file is, from its first bytes (and its name as a last resort); None if unknown."""
    head = data[:4096].decode("utf-8-sig", errors="replace").lstrip()
    if head.startswith("Device:") and "Conf:" in head:
        return "fridgetag"
    lowered = head.lower()
    if "logtag" in lowered or "serial #" in lowered or lowered.startswith("serial number"):
        return "logtag"
    first = lowered.splitlines()[0] if lowered else ""
    if first.replace(" ", "").startswith(("time,", '"time",')) or name.lower().endswith(".csv"):
        return "csv"
    return None


def read(fmt: str, data: bytes, *, time_format: str | None = None) -> Download:
    """Read ``data`` as a ``fmt`` file (one of :data:`FORMATS`); raises :class:`LoggerFileError`."""
    from fridge_monitor.core.loggers import berlinger, logtag, plain_csv

    text = decode(data)
    if fmt == "fridgetag":
        return berlinger.read(text)
    if fmt == "logtag":
        return logtag.read(text)
    if fmt == "csv":
        return plain_csv.read(text, time_format=time_format)
    raise LoggerFileError(f"unknown logger file format {fmt!r}; one of {', '.join(FORMATS)}")


def decode(data: bytes) -> str:
    """The file's text: UTF-8 (with or without BOM), UTF-16 with BOM (LogTag Analyzer can write it), else Latin-1
    (the °-sign of older exports); NUL bytes mean it is not a text file."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if b"\x00" in data:
        raise LoggerFileError("this is not a text file (it holds NUL bytes); choose the logger's .txt or .csv file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")
