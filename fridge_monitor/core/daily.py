"""The daily log of one fridge: its readings split into site-local days (23 or 25 hours on DST days) (pure)."""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from fridge_monitor.core.stats import PeriodStats

MIDNIGHT = time(0)


@dataclasses.dataclass(frozen=True, slots=True)
class Occurrence:
    """An excursion or alert as the daily log needs it: when (``end`` None: still going on) and what.

    ``label`` is the excursion's rule, or for an alert the name of whoever acknowledged it (None: nobody yet).
    """

    start: datetime
    end: datetime | None
    label: str | None

    def touches(self, lo: datetime, hi: datetime) -> bool:
        """Whether the occurrence falls in ``[lo, hi)`` in part (one that ends exactly at ``lo`` does not)."""
        return self.start < hi and (self.end is None or self.end > lo or self.start >= lo)


@dataclasses.dataclass(frozen=True, slots=True)
class LogDay:
    """One site-local day of the log. ``stats`` covers the day up to ``now`` for today."""

    day: date
    start: datetime
    end: datetime
    stats: PeriodStats
    first_reading: tuple[datetime, float] | None  # the first at or after the workday's start
    excursion_rules: tuple[str, ...]  # one entry per excursion that touched the day, in start order
    acknowledged_by: tuple[str, ...]  # who acknowledged the alerts that touched the day, sorted, once each

    @property
    def length(self) -> timedelta:
        return self.end - self.start


def day_bounds(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """``[start, end)`` of a local day in UTC: local midnight to the next, so 23 or 25 hours when the clocks change."""
    start = datetime.combine(day, MIDNIGHT, tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), MIDNIGHT, tz).astimezone(UTC)
    return start, end


def workday_begins(day: date, tz: tzinfo, workday_start: time = MIDNIGHT) -> datetime:
    """When the workday starts in UTC. A local time the clocks skip (02:30 on a spring-forward
    night) is read with the offset before the change, so it falls just after the jump."""
    return datetime.combine(day, workday_start, tz).astimezone(UTC)


def days_begun(first: date, last: date, tz: tzinfo, now: datetime) -> list[tuple[date, datetime, datetime]]:
    """The local days from ``first`` to ``last`` (inclusive) that have begun by ``now``, with their UTC bounds."""
    days = [(day, *day_bounds(day, tz)) for day in _dates(first, last)]
    return [(day, lo, hi) for day, lo, hi in days if lo < now]


def first_at_or_after(ordered: Sequence[tuple[datetime, float]], begins: datetime,
                      before: datetime) -> tuple[datetime, float] | None:
    """The first reading in ``[begins, before)`` of readings in time order, one per instant
    (:func:`fridge_monitor.core.rollups.distinct_in_order`)."""
    i = bisect.bisect_left(ordered, begins, key=lambda r: r[0])
    return ordered[i] if i < len(ordered) and ordered[i][0] < before else None


def assemble(days: Sequence[tuple[date, datetime, datetime]], stats: Sequence[PeriodStats],
             first_readings: Sequence[tuple[datetime, float] | None], *, now: datetime,
             excursions: Sequence[Occurrence] = (), alerts: Sequence[Occurrence] = ()) -> list[LogDay]:
    """The log's days from each day's statistics and first reading, with the excursions and acknowledging
    names of the records that touched it."""
    out = []
    for (day, lo, hi), found, first_reading in zip(days, stats, first_readings, strict=True):
        hi_now = min(hi, now)
        rules = tuple(e.label or "" for e in sorted(excursions, key=lambda e: e.start) if e.touches(lo, hi_now))
        names = tuple(sorted({a.label for a in alerts if a.label and a.touches(lo, hi_now)}))
        out.append(LogDay(day, lo, hi, found, first_reading, rules, names))
    return out


def _dates(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
