"""A sensor's latest value is the stored reading at its last measured time, on SQLite and PostgreSQL: kept with
the sensor (``sensors.last_temperature_c``) by ingest, by logger imports and by the migration that added it, so
the dashboard's current temperature never differs from the record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import command

from fridge_monitor.config import build_config
from fridge_monitor.core.readings import Reading
from fridge_monitor.ingest.batches import Batch, Store
from fridge_monitor.store import migrate
from fridge_monitor.store import models as m
from fridge_monitor.store.sensors import latest_values
from fridge_monitor.store.sync import sync_declarations

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def reading(at: datetime, celsius: float) -> tuple[Reading, datetime]:
    return Reading("native:p1", "native", "p1", at, celsius), at


def declare(engine, url):
    config = build_config({"database": {"url": url}, "sites": [{"name": "Ward", "timezone": "Europe/Berlin"}],
                           "fridges": [{"name": "F1", "site": "Ward", "sensors": ["native:p1"]}]}, {}, {}, "test")
    sync_declarations(engine, config, NOW - timedelta(days=1))


def latest(engine) -> tuple[datetime, float]:
    with engine.connect() as conn:
        return latest_values(conn, ["native:p1"])["native:p1"]


def test_the_latest_value_follows_the_newest_stored_reading(database_url, engine_for):
    engine = engine_for(database_url)
    declare(engine, database_url)
    store = Store(engine)
    store.write(Batch(readings=[reading(NOW - timedelta(minutes=3), 4.1), reading(NOW - timedelta(minutes=1), 5.5)]))
    assert latest(engine) == (NOW - timedelta(minutes=1), 5.5)
    # Late data does not move it back; a second message for the stored moment with another value is not stored,
    # and does not become the latest either.
    store.write(Batch(readings=[reading(NOW - timedelta(minutes=30), 9.9), reading(NOW - timedelta(minutes=1), 6.6)]))
    assert latest(engine) == (NOW - timedelta(minutes=1), 5.5)
    store.write(Batch(readings=[reading(NOW, 3.2)]))
    assert latest(engine) == (NOW, 3.2)


def test_the_migration_fills_it_from_the_readings_already_stored(database_url, engine_for):
    engine = engine_for(database_url)
    declare(engine, database_url)
    with engine.begin() as conn:
        command.downgrade(migrate.alembic_config(conn), "0025")
    with engine.begin() as conn:  # what 0025's ingest stored: readings and the sensor's last measured time
        conn.execute(sa.insert(m.Reading.__table__), [
            {"sensor_id": "native:p1", "measured_at": NOW - timedelta(minutes=k), "received_at": NOW,
             "temperature_c": 4.0 + k} for k in (5, 2)])
        sensors = m.Sensor.__table__
        conn.execute(sa.update(sensors).where(sensors.c.id == "native:p1")
                     .values(last_measured_at=NOW - timedelta(minutes=2)))
    migrate.upgrade(engine)
    assert latest(engine) == (NOW - timedelta(minutes=2), 6.0)
