"""Which month a log is of, and what its file is called; the error every part of the report raises."""

from __future__ import annotations

import re

MONTH_FORMAT = re.compile(r"^(\d{4})-(\d{2})$")


class ReportError(ValueError):
    """A report that cannot be made; the message says why, in words for the person asking."""


def parse_month(text: str) -> tuple[int, int]:
    """``YYYY-MM`` as (year, month), or a ReportError naming the expected form."""
    found = MONTH_FORMAT.match((text or "").strip())
    if not found or not 1 <= int(found.group(2)) <= 12 or int(found.group(1)) < 2000:
        raise ReportError(f"the month must be written YYYY-MM, for example 2026-11, not {text!r}")
    return int(found.group(1)), int(found.group(2))


def filename(fridge: str, year: int, month: int) -> str:
    """A file name for the month's log, safe on every system: ``temperature-log-<fridge>-YYYY-MM.pdf``."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", fridge).strip("-.") or "fridge"
    return f"temperature-log-{safe}-{year:04d}-{month:02d}.pdf"
