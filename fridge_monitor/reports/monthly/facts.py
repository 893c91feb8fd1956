"""The facts of one fridge-month, read from the database into a plain :class:`MonthlyLog` (nothing is written)."""

from __future__ import annotations

import calendar
import dataclasses
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.config import Config
from fridge_monitor.core import daily
from fridge_monitor.core.charts import Series
from fridge_monitor.core.loggers.alarms import disagrees, triggered
from fridge_monitor.core.rules import AlarmProfile
from fridge_monitor.core.signatures import ALERT_ACKNOWLEDGEMENT, LOT_DISPOSITION
from fridge_monitor.reports import temperature_log
from fridge_monitor.reports.monthly.checks import CheckRow, check_rows
from fridge_monitor.reports.monthly.month import ReportError
from fridge_monitor.reports.monthly.text import celsius
from fridge_monitor.store import calibrations, logger_files, signatures, troubleshooting
from fridge_monitor.store import models as m
from fridge_monitor.store.overview import history, local_days
from fridge_monitor.store.period import fridge_period_stats
from fridge_monitor.store.series import fridge_facts, fridge_profile, segments


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
    signature: str | None = None  # how the acknowledgement's signature shows, when it was signed
    record: str | None = None  # the troubleshooting record's state (the range's excursion of each episode)


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
    signature: str | None = None  # how the disposition's signature shows, when it was signed


@dataclasses.dataclass(frozen=True, slots=True)
class SensorEntry:
    id: str
    role: str
    certificate: str | None
    due: date | None
    status: str  # "calibrated (certificate N, due D)" or "not calibrated: why" (core.calibration.status)


@dataclasses.dataclass(frozen=True, slots=True)
class DeviceDayEntry:
    """A data logger's own summary of a day, beside the day computed from the readings."""

    day: date
    sensor: str
    min_c: float | None
    min_at: datetime | None
    max_c: float | None
    max_at: datetime | None
    mean_c: float | None
    alarms: str  # e.g. "logger-heat 612 min (alarm)"
    computed: tuple[float | None, float | None]
    complete: bool
    disagrees: bool


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
class Review:
    """The review block of a signed month: who, the open items they saw, their comment, their signature."""

    reviewed_by: str
    reviewed_at: datetime
    open_items: tuple[str, ...]
    comment: str | None
    signature: str | None  # how the signature shows (None where reviews are not signed)


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
    device_days: tuple[DeviceDayEntry, ...] = ()
    checks: tuple[CheckRow, ...] = ()
    check_times: tuple[time, ...] = ()
    review: Review | None = None  # the supervisor's review, on the copy frozen when it was signed

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def month_name(self) -> str:
        return f"{calendar.month_name[self.month]} {self.year}"


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
    declared = next((d for d in config.sites if d.name == site.name), None) if config is not None else None
    first, last = date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
    bounds = local_days(first, last, tz)
    start, end = bounds[0][1], bounds[-1][2]
    if start > now:
        raise ReportError(f"{calendar.month_name[month]} {year} has not begun yet at {fridge.name}'s site")
    until = min(end, now)
    conn = session.connection()
    # Judged as the evaluator judges: the profile's range narrowed to the fridge's, primary sensor first.
    facts = fridge_facts(session, fridge.id)
    assert facts is not None  # the fridge just read
    profile = fridge_profile(session, facts, config)
    gap = profile.allowed_gap
    excursions = _excursions(session, fridge.id, start, until)
    acknowledgements = [daily.Occurrence(*row) for row in session.execute(
        sa.select(m.Alert.started_at, m.Alert.ended_at, m.Alert.acknowledged_by).where(
            m.Alert.fridge_id == fridge.id, m.Alert.acknowledged_by.is_not(None), m.Alert.started_at < until,
            sa.or_(m.Alert.ended_at.is_(None), m.Alert.ended_at >= start)))]
    logged = temperature_log.log_days(
        session, fridge.id, first, last, tz, profile, now=until, workday=temperature_log.workday_start(config),
        excursions=[daily.Occurrence(e.started_at, e.ended_at, e.rule) for e in excursions], alerts=acknowledgements)
    summary = fridge_period_stats(session, fridge.id, start, until, profile.low_c, profile.high_c, gap)
    # The chart's lines break where the rules see a gap: past the profile's allowed gap.
    made = history(conn, fridge.id, start, until, tz, max_gap=gap) if summary.readings else None
    return MonthlyLog(
        site=site.name, timezone=site.timezone, fridge=fridge.name, kind=fridge.kind, low_c=profile.low_c,
        high_c=profile.high_c, alarm_profile=fridge.alarm_profile, profile_rules=_describe_rules(profile),
        year=year, month=month, start=start, end=end,
        days=tuple(_days(bounds, logged)),
        chart=made.series if made else (), chart_gap=made.max_gap if made else gap,
        excursions=tuple(excursions),
        lots=tuple(_lots(session, fridge.id, start, until)),
        sensors=tuple(_sensors(session, segments(conn, [fridge.id], start, until),
                               (until - timedelta(microseconds=1)).astimezone(tz).date(), config)),
        summary=Summary(summary.min_c, summary.max_c, summary.mean_c, summary.mkt_c, summary.time_out_of_range_s,
                        summary.coverage if summary.period_s > 0 else None, summary.readings),
        generated_at=now, generated_by=generated_by, audit_head=_audit_head(session),
        device_days=tuple(_device_days(conn, fridge.id, first, last, _days(bounds, logged))),
        checks=tuple(check_rows(session, fridge, declared, tz, first, last, until)),
        check_times=declared.checks if declared is not None else (),
    )


def _device_days(conn: sa.Connection, fridge_id: int, first: date, last: date,
                 days: Sequence[Day]) -> list[DeviceDayEntry]:
    """The month's days as the fridge's data loggers summarised them, each beside the computed day."""
    sensors = {f.sensor_id for f in logger_files.files(conn, fridge_id=fridge_id)}
    computed = {d.day: (d.min_c, d.max_c) for d in days if not d.no_data}
    out = []
    for day in logger_files.device_days(conn, sensors, first, last):
        alarms = ", ".join(f"{s.rule} {a.minutes} min" + (" (alarm)" if triggered(s, a) else "")
                           for s, a in day.alarms if a.minutes)
        mine = computed.get(day.day, (None, None))
        out.append(DeviceDayEntry(day.day, day.sensor_id, day.min_c, day.min_at, day.max_c, day.max_at, day.mean_c,
                                  alarms, mine, day.complete,
                                  day.complete and disagrees((day.min_c, day.max_c), mine)))
    return out


def _describe_rules(profile: AlarmProfile) -> str:
    parts = []
    for rule in profile.rules:
        sign = (">=" if rule.inclusive else ">") if rule.direction == "high" else ("<=" if rule.inclusive else "<")
        minutes = rule.duration.total_seconds() / 60
        held = "any reading" if minutes == 0 else _minutes_text(minutes)
        if rule.mode == "cumulative" and rule.window is not None:
            held += f" within {_minutes_text(rule.window.total_seconds() / 60)}"
        parts.append(f"{rule.name} {sign} {celsius(rule.threshold_c)}, {held}")
    return "; ".join(parts)


def _minutes_text(minutes: float) -> str:
    return f"{minutes / 60:g} h" if minutes >= 120 and minutes % 60 == 0 else f"{minutes:g} min"


def _days(bounds: Sequence[tuple[date, datetime, datetime]], logged: Sequence[daily.LogDay]) -> list[Day]:
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
        sa.select(e, a.id, a.acknowledged_by, a.acknowledged_at, a.action)
        .outerjoin(a, a.excursion_id == e.id)
        .where(e.fridge_id == fridge_id, e.started_at < until, sa.or_(e.ended_at.is_(None), e.ended_at >= start))
        .order_by(e.started_at, e.id, a.id)
    ).all()
    signed = signatures.of_records(session, ALERT_ACKNOWLEDGEMENT, [row[1] for row in rows if row[1] is not None])
    seen: dict[int, ExcursionEntry] = {}
    for exc, alert_id, by, at, action in rows:
        if exc.id in seen and seen[exc.id].acknowledged_at is not None:
            continue  # one line per excursion: its (first) acknowledged alert
        sig = signed.get(str(alert_id))
        seen[exc.id] = ExcursionEntry(exc.rule, exc.severity, exc.started_at, exc.ended_at, exc.peak_c, exc.low_c,
                                      exc.mkt_c, exc.time_beyond_s, by, at, action, sig[0].shown() if sig else None,
                                      _record_state(session, exc))
    return list(seen.values())


def _record_state(session: so.Session, excursion: m.Excursion) -> str | None:
    """How the monthly log names an episode's troubleshooting record (on its range's excursion only)."""
    if excursion.rule != troubleshooting.RANGE_RULE:
        return None
    row = troubleshooting.current(session, excursion.id)
    state = "complete" if row is not None and row.complete else "INCOMPLETE"
    return f"Troubleshooting record (excursion {excursion.id}): {state}"


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
    signed = signatures.of_records(session, LOT_DISPOSITION, [d_.id for d_ in newest.values()])
    out = []
    for review, number, expiry, product in reviews:
        decided = newest.get(review.id)
        sig = signed.get(str(decided.id)) if decided else None
        out.append(LotEntry(
            product, number, expiry, review.started_at, review.ended_at, review.exposure_s, review.peak_c,
            review.low_c, decided.decision if decided else None, decided.reference if decided else None,
            decided.decided_by if decided else None, decided.decided_at if decided else None,
            sig[0].shown() if sig else None,
        ))
    return out


def _sensors(session: so.Session, segs: Sequence[Any], today: date, config: Config | None) -> list[SensorEntry]:
    roles: dict[str, str] = {}
    for seg in segs:
        roles[seg.sensor_id] = seg.role
    if not roles:
        return []
    out = []
    found = calibrations.statuses(session.connection(), list(roles), today, config)
    for sid in sorted(roles):
        status = found[sid]
        cert = status.certificate
        out.append(SensorEntry(sid, roles[sid], f"{cert.number} ({cert.laboratory})" if cert else None,
                               status.due_on, status.text))
    out.sort(key=lambda s: (s.role != "primary", s.id))
    return out


def _audit_head(session: so.Session) -> tuple[int, str] | None:
    """The newest event of the audit chain now (as /audit shows its head)."""
    a = m.AuditEvent
    row = session.execute(sa.select(a.id, a.hash).order_by(a.id.desc()).limit(1)).first()
    return (row[0], row[1]) if row else None
