"""The monthly temperature log of one fridge as a PDF, in the shape of the paper logs clinics keep.

:func:`gather` reads the month's facts into a plain :class:`MonthlyLog`;
:func:`render` draws it on A4 with reportlab alone (standard Helvetica, chart
drawn with ``reportlab.graphics``), so the same facts always give the same
page. :func:`monthly_pdf` does both; the export bundle calls it per fridge-month.
"""

from __future__ import annotations

import calendar
import dataclasses
import functools
import io
import math
import re
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.alerts.evaluate import fridge_facts
from fridge_monitor.config import Config
from fridge_monitor.core import daily
from fridge_monitor.core.charts import Series
from fridge_monitor.core.rules import AlarmProfile
from fridge_monitor.core.stats import period_stats
from fridge_monitor.reports import temperature_log
from fridge_monitor.store import models as m
from fridge_monitor.store.overview import history, local_days, segments

CALIBRATION_WARNING = timedelta(days=30)
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


# -- the facts -----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Day:
    """One row of the daily log (site-local day)."""

    day: date
    min_c: float | None
    max_c: float | None
    readings: int
    first_at: datetime | None  # the first reading of the workday (``[reports] workday_start`` on)
    first_c: float | None
    out_of_range_s: float  # known time outside the allowed range
    excursions: int
    acknowledged_by: tuple[str, ...] = ()
    future: bool = False

    @property
    def no_data(self) -> bool:
        return self.readings == 0


@dataclasses.dataclass(frozen=True, slots=True)
class ExcursionEntry:
    rule: str
    severity: str
    started_at: datetime
    ended_at: datetime | None
    peak_c: float
    low_c: float
    mkt_c: float | None
    time_beyond_s: float
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    action: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class LotEntry:
    product: str
    lot_number: str
    expiry: date
    started_at: datetime
    ended_at: datetime | None
    exposure_s: float
    peak_c: float | None
    low_c: float | None
    decision: str | None  # None: awaiting disposition
    reference: str | None
    decided_by: str | None
    decided_at: datetime | None


@dataclasses.dataclass(frozen=True, slots=True)
class SensorEntry:
    id: str
    role: str
    certificate: str | None
    due: date | None
    status: str  # "valid", "due in N days", "OVERDUE since ...", "not recorded"


@dataclasses.dataclass(frozen=True, slots=True)
class Summary:
    min_c: float | None
    max_c: float | None
    mean_c: float | None
    mkt_c: float | None
    out_of_range_s: float
    coverage: float | None  # share of the month so far with a known temperature, 0..1
    readings: int


@dataclasses.dataclass(frozen=True, slots=True)
class MonthlyLog:
    """Everything the monthly page shows, as plain values (times aware UTC, shown in ``timezone``)."""

    site: str
    timezone: str
    fridge: str
    kind: str
    low_c: float
    high_c: float
    alarm_profile: str
    profile_rules: str
    year: int
    month: int
    start: datetime
    end: datetime
    days: tuple[Day, ...]
    chart: tuple[Series, ...]
    chart_gap: timedelta
    excursions: tuple[ExcursionEntry, ...]
    lots: tuple[LotEntry, ...]
    sensors: tuple[SensorEntry, ...]
    summary: Summary
    generated_at: datetime
    generated_by: str
    audit_head: tuple[int, str] | None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def month_name(self) -> str:
        return f"{calendar.month_name[self.month]} {self.year}"


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


def gather(session: so.Session, fridge_name: str, year: int, month: int, *, generated_by: str,
           now: datetime, config: Config | None = None) -> MonthlyLog:
    """Read one fridge-month from the database (nothing is written)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if not 1 <= month <= 12 or not 2000 <= year <= 9999:
        raise ReportError(f"there is no month {year:04d}-{month:02d}")
    f, s = m.Fridge, m.Site
    row = session.execute(sa.select(f, s).join(s, f.site_id == s.id).where(f.name == fridge_name)).first()
    if row is None:
        raise ReportError(f"there is no fridge named {fridge_name!r}")
    fridge, site = row
    tz = ZoneInfo(site.timezone)
    first, last = date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
    bounds = local_days(first, last, tz)
    start, end = bounds[0][1], bounds[-1][2]
    if start > now:
        raise ReportError(f"{calendar.month_name[month]} {year} has not begun yet at {fridge.name}'s site")
    until = min(end, now)
    conn = session.connection()
    # Judged as the evaluator judges: the profile's range narrowed to the fridge's, primary sensor first.
    profile = temperature_log.judging(session, fridge_facts(session, fridge.id), config)
    gap = profile.allowed_gap
    series = temperature_log.load_series(session, fridge.id, start, until, gap)
    excursions = _excursions(session, fridge.id, start, until)
    acknowledgements = [daily.Episode(*row) for row in session.execute(
        sa.select(m.Alert.started_at, m.Alert.ended_at, m.Alert.acknowledged_by).where(
            m.Alert.fridge_id == fridge.id, m.Alert.acknowledged_by.is_not(None), m.Alert.started_at < until,
            sa.or_(m.Alert.ended_at.is_(None), m.Alert.ended_at >= start)))]
    logged = daily.split_days(
        series, first, last, tz, profile.low_c, profile.high_c, gap, now=until,
        workday_start=temperature_log.workday_start(config),
        excursions=[daily.Episode(e.started_at, e.ended_at, e.rule) for e in excursions], alerts=acknowledgements)
    summary = period_stats(series, start, until, profile.low_c, profile.high_c, gap)
    made = history(conn, fridge.id, start, until, tz) if summary.readings else None
    return MonthlyLog(
        site=site.name, timezone=site.timezone, fridge=fridge.name, kind=fridge.kind, low_c=profile.low_c,
        high_c=profile.high_c, alarm_profile=fridge.alarm_profile, profile_rules=_describe_rules(profile),
        year=year, month=month, start=start, end=end,
        days=tuple(_days(bounds, logged)),
        chart=made.series if made else (), chart_gap=made.max_gap if made else gap,
        excursions=tuple(excursions),
        lots=tuple(_lots(session, fridge.id, start, until)),
        sensors=tuple(_sensors(session, segments(conn, [fridge.id], start, until),
                               (until - timedelta(microseconds=1)).astimezone(tz).date())),
        summary=Summary(summary.min_c, summary.max_c, summary.mean_c, summary.mkt_c, summary.time_out_of_range_s,
                        summary.coverage if summary.period_s > 0 else None, summary.readings),
        generated_at=now, generated_by=generated_by, audit_head=_audit_head(session),
    )


def _describe_rules(profile: AlarmProfile) -> str:
    parts = []
    for rule in profile.rules:
        sign = (">=" if rule.inclusive else ">") if rule.direction == "high" else ("<=" if rule.inclusive else "<")
        minutes = rule.duration.total_seconds() / 60
        held = "any reading" if minutes == 0 else _minutes_text(minutes)
        if rule.mode == "cumulative" and rule.window is not None:
            held += f" within {_minutes_text(rule.window.total_seconds() / 60)}"
        parts.append(f"{rule.name} {sign} {_c(rule.threshold_c)}, {held}")
    return "; ".join(parts)


def _minutes_text(minutes: float) -> str:
    return f"{minutes / 60:g} h" if minutes >= 120 and minutes % 60 == 0 else f"{minutes:g} min"


def _days(bounds: Sequence[tuple[date, datetime, datetime]], logged: Sequence[daily.Day]) -> list[Day]:
    """Every day of the month: the daily log's days, and the days to come."""
    by_day = {d.day: d for d in logged}
    rows = []
    for day, _lo, _hi in bounds:
        found = by_day.get(day)
        if found is None:
            rows.append(Day(day, None, None, 0, None, None, 0.0, 0, future=True))
            continue
        st = found.stats
        first = found.first_reading
        # One episode is stored as its out-of-range record plus one per alarm rule it broke: count episodes.
        episodes = found.excursion_rules.count("out-of-range") or len(found.excursion_rules)
        rows.append(Day(day, st.min_c, st.max_c, st.readings, first[0] if first else None, first[1] if first else None,
                        st.time_out_of_range_s, episodes, found.acknowledged_by))
    return rows


def _excursions(session: so.Session, fridge_id: int, start: datetime, until: datetime) -> list[ExcursionEntry]:
    e, a = m.Excursion, m.Alert
    rows = session.execute(
        sa.select(e, a.acknowledged_by, a.acknowledged_at, a.action)
        .outerjoin(a, a.excursion_id == e.id)
        .where(e.fridge_id == fridge_id, e.started_at < until, sa.or_(e.ended_at.is_(None), e.ended_at >= start))
        .order_by(e.started_at, e.id, a.id)
    ).all()
    seen: dict[int, ExcursionEntry] = {}
    for exc, by, at, action in rows:
        if exc.id in seen and seen[exc.id].acknowledged_at is not None:
            continue  # one line per excursion: its (first) acknowledged alert
        seen[exc.id] = ExcursionEntry(exc.rule, exc.severity, exc.started_at, exc.ended_at, exc.peak_c, exc.low_c,
                                      exc.mkt_c, exc.time_beyond_s, by, at, action)
    return list(seen.values())


def _lots(session: so.Session, fridge_id: int, start: datetime, until: datetime) -> list[LotEntry]:
    r, d, lot, p = m.LotReview, m.LotDisposition, m.Lot, m.Product
    reviews = session.execute(
        sa.select(r, lot.lot_number, lot.expiry, p.name).join(lot, r.lot_id == lot.id).join(p, lot.product_id == p.id)
        .where(r.fridge_id == fridge_id, r.started_at < until, sa.or_(r.ended_at.is_(None), r.ended_at >= start))
        .order_by(r.started_at, p.name, lot.lot_number, r.id)
    ).all()
    newest: dict[int, m.LotDisposition] = {}
    ids = [review.id for review, *_ in reviews]
    if ids:
        for disposition in session.scalars(sa.select(d).where(d.review_id.in_(ids)).order_by(d.decided_at, d.id)):
            newest[disposition.review_id] = disposition  # the newest of a review is its current decision
    out = []
    for review, number, expiry, product in reviews:
        decided = newest.get(review.id)
        out.append(LotEntry(
            product, number, expiry, review.started_at, review.ended_at, review.exposure_s, review.peak_c,
            review.low_c, decided.decision if decided else None, decided.reference if decided else None,
            decided.decided_by if decided else None, decided.decided_at if decided else None,
        ))
    return out


def _sensors(session: so.Session, segs: Sequence[Any], today: date) -> list[SensorEntry]:
    roles: dict[str, str] = {}
    for seg in segs:
        roles[seg.sensor_id] = seg.role
    if not roles:
        return []
    out = []
    for sensor in session.scalars(sa.select(m.Sensor).where(m.Sensor.id.in_(list(roles))).order_by(m.Sensor.id)):
        out.append(SensorEntry(sensor.id, roles[sensor.id], sensor.calibration_certificate, sensor.calibration_due,
                               calibration_status(sensor.calibration_due, today)))
    out.sort(key=lambda s: (s.role != "primary", s.id))
    return out


def calibration_status(due: date | None, today: date) -> str:
    """How a calibration due date stands on ``today``: valid, due soon (30 days) or OVERDUE."""
    if due is None:
        return "not recorded"
    if due < today:
        return f"OVERDUE since {due.isoformat()}"
    left = (due - today).days
    if left == 0:
        return "due today"
    if timedelta(days=left) <= CALIBRATION_WARNING:
        return f"due in {left} day{'s' if left != 1 else ''}"
    return "valid"


def _audit_head(session: so.Session) -> tuple[int, str] | None:
    """The newest event of the audit chain now (as /audit shows its head)."""
    a = m.AuditEvent
    row = session.execute(sa.select(a.id, a.hash).order_by(a.id.desc()).limit(1)).first()
    return (row[0], row[1]) if row else None


# -- the page ------------------------------------------------------------------------------------

# Helvetica (a standard PDF font, nothing embedded) covers Latin-1 and "°", not "−" or "≥": keep to those.
_PLAIN = str.maketrans({"\u2212": "-", "\u2264": "<=", "\u2265": ">=", "\u2713": "x", "\u2192": "->",
                        "\u2026": "...", "\u2013": "-", "\u2014": "-"})


def _plain(text: str) -> str:
    """Text the standard fonts can show (their WinAnsi encoding); anything else becomes "?"."""
    return "".join(ch if _shows(ch) else "?" for ch in text.translate(_PLAIN))


@functools.cache
def _shows(ch: str) -> bool:
    try:
        ch.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return ch in "\n\t" or ch.isprintable()


def _c(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} °C"


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def _span(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes = int(round(seconds / 60))
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def render(log: MonthlyLog) -> bytes:
    """The log as an A4 portrait PDF (one page, flowing on when there is more to say)."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    tz = log.tz
    local = lambda at: at.astimezone(tz).strftime("%d %b %H:%M") if at else ""  # noqa: E731
    base = ParagraphStyle("base", fontName="Helvetica", fontSize=7.5, leading=9)
    small = ParagraphStyle("small", parent=base, fontSize=6.5, leading=7.8)
    heading = ParagraphStyle("heading", parent=base, fontName="Helvetica-Bold", fontSize=9.5, leading=12,
                             spaceBefore=5, spaceAfter=2)
    title = ParagraphStyle("title", parent=base, fontName="Helvetica-Bold", fontSize=14, leading=17)

    def para(text: str, style: ParagraphStyle = small) -> Paragraph:
        return Paragraph(escape(_plain(text)).replace("\n", "<br/>"), style)

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
                         Paragraph(escape(_plain(f"{log.fridge} - {log.month_name}")),
                                   ParagraphStyle("right", parent=title, alignment=2))]],
                       colWidths=[width * 0.5, width * 0.5],
                       style=[("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0)]))
    profile = log.alarm_profile + (f" ({log.profile_rules})" if log.profile_rules else "")
    facts = [
        ["Clinic / site", log.site, "Fridge", log.fridge, "Kind", log.kind],
        ["Allowed range", f"{_c(log.low_c)} to {_c(log.high_c)}", "Month",
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
               [_c(s.min_c), _c(s.max_c), _c(s.mean_c), _c(s.mkt_c), _span(s.out_of_range_s) or "0 min",
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

    # Excursions with their acknowledgement.
    story.append(Paragraph("Excursions", heading))
    if log.excursions:
        rows = [["Rule", "Start", "End", "Duration", "Highest", "Lowest", "MKT", "Acknowledged by", "Action taken"]]
        for e in log.excursions:
            rows.append([
                para(f"{e.rule} ({e.severity})"), local(e.started_at), local(e.ended_at) or "ongoing",
                _span((e.ended_at - e.started_at).total_seconds()) if e.ended_at else "ongoing",
                _num(e.peak_c), _num(e.low_c), _num(e.mkt_c),
                para(f"{e.acknowledged_by}\n{local(e.acknowledged_at)}" if e.acknowledged_by
                     else "NOT ACKNOWLEDGED"),
                para(e.action or ""),
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
            exposure = f"{local(lot.started_at)} to {local(lot.ended_at) or 'ongoing'}\n{_span(lot.exposure_s)} out of range"
            rows.append([para(lot.product), para(lot.lot_number), lot.expiry.isoformat(), para(exposure),
                         _c(lot.peak_c), para(decision)])
        story.append(Table(rows, colWidths=[40 * mm, 22 * mm, 16 * mm, 40 * mm, 14 * mm, width - 132 * mm],
                           style=grid, repeatRows=1))
    else:
        story.append(Paragraph("No lot was put under review for this fridge this month.", base))

    # Sensors and their calibration.
    story.append(Paragraph("Sensors and calibration", heading))
    if log.sensors:
        rows = [["Sensor", "Role", "Calibration certificate", "Calibration due", "Status (at month end)"]]
        rows += [[para(x.id), x.role, para(x.certificate or "not recorded"), x.due.isoformat() if x.due else "-",
                  x.status] for x in log.sensors]
        table = Table(rows, colWidths=[60 * mm, 16 * mm, 40 * mm, 24 * mm, width - 140 * mm], repeatRows=1)
        style = [*grid.getCommands()]
        for index, x in enumerate(log.sensors, start=1):
            if x.status.startswith("OVERDUE"):
                style += [("TEXTCOLOR", (4, index), (4, index), colors.HexColor("#a51d2d")),
                          ("FONT", (4, index), (4, index), "Helvetica-Bold", 6.8)]
        table.setStyle(TableStyle(style))
        story.append(KeepTogether([table]))
    else:
        story.append(Paragraph("No sensor was assigned to this fridge this month: it was not monitored.", base))

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=12 * mm, bottomMargin=16 * mm,
        title=_plain(f"Monthly temperature log {log.fridge} {log.year:04d}-{log.month:02d}"),
        author=_plain(log.generated_by), subject=_plain(f"{log.site} - {log.fridge}"), creator="Fridge Monitor",
        invariant=True,
    )
    doc.build(story, canvasmaker=_footer_canvas(log))
    return buffer.getvalue()


def _day_row(d: Day, log: MonthlyLog) -> list[str]:
    first = f"{d.first_at.astimezone(log.tz):%H:%M} {_num(d.first_c)}" if d.first_at is not None else ""
    if d.future or d.no_data:  # a reading from the day before may hold into it, but nothing was measured
        return [f"{d.day:%a} {d.day.day:02d}", "", "", "", "", str(d.excursions) if d.excursions else "",
                _mark(d, log)]
    out = _span(d.out_of_range_s)
    return [f"{d.day:%a} {d.day.day:02d}", first, _num(d.min_c), _num(d.max_c), out,
            str(d.excursions) if d.excursions else "", _mark(d, log)]


def _day_out(d: Day, log: MonthlyLog) -> bool:
    beyond = d.readings and (d.min_c is not None and d.min_c < log.low_c or d.max_c is not None and d.max_c > log.high_c)
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
        _plain(f"Generated {log.generated_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC by "
               f"{log.generated_by} - Fridge Monitor"),
        _plain(f"Audit trail chain head at that time: {head}"),
    ]

    class FooterCanvas(Canvas):
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


# -- the chart ------------------------------------------------------------------------------------


def _nice_step(span: float) -> float:
    raw = span / 6
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def chart(log: MonthlyLog, width: float, height: float) -> Any:
    """The month on one drawing: the allowed band, the hourly min-max envelope and mean per sensor, days on x."""
    from reportlab.graphics.shapes import Drawing, Line, Polygon, PolyLine, Rect, String
    from reportlab.lib import colors

    tz = log.tz
    drawing = Drawing(width, height)
    left, right, bottom, top = 26, 6, 22, 12
    plot_w, plot_h = width - left - right, height - bottom - top
    values = [v for series in log.chart for p in series.points for v in (p.low, p.high, p.mean) if v is not None]
    lo = math.floor(min([log.low_c, *values]) - 1)
    hi = math.ceil(max([log.high_c, *values]) + 1)
    t0, t1 = log.start.timestamp(), log.end.timestamp()

    def x(at: datetime) -> float:
        return left + (at.timestamp() - t0) / (t1 - t0) * plot_w

    def y(celsius: float) -> float:
        return bottom + (celsius - lo) / (hi - lo) * plot_h

    grey = colors.HexColor("#5b6575")
    drawing.add(Rect(left, bottom, plot_w, plot_h, fillColor=colors.white, strokeColor=colors.black, strokeWidth=0.6))
    drawing.add(Rect(left, y(log.low_c), plot_w, y(log.high_c) - y(log.low_c), fillColor=colors.HexColor("#e3f4e8"),
                     strokeColor=None))
    for bound in (log.low_c, log.high_c):
        drawing.add(Line(left, y(bound), left + plot_w, y(bound), strokeColor=colors.HexColor("#1f7a3a"),
                         strokeWidth=0.6, strokeDashArray=[3, 2]))
    step = _nice_step(hi - lo)
    tick = math.ceil(lo / step) * step
    while tick <= hi + 1e-9:
        drawing.add(Line(left - 2, y(tick), left + plot_w, y(tick), strokeColor=colors.HexColor("#d8dde5"),
                         strokeWidth=0.25))
        drawing.add(String(left - 3, y(tick) - 2, f"{tick:g}", fontName="Helvetica", fontSize=6, fillColor=grey,
                           textAnchor="end"))
        tick += step
    drawing.add(String(4, bottom + plot_h / 2, "°C", fontName="Helvetica", fontSize=6.5, fillColor=grey))
    for day in log.days:
        at = datetime.combine(day.day, datetime.min.time(), tz)
        drawing.add(Line(x(at), bottom, x(at), bottom + plot_h, strokeColor=colors.HexColor("#e6e9ee"),
                         strokeWidth=0.25))
        middle = at + timedelta(hours=12)
        drawing.add(String(x(middle), bottom - 8, str(day.day.day), fontName="Helvetica", fontSize=5.5,
                           fillColor=colors.HexColor("#a51d2d") if day.no_data and not day.future else grey,
                           textAnchor="middle"))
    drawing.add(String(left + plot_w / 2, bottom - 17, f"Day of {log.month_name} ({log.timezone})",
                       fontName="Helvetica", fontSize=6.5, fillColor=grey, textAnchor="middle"))

    for e in log.excursions:  # where the temperature was out of range, shaded across the plot
        if e.rule != "out-of-range":
            continue
        lo_x = x(max(e.started_at, log.start))
        hi_x = x(min(e.ended_at or log.end, log.end))
        drawing.add(Rect(lo_x, bottom, max(hi_x - lo_x, 0.8), plot_h, fillColor=colors.HexColor("#f6c6c9"),
                         strokeColor=None, fillOpacity=0.8))
    styles = [("#1a5fb4", "#9ec1ea", None), ("#b35900", None, [2, 1.5]), ("#8a3ffc", None, [4, 2])]
    for index, series in enumerate(log.chart):
        line, envelope, dash = styles[min(index, len(styles) - 1)]
        for run in _runs(series.points, log.chart_gap):
            if envelope and all(p.low is not None and p.high is not None for p in run):
                upper = [c for p in run for c in (x(p.at), y(p.high))]
                lower = [c for p in reversed(run) for c in (x(p.at), y(p.low))]
                drawing.add(Polygon(upper + lower, fillColor=colors.HexColor(envelope), strokeColor=None,
                                    fillOpacity=0.7))
            points = [c for p in run for c in (x(p.at), y(p.mean))]
            if len(run) == 1:
                drawing.add(Rect(points[0] - 0.6, points[1] - 0.6, 1.2, 1.2, fillColor=colors.HexColor(line),
                                 strokeColor=None))
            else:
                drawing.add(PolyLine(points, strokeColor=colors.HexColor(line), strokeWidth=0.7,
                                     strokeDashArray=dash))
    legend = [f"Allowed {_c(log.low_c)} to {_c(log.high_c)} (green band)"]
    if any(e.rule == "out-of-range" for e in log.excursions):
        legend.append("excursions shaded red")
    for index, series in enumerate(log.chart[:3]):
        what = "hourly mean, min-max band" if index == 0 else "hourly mean, dashed"
        legend.append(f"{series.label}: {what}")
    drawing.add(String(left, height - 8, _plain("; ".join(legend)), fontName="Helvetica", fontSize=6,
                       fillColor=grey))
    return drawing


def _runs(points: Sequence[Any], gap: timedelta) -> list[list[Any]]:
    """Points split where readings are further apart than ``gap``: silence is drawn as silence."""
    runs: list[list[Any]] = []
    for point in sorted(points, key=lambda p: p.at):
        if runs and point.at - runs[-1][-1].at <= gap:
            runs[-1].append(point)
        else:
            runs.append([point])
    return runs
