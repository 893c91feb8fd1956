"""The staff checks of a fridge-month, as the paper log has them: date, check time, current, min, max, initials.

Every check time the site declares (``[[sites]] checks``) gets a row for each
day of the month so far, with the check recorded for it or MISSED once its
tolerance has passed; checks recorded outside the check times get rows of
their own. Each recorded check carries its signature.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import date, datetime, time
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.config import SiteDecl
from fridge_monitor.core.signatures import TEMPERATURE_CHECK
from fridge_monitor.core.staff_checks import slots
from fridge_monitor.reports.monthly.text import decimal
from fridge_monitor.store import models as m
from fridge_monitor.store import signatures


@dataclasses.dataclass(frozen=True, slots=True)
class CheckRow:
    """One line of the checks table: a check recorded, or a check time that passed without one."""

    day: date
    slot: str  # "08:00"; "" for a check outside the site's check times
    checked_at: datetime | None  # None: missed
    current_c: float | None = None
    min_c: float | None = None
    max_c: float | None = None
    monitor_c: float | None = None
    initials: str = ""
    comment: str | None = None
    signature: str | None = None

    @property
    def missed(self) -> bool:
        return self.checked_at is None


def initials(full_name: str | None, user: str) -> str:
    """How the paper log's "initials" column shows a person: the initials of the full name, and the user name."""
    letters = "".join(word[0] for word in (full_name or "").split() if word[:1].isalpha()).upper()
    return f"{letters} ({user})" if letters else user


def check_rows(session: so.Session, fridge: m.Fridge, site: SiteDecl | None, tz: Any, first: date, last: date,
               until: datetime) -> list[CheckRow]:
    """The month's checks, and the check times missed while the fridge was in service, up to ``until``, in time
    order."""
    fridge_id = fridge.id
    c, u = m.TemperatureCheck, m.User
    found = session.execute(sa.select(c, u.full_name).outerjoin(u, u.name == c.checked_by)
                            .where(c.fridge_id == fridge_id, c.day >= first, c.day <= last, c.checked_at < until)
                            .order_by(c.checked_at, c.id)).all()
    signed = signatures.of_records(session, TEMPERATURE_CHECK, [check.id for check, _ in found])
    recorded = [CheckRow(check.day, check.slot, check.checked_at, check.current_c, check.min_c, check.max_c,
                         check.monitor_c, initials(full_name, check.checked_by), check.comment,
                         "; ".join(s.shown() for s in signed.get(str(check.id), [])) or None)
                for check, full_name in found]
    answered = {(row.day, row.slot) for row in recorded}
    rows = list(recorded)
    if site is not None and site.checks:
        for slot in slots(site.checks, tz, first, last):
            due = slot.due + site.check_tolerance
            in_service = fridge.created_at <= slot.due and (fridge.retired_at is None or due <= fridge.retired_at)
            if in_service and due <= until and (slot.day, f"{slot.at:%H:%M}") not in answered:
                rows.append(CheckRow(slot.day, f"{slot.at:%H:%M}", None))
    return sorted(rows, key=lambda r: (r.day, r.slot or "99:99", r.missed, r.checked_at or until))


def table(rows: Sequence[CheckRow], times: Sequence[time], tz: Any, para: Callable[[str], Any], heading: Any,
          small: Any, base: Any, grid: Any, width: float) -> list[Any]:
    """The checks section of the monthly page."""
    from reportlab.lib import colors
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Table, TableStyle

    declared = ", ".join(f"{t:%H:%M}" for t in times)
    story: list[Any] = [Paragraph("Staff temperature checks (read on the unit's own display)", heading)]
    if not rows:
        story.append(Paragraph(f"No check was recorded this month (check times: {declared})." if times else
                               "This site declares no check times ([[sites]] checks) and no check was recorded.",
                               base))
        return story
    lines = [["Date", "Check", "Recorded", "Current", "Min", "Max", "Monitor", "Initials", "Comment and signature"]]
    for row in rows:
        if row.missed:
            lines.append([f"{row.day:%a %d}", row.slot, "MISSED", "", "", "", "", "", ""])
            continue
        assert row.checked_at is not None
        note = "\n".join(part for part in (row.comment, row.signature) if part)
        lines.append([f"{row.day:%a %d}", row.slot or "other", f"{row.checked_at.astimezone(tz):%H:%M}",
                      decimal(row.current_c), decimal(row.min_c), decimal(row.max_c), decimal(row.monitor_c),
                      para(row.initials), para(note)])
    built = Table(lines, colWidths=[13 * mm, 11 * mm, 13 * mm, 12 * mm, 10 * mm, 10 * mm, 12 * mm, 22 * mm,
                                    width - 103 * mm], repeatRows=1)
    style = [*grid.getCommands(), ("ALIGN", (3, 1), (6, -1), "RIGHT")]
    for index, row in enumerate(rows, start=1):
        if row.missed:
            style += [("TEXTCOLOR", (2, index), (2, index), colors.HexColor("#a51d2d")),
                      ("FONT", (2, index), (2, index), "Helvetica-Bold", 6.8)]
    built.setStyle(TableStyle(style))
    story += [built, Paragraph(
        f"Check times: {declared or 'none declared'}. Current, min and max as read on the unit's display, monitor = "
        "the monitor's reading at that moment, all in °C; times in the site's time zone. MISSED: no check recorded "
        "within the check's tolerance.", small)]
    return story
