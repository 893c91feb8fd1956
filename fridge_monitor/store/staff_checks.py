"""Staff temperature checks: recording one (signed by the caller), and reading them back.

A check records what the unit's own display read (the current temperature,
and the minimum and maximum since the last check where it shows them), the
monitor's value at that moment beside it, a comment, and which of the site's
check times it answers (:func:`fridge_monitor.core.staff_checks.slot_for`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.config import Config, SiteDecl
from fridge_monitor.core import free_text
from fridge_monitor.core.free_text import FieldError
from fridge_monitor.core.signatures import check_content
from fridge_monitor.core.staff_checks import slot_for
from fridge_monitor.store import audit_trail
from fridge_monitor.store import models as m
from fridge_monitor.store.period import fridge_period_stats
from fridge_monitor.store.sensors import latest_values
from fridge_monitor.store.series import fridge_facts, fridge_profile

PLAUSIBLE_C = (-100.0, 100.0)


class CheckError(FieldError):
    """A check that cannot be recorded."""


@dataclasses.dataclass(frozen=True, slots=True)
class Reading:
    """What a person read on the unit's display."""

    current_c: float | None
    min_c: float | None
    max_c: float | None
    comment: str | None = None

    @property
    def empty(self) -> bool:
        return self.current_c is None and self.min_c is None and self.max_c is None


def check_reading(reading: Reading) -> None:
    low, high = PLAUSIBLE_C
    for field, value in (("current_c", reading.current_c), ("min_c", reading.min_c), ("max_c", reading.max_c)):
        if value is not None and not low <= value <= high:
            raise CheckError(f"{value:g} °C cannot be a fridge's temperature; check what the display shows.", field)
    if reading.min_c is not None and reading.max_c is not None and reading.min_c > reading.max_c:
        raise CheckError("The minimum is above the maximum.", "min_c")
    if reading.empty:
        raise CheckError("Give at least the current temperature the unit's display shows.", "current_c")
    if free_text.too_long(reading.comment):
        raise CheckError(free_text.limit_message("the comment"), "comment")


def content(check: m.TemperatureCheck) -> str:
    """What a check's signature is bound to."""
    return check_content(check.id, check.fridge_id, check.day, check.slot, check.checked_at, check.checked_by,
                         check.current_c, check.min_c, check.max_c, check.monitor_c, check.comment)


def monitor_value(conn: sa.Connection, fridge_id: int) -> tuple[datetime, float] | None:
    """The fridge's primary sensor's latest reading (or another sensor's, with no primary)."""
    s = m.Sensor
    sensors = conn.execute(sa.select(s.id, s.role).where(s.fridge_id == fridge_id, s.retired_at.is_(None))).all()
    ordered = [sid for sid, role in sorted(sensors, key=lambda row: (row.role != "primary", row.id))]
    latest = latest_values(conn, ordered)
    return next((latest[sid] for sid in ordered if sid in latest), None)


CONFIRMED = "Confirmed the monitor's values on the unit's display."  # how a confirmed check's comment begins
SINCE_AT_MOST = timedelta(hours=24)  # "since the last check" when there is none that recent


@dataclasses.dataclass(frozen=True, slots=True)
class MonitorView:
    """What the monitor shows beside a fridge's check: its latest reading, and its min and max since ``since``."""

    at: datetime
    current_c: float
    min_c: float | None
    max_c: float | None
    since: datetime

    def confirmed(self, comment: str | None) -> Reading:
        """The check of a nurse who confirms these values on the display instead of typing them."""
        return Reading(self.current_c, self.min_c, self.max_c, " ".join(p for p in (CONFIRMED, comment) if p))


def monitor_view(session: so.Session, fridge_id: int, now: datetime,
                 config: Config | None = None) -> MonitorView | None:
    """The monitor's values for a check of this fridge now: since its last check (at most the last 24 h)."""
    shown = monitor_value(session.connection(), fridge_id)
    if shown is None:
        return None
    c = m.TemperatureCheck
    last = session.scalar(sa.select(sa.func.max(c.checked_at)).where(c.fridge_id == fridge_id))
    since = max(last, now - SINCE_AT_MOST) if last is not None else now - SINCE_AT_MOST
    facts = fridge_facts(session, fridge_id)
    assert facts is not None  # the fridge whose reading was just read
    profile = fridge_profile(session, facts, config)
    stats = fridge_period_stats(session, fridge_id, since, now, profile.low_c, profile.high_c, profile.allowed_gap)
    return MonitorView(shown[0], shown[1], stats.min_c, stats.max_c, since)


def record(session: so.Session, fridge: m.Fridge, site: SiteDecl | None, reading: Reading, *, actor: str,
           now: datetime) -> m.TemperatureCheck:
    """Record one check in the caller's transaction (audited); the caller signs it."""
    check_reading(reading)
    tz = ZoneInfo(fridge.site.timezone)
    slot = slot_for(site.checks, site.check_tolerance, tz, now) if site is not None and site.checks else None
    shown = monitor_value(session.connection(), fridge.id)
    row = m.TemperatureCheck(
        fridge_id=fridge.id, day=slot.day if slot else now.astimezone(tz).date(),
        slot=f"{slot.at:%H:%M}" if slot else "", checked_at=now, checked_by=actor, current_c=reading.current_c,
        min_c=reading.min_c, max_c=reading.max_c, monitor_c=shown[1] if shown else None,
        comment=(reading.comment or "").strip() or None)
    session.add(row)
    session.flush()
    audit_trail.record(session, at=now, actor=actor, action="check", record_type="temperature_check",
                       record_id=row.id, field=fridge.name, new=content(row),
                       reason=f"check at {slot.at:%H:%M}" if slot else "check outside the site's check times")
    return row


def done(conn: sa.Connection, fridge_id: int, first: date, last: date) -> set[tuple[date, time]]:
    """The (day, time) slots of this fridge that have a check recorded."""
    c = m.TemperatureCheck
    rows = conn.execute(sa.select(c.day, c.slot).where(c.fridge_id == fridge_id, c.day >= first, c.day <= last,
                                                       c.slot != "")).all()
    return {(day, time.fromisoformat(slot)) for day, slot in rows}


def recent(conn: sa.Connection, fridge_ids: Sequence[int], since: datetime) -> list[m.TemperatureCheck]:
    c = m.TemperatureCheck
    with so.Session(bind=conn) as session:
        return list(session.scalars(sa.select(c).where(c.fridge_id.in_(list(fridge_ids)), c.checked_at >= since)
                                    .order_by(c.checked_at.desc(), c.id.desc())))
