"""A logger's wall-clock times placed in a time zone (pure).

Loggers write local time without an offset. Read in the site's zone, the
hour repeated when the clocks go back is told apart by the order of the file
(a time that would come before the one above it is the second pass), and a
time inside the hour skipped when they go forward cannot be a reading: the
file says something that did not happen there, and is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from fridge_monitor.core.loggers.download import LoggerFileError, Point

QUARTER = timedelta(minutes=15)


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


def place(points: Sequence[Point], tz: tzinfo, zone_name: str) -> list[tuple[datetime, float]]:
    """Each point's UTC time and temperature, in file order; raises :class:`LoggerFileError` for a time that does
    not exist in the zone, or one that goes back in time (a file is in time order).

    Zones change their offset on a quarter hour at the finest, so the offsets are looked up once per local
    quarter hour: a file of a year of minute readings is placed in a fraction of a second.
    """
    placed: list[tuple[datetime, float]] = []
    previous: datetime | None = None
    quarter_start = quarter_end = datetime.min
    real, first_offset, second_offset = True, timedelta(0), timedelta(0)
    first_utc = second_utc = datetime.min.replace(tzinfo=UTC)
    for point in points:
        local = point.local
        if not quarter_start <= local < quarter_end:
            quarter_start = local.replace(minute=local.minute - local.minute % 15, second=0, microsecond=0)
            quarter_end = quarter_start + QUARTER
            first_offset, second_offset = (local.replace(tzinfo=tz, fold=fold).utcoffset() or timedelta(0)
                                           for fold in (0, 1))
            # A time in a gap has two different offsets on its two folds, as a repeated one does.
            real = first_offset == second_offset or exists(local, tz)
            # The quarter's start in UTC on each pass: a point's UTC time is that plus its time into the quarter.
            first_utc = (quarter_start - first_offset).replace(tzinfo=UTC)
            second_utc = (quarter_start - second_offset).replace(tzinfo=UTC)
        if not real:
            raise LoggerFileError(
                f"{local:%Y-%m-%d %H:%M} does not exist in {zone_name} (the clocks went forward then); "
                "if the logger's clock does not change with summer time, import it with --tz set to its fixed "
                "offset (e.g. Etc/GMT-1 for UTC+1)", point.line)
        into = local - quarter_start
        at = first_utc + into
        if previous is not None and at <= previous and second_offset != first_offset:
            at = second_utc + into  # the repeated hour, second pass
        if previous is not None and at <= previous:
            raise LoggerFileError(f"{local:%Y-%m-%d %H:%M} is not later than the row before it; "
                                  "a logger file lists its readings in time order", point.line)
        placed.append((at, point.temperature_c))
        previous = at
    return placed


def day_time(day: date, clock: time | None, tz: tzinfo) -> datetime | None:
    """A device day's time of day (``TS Min T``) as UTC; one in a spring-forward gap lands past the gap, and one in
    the repeated hour on its first pass (a day's summary does not say which)."""
    if clock is None:
        return None
    return datetime.combine(day, clock).replace(tzinfo=tz).astimezone(UTC)
