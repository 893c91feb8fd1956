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

from fridge_monitor.core.loggers import berlinger, logtag, plain_csv
from fridge_monitor.core.loggers.download import (
    FORMAT_NAMES,
    FORMATS,
    AlarmDay,
    AlarmSetting,
    DeviceDay,
    Download,
    LoggerFileError,
    Point,
    reached,
    signature_status,
)

__all__ = ["FORMATS", "FORMAT_NAMES", "AlarmDay", "AlarmSetting", "DeviceDay", "Download", "LoggerFileError",
           "Point", "decode", "detect", "read", "reached", "signature_status"]

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
