"""The other channels as CSV (``export channels``, ``channels.csv`` in bundles): door contacts, smart plugs'
power and switch, humidity, each value with the fridge its sensor was in at the time and its unit."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import TextIO

import sqlalchemy as sa

from fridge_monitor.core import csv_cells
from fridge_monitor.core.times import iso_utc
from fridge_monitor.reports.export import stream_rows
from fridge_monitor.store import models as m

CHANNELS_HEADER = ["measured_at_utc", "fridge", "sensor", "channel", "value", "unit", "received_at_utc"]
UNITS = {"door": "1 open, 0 closed", "power": "W", "switch": "1 on, 0 off", "humidity": "%RH"}


def channels_query(start: datetime, end: datetime, fridge: str | None = None) -> sa.Select[
        datetime, str, str, str, float, datetime]:
    """Channel values in [start, end), each with the fridge its sensor was in at that time."""
    c, a, f = m.ChannelReading, m.SensorAssignment, m.Fridge
    in_assignment = sa.and_(a.sensor_id == c.sensor_id, sa.or_(a.since.is_(None), a.since <= c.measured_at),
                            sa.or_(a.until.is_(None), c.measured_at < a.until))
    query = (sa.select(c.measured_at, f.name, c.sensor_id, c.channel, c.value, c.received_at)
             .select_from(c).outerjoin(a, in_assignment).outerjoin(f, f.id == a.fridge_id)
             .where(c.measured_at >= start, c.measured_at < end)
             .order_by(c.measured_at, c.sensor_id, c.channel))
    return query.where(f.name == fridge) if fridge is not None else query


def export_channels(engine: sa.Engine, out: TextIO, start: datetime, end: datetime, *, fridge: str | None = None,
                    tz: tzinfo | None = None) -> int:
    """Write the channels CSV (values exactly as stored); return the number of rows."""
    writer = csv_cells.writer(out)
    writer.writerow(CHANNELS_HEADER + (["measured_at_local"] if tz else []))
    count = 0
    for measured, fridge_name, sensor, channel, value, received in stream_rows(engine, channels_query(start, end,
                                                                                                      fridge)):
        row = [iso_utc(measured), fridge_name or "", sensor, channel, repr(value), UNITS.get(channel, ""),
               iso_utc(received)]
        writer.writerow(row + ([measured.astimezone(tz).isoformat()] if tz else []))
        count += 1
    return count
