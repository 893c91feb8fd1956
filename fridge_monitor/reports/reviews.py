"""The monthly review: a supervisor looks at a fridge-month's open items, comments and signs; the month freezes.

Signing generates the month's PDF log once, with the review and its signature
on it, and keeps it unaltered with its SHA-256 (the table is append-only).
Every later download of that month is that copy. What changed since (a late
import, an acknowledgement, a disposition) is found by comparing the month as
it reads now with the snapshot kept at signing, and is listed in an addendum:
a separate PDF that names the signed copy by its hash.
"""

from __future__ import annotations

import calendar
import dataclasses
import hashlib
import json
from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.config import Config
from fridge_monitor.core import free_text
from fridge_monitor.core.free_text import FieldError
from fridge_monitor.core.signatures import MONTHLY_REVIEW, Signature
from fridge_monitor.core.staff_checks import KIND as CHECK_MISSED
from fridge_monitor.reports.monthly import addendum, facts, layout
from fridge_monitor.reports.monthly.month import ReportError, filename
from fridge_monitor.reports.monthly.snapshot import changes, snapshot
from fridge_monitor.store import audit_trail, signatures
from fridge_monitor.store import models as m
from fridge_monitor.store.overview import local_days


@dataclasses.dataclass(frozen=True, slots=True)
class Month:
    """A fridge-month as the review page shows it."""

    fridge: str
    fridge_id: int
    year: int
    month: int
    timezone: str
    start: datetime
    end: datetime
    ended: bool
    review: m.MonthlyReview | None
    signatures: tuple[Signature, ...]
    open_items: tuple[str, ...]  # as they stand now (unsigned), or as the reviewer saw them (signed)
    changes: tuple[str, ...]  # since signing

    @property
    def text(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def name(self) -> str:
        return f"{calendar.month_name[self.month]} {self.year}"


def _fridge(session: so.Session, name: str) -> tuple[m.Fridge, str]:
    row = session.execute(sa.select(m.Fridge, m.Site.timezone).join(m.Site, m.Site.id == m.Fridge.site_id)
                          .where(m.Fridge.name == name)).first()
    if row is None:
        raise ReportError(f"there is no fridge named {name!r}")
    return row[0], row[1]


def _bounds(year: int, month: int, tz: ZoneInfo) -> tuple[datetime, datetime]:
    days = local_days(date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1]), tz)
    return days[0][1], days[-1][2]


def stored(session: so.Session, fridge_id: int, month: str) -> m.MonthlyReview | None:
    r = m.MonthlyReview
    return session.scalar(sa.select(r).where(r.fridge_id == fridge_id, r.month == month))


def look(session: so.Session, fridge_name: str, year: int, month: int, *, config: Config | None,
         now: datetime) -> Month:
    """The month's review as it stands: signed (with what changed since), or its open items."""
    fridge, zone = _fridge(session, fridge_name)
    tz = ZoneInfo(zone)
    start, end = _bounds(year, month, tz)
    if start > now:
        raise ReportError(f"{calendar.month_name[month]} {year} has not begun yet at {fridge.name}'s site")
    text = f"{year:04d}-{month:02d}"
    review = stored(session, fridge.id, text)
    log = facts.gather(session, fridge.name, year, month, generated_by="", now=now, config=config)
    if review is not None:
        signed = signatures.of_records(session, MONTHLY_REVIEW, [review.id]).get(str(review.id), [])
        found = [*changes(json.loads(review.snapshot), snapshot(log)),
                 *since_signing(session, fridge.id, start, end, review.reviewed_at, tz)]
        return Month(fridge.name, fridge.id, year, month, zone, start, end, True, review, tuple(signed),
                     tuple(json.loads(review.open_items)), tuple(found))
    return Month(fridge.name, fridge.id, year, month, zone, start, end, end <= now, None, (),
                 tuple(open_items(session, log, fridge.id)), ())


def open_items(session: so.Session, log: facts.MonthlyLog, fridge_id: int) -> list[str]:
    """What a reviewer should see before signing: alerts not acknowledged, check times missed, lots still
    awaiting a disposition, days without data."""
    tz = log.tz
    a = m.Alert
    waiting = session.execute(
        sa.select(a.kind, a.title, a.started_at).where(
            a.fridge_id == fridge_id, a.acknowledged_at.is_(None), a.started_at < log.end,
            sa.or_(a.ended_at.is_(None), a.ended_at >= log.start), a.kind != CHECK_MISSED)
        .order_by(a.started_at, a.id)).all()
    items = [f"Alert not acknowledged: {title} ({kind}, from {at.astimezone(tz):%d %b %H:%M})"
             for kind, title, at in waiting]
    missed = [c for c in log.checks if c.missed]
    if missed:
        shown = ", ".join(f"{c.day:%d %b} {c.slot}" for c in missed[:10])
        items.append(f"Staff checks missed: {len(missed)} ({shown}{', ...' if len(missed) > 10 else ''})")
    items += [f"Lot awaiting disposition: {lot.product} lot {lot.lot_number} (exposed from "
              f"{lot.started_at.astimezone(tz):%d %b %H:%M})" for lot in log.lots if lot.decision is None]
    empty = [d.day for d in log.days if d.no_data and not d.future]
    if empty:
        shown = ", ".join(f"{day:%d}" for day in empty[:15])
        items.append(f"Days without data: {len(empty)} ({shown}{', ...' if len(empty) > 15 else ''})")
    return items


def since_signing(session: so.Session, fridge_id: int, start: datetime, end: datetime, signed_at: datetime,
                  tz: ZoneInfo) -> list[str]:
    """The records of the month that arrived after it was signed: readings received late, logger files imported."""
    r, s = m.Reading, m.Sensor
    count, first, last = session.execute(
        sa.select(sa.func.count(), sa.func.min(r.measured_at), sa.func.max(r.measured_at))
        .join(s, s.id == r.sensor_id)
        .where(s.fridge_id == fridge_id, r.measured_at >= start, r.measured_at < end, r.received_at > signed_at)
    ).one()
    out = []
    if count:
        out.append(f"{count} reading(s) of this month received after signing (measured "
                   f"{first.astimezone(tz):%d %b %H:%M} to {last.astimezone(tz):%d %b %H:%M})")
    lf = m.LoggerFile
    for name, sensor, at, by in session.execute(
            sa.select(lf.file_name, lf.sensor_id, lf.imported_at, lf.imported_by)
            .where(lf.fridge_id == fridge_id, lf.imported_at > signed_at, lf.first_at < end, lf.last_at >= start)
            .order_by(lf.imported_at, lf.id)):
        out.append(f"data-logger file {name} ({sensor}) imported by {by} on {at.astimezone(tz):%Y-%m-%d %H:%M}")
    return out


class ReviewError(FieldError):
    """A review that cannot be signed."""

    field_default = "comment"


def sign(session: so.Session, user: m.User, fridge_name: str, year: int, month: int, *, comment: str | None,
         meaning: str | None, config: Config | None, now: datetime) -> m.MonthlyReview:
    """Review a fridge-month in the caller's transaction: freeze its PDF, record the review (audited) and sign it
    (``meaning`` None: reviews are not signed here). The caller has checked the signer's password."""
    comment = (comment or "").strip() or None
    if free_text.too_long(comment):
        raise ReviewError(free_text.limit_message("the comment"))
    now_month = look(session, fridge_name, year, month, config=config, now=now)
    if now_month.review is not None:
        r = now_month.review
        raise ReviewError(f"{now_month.name} of {fridge_name} was already reviewed by {r.reviewed_by} on "
                          f"{r.reviewed_at.astimezone(ZoneInfo(now_month.timezone)):%Y-%m-%d %H:%M}; later changes "
                          "are listed in its addendum.", "month")
    if not now_month.ended:
        raise ReviewError(f"{now_month.name} has not ended yet at {fridge_name}'s site: a month is reviewed once it "
                          "is over.", "month")
    shown = None
    if meaning is not None:
        # The signature as it will be stored (its id aside), so the frozen page prints exactly it.
        shown = Signature(0, MONTHLY_REVIEW, "", "", meaning, user.name, user.full_name or "", now,
                          now_month.timezone).shown()
    log = facts.gather(session, fridge_name, year, month, generated_by=user.name, now=now, config=config)
    log = dataclasses.replace(log, review=facts.Review(user.full_name or user.name, now, now_month.open_items,
                                                       comment, shown))
    pdf = layout.render(log)
    review = m.MonthlyReview(fridge_id=now_month.fridge_id, month=now_month.text, starts_at=now_month.start,
                             ends_at=now_month.end, comment=comment,
                             open_items=json.dumps(list(now_month.open_items), ensure_ascii=False),
                             snapshot=json.dumps(snapshot(log), ensure_ascii=False), pdf=pdf,
                             pdf_sha256=hashlib.sha256(pdf).hexdigest(), reviewed_by=user.name, reviewed_at=now)
    session.add(review)
    session.flush()
    audit_trail.record(session, at=now, actor=user.name, action="review", record_type="monthly_review",
                       record_id=review.id, field=f"{fridge_name} {now_month.text}", new=review.pdf_sha256,
                       reason=f"monthly review of {fridge_name}, {now_month.name}, with "
                              f"{len(now_month.open_items)} open item(s)")
    if meaning is not None:
        made = signatures.sign_review(session, user, review, meaning, now)
        assert made.shown() == shown, "the frozen page must print the signature as stored"
    return review


@dataclasses.dataclass(frozen=True, slots=True)
class Copies:
    """A month's log as handed out: the PDF, whether it is the signed copy, and the addendum of a changed one."""

    name: str
    pdf: bytes
    signed: bool
    addendum: bytes | None

    @property
    def addendum_name(self) -> str:
        return addendum.filename(self.name)


def addendum_pdf(month: Month, *, generated_by: str, now: datetime) -> bytes | None:
    """The addendum of a signed month that changed since it was signed (None: signed and unchanged, or unsigned)."""
    if month.review is None or not month.changes:
        return None
    r = month.review
    return addendum.render(fridge=month.fridge, month_name=month.name, timezone=month.timezone,
                           signed_by=r.reviewed_by, signed_at=r.reviewed_at, pdf_sha256=r.pdf_sha256,
                           signatures=[s.shown() for s in month.signatures], changes=month.changes,
                           generated_by=generated_by, now=now)


def copies(engine_or_session: sa.Engine | so.Session, fridge_name: str, year: int, month: int, *,
           config: Config | None, now: datetime, generated_by: str) -> Copies:
    """The month's log as it is handed out: a signed month's frozen copy, with its addendum when the records
    changed since; an unsigned month's log generated now (raises ReportError for an unknown fridge or month)."""
    if isinstance(engine_or_session, so.Session):
        return _copies(engine_or_session, fridge_name, year, month, config=config, now=now, generated_by=generated_by)
    with so.Session(engine_or_session) as session:
        if engine_or_session.dialect.name == "postgresql":  # one snapshot: the page and its audit head agree
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        return _copies(session, fridge_name, year, month, config=config, now=now, generated_by=generated_by)


def _copies(session: so.Session, fridge_name: str, year: int, month: int, *, config: Config | None, now: datetime,
            generated_by: str) -> Copies:
    name = filename(fridge_name, year, month)
    found = look(session, fridge_name, year, month, config=config, now=now)
    if found.review is None:
        log = facts.gather(session, fridge_name, year, month, generated_by=generated_by, now=now, config=config)
        return Copies(name, layout.render(log), False, None)
    return Copies(name, found.review.pdf, True, addendum_pdf(found, generated_by=generated_by, now=now))


def of_period(engine: sa.Engine, start: datetime, end: datetime,
              fridge: str | None = None) -> list[tuple[m.MonthlyReview, str]]:
    """The reviews of the fridge-months that overlap [start, end), with their fridge's name, oldest first."""
    r, f = m.MonthlyReview, m.Fridge
    query = (sa.select(r, f.name).join(f, f.id == r.fridge_id).where(r.starts_at < end, r.ends_at > start)
             .order_by(r.starts_at, f.name, r.id))
    if fridge is not None:
        query = query.where(f.name == fridge)
    with so.Session(engine, expire_on_commit=False) as session:
        return [(review, name) for review, name in session.execute(query)]


def signed_months(engine: sa.Engine, start: datetime, end: datetime,
                  fridges: Sequence[str] | None) -> set[tuple[str, str]]:
    """(fridge, YYYY-MM) of every signed fridge-month overlapping the period."""
    return {(name, review.month) for review, name in of_period(engine, start, end)
            if fridges is None or name in fridges}
