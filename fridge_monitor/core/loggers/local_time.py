"""A logger's wall-clock times placed in a time zone (pure).

Loggers write local time without an offset. Read in the site's zone, the
hour repeated when the clocks go back is told apart by the order of the file
(a time that would come before the one above it is the second pass), and a
time inside the hour skipped when they go forward cannot be a reading: the
file says something that did not happen there, and is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, tzinfo

from fridge_monitor.core.loggers.download import LoggerFileError, Point


def exists(local: datetime, tz: tzinfo) -> bool:
    """Whether ``local`` is a wall-clock time that happens in ``tz`` (not in a spring-forward gap)."""
    aware = local.replace(tzinfo=tz)
    return aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == local


def to_utc(local: datetime, tz: tzinfo, *, after: datetime | None = None) -> datetime:
    """``local`` in ``tz`` as UTC: of a repeated time, the first pass unless that is not after ``after``."""
    first = local.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if after is not None and first <= after:
        second = local.replace(tzinfo=tz, fold=1).astimezone(UTC)
        if second > first:
            return second
    return first


def place(points: Sequence[Point], tz: tzinfo, zone_name: str) -> list[tuple[Point, datetime]]:
    """Each point with its UTC time, in file order; raises :class:`LoggerFileError` for a time that does not exist
    in the zone, or one that goes back in time (a file is in time order)."""
    placed: list[tuple[Point, datetime]] = []
    previous: datetime | None = None
    for point in points:
        if not exists(point.local, tz):
            raise LoggerFileError(
                f"{point.local:%Y-%m-%d %H:%M} does not exist in {zone_name} (the clocks went forward then); "
                "if the logger's clock does not change with summer time, import it with --tz set to its fixed "
                "offset (e.g. Etc/GMT-1 for UTC+1)", point.line)
        at = to_utc(point.local, tz, after=previous)
        if previous is not None and at <= previous:
            raise LoggerFileError(f"{point.local:%Y-%m-%d %H:%M} is not later than the row before it; "
                                  "a logger file lists its readings in time order", point.line)
        placed.append((point, at))
        previous = at
    return placed


def day_time(day: date, clock: time | None, tz: tzinfo) -> datetime | None:
    """A device day's time of day (``TS Min T``) as UTC; one in a spring-forward gap lands past the gap, and one in
    the repeated hour on its first pass (a day's summary does not say which)."""
    if clock is None:
        return None
    return datetime.combine(day, clock).replace(tzinfo=tz).astimezone(UTC)
