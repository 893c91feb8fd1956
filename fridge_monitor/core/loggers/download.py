"""What a logger file says, as plain values: the device, its alarms, its days and its points (pure)."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time, timedelta
from typing import NamedTuple

FORMATS = ("fridgetag", "logtag", "csv")
FORMAT_NAMES = {"fridgetag": "Berlinger Fridge-tag / Q-tag report", "logtag": "LogTag Analyzer CSV export",
                "csv": "CSV (time, temperature)"}
SIGNATURE_PRESENT = "device signature present, not verified"
SIGNATURE_ABSENT = "no device signature"
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


class Point(NamedTuple):
    """One logged temperature at the device's local time; ``flagged``: the device marked it out of limits.

    A named tuple, not a dataclass: a year of minute readings makes half a million of them.
    """

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


def signature_status(present: bool) -> str:
    """What can honestly be said of a file's signature trailer: Berlinger does not publish how its ``Sig`` is
    made, so a signature is shown as present and is never claimed to be verified."""
    return SIGNATURE_PRESENT if present else SIGNATURE_ABSENT
