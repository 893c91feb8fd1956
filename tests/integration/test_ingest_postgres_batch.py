"""Ingest's batch path on PostgreSQL: readings go in by COPY into a staging table and one INSERT … SELECT …
ON CONFLICT DO NOTHING; what else a batch writes (sensors' state, hourly figures, marks for the rules) is one
statement over arrays.

A reading delivered twice is stored once and changes nothing (the append-only triggers would refuse an
UPDATE); a batch of many sensors, in any order and with late readings, lands whole; two ingest processes
sharing one subscription drain a queued backlog into one database with nothing lost or doubled.
"""

from __future__ import annotations

import random
import re
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from fridge_monitor.core.readings import Reading
from fridge_monitor.ingest.batches import Batch, Store
from fridge_monitor.ingest.subscriber import Ingest
from fridge_monitor.store import models as m
from fridge_monitor.store.readings_insert import ReadingsInsert

from guarantees import assert_exactly, count_readings, stream_expected
from support import Publisher, native, wait_until

pytestmark = [pytest.mark.postgres]

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
STATS = re.compile(r"ingest stopped: IngestStats\(messages_received=(\d+), messages_acked=(\d+), "
                   r"readings_written=(\d+)")


def readings(engine: sa.Engine) -> list[tuple[str, datetime, float]]:
    r = m.Reading
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.select(r.sensor_id, r.measured_at, r.temperature_c)
                                                   .order_by(r.sensor_id, r.measured_at))]


def doubled(engine: sa.Engine) -> int:
    """Readings stored more than once (the unique constraint should make this 0 whatever the path)."""
    with engine.connect() as conn:
        return conn.exec_driver_sql("SELECT count(*) FROM (SELECT 1 FROM readings GROUP BY sensor_id, measured_at "
                                    "HAVING count(*) > 1) AS twice").scalar_one()


def hour_counts(engine: sa.Engine) -> dict[tuple[str, datetime], int]:
    h = m.HourlyRollup
    with engine.connect() as conn:
        return {(sid, hour): count for sid, hour, count in conn.execute(sa.select(h.sensor_id, h.hour, h.count))}


def hour_counts_from_readings(engine: sa.Engine) -> dict[tuple[str, datetime], int]:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT sensor_id, date_trunc('hour', measured_at AT TIME ZONE 'UTC'), count(*) "
                                    "FROM readings GROUP BY 1, 2").all()
    return {(sid, hour.replace(tzinfo=UTC)): count for sid, hour, count in rows}


def reading(sensor: str, at: datetime, celsius: float, battery: float | None = None) -> Reading:
    return Reading(f"native:{sensor}", "native", sensor, at, celsius, battery)


def test_duplicates_and_a_redelivered_batch_are_stored_once(postgres_url, engine_for):
    engine = engine_for(postgres_url)
    store = Store(engine)
    received = T0 + timedelta(hours=2)
    batch = Batch(readings=[(reading(f"d{k % 3}", T0 + timedelta(minutes=k), 4.0 + k / 100), received)
                            for k in range(300)])
    # The same readings twice in one batch (a logger's buffer sent again inside the same batch).
    batch.readings += batch.readings[:50]
    store.write(batch)
    first = readings(engine)
    assert len(first) == 300 and doubled(engine) == 0

    # Redelivered whole (a crash before the acknowledgement), and to another ingest process, which has not
    # seen these sensors: skipped, not updated (the append-only trigger would refuse an UPDATE, failing the write).
    store.write(batch)
    Store(engine).write(batch)
    assert readings(engine) == first
    assert hour_counts(engine) == hour_counts_from_readings(engine)  # the hourly figures count each once

    # A redelivered reading with another value is still the first one (evidence is not rewritten).
    store.write(Batch(readings=[(reading("d0", T0, 9.9), received)]))
    assert [row for row in readings(engine) if row[0] == "native:d0" and row[1] == T0] == [("native:d0", T0, 4.0)]


@pytest.mark.parametrize("staging", [True, False], ids=["copy", "arrays"])
def test_both_insert_paths_store_each_reading_once(postgres_url, engine_for, staging):
    """The staging table (COPY) and, for a user who may not create temporary tables, the arrays."""
    engine = engine_for(postgres_url)
    Store(engine).write(Batch(readings=[(reading(f"i{k}", T0, 4.0), T0) for k in range(3)]))  # the sensors
    insert = ReadingsInsert("postgresql", staging=staging)
    rows = [(f"native:i{k % 3}", T0 + timedelta(seconds=k), T0 + timedelta(hours=1), 4.0 + k / 10) for k in range(90)]
    with engine.begin() as conn:
        insert.execute(conn, rows + rows[:10])  # repeats in the same statement
        insert.execute(conn, rows[40:])  # and again in the same transaction
        insert.execute_series(conn, "native:i0", T0, [(T0 + timedelta(seconds=k), 9.9) for k in range(0, 120, 3)])
    with engine.begin() as conn:
        insert.execute(conn, rows)  # redelivered later
        insert.execute(conn, [])
    expected = {(sid, at, celsius) for sid, at, _received, celsius in rows}
    expected |= {("native:i0", T0 + timedelta(seconds=k), 9.9) for k in range(90, 120, 3)}
    expected |= {(f"native:i{k}", T0, 4.0) for k in range(3)}  # the first ones
    assert sorted(readings(engine)) == sorted(expected) and doubled(engine) == 0


def test_a_user_who_may_not_create_temporary_tables_gets_the_arrays(postgres_url, postgres_admin, engine_for,
                                                                     caplog):
    engine = engine_for(postgres_url)
    Store(engine).write(Batch(readings=[(reading("u", T0, 4.0), T0)]))
    role = f"fm_no_temp_{uuid.uuid4().hex[:8]}"
    database = sa.make_url(postgres_url).database
    with postgres_admin.connect() as admin:
        admin.exec_driver_sql(f"CREATE ROLE {role} LOGIN")
    limited = None
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(f'REVOKE TEMPORARY ON DATABASE "{database}" FROM PUBLIC')
            conn.exec_driver_sql(f"GRANT SELECT, INSERT ON readings, sensors TO {role}")
            conn.exec_driver_sql(f"GRANT USAGE ON SEQUENCE readings_id_seq TO {role}")
        limited = sa.create_engine(sa.make_url(postgres_url).set(username=role))
        insert = ReadingsInsert("postgresql")
        with limited.begin() as conn:
            insert.execute(conn, [("native:u", T0 + timedelta(minutes=k), T0, 5.0) for k in range(1, 4)])
            insert.execute(conn, [("native:u", T0 + timedelta(minutes=k), T0, 5.0) for k in range(1, 4)])
        assert "may not create temporary tables" in caplog.text
        assert len(readings(engine)) == 4 and doubled(engine) == 0
    finally:
        if limited is not None:
            limited.dispose()
        with engine.begin() as conn:
            conn.exec_driver_sql(f'GRANT TEMPORARY ON DATABASE "{database}" TO PUBLIC')
            conn.exec_driver_sql(f"DROP OWNED BY {role}")
        with postgres_admin.connect() as admin:
            admin.exec_driver_sql(f"DROP ROLE IF EXISTS {role}")


def test_a_batch_of_mixed_sensors_lands_whole(postgres_url, engine_for, make_config):
    engine = engine_for(postgres_url)
    fridges = [{"name": f"F{k}", "site": "Clinic", "sensors": [f"native:m{k}", f"native:m{k + 10}"]} for k in range(10)]
    config, _ = make_config(postgres_url, sites=[{"name": "Clinic", "timezone": "Europe/Berlin"}], fridges=fridges)
    from fridge_monitor.store.sync import sync_declarations

    sync_declarations(engine, config, T0)
    rng = random.Random(18)
    received = T0 + timedelta(hours=6)
    # 30 sensors (20 in fridges, 10 unknown), 2,000 readings over 5 hours, shuffled: late ones everywhere.
    rows = [(reading(f"m{k % 30}", T0 + timedelta(seconds=9 * k), round(rng.uniform(2, 8), 2), 50 + k % 40),
             received + timedelta(milliseconds=k)) for k in range(2000)]
    rng.shuffle(rows)
    Store(engine).write(Batch(readings=rows))

    expected = sorted((r.sensor_id, r.measured_at, r.temperature_c) for r, _ in rows)
    assert readings(engine) == expected
    assert hour_counts(engine) == hour_counts_from_readings(engine)
    s = m.Sensor
    with engine.connect() as conn:
        state = {row.id: row for row in conn.execute(sa.select(s.id, s.last_measured_at, s.last_seen_at,
                                                               s.battery_pct, s.battery_at, s.fridge_id))}
        marks = dict(conn.execute(sa.select(m.FridgeEvaluation.fridge_id, m.FridgeEvaluation.dirty_since)).all())
    assert len(state) == 30
    for k in range(30):
        mine = [(r, at) for r, at in rows if r.sensor_id == f"native:m{k}"]
        newest = max(r.measured_at for r, _ in mine)
        row = state[f"native:m{k}"]
        assert row.last_measured_at == newest
        assert row.last_seen_at == max(at for _, at in mine)
        assert (row.battery_at, row.battery_pct) == next((r.measured_at, r.battery_pct) for r, _ in mine
                                                          if r.measured_at == newest)
    # Each fridge marked once, from the earliest reading of either of its sensors.
    assert len(marks) == 10
    for k in range(10):
        fridge_id = state[f"native:m{k}"].fridge_id
        assert marks[fridge_id] == min(r.measured_at for r, _ in rows
                                       if r.sensor_id in (f"native:m{k}", f"native:m{k + 10}"))


def test_in_process_ingest_stores_a_stream_with_repeats_once(postgres_url, engine_for, make_config, mqtt_url,
                                                              mqtt_protocol, prefix):
    engine = engine_for(postgres_url)
    config, _ = make_config(postgres_url)
    base = int(time.time()) - 7200
    messages = [native(prefix, f"p{k % 7}", 4.0 + k % 9 / 10, base + k) for k in range(700)]
    repeated = messages + messages[::3]  # a third of them published again
    ingest = Ingest(config)
    ingest.start()
    publisher = Publisher(mqtt_url, f"pub-{prefix.strip('/')}", mqtt_protocol)
    try:
        assert ingest.wait_connected(10)
        publisher.publish(repeated)
        wait_until(lambda: ingest.stats.messages_acked >= len(repeated) and not ingest.backlog, 60,
                   what=f"{len(repeated)} messages stored and acknowledged (so far {ingest.stats.messages_acked})")
    finally:
        publisher.close()
        ingest.stop()
    assert count_readings(engine) == 700 and doubled(engine) == 0
    assert hour_counts(engine) == hour_counts_from_readings(engine)


@pytest.mark.slow
@pytest.mark.mosquitto
def test_two_ingest_processes_in_a_shared_group_drain_a_backlog_once(postgres_url, ingest_rig, ingest_processes,
                                                                     prefix):
    """Mosquitto queues a shared subscription's messages for its members' persistent sessions, offline ones
    included (round robin), so both members subscribe and go away, the backlog is published, and both
    start again to drain their halves."""
    n = 2000
    rig = ingest_rig(postgres_url, start=False)
    engine = rig.engine
    tag = prefix.strip("/")
    ids = [f"fm-a-{tag}", f"fm-b-{tag}"]
    ingests = [ingest_processes(rig.config_path, "--shared-group", "drain", "--client-id", cid, name=cid)
               for cid in ids]
    for ingest, cid in zip(ingests, ids, strict=True):
        rig.start(ingest, cid)
    for ingest in ingests:
        assert ingest.terminate() == 0, ingest.log_tail()

    messages, expected = stream_expected(prefix, n, sensors=25)
    publisher = Publisher(rig.broker.url, f"pub-{tag}", "5")
    try:
        publisher.publish(messages)
    finally:
        publisher.close()
    assert count_readings(engine) == 0

    for ingest in ingests:
        ingest.start()
    wait_until(lambda: count_readings(engine) >= n, 90,
               what=f"all {n} readings stored (so far {count_readings(engine)})")
    time.sleep(1.0)  # a redelivery still on its way must add nothing
    stats = []
    for ingest in ingests:
        assert ingest.terminate() == 0, ingest.log_tail()
        found = STATS.findall(ingest.log())
        assert found, f"no final stats line in {ingest.log_path.name}:\n{ingest.log_tail()}"
        stats.append(tuple(map(int, found[-1])))
    assert_exactly(engine, expected, context=rig.context(*ingests))
    assert doubled(engine) == 0
    written = [w for _, _, w in stats]
    assert all(w > 0 for w in written) and sum(written) == n, f"the backlog was not shared: {stats}"
