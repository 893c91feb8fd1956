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
    until it changes: a door that opened an hour ago and sent nothing since is open now. Two queries
    whatever the number of sensors (a fridge with probes only costs one that finds nothing).
    """
    c = m.ChannelReading
    sensors = sorted({seg.sensor_id for seg in segs})
    if not sensors:
        return {}
    out: ChannelSeries = defaultdict(list)
    rows = conn.execute(sa.select(c.sensor_id, c.channel, c.measured_at, c.value)
                        .where(c.sensor_id.in_(sensors), c.channel.in_(list(channels)), c.measured_at >= lo,
                               c.measured_at <= hi).order_by(c.measured_at, c.id)).all()
    for sensor, channel, at, value in rows:
        if any(seg.sensor_id == sensor and seg.covers(at) for seg in segs):
            out[sensor, channel].append((at, value))
    if with_state_before:
        before = _states_before(conn, [seg for seg in segs if seg.since is None or seg.since < lo], lo, channels)
        for (sensor, channel), (at, value) in before.items():
            out[sensor, channel].insert(0, (at, value))
    return dict(out)


def _states_before(conn: sa.Connection, segs: Sequence[Segment], lo: datetime,
                   channels: Sequence[str]) -> dict[tuple[str, str], tuple[datetime, float]]:
    """The last value before ``lo`` of each channel of the sensors whose assignment began before it."""
    c = m.ChannelReading
    sensors = sorted({seg.sensor_id for seg in segs})
    if not sensors:
        return {}
    last = (sa.select(c.sensor_id, c.channel, sa.func.max(c.measured_at).label("at"))
            .where(c.sensor_id.in_(sensors), c.channel.in_(list(channels)), c.measured_at < lo)
            .group_by(c.sensor_id, c.channel).subquery())
    rows = conn.execute(sa.select(c.sensor_id, c.channel, c.measured_at, c.value)
                        .join(last, sa.and_(c.sensor_id == last.c.sensor_id, c.channel == last.c.channel,
                                            c.measured_at == last.c.at))).all()
    return {(sensor, channel): (at, value) for sensor, channel, at, value in rows
            if any(seg.sensor_id == sensor and seg.covers(at) for seg in segs)}
