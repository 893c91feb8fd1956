"""Moments as text in records: ISO 8601 in UTC with a trailing ``Z`` (pure)."""

from __future__ import annotations

from datetime import UTC, datetime


def iso_utc(moment: datetime, timespec: str = "auto") -> str:
    """``moment`` in UTC as ISO 8601 with a trailing Z: the form every record carries (CSV exports, bundles,
    the JSON API, alert messages, audit anchors and hashes).

    ``auto`` writes microseconds only when the moment has them (``2026-11-25T10:00:00Z``,
    ``2026-11-25T10:00:00.500000Z``); ``seconds`` or ``microseconds`` fix the precision.
    """
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec=timespec) + "Z"
