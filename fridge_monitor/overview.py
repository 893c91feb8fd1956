"""Each fridge's latest reading and today's min/max, read from the database."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from fridge_monitor import models as m
from fridge_monitor.status import Latest, workday_start


def fridge_overview(conn: sa.Connection, now: datetime) -> list[tuple[str, Latest]]:
    """(site name, latest state) for every fridge in service, by site then fridge name."""
    fridges = conn.execute(
        sa.select(m.Fridge.id, m.Fridge.name, m.Fridge.low_c, m.Fridge.high_c, m.Site.name, m.Site.timezone)
        .join(m.Site, m.Fridge.site_id == m.Site.id)
        .where(m.Fridge.retired_at.is_(None))
        .order_by(m.Site.name, m.Fridge.name)
    ).all()
    overview = []
    for fridge_id, name, low, high, site, tz in fridges:
        sensors = conn.scalars(sa.select(m.Sensor.id).where(m.Sensor.fridge_id == fridge_id)).all()
        latest = None
        low_today = high_today = None
        if sensors:
            readings = sa.select(m.Reading.measured_at, m.Reading.temperature_c).where(m.Reading.sensor_id.in_(sensors))
            latest = conn.execute(readings.order_by(m.Reading.measured_at.desc()).limit(1)).first()
            low_today, high_today = conn.execute(
                sa.select(sa.func.min(m.Reading.temperature_c), sa.func.max(m.Reading.temperature_c)).where(
                    m.Reading.sensor_id.in_(sensors),
                    m.Reading.measured_at >= workday_start(now, ZoneInfo(tz)),
                )
            ).one()
        overview.append(
            (
                site,
                Latest(
                    fridge=name,
                    low_c=low,
                    high_c=high,
                    sensors=len(sensors),
                    measured_at=latest.measured_at if latest else None,
                    temperature_c=latest.temperature_c if latest else None,
                    min_c=low_today,
                    max_c=high_today,
                ),
            )
        )
    return overview
