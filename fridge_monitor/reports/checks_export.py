"""Staff temperature checks as CSV (``export checks``, and ``checks.csv`` in export bundles)."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any, TextIO

import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.core import csv_cells
from fridge_monitor.core.times import iso_utc
from fridge_monitor.store import models as m

CHECKS_HEADER = ["id", "fridge_id", "fridge", "site", "day", "check_time", "checked_at_utc", "checked_by",
                 "current_c", "min_c", "max_c", "monitor_c", "comment"]


def export_checks(engine: sa.Engine, out: TextIO, start: datetime, end: datetime, *, fridge: str | None = None,
                  tz: tzinfo | None = None) -> int:
    """Every check recorded in [start, end), oldest first: what the display read, the monitor then, who, when."""
    c, f, s = m.TemperatureCheck, m.Fridge, m.Site
    query = (sa.select(c, f.name, s.name).join(f, f.id == c.fridge_id).join(s, s.id == f.site_id)
             .where(c.checked_at >= start, c.checked_at < end).order_by(c.checked_at, c.id))
    if fridge is not None:
        query = query.where(f.name == fridge)
    header = CHECKS_HEADER + (["checked_at_local"] if tz is not None else [])
    with so.Session(engine) as session:
        rows = [_row(check, fridge_name, site, tz) for check, fridge_name, site in session.execute(query)]
    return csv_cells.write_all(out, header, rows)


def _row(check: Any, fridge: str, site: str, tz: tzinfo | None) -> list[Any]:
    def number(value: float | None) -> str:
        return "" if value is None else repr(value)  # exactly: a check's signature is bound to it

    row = [check.id, check.fridge_id, fridge, site, check.day.isoformat(), check.slot, iso_utc(check.checked_at),
           check.checked_by,
           number(check.current_c), number(check.min_c), number(check.max_c), number(check.monitor_c),
           check.comment or ""]
    if tz is not None:
        row.append(csv_cells.local_or_empty(check.checked_at, tz))
    return row
