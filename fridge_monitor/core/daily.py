"""The daily log of one fridge: its readings split into site-local days (23 or 25 hours on DST days) (pure)."""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from fridge_monitor.core.intervals import intervals
from fridge_monitor.core.stats import PeriodStats, stats_over

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


def split_days(series: Sequence[tuple[datetime, float]], first: date, last: date, tz: tzinfo, low_c: float,
               high_c: float, allowed_gap: timedelta, *, now: datetime, workday_start: time = MIDNIGHT,
               excursions: Sequence[Occurrence] = (), alerts: Sequence[Occurrence] = ()) -> list[LogDay]:
    """The log from ``first`` to ``last`` (local days, inclusive), oldest first; days that have not begun by
    ``now`` are left out and today's figures stop at ``now``.

    ``series``: the fridge's ``(measured_at, °C)`` readings from at least
    ``allowed_gap`` before the first day. ``excursions`` carry their rule as
    label, ``alerts`` who acknowledged them.
    """
    days = [(day, *day_bounds(day, tz)) for day in _dates(first, last)]
    days = [(day, lo, hi) for day, lo, hi in days if lo < now]
    if not days:
        return []
    series_end = min(days[-1][2], now)
    spans = intervals(series, series_end, allowed_gap)
    by_time: dict[datetime, float] = {}
    for at, celsius in sorted(series, key=lambda r: r[0]):
        by_time.setdefault(at, celsius)  # the first of equal times wins, as in rules
    times = list(by_time)
    out = []
    for day, lo, hi in days:
        hi_now = min(hi, now)
        begins = max(workday_begins(day, tz, workday_start), lo)
        i = bisect.bisect_left(times, begins)
        first_reading = (times[i], by_time[times[i]]) if i < len(times) and times[i] < hi_now else None
        rules = tuple(e.label or "" for e in sorted(excursions, key=lambda e: e.start) if e.touches(lo, hi_now))
        names = tuple(sorted({a.label for a in alerts if a.label and a.touches(lo, hi_now)}))
        out.append(LogDay(day, lo, hi, stats_over(spans, lo, hi_now, low_c, high_c), first_reading, rules, names))
    return out


def _dates(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
