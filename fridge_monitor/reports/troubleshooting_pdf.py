"""An excursion's troubleshooting record as a one-page PDF, laid out like the CDC's paper form."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

import sqlalchemy.orm as so

from fridge_monitor.config import Config
from fridge_monitor.core.signatures import EXCURSION_RECORD
from fridge_monitor.core.troubleshooting import Entry, Facts, missing, since_in_range
from fridge_monitor.reports.monthly.text import celsius, duration, plain
from fridge_monitor.store import models as m
from fridge_monitor.store import signatures, troubleshooting


def filename(fridge: str, excursion_id: int) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", fridge).strip("-.") or "fridge"
    return f"troubleshooting-record-{safe}-{excursion_id}.pdf"


def record_pdf(session: so.Session, excursion: m.Excursion, *, generated_by: str, now: datetime,
               config: Config | None = None) -> tuple[bytes, str]:
    """The record's newest version (with the facts it was saved with), or a blank form with the facts as they
    stand, as PDF bytes and a file name."""
    row = troubleshooting.current(session, excursion.id)
    if row is None:
        facts, entry, saved = troubleshooting.facts(session, excursion, config), Entry(), None
    else:
        facts, entry = Facts.from_json(row.facts), troubleshooting.entry_of(row)
        saved = (row.version, row.saved_by, row.saved_at, row.complete, row.confirmed_by)
    shown = [s.shown() for s in signatures.of_records(session, EXCURSION_RECORD, [row.id]).get(str(row.id), [])
             ] if row else []
    return render(facts, entry, saved, shown, generated_by=generated_by, now=now), filename(facts.fridge, excursion.id)


def render(facts: Facts, entry: Entry, saved: tuple[int, str, datetime, bool, str | None] | None,
           signed: Sequence[str], *, generated_by: str, now: datetime) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    tz = ZoneInfo(facts.timezone)
    base = ParagraphStyle("base", fontName="Helvetica", fontSize=7.8, leading=9.6)
    bold = ParagraphStyle("bold", parent=base, fontName="Helvetica-Bold")
    heading = ParagraphStyle("heading", parent=base, fontName="Helvetica-Bold", fontSize=9.5, leading=12,
                             spaceBefore=5, spaceAfter=2)
    title = ParagraphStyle("title", parent=base, fontName="Helvetica-Bold", fontSize=14, leading=17)
    width = A4[0] - 30 * mm

    def para(text: str, style: ParagraphStyle = base) -> Paragraph:
        return Paragraph(escape(plain(text)).replace("\n", "<br/>"), style)

    def local(at: datetime | None) -> str:
        return at.astimezone(tz).strftime("%Y-%m-%d %H:%M") if at else ""

    def grid(rows: list[list[Any]], widths: list[float]) -> Table:
        return Table([[para(c) if isinstance(c, str) else c for c in r] for r in rows], colWidths=widths,
                     style=TableStyle([("BOX", (0, 0), (-1, -1), 0.6, colors.black),
                                       ("INNERGRID", (0, 0), (-1, -1), 0.2, colors.HexColor("#b8bec8")),
                                       ("VALIGN", (0, 0), (-1, -1), "TOP"),
                                       ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#eef1f5"))]))

    gaps = missing(entry, facts)
    complete = saved is not None and saved[3]
    state = ("COMPLETE" if complete else "INCOMPLETE: " + ("; ".join(gaps) if gaps else "not yet signed"))
    since = since_in_range(facts)
    label = [["Storage unit", f"{facts.fridge} ({facts.kind}) at {facts.site}; allowed {facts.allowed}; times in "
                              f"{facts.timezone}"],
             ["Event", f"{', '.join(facts.rules)}: from {local(facts.started_at)} to "
                       f"{local(facts.ended_at) or 'still going on'}"
                       + (f"; alarm condition met {local(facts.alarm_at)}" if facts.alarm_at else "")],
             ["Time out of range", f"{duration(facts.time_beyond_s) or '0 min'}"
                                   + (f", of which {duration(facts.unknown_s)} without readings" if facts.unknown_s
                                      else "")
                                   + (f"; {duration(since.total_seconds())} since the last in-range reading "
                                      f"({local(facts.last_in_range_at)})" if since is not None else "")],
             ["Temperatures", f"highest {celsius(facts.peak_c)}, lowest {celsius(facts.low_c)}, MKT "
                              f"{celsius(facts.mkt_c)}, {facts.readings} readings"],
             ["Found", f"{local(entry.found_at) or '-'} by {entry.found_by or '-'}"],
             ["Room temperature", celsius(entry.room_c)],
             ["Unit when found", f"{celsius(entry.found_c)} (min {celsius(entry.found_min_c)}, max "
                                 f"{celsius(entry.found_max_c)})"],
             ["Other contents of the unit", entry.other_contents or "-"],
             ["Earlier problems with the unit", "\n".join(facts.earlier) + ("\n" if facts.earlier else "")
              + (entry.earlier_problems or ("" if facts.earlier else "none recorded in the last 12 months"))],
             ["Action taken, by whom", entry.actions or "-"],
             ["Acknowledgements", "\n".join(facts.acknowledgements) or "none"],
             ["Manufacturer or programme contacted", f"{entry.contacted or '-'}; case number "
                                                     f"{entry.case_number or '-'}"],
             ["Their answer", entry.contact_answer or "-"],
             ["Outcome", entry.outcome or "-"]]
    story: list[Any] = [para("Vaccine Storage Troubleshooting Record", title),
                        para(f"Excursion {facts.excursion_id} - {facts.fridge} - {state}", bold), Spacer(0, 2 * mm),
                        grid(label, [45 * mm, width - 45 * mm]), para("Affected lots", heading)]
    if facts.lots:
        rows: list[list[Any]] = [["Product", "Lot", "Expiry", "Units", "Funding", "Outcome / disposition"]]
        for lot in facts.lots:
            given = entry.lot(lot.lot_id)
            rows.append([lot.product, lot.lot_number, lot.expiry, str(lot.quantity), given.funding or lot.funding
                         or "-", "\n".join(x for x in (given.outcome, lot.disposition) if x) or "-"])
        story.append(grid(rows, [42 * mm, 24 * mm, 18 * mm, 11 * mm, 16 * mm, width - 111 * mm]))
    else:
        story.append(para("No lot was put under review for this excursion."))
    story.append(para("Record", heading))
    if saved is not None:
        version, by, at, _complete, confirmed = saved
        story.append(para(f"Version {version}, saved by {by} on {local(at)}"
                          + (f"; confirmed complete by {confirmed}" if confirmed else "")))
    else:
        story.append(para("Not filled in yet: the facts above are what Fridge Monitor's records say."))
    story += [para(s, bold) for s in signed]
    story.append(Spacer(0, 3 * mm))
    story.append(para(f"Generated {now.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC by {generated_by} - Fridge Monitor"))
    buffer = io.BytesIO()
    SimpleDocTemplate(buffer, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=12 * mm,
                      bottomMargin=12 * mm, title=plain(f"Troubleshooting record {facts.fridge} {facts.excursion_id}"),
                      author=plain(generated_by), creator="Fridge Monitor", invariant=True).build(story)
    return buffer.getvalue()

