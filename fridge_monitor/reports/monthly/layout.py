"""The monthly log's page: a :class:`~fridge_monitor.reports.monthly.facts.MonthlyLog` drawn on A4 with reportlab."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.sax.saxutils import escape

from fridge_monitor.core.loggers.alarms import DISAGREEMENT_C
from fridge_monitor.reports.monthly import checks
from fridge_monitor.reports.monthly.chart import chart
from fridge_monitor.reports.monthly.facts import Day, MonthlyLog
from fridge_monitor.reports.monthly.text import celsius, decimal, duration, plain


def render(log: MonthlyLog) -> bytes:
    """The log as an A4 portrait PDF (one page, flowing on when there is more to say)."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    tz = log.tz

    def local(at: datetime | None) -> str:
        return at.astimezone(tz).strftime("%d %b %H:%M") if at else ""

    base = ParagraphStyle("base", fontName="Helvetica", fontSize=7.5, leading=9)
    small = ParagraphStyle("small", parent=base, fontSize=6.5, leading=7.8)
    heading = ParagraphStyle("heading", parent=base, fontName="Helvetica-Bold", fontSize=9.5, leading=12,
                             spaceBefore=5, spaceAfter=2)
    title = ParagraphStyle("title", parent=base, fontName="Helvetica-Bold", fontSize=14, leading=17)

    def para(text: str, style: ParagraphStyle = small) -> Paragraph:
        return Paragraph(escape(plain(text)).replace("\n", "<br/>"), style)

    grid = TableStyle([
        ("FONT", (0, 0), (-1, -1), "Helvetica", 6.8),
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 6.8),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.black),
        ("INNERGRID", (0, 1), (-1, -1), 0.2, colors.HexColor("#b8bec8")),
        ("BOX", (0, 0), (-1, -1), 0.6, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 1.2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.2),
        ("LEFTPADDING", (0, 0), (-1, -1), 2),
        ("RIGHTPADDING", (0, 0), (-1, -1), 2),
    ])
    width = A4[0] - 30 * mm
    story: list[Any] = []

    # Header: what this sheet is about.
    story.append(Table([[Paragraph("Monthly temperature log", title),
                         Paragraph(escape(plain(f"{log.fridge} - {log.month_name}")),
                                   ParagraphStyle("right", parent=title, alignment=2))]],
                       colWidths=[width * 0.5, width * 0.5],
                       style=[("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0)]))
    profile = log.alarm_profile + (f" ({log.profile_rules})" if log.profile_rules else "")
    facts = [
        ["Clinic / site", log.site, "Fridge", log.fridge, "Kind", log.kind],
        ["Allowed range", f"{celsius(log.low_c)} to {celsius(log.high_c)}", "Month",
         f"{log.month_name} ({log.start.astimezone(tz).date().isoformat()} to "
         f"{(log.end - timedelta(seconds=1)).astimezone(tz).date().isoformat()})", "Time zone", log.timezone],
    ]
    head = Table([[para(c, base) for c in r] for r in facts] + [[para("Alarm profile", base), para(profile, base)]],
                 colWidths=[22 * mm, 38 * mm, 12 * mm, 59 * mm, 17 * mm, width - 148 * mm])
    head.setStyle(TableStyle([
        ("SPAN", (1, 2), (-1, 2)), ("BOX", (0, 0), (-1, -1), 0.6, colors.black),
        ("INNERGRID", (0, 0), (-1, -1), 0.2, colors.HexColor("#b8bec8")),
        ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#eef1f5")),
        ("BACKGROUND", (2, 0), (2, 1), colors.HexColor("#eef1f5")),
        ("BACKGROUND", (4, 0), (4, 1), colors.HexColor("#eef1f5")),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
    ]))
    story += [Spacer(0, 2 * mm), head, Spacer(0, 2 * mm)]

    # The chart, or why there is none.
    if log.summary.readings:
        story.append(chart(log, width, 58 * mm))
    else:
        story.append(Paragraph(escape(f"No data: no reading was recorded for {log.fridge} in {log.month_name}. "
                                      "The temperature of this month is unknown, so there is no chart."),
                               ParagraphStyle("nodata", parent=base, fontName="Helvetica-Bold", fontSize=10,
                                              leading=13, textColor=colors.HexColor("#a51d2d"),
                                              borderColor=colors.HexColor("#a51d2d"), borderWidth=0.8,
                                              borderPadding=6, spaceBefore=4, spaceAfter=6)))

    # Summary of the month.
    s = log.summary
    summary = [["Minimum", "Maximum", "Mean", "MKT (USP)", "Time out of range", "Coverage", "Readings", "Excursions"],
               [celsius(s.min_c), celsius(s.max_c), celsius(s.mean_c), celsius(s.mkt_c),
                duration(s.out_of_range_s) or "0 min",
                "-" if s.coverage is None else f"{s.coverage * 100:.1f} %", str(s.readings), str(len(log.excursions))]]
    story += [Paragraph("Summary of the month", heading),
              Table(summary, colWidths=[width / 8] * 8, style=grid)]

    # The daily log, two halves side by side like a paper sheet.
    story.append(Paragraph(
        f"Daily minimum and maximum (site-local days, {escape(log.timezone)}; first = first reading of the workday)",
        heading))
    columns = ["Day", "First", "Min", "Max", "Out of range", "Exc.", "Mark"]
    rows = [_day_row(d, log) for d in log.days]
    half = (len(rows) + 1) // 2
    left, right = rows[:half], rows[half:] + [[""] * len(columns)] * (half - len(rows[half:]))
    widths = [11 * mm, 19 * mm, 10 * mm, 10 * mm, 16 * mm, 8 * mm, width / 2 - 76 * mm]
    daily = Table([columns + [""] + columns] + [a + [""] + b for a, b in zip(left, right, strict=False)],
                  colWidths=widths + [4 * mm] + widths, repeatRows=1)
    daily_style = [
        ("FONT", (0, 0), (-1, -1), "Helvetica", 6.8), ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 6.8),
        ("LINEBELOW", (0, 0), (6, 0), 0.6, colors.black), ("LINEBELOW", (8, 0), (14, 0), 0.6, colors.black),
        ("INNERGRID", (0, 1), (6, -1), 0.2, colors.HexColor("#b8bec8")),
        ("INNERGRID", (8, 1), (14, -1), 0.2, colors.HexColor("#b8bec8")),
        ("BOX", (0, 0), (6, -1), 0.6, colors.black), ("BOX", (8, 0), (14, -1), 0.6, colors.black),
        ("ALIGN", (2, 1), (5, -1), "RIGHT"), ("ALIGN", (10, 1), (13, -1), "RIGHT"),
        ("TOPPADDING", (0, 0), (-1, -1), 0.8), ("BOTTOMPADDING", (0, 0), (-1, -1), 0.8),
        ("LEFTPADDING", (0, 0), (-1, -1), 2), ("RIGHTPADDING", (0, 0), (-1, -1), 2),
    ]
    for index, d in enumerate(log.days):
        r, c = (index % half) + 1, 0 if index < half else 8
        if d.future:
            daily_style.append(("TEXTCOLOR", (c, r), (c + 6, r), colors.HexColor("#8a94a3")))
        elif d.no_data:
            daily_style += [("BACKGROUND", (c, r), (c + 6, r), colors.HexColor("#eceff3")),
                            ("FONT", (c + 6, r), (c + 6, r), "Helvetica-Bold", 6.8)]
        elif _day_out(d, log):
            daily_style += [("BACKGROUND", (c, r), (c + 6, r), colors.HexColor("#fbe3e4")),
                            ("FONT", (c + 6, r), (c + 6, r), "Helvetica-Bold", 6.8),
                            ("TEXTCOLOR", (c + 6, r), (c + 6, r), colors.HexColor("#a51d2d"))]
    daily.setStyle(TableStyle(daily_style))
    story.append(daily)
    story.append(Paragraph("Mark: OUT = a reading outside the allowed range or time out of range that day; "
                           "no data = no reading that day. Out of range = known time outside the range.", small))

    if log.device_days:
        story += _device_days(log, para, heading, small, grid, width, local)
    if log.checks or log.check_times:
        story += checks.table(log.checks, log.check_times, tz, para, heading, small, base, grid, width)

    # Excursions with their acknowledgement.
    story.append(Paragraph("Excursions", heading))
    if log.excursions:
        rows = [["Rule", "Start", "End", "Duration", "Highest", "Lowest", "MKT", "Acknowledged by", "Action taken"]]
        for e in log.excursions:
            rows.append([
                para(f"{e.rule} ({e.severity})"), local(e.started_at), local(e.ended_at) or "ongoing",
                duration((e.ended_at - e.started_at).total_seconds()) if e.ended_at else "ongoing",
                decimal(e.peak_c), decimal(e.low_c), decimal(e.mkt_c),
                para(f"{e.acknowledged_by}\n{local(e.acknowledged_at)}" if e.acknowledged_by
                     else "NOT ACKNOWLEDGED"),
                para("\n".join(x for x in (e.action, e.signature, e.record) if x)),
            ])
        story.append(Table(rows, colWidths=[20 * mm, 17 * mm, 17 * mm, 16 * mm, 11 * mm, 11 * mm, 10 * mm,
                                            23 * mm, width - 125 * mm], style=grid, repeatRows=1))
        story.append(Paragraph("Highest, lowest and MKT in °C; times in the site's time zone.", small))
    else:
        story.append(Paragraph("No excursion this month.", base))

    # Lots exposed, and what became of them.
    story.append(Paragraph("Affected lots and their disposition", heading))
    if log.lots:
        rows = [["Product", "Lot", "Expiry", "Exposure", "Peak", "Disposition"]]
        for lot in log.lots:
            if lot.decision is None:
                decision = "AWAITING DISPOSITION"
            else:
                decision = lot.decision + (f", manufacturer's ref. {lot.reference}" if lot.reference else "")
                decision += f"\nby {lot.decided_by}, {local(lot.decided_at)}"
                if lot.signature:
                    decision += f"\n{lot.signature}"
            exposure = (f"{local(lot.started_at)} to {local(lot.ended_at) or 'ongoing'}\n"
                        f"{duration(lot.exposure_s)} out of range")
            rows.append([para(lot.product), para(lot.lot_number), lot.expiry.isoformat(), para(exposure),
                         celsius(lot.peak_c), para(decision)])
        story.append(Table(rows, colWidths=[40 * mm, 22 * mm, 16 * mm, 40 * mm, 14 * mm, width - 132 * mm],
                           style=grid, repeatRows=1))
    else:
        story.append(Paragraph("No lot was put under review for this fridge this month.", base))

    # Sensors and their calibration.
    story.append(Paragraph("Sensors and calibration", heading))
    if log.sensors:
        rows = [["Sensor", "Role", "Calibration certificate", "Calibration due", "Status (at month end)"]]
        flagged = ParagraphStyle("flagged", parent=small, fontName="Helvetica-Bold",
                                 textColor=colors.HexColor("#a51d2d"))
        rows += [[para(x.id), x.role, para(x.certificate or "not recorded"), x.due.isoformat() if x.due else "-",
                  para(x.status, flagged if x.status.startswith("not calibrated") else small)]
                 for x in log.sensors]
        table = Table(rows, colWidths=[50 * mm, 14 * mm, 38 * mm, 20 * mm, width - 122 * mm], repeatRows=1,
                      style=grid)
        story.append(KeepTogether([table]))
    else:
        story.append(Paragraph("No sensor was assigned to this fridge this month: it was not monitored.", base))

    story += _review(log, para, heading, base, local)

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=12 * mm, bottomMargin=16 * mm,
        title=plain(f"Monthly temperature log {log.fridge} {log.year:04d}-{log.month:02d}"),
        author=plain(log.generated_by), subject=plain(f"{log.site} - {log.fridge}"), creator="Fridge Monitor",
        invariant=True,
    )
    doc.build(story, canvasmaker=_footer_canvas(log))
    return buffer.getvalue()


def _device_days(log: MonthlyLog, para: Callable[[str], Any], heading: Any, small: Any, grid: Any, width: float,
                 local: Callable[[datetime | None], str]) -> list[Any]:
    """The data loggers' own days (marked as the device's), each beside the day computed from readings."""
    from reportlab.lib import colors
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Table, TableStyle

    rows = [["Day", "Logger", "Min (device)", "Max (device)", "Mean", "Alarm time", "From readings", "Mark"]]
    for d in log.device_days:
        low, high = d.computed
        rows.append([d.day.strftime("%d %a") + ("" if d.complete else " (part)"), para(d.sensor),
                     f"{celsius(d.min_c)} {local(d.min_at)[-5:]}", f"{celsius(d.max_c)} {local(d.max_at)[-5:]}",
                     celsius(d.mean_c), para(d.alarms or "-"),
                     f"{celsius(low)} .. {celsius(high)}" if low is not None else "no readings",
                     "DIFFERS" if d.disagrees else ""])
    table = Table(rows, colWidths=[16 * mm, 40 * mm, 22 * mm, 22 * mm, 12 * mm, 34 * mm, 22 * mm,
                                   width - 168 * mm], repeatRows=1)
    style = [*grid.getCommands()]
    for index, d in enumerate(log.device_days, start=1):
        if d.disagrees:
            style += [("TEXTCOLOR", (7, index), (7, index), colors.HexColor("#a51d2d")),
                      ("FONT", (7, index), (7, index), "Helvetica-Bold", 6.8)]
    table.setStyle(TableStyle(style))
    only = (". This fridge has no readings this month (its logger keeps a daily history only): these days are "
            "its daily log" if not log.summary.readings else "")
    return [Paragraph("Data logger's own days (device values)", heading), table,
            Paragraph(f"Values the logger computed itself from its own samples (it samples every minute), in °C, "
                      f"times in the site's time zone{only}. DIFFERS: a complete day whose device minimum or "
                      f"maximum is more than {DISAGREEMENT_C} °C from the one computed from the readings.", small)]


def _review(log: MonthlyLog, para: Callable[..., Any], heading: Any, base: Any,
            local: Callable[[datetime | None], str]) -> list[Any]:
    """The supervisor's review: on the copy frozen at signing; other copies say they are not one."""
    from reportlab.platypus import KeepTogether, Paragraph

    r = log.review
    if r is None:
        return [Paragraph("Monthly review", heading),
                para("Not a signed review: this copy was generated from the records as they stood at the time in "
                     "the footer. A signed month is downloaded as the copy frozen when it was signed.", base)]
    items = "\n".join(f"- {item}" for item in r.open_items) or "none"
    lines = [para(f"Reviewed by {r.reviewed_by} on {r.reviewed_at.astimezone(log.tz):%Y-%m-%d %H:%M %Z}. This is "
                  "the copy frozen when the month was signed: later changes are listed in an addendum, never here.",
                  base),
             para(f"Open items at review:\n{items}", base),
             para(f"Comment: {r.comment or '(none)'}", base)]
    if r.signature:
        lines.append(para(r.signature, base))
    return [KeepTogether([Paragraph("Monthly review (signed)", heading), *lines])]


def _day_row(d: Day, log: MonthlyLog) -> list[str]:
    first = f"{d.first_at.astimezone(log.tz):%H:%M} {decimal(d.first_c)}" if d.first_at is not None else ""
    if d.future or d.no_data:  # a reading from the day before may hold into it, but nothing was measured
        return [f"{d.day:%a} {d.day.day:02d}", "", "", "", "", str(d.excursions) if d.excursions else "",
                _mark(d, log)]
    out = duration(d.out_of_range_s)
    return [f"{d.day:%a} {d.day.day:02d}", first, decimal(d.min_c), decimal(d.max_c), out,
            str(d.excursions) if d.excursions else "", _mark(d, log)]


def _day_out(d: Day, log: MonthlyLog) -> bool:
    beyond = d.readings and (d.min_c is not None and d.min_c < log.low_c
                             or d.max_c is not None and d.max_c > log.high_c)
    return bool(beyond or (d.out_of_range_s or 0) > 0)


def _mark(d: Day, log: MonthlyLog) -> str:
    if d.future:
        return "not yet"
    if d.no_data:
        return "no data"
    return "OUT" if _day_out(d, log) else "ok"


def _footer_canvas(log: MonthlyLog) -> Callable[..., Any]:
    """A canvas that writes "page N of M" (known only at the end) and the provenance on every page."""
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas

    head = (f"event {log.audit_head[0]}, SHA-256 {log.audit_head[1]}" if log.audit_head
            else "empty (no event recorded yet)")
    lines = [
        plain(f"Generated {log.generated_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC by "
               f"{log.generated_by} - Fridge Monitor"),
        plain(f"Audit trail chain head at that time: {head}"),
    ]

    class FooterCanvas(Canvas):  # type: ignore[misc]  # reportlab ships no type hints
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 (reportlab's name)
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                width = self._pagesize[0]
                self.setFont("Helvetica", 6.5)
                self.setFillGray(0.25)
                self.line(15 * mm, 13 * mm, width - 15 * mm, 13 * mm)
                self.drawString(15 * mm, 10 * mm, lines[0])
                self.drawString(15 * mm, 7 * mm, lines[1])
                self.setFont("Helvetica-Bold", 7)
                self.drawRightString(width - 15 * mm, 10 * mm, f"page {number} of {total}")
                super().showPage()
            super().save()

    return FooterCanvas
