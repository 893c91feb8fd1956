"""Declared fridges reach the database; readings belong to the fridge their sensor was in at the time."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.config import build_config
from fridge_monitor.core.readings import Reading
from fridge_monitor.ingest.batches import Batch, Store
from fridge_monitor.store import models as m
from fridge_monitor.store.sync import sync_config

from support import cli

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def declared(fridges):
    return build_config({"sites": [{"name": "Clinic A", "timezone": "Europe/Berlin"}], "fridges": fridges}, {}, {}, "t")


def reading(sensor, at, temp):
    fmt, device = sensor.split(":")[:2]
    return Reading(sensor, fmt, device, at, temp)


def test_sync_creates_updates_and_never_deletes(database_url, engine_for):
    engine = engine_for(database_url)
    first = declared([
        {"name": "A1", "site": "Clinic A", "sensors": ["native:a1-probe", "zigbee2mqtt:a1_backup"]},
        {"name": "F1", "site": "Clinic A", "kind": "freezer"},
    ])
    with so.Session(engine) as session, session.begin():
        changes = sync_config(session, first, T0)
    assert "fridge 'A1' created (refrigerator, 2.0..8.0 °C)" in changes
    with so.Session(engine) as session, session.begin():
        assert sync_config(session, first, T0 + timedelta(hours=1)) == []  # idempotent

    second = declared([{"name": "A1", "site": "Clinic A", "kind": "custom", "low_c": 2.0, "high_c": 6.0,
                        "sensors": ["zigbee2mqtt:a1_backup"]}])
    with so.Session(engine) as session, session.begin():
        changes = sync_config(session, second, T0 + timedelta(hours=2))
    assert "fridge 'A1' high_c 8.0 -> 6.0" in changes
    assert any("'zigbee2mqtt:a1_backup' assigned to fridge 'A1' as primary" in c for c in changes)
    with engine.connect() as conn:
        assert conn.scalars(sa.select(m.Fridge.name).order_by(m.Fridge.name)).all() == ["A1", "F1"]
        roles = conn.execute(sa.select(m.SensorAssignment.sensor_id, m.SensorAssignment.role,
                                       m.SensorAssignment.until).order_by(m.SensorAssignment.id)).all()
    assert [(r.sensor_id, r.role, r.until is not None) for r in roles] == [
        ("native:a1-probe", "primary", False),
        ("zigbee2mqtt:a1_backup", "backup", True),
        ("zigbee2mqtt:a1_backup", "primary", False),
    ]


def test_a_moved_sensor_keeps_its_history_with_the_old_fridge(database_url, engine_for, tmp_path):
    engine = engine_for(database_url)
    store = Store(engine)
    # Readings arrive before the sensor is declared anywhere: it is registered unassigned.
    store.write(Batch(readings=[(reading("native:p1", T0, 4.0), T0)]))
    with so.Session(engine) as session, session.begin():
        sync_config(session, declared([{"name": "A1", "site": "Clinic A", "sensors": ["native:p1"]}]),
                    T0 + timedelta(hours=1))
    store.write(Batch(readings=[(reading("native:p1", T0 + timedelta(hours=2), 5.0), T0 + timedelta(hours=2))]))
    with so.Session(engine) as session, session.begin():
        sync_config(session, declared([
            {"name": "A1", "site": "Clinic A"},
            {"name": "B2", "site": "Clinic A", "sensors": ["native:p1"]},
        ]), T0 + timedelta(hours=3))
    late = reading("native:p1", T0 + timedelta(hours=2, minutes=30), 5.5)  # a buffer uploaded after the move
    store.write(Batch(readings=[(late, T0 + timedelta(hours=5)),
                                (reading("native:p1", T0 + timedelta(hours=4), 6.0), T0 + timedelta(hours=4))]))

    env = {"FRIDGE_MONITOR_DATABASE_URL": database_url}
    result = cli("export", "readings", "--from", "2026-11-20", "--to", "2026-11-20", "--tz", "Europe/Berlin", env=env)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["measured_at_utc"], r["fridge"], r["temperature_c"]) for r in rows] == [
        ("2026-11-20T08:00:00Z", "A1", "4.0"),
        ("2026-11-20T10:00:00Z", "A1", "5.0"),
        ("2026-11-20T10:30:00Z", "A1", "5.5"),
        ("2026-11-20T12:00:00Z", "B2", "6.0"),
    ]
    assert rows[0]["measured_at_local"] == "2026-11-20T09:00:00+01:00"
    only_b2 = cli("export", "readings", "--from", "2026-11-20", "--to", "2026-11-20", "--fridge", "B2", env=env)
    assert [r["temperature_c"] for r in csv.DictReader(io.StringIO(only_b2.stdout))] == ["6.0"]

    out = tmp_path / "readings.csv"
    result = cli("export", "readings", "--from", "2026-11-20", "--to", "2026-11-20", "--out", str(out), env=env)
    assert result.returncode == 0 and "4 rows written" in result.stderr
    assert out.read_text().splitlines()[0] == ("measured_at_utc,fridge,sensor,temperature_c,received_at_utc,"
                                               "calibrated_device")


def test_duplicates_are_stored_once_and_last_seen_never_goes_back(database_url, engine_for):
    engine = engine_for(database_url)
    store = Store(engine)
    store.write(Batch(readings=[(reading("native:p2", T0 + timedelta(minutes=5), 4.0), T0 + timedelta(minutes=5))]))
    store.write(Batch(readings=[
        (reading("native:p2", T0 + timedelta(minutes=5), 9.9), T0 + timedelta(minutes=6)),  # redelivered copy
        (reading("native:p2", T0, 3.0), T0 + timedelta(minutes=6)),  # late reading
    ]))
    with engine.connect() as conn:
        temps = conn.scalars(sa.select(m.Reading.temperature_c).order_by(m.Reading.measured_at)).all()
        sensor = conn.execute(sa.select(m.Sensor).where(m.Sensor.id == "native:p2")).one()
    assert temps == [3.0, 4.0]
    assert sensor.last_measured_at == T0 + timedelta(minutes=5)
    assert sensor.last_seen_at == T0 + timedelta(minutes=6)
    assert sensor.fridge_id is None


def test_hourly_rollups_stay_exact_with_late_and_duplicate_readings(database_url, engine_for):
    engine = engine_for(database_url)
    store = Store(engine)
    store.write(Batch(readings=[(reading("native:p3", T0 + timedelta(minutes=m), t), T0) for m, t in
                                ((0, 4.0), (30, 6.0), (70, 5.0))]))
    store.write(Batch(readings=[
        (reading("native:p3", T0 + timedelta(minutes=30), 9.9), T0),  # duplicate: ignored
        (reading("native:p3", T0 + timedelta(minutes=45), 8.5), T0),  # late, same hour
    ]))
    with engine.connect() as conn:
        rows = conn.execute(sa.select(m.HourlyRollup.hour, m.HourlyRollup.min_c, m.HourlyRollup.max_c,
                                      m.HourlyRollup.sum_c, m.HourlyRollup.count).order_by(m.HourlyRollup.hour)).all()
    assert [tuple(r) for r in rows] == [
        (T0, 4.0, 8.5, 18.5, 3),
        (T0 + timedelta(hours=1), 5.0, 5.0, 5.0, 1),
    ]


def test_an_unknown_sensor_is_registered_once_and_audited(database_url, engine_for):
    engine = engine_for(database_url)
    Store(engine).write(Batch(readings=[(reading("native:stray", T0, 4.0), T0)]))
    Store(engine).write(Batch(readings=[(reading("native:stray", T0 + timedelta(minutes=1), 4.1), T0)]))
    with engine.connect() as conn:
        events = conn.execute(sa.select(m.AuditEvent.actor, m.AuditEvent.action, m.AuditEvent.new_value)
                              .where(m.AuditEvent.record_id == "native:stray")).all()
    assert [tuple(e) for e in events] == [("ingest", "create", "unassigned")]
