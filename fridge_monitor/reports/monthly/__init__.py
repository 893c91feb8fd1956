"""The monthly temperature log of one fridge as a PDF, in the shape of the paper logs clinics keep.

:func:`fridge_monitor.reports.monthly.facts.gather` reads the month's facts into
a plain :class:`~fridge_monitor.reports.monthly.facts.MonthlyLog`;
:func:`fridge_monitor.reports.monthly.layout.render` draws it on A4 with reportlab
alone (standard Helvetica), its chart drawn by :mod:`fridge_monitor.reports.monthly.chart`
with ``reportlab.graphics``, so the same facts always give the same page.
:func:`monthly_pdf` does both; the export bundle calls it per fridge-month.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.config import Config
from fridge_monitor.reports.monthly.facts import gather
from fridge_monitor.reports.monthly.layout import render
from fridge_monitor.reports.monthly.month import ReportError, filename, parse_month

__all__ = ["ReportError", "filename", "monthly_pdf", "parse_month"]


def monthly_pdf(engine_or_session: sa.Engine | so.Session, fridge_name: str, year: int, month: int, *,
                generated_by: str, now: datetime, config: Config | None = None) -> bytes:
    """The monthly temperature log of one fridge as PDF bytes (raises ReportError for an unknown fridge or month).

    ``config`` supplies alarm profiles declared in the config file and ``[reports] workday_start``
    (defaults otherwise).
    """
    if isinstance(engine_or_session, so.Session):
        return render(gather(engine_or_session, fridge_name, year, month, generated_by=generated_by, now=now,
                             config=config))
    with so.Session(engine_or_session) as session:
        if engine_or_session.dialect.name == "postgresql":  # one snapshot: the page and its audit head agree
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        return render(gather(session, fridge_name, year, month, generated_by=generated_by, now=now, config=config))
