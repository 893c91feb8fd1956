"""A fridge's temperature record from the database: period statistics and the daily log."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, tzinfo
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.config import Config, build_config
from fridge_monitor.core.daily import LogDay, Occurrence, assemble, day_bounds, days_begun, workday_begins
from fridge_monitor.core.rules import AlarmProfile
from fridge_monitor.core.stats import PeriodStats
from fridge_monitor.store import models as m
from fridge_monitor.store.period import first_reading, fridge_period_stats, fridge_periods_stats
from fridge_monitor.store.series import fridge_facts, fridge_profile

Database = so.Session | sa.Connection


@functools.cache
def _defaults() -> Config:
    return build_config({}, {}, {}, "defaults")


@contextmanager
def _session(db: Database) -> Iterator[so.Session]:
    if isinstance(db, so.Session):
        yield db
        return
    with so.Session(bind=db) as session:  # joins the connection's transaction; closing it leaves that alone
        yield session


def fridge_stats(db: Database, fridge_id: int, start: datetime, end: datetime, *, config: Config | None = None,
                 now: datetime | None = None) -> PeriodStats | None:
    """Statistics of the fridge over ``[start, end)`` (cut at ``now``) against its judging range;
    None: no such fridge."""
    now = now or datetime.now(UTC)
    with _session(db) as session:
        facts = fridge_facts(session, fridge_id)
        if facts is None:
            return None
        profile = fridge_profile(session, facts, config)
        until = max(start, min(end, now))
        return fridge_period_stats(session, fridge_id, start, until, profile.low_c, profile.high_c,
                                   profile.allowed_gap)


def workday_start(config: Config | None) -> time:
    """``[reports] workday_start`` as a time of day (validated when the config was loaded)."""
    return time.fromisoformat((config or _defaults()).reports["workday_start"])


def daily_log(db: Database, fridge_id: int, first_day: date, last_day: date, *, config: Config | None = None,
              now: datetime | None = None, tz: tzinfo | None = None) -> list[LogDay]:
    """The fridge's daily log from ``first_day`` to ``last_day`` (inclusive), oldest first.

    Days are the site's local days (``tz`` to use another zone), 23 or 25
    hours long when the clocks change. Days before the fridge was set up,
    after it was retired, or not yet begun by ``now`` are left out; today's
    figures stop at ``now``. The first reading of the workday is the first at
    or after ``[reports] workday_start`` (local midnight by default).
    Excursions and acknowledging names come from the stored records whose
    episode touched the day. An unknown fridge has no log.
    """
    now = now or datetime.now(UTC)
    with _session(db) as session:
        facts = fridge_facts(session, fridge_id)
        if facts is None:
            return []
        zone = tz or ZoneInfo(facts.timezone)
        first_day = max(first_day, facts.created_at.astimezone(zone).date())
        retired = session.scalar(sa.select(m.Fridge.retired_at).where(m.Fridge.id == fridge_id))
        if retired is not None:
            last_day = min(last_day, retired.astimezone(zone).date())
        if last_day < first_day:
            return []
        lo, hi = day_bounds(first_day, zone)[0], min(day_bounds(last_day, zone)[1], now)
        if hi <= lo:
            return []
        profile = fridge_profile(session, facts, config)
        e, a = m.Excursion, m.Alert
        excursions = [Occurrence(*row) for row in session.execute(
            sa.select(e.started_at, e.ended_at, e.rule)
            .where(e.fridge_id == fridge_id, e.started_at < hi, sa.or_(e.ended_at.is_(None), e.ended_at >= lo))
            .order_by(e.started_at, e.id))]
        acknowledged = [Occurrence(*row) for row in session.execute(
            sa.select(a.started_at, a.ended_at, a.acknowledged_by)
            .where(a.fridge_id == fridge_id, a.acknowledged_by.is_not(None), a.started_at < hi,
                   sa.or_(a.ended_at.is_(None), a.ended_at >= lo))
            .order_by(a.started_at, a.id))]
        return log_days(session, fridge_id, first_day, last_day, zone, profile, now=now,
                        workday=workday_start(config), excursions=excursions, alerts=acknowledged)


def log_days(session: so.Session, fridge_id: int, first_day: date, last_day: date, zone: tzinfo,
             profile: AlarmProfile, *, now: datetime, workday: time, excursions: Sequence[Occurrence],
             alerts: Sequence[Occurrence]) -> list[LogDay]:
    """The log's days from ``first_day`` to ``last_day`` that have begun by ``now``: each day's statistics
    from the rollups where whole hours allow (:mod:`fridge_monitor.store.period`), its first reading of the
    workday, and the excursions and acknowledging names that touched it."""
    days = days_begun(first_day, last_day, zone, now)
    gap = profile.allowed_gap
    stats = fridge_periods_stats(session, fridge_id, [(lo, min(hi, now)) for _, lo, hi in days], profile.low_c,
                                 profile.high_c, gap)
    firsts = [first_reading(session, fridge_id, max(workday_begins(day, zone, workday), lo), min(hi, now), gap)
              for day, lo, hi in days]
    return assemble(days, stats, firsts, now=now, excursions=excursions, alerts=alerts)
