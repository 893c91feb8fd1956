"""Reading a fridge's other channels back: door contacts, smart plugs' power and switch, humidity."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from fridge_monitor.core.readings import CHANNELS
from fridge_monitor.store import models as m
from fridge_monitor.store.series import Segment

ChannelSeries = dict[tuple[str, str], list[tuple[datetime, float]]]  # (sensor, channel) -> (measured at, value)


def channel_values(conn: sa.Connection, segs: Sequence[Segment], lo: datetime, hi: datetime, *,
                   channels: Sequence[str] = tuple(CHANNELS), with_state_before: bool = True) -> ChannelSeries:
    """Each (sensor, channel)'s values within [lo, hi] while the sensor was in the fridge, in time order.

    ``with_state_before``: also the last value before ``lo`` (within the assignment), since a state holds
    until it changes: a door that opened an hour ago and sent nothing since is open now.
    """
    c = m.ChannelReading
    out: ChannelSeries = defaultdict(list)
    for seg in segs:
        clipped = seg.clip(lo, hi)
        if clipped is None:
            continue
        start, end = clipped
        if with_state_before:
            for channel in channels:
                query = sa.select(c.measured_at, c.value).where(
                    c.sensor_id == seg.sensor_id, c.channel == channel, c.measured_at < start)
                if seg.since is not None:
                    query = query.where(c.measured_at >= seg.since)
                row = conn.execute(query.order_by(c.measured_at.desc()).limit(1)).first()
                if row is not None:
                    out[seg.sensor_id, channel].append((row.measured_at, row.value))
        within = sa.select(c.channel, c.measured_at, c.value).where(
            c.sensor_id == seg.sensor_id, c.channel.in_(list(channels)), c.measured_at >= start)
        within = within.where(c.measured_at < end) if end is not None else within.where(c.measured_at <= hi)
        for channel, at, value in conn.execute(within.order_by(c.measured_at, c.id)):
            out[seg.sensor_id, channel].append((at, value))
    return {key: sorted(values) for key, values in out.items()}
