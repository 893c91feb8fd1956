"""The period of an export or report: ``--from``/``--to`` text read into UTC bounds (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo


class PeriodError(ValueError):
    """A --from/--to value that cannot be understood."""


def parse_bound(text: str, tz: tzinfo, *, end: bool) -> datetime:
    """A date (whole day in ``tz``; an end date includes that day) or an ISO datetime."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        pass
    else:
        if end:
            day += timedelta(days=1)
        return datetime.combine(day, time(0), tz).astimezone(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise PeriodError(f"{text!r} is not a date (YYYY-MM-DD) or an ISO 8601 date-time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(UTC)


def parse_period(start: str, end: str, tz: tzinfo = UTC) -> tuple[datetime, datetime]:
    """[from, to) in UTC; ``--to 2026-11-30`` includes all of 30 November."""
    lo, hi = parse_bound(start, tz, end=False), parse_bound(end, tz, end=True)
    if hi <= lo:
        raise PeriodError(f"the period is empty: --to {end} is not after --from {start}")
    return lo, hi


def parse_days(start: str, end: str) -> tuple[date, date]:
    """The first and last day (inclusive) of a daily log; both must be dates."""
    days: list[date] = []
    for option, text in (("--from", start), ("--to", end)):
        try:
            days.append(date.fromisoformat(text))
        except ValueError:
            raise PeriodError(f"{option} {text!r}: the daily log needs a date (YYYY-MM-DD)") from None
    if days[1] < days[0]:
        raise PeriodError(f"the period is empty: --to {end} is before --from {start}")
    return days[0], days[1]
