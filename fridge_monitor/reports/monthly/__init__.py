"""The monthly temperature log of one fridge as a PDF, in the shape of the paper logs clinics keep.

:func:`fridge_monitor.reports.monthly.facts.gather` reads the month's facts into
a plain :class:`~fridge_monitor.reports.monthly.facts.MonthlyLog`;
:func:`fridge_monitor.reports.monthly.layout.render` draws it on A4 with reportlab
alone (standard Helvetica), its chart drawn by :mod:`fridge_monitor.reports.monthly.chart`
with ``reportlab.graphics``, so the same facts always give the same page.
:func:`monthly_pdf` does both; the export bundle calls it per fridge-month.
"""

from __future__ import annotations

import re
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.config import Config

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


def monthly_pdf(engine_or_session: sa.Engine | so.Session, fridge_name: str, year: int, month: int, *,
                generated_by: str, now: datetime, config: Config | None = None) -> bytes:
    """The monthly temperature log of one fridge as PDF bytes (raises ReportError for an unknown fridge or month).

    ``config`` supplies alarm profiles declared in the config file and ``[reports] workday_start``
    (defaults otherwise).
    """
    # Imported here: the facts import ReportError from this module.
    from fridge_monitor.reports.monthly.facts import gather
    from fridge_monitor.reports.monthly.layout import render

    if isinstance(engine_or_session, so.Session):
        return render(gather(engine_or_session, fridge_name, year, month, generated_by=generated_by, now=now,
                             config=config))
    with so.Session(engine_or_session) as session:
        if engine_or_session.dialect.name == "postgresql":  # one snapshot: the page and its audit head agree
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        return render(gather(session, fridge_name, year, month, generated_by=generated_by, now=now, config=config))
