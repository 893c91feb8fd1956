"""The API's readings in buckets of ``every`` seconds, aligned to the Unix epoch.

Buckets of whole hours (``every`` a multiple of 3600) are made from the
hourly rollups wherever a whole hour lies inside both the period and one of
the sensor's assignments to the fridge, and from raw readings only for the
ragged parts: period edges not on an hour, and assignments that begin or end
inside an hour. The figures are those of the raw scan
(:func:`fridge_monitor.store.series.bucketed_readings`), which still serves
any other bucket size.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import cast

import sqlalchemy as sa

from fridge_monitor.store import models as m
from fridge_monitor.store.overview import RAW_FRAGMENT_CHUNK, Agg, Piece, aggregate, ceil_hour, floor_hour
from fridge_monitor.store.series import bucketed_readings, epoch_seconds, segments

HOUR_S = 3600

Bucket = tuple[datetime, str, float, float, float, int]
"""(bucket start, sensor, min °C, max °C, mean °C, count)."""


def readings_in_buckets(conn: sa.Connection, fridge_id: int, start: datetime, end: datetime,
                        every: int) -> list[Bucket]:
    """The fridge's readings in [start, end) in buckets of ``every`` seconds: (bucket start, sensor, min, max,
    mean, count), by time then sensor; buckets without readings are left out."""
    if every % HOUR_S:
        return bucketed_readings(conn, fridge_id, start, end, every)
    hours: list[tuple[str, datetime, datetime]] = []  # (sensor, first whole hour, end of the last one)
    edges: list[Piece] = []  # the ragged parts, each within one hour, so within one bucket
    for seg in segments(conn, [fridge_id], start, end):
        clipped = seg.clip(start, end)
        if clipped is None:
            continue
        lo, hi = clipped[0], clipped[1] or end
        lo_h, hi_h = ceil_hour(lo), floor_hour(hi)
        if lo_h < hi_h:
            hours.append((seg.sensor_id, lo_h, hi_h))
        parts = [(lo, lo_h), (hi_h, hi)] if lo_h <= hi_h else [(lo, hi)]
        edges.extend(Piece((_bucket(a, every), seg.sensor_id), seg.sensor_id, a, b) for a, b in parts if a < b)
    found = _whole_hours(conn, hours, every)
    for key, agg in aggregate(conn, edges, {}).items():
        if agg.count and agg.min_c is not None and agg.max_c is not None:
            found[cast("tuple[int, str]", key)].add(agg.min_c, agg.max_c, agg.sum_c, agg.count)
    return [
        (datetime.fromtimestamp(bucket, UTC), sensor_id, agg.min_c, agg.max_c, agg.sum_c / agg.count, agg.count)
        for (bucket, sensor_id), agg in sorted(found.items())
        if agg.count and agg.min_c is not None and agg.max_c is not None
    ]


def _bucket(at: datetime, every: int) -> int:
    """The start of the bucket that holds ``at``, in epoch seconds."""
    return int(at.timestamp() // every) * every


def _whole_hours(conn: sa.Connection, hours: list[tuple[str, datetime, datetime]],
                 every: int) -> defaultdict[tuple[int, str], Agg]:
    """The rollups of these sensors' whole hours, merged by (bucket start in epoch seconds, sensor) in SQL."""
    h = m.HourlyRollup
    bucket = ((epoch_seconds(conn, h.hour) // every) * every).label("bucket")
    found: defaultdict[tuple[int, str], Agg] = defaultdict(Agg)
    for offset in range(0, len(hours), RAW_FRAGMENT_CHUNK):
        spans = [sa.and_(h.sensor_id == sensor_id, h.hour >= lo, h.hour < hi).self_group()
                 for sensor_id, lo, hi in hours[offset:offset + RAW_FRAGMENT_CHUNK]]
        query = sa.select(
            bucket, h.sensor_id, sa.func.min(h.min_c), sa.func.max(h.max_c), sa.func.sum(h.sum_c), sa.func.sum(h.count),
        ).where(sa.or_(*spans)).group_by(bucket, h.sensor_id)
        for at, sensor_id, low, high, total, count in conn.execute(query):
            found[(int(at), sensor_id)].add(low, high, total, int(count))
    return found
