"""Moments as text in records (ISO 8601 in UTC with a trailing ``Z``), and days at a site (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


def iso_utc(moment: datetime, timespec: str = "auto") -> str:
    """``moment`` in UTC as ISO 8601 with a trailing Z: the form every record carries (CSV exports, bundles,
    the JSON API, alert messages, audit anchors and hashes).

    ``auto`` writes microseconds only when the moment has them (``2026-11-25T10:00:00Z``,
    ``2026-11-25T10:00:00.500000Z``); ``seconds`` or ``microseconds`` fix the precision.
    """
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec=timespec) + "Z"


def today_at(now: datetime, *zones: str) -> date:
    """The date ``now`` at the latest of these sites' zones (a site east of UTC begins its day first), or UTC's
    date without one: a site's day, as its daily log and its alerts count days."""
    return max((now.astimezone(ZoneInfo(zone)).date() for zone in zones), default=now.astimezone(UTC).date())
