"""A fridge's temperature record from the database: period statistics, a lot's statistics, the daily log."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.config import Config, build_config
from fridge_monitor.core.daily import Day, Episode, day_bounds, split_days
from fridge_monitor.core.rules import intervals
from fridge_monitor.core.stats import PeriodStats, combine, period_stats, stats_over
from fridge_monitor.store import models as m
from fridge_monitor.store.series import fridge_facts, fridge_profile, series_covering

Database = so.Session | sa.Connection


class Stay(Protocol):
    """A stretch of time in one fridge, such as :class:`fridge_monitor.core.lots.Holding`
    (``until`` None: still there)."""

    @property
    def fridge_id(self) -> int: ...

    @property
    def since(self) -> datetime: ...

    @property
    def until(self) -> datetime | None: ...


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


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


def fridge_stats(db: Database, fridge_id: int, start: datetime, end: datetime, *, config: Config | None = None,
                 now: datetime | None = None) -> PeriodStats | None:
    """Statistics of the fridge over ``[start, end)`` (cut at ``now``) against its judging range;
    None: no such fridge."""
    now = _now(now)
    with _session(db) as session:
        facts = fridge_facts(session, fridge_id)
        if facts is None:
            return None
        profile = fridge_profile(session, facts, config)
        until = max(start, min(end, now))
        series = series_covering(session, fridge_id, start, until, profile.allowed_gap)
    return period_stats(series, start, until, profile.low_c, profile.high_c, profile.allowed_gap)


def lot_stats(db: Database, stays: Iterable[Stay], *, config: Config | None = None, now: datetime | None = None,
              low_c: float | None = None, high_c: float | None = None) -> PeriodStats | None:
    """Statistics over every stay of a lot (its holdings), each in its fridge, combined; None: no stays.

    Time out of range is against ``[low_c, high_c]`` when given (the product's
    range), else against each fridge's judging range. Stays in one fridge that
    touch are read as one; stays in different fridges at the same time (a lot
    split between two) each count, so ``period_s`` is the time held per fridge.
    """
    now = _now(now)
    by_fridge: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for stay in stays:
        end = min(stay.until or now, now)
        if end > stay.since:
            by_fridge[stay.fridge_id].append((stay.since, end))
    parts: list[PeriodStats] = []
    with _session(db) as session:
        for fridge_id, spans in sorted(by_fridge.items()):
            facts = fridge_facts(session, fridge_id)
            if facts is None:
                continue
            profile = fridge_profile(session, facts, config)
            merged = _merge(spans)
            series = series_covering(session, fridge_id, merged[0][0], merged[-1][1], profile.allowed_gap)
            low = profile.low_c if low_c is None else low_c
            high = profile.high_c if high_c is None else high_c
            cut = intervals(series, merged[-1][1], profile.allowed_gap)
            parts += [stats_over(cut, lo, hi, low, high) for lo, hi in merged]
    return combine(parts) if parts else None


def _merge(spans: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    out: list[tuple[datetime, datetime]] = []
    for lo, hi in sorted(spans):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def workday_start(config: Config | None) -> time:
    """``[reports] workday_start`` as a time of day (validated when the config was loaded)."""
    return time.fromisoformat((config or _defaults()).reports["workday_start"])


def daily_log(db: Database, fridge_id: int, first_day: date, last_day: date, *, config: Config | None = None,
              now: datetime | None = None, tz: tzinfo | None = None) -> list[Day]:
    """The fridge's daily log from ``first_day`` to ``last_day`` (inclusive), oldest first.

    Days are the site's local days (``tz`` to use another zone), 23 or 25
    hours long when the clocks change. Days before the fridge was set up,
    after it was retired, or not yet begun by ``now`` are left out; today's
    figures stop at ``now``. The first reading of the workday is the first at
    or after ``[reports] workday_start`` (local midnight by default).
    Excursions and acknowledging names come from the stored records whose
    episode touched the day. An unknown fridge has no log.
    """
    now = _now(now)
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
        series = series_covering(session, fridge_id, lo, hi, profile.allowed_gap)
        e, a = m.Excursion, m.Alert
        excursions = [Episode(*row) for row in session.execute(
            sa.select(e.started_at, e.ended_at, e.rule)
            .where(e.fridge_id == fridge_id, e.started_at < hi, sa.or_(e.ended_at.is_(None), e.ended_at >= lo))
            .order_by(e.started_at, e.id))]
        acknowledged = [Episode(*row) for row in session.execute(
            sa.select(a.started_at, a.ended_at, a.acknowledged_by)
            .where(a.fridge_id == fridge_id, a.acknowledged_by.is_not(None), a.started_at < hi,
                   sa.or_(a.ended_at.is_(None), a.ended_at >= lo))
            .order_by(a.started_at, a.id))]
    return split_days(series, first_day, last_day, zone, profile.low_c, profile.high_c, profile.allowed_gap,
                      now=now, workday_start=workday_start(config), excursions=excursions, alerts=acknowledged)
