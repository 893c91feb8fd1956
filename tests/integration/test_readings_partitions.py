"""Readings on PostgreSQL are partitioned by UTC month: partitions made ahead take a new month's readings, the
DEFAULT partition takes any other, migration 0025 converts a filled table without losing a row (and back), and
every partition stays append-only."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic import command

from fridge_monitor.alerts.scheduler import Scheduler
from fridge_monitor.config import build_config
from fridge_monitor.core.readings import Reading
from fridge_monitor.ingest.batches import Batch, Store
from fridge_monitor.store import migrate, partitions
from fridge_monitor.store import models as m
from fridge_monitor.store.readings_insert import ReadingsInsert

from support import wait_until

pytestmark = [pytest.mark.postgres]

COLUMNS = "id, sensor_id, measured_at, received_at, temperature_c"


def store(engine: sa.Engine, sensor: str, moments: list[datetime], celsius: float = 4.5) -> None:
    """Readings written as ingest writes them (one INSERT … ON CONFLICT DO NOTHING for the batch)."""
    device = sensor.split(":", 1)[1]
    Store(engine).write(Batch(readings=[(Reading(sensor, "native", device, at, celsius + k % 7 / 10), at)
                                        for k, at in enumerate(moments)]))


def store_before_head(engine: sa.Engine, sensor: str, moments: list[datetime], celsius: float = 4.5) -> None:
    """Readings written into a database at an older migration by the one INSERT ingest uses (today's ``Store``
    also keeps sensor columns later migrations added)."""
    device = sensor.split(":", 1)[1]
    with engine.begin() as conn:
        known = conn.scalar(sa.select(sa.func.count()).select_from(m.Sensor.__table__)
                            .where(m.Sensor.__table__.c.id == sensor))
        if not known:
            conn.execute(sa.insert(m.Sensor.__table__).values(id=sensor, format="native", device=device,
                                                              created_at=datetime.now(UTC)))
        ReadingsInsert(conn.dialect.name).execute(conn, [(sensor, at, at, celsius + k % 7 / 10)
                                                         for k, at in enumerate(moments)])


def where(engine: sa.Engine) -> dict[datetime, str]:
    """The partition each reading is stored in, by measured time."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT measured_at, tableoid::regclass::text FROM readings")).all()
    return {at: table for at, table in rows}


def everything(engine: sa.Engine) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.exec_driver_sql(f"SELECT {COLUMNS} FROM readings ORDER BY id")]


def test_a_month_made_ahead_takes_its_readings_and_a_far_one_lands_in_the_default_partition(postgres_url, engine_for):
    engine = engine_for(postgres_url)
    made = partitions.ensure_partitions(engine, datetime(2031, 5, 20, 12, tzinfo=UTC))
    assert made == ["readings_y2031m05", "readings_y2031m06", "readings_y2031m07", "readings_y2031m08"]
    assert partitions.ensure_partitions(engine, datetime(2031, 5, 31, tzinfo=UTC)) == []  # idempotent

    june, later = datetime(2031, 6, 1, 0, 0, tzinfo=UTC), datetime(2044, 2, 29, 12, tzinfo=UTC)
    store(engine, "native:p1", [june, june + timedelta(minutes=5), later])
    store(engine, "native:p1", [june])  # delivered again: skipped, as ever
    assert where(engine) == {june: "readings_y2031m06", june + timedelta(minutes=5): "readings_y2031m06",
                             later: "readings_default"}
    # The month bounds are UTC: the last microsecond of May is May's.
    store(engine, "native:p1", [june - timedelta(microseconds=1)])
    assert where(engine)[june - timedelta(microseconds=1)] == "readings_y2031m05"


def test_a_month_whose_readings_wait_in_the_default_partition_gets_them_when_its_partition_is_made(
        postgres_url, engine_for):
    engine = engine_for(postgres_url)
    early = [datetime(2032, 9, 30, 23, 59, tzinfo=UTC), datetime(2032, 10, 1, tzinfo=UTC),
             datetime(2032, 10, 31, 23, 59, 59, tzinfo=UTC), datetime(2032, 11, 1, tzinfo=UTC)]
    store(engine, "native:p2", early)
    before = everything(engine)
    assert set(where(engine).values()) == {"readings_default"}

    made = partitions.ensure_partitions(engine, datetime(2032, 10, 15, tzinfo=UTC), months_ahead=0)
    assert made == ["readings_y2032m10"]
    assert everything(engine) == before  # moved, ids and all, none lost or doubled
    assert where(engine) == {early[0]: "readings_default", early[1]: "readings_y2032m10",
                             early[2]: "readings_y2032m10", early[3]: "readings_default"}
    with engine.connect() as conn:  # the DEFAULT partition is attached again, append-only again
        assert partitions.has_default(conn)
    refused(engine, "readings_default")
    refused(engine, "readings_y2032m10")


def test_two_schedulers_making_the_same_partitions_at_once_make_each_once(postgres_url, engine_for):
    engines = [engine_for(postgres_url), engine_for(postgres_url)]
    now = datetime(2033, 1, 10, tzinfo=UTC)
    made: list[list[str]] = []
    start = threading.Barrier(2)

    def run(engine: sa.Engine) -> None:
        start.wait()
        made.append(partitions.ensure_partitions(engine, now))

    threads = [threading.Thread(target=run, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(made[0] + made[1]) == ["readings_y2033m01", "readings_y2033m02", "readings_y2033m03",
                                         "readings_y2033m04"]
    with engines[0].connect() as conn:
        assert {month for month in partitions.attached(conn) if month.year == 2033} == {
            datetime(2033, k, 1).date() for k in (1, 2, 3, 4)}


def test_the_active_scheduler_makes_the_coming_months_partitions_at_start(postgres_url, engine_for):
    engine = engine_for(postgres_url)
    this_month = partitions.month_of(datetime.now(UTC))
    ahead = [partitions.add_months(this_month, k) for k in range(1, partitions.MONTHS_AHEAD + 1)]
    with engine.begin() as conn:  # as if the migration had run three months ago and nothing since
        for month in ahead:
            conn.exec_driver_sql(f"DROP TABLE {partitions.partition_name(month)}")
    config = build_config({"database": {"url": postgres_url}, "audit": {"anchor_topic": ""}}, {}, {}, "test")
    scheduler = Scheduler(config, engine)

    def made() -> bool:
        with engine.connect() as conn:
            return set(ahead) <= set(partitions.attached(conn))

    scheduler.start()
    try:
        wait_until(made, 30, what="the coming months' partitions")
    finally:
        scheduler.stop()


def test_a_long_query_on_readings_delays_a_partition_instead_of_stalling_ingest(postgres_url, engine_for,
                                                                                monkeypatch, caplog):
    """Making a partition needs the readings table's exclusive lock; waiting for it would queue every insert
    behind a long export. The scheduler gives up after a moment and makes it on its next round."""
    engine = engine_for(postgres_url)
    monkeypatch.setattr(partitions, "LOCK_TIMEOUT", "200ms")
    now = datetime(2035, 7, 1, tzinfo=UTC)
    with engine.connect() as reader:
        reader.exec_driver_sql("SELECT count(*) FROM readings")  # a read still open: it holds its lock
        assert partitions.ensure_partitions(engine, now, months_ahead=0) == []
        assert "the readings partition of 2035-07 was not made this time" in caplog.text
        reader.rollback()
    assert partitions.ensure_partitions(engine, now, months_ahead=0) == ["readings_y2035m07"]


def refused(engine: sa.Engine, table: str) -> None:
    """UPDATE, DELETE and TRUNCATE of ``table`` are refused, naming the readings table."""
    for verb, sql in (("UPDATE", f"UPDATE {table} SET temperature_c = -1"), ("DELETE", f"DELETE FROM {table}"),
                      ("TRUNCATE", f"TRUNCATE {table}")):
        with pytest.raises(sa.exc.DatabaseError, match=f"readings rows are append-only: {verb} refused"), \
                engine.begin() as conn:
            conn.exec_driver_sql(sql)


def test_every_partition_refuses_update_delete_and_truncate(postgres_url, engine_for):
    engine = engine_for(postgres_url)
    partitions.ensure_partitions(engine, datetime(2034, 3, 1, tzinfo=UTC), months_ahead=0)
    with engine.connect() as conn:
        months = partitions.attached(conn)
    assert partitions.month_of(datetime(2034, 3, 1, tzinfo=UTC)) in months
    assert len(months) >= 5  # the migration's months (this one and three ahead), and 2034-03
    # A row trigger fires for a row: one reading in each partition, and one in the DEFAULT partition.
    store(engine, "native:p3", [partitions.bounds(month)[0] + timedelta(days=1) for month in months]
          + [datetime(2050, 1, 1, tzinfo=UTC)])
    assert set(where(engine).values()) == set(months.values()) | {partitions.DEFAULT}
    for table in sorted(months.values()) + [partitions.DEFAULT, "readings"]:
        refused(engine, table)
    assert len(everything(engine)) == len(months) + 1


def test_upgrading_a_filled_table_to_0025_keeps_every_row_and_downgrading_too(postgres_url, engine_for):
    engine = engine_for(postgres_url)
    with engine.begin() as conn:
        command.downgrade(migrate.alembic_config(conn), "0024")
    with engine.connect() as conn:
        assert not partitions.partitioned(conn)
    # Months apart, across year ends and a leap day, and two sensors at the same moments.
    moments = [datetime(2024, 12, 31, 23, 59, 59, 999999, tzinfo=UTC) + timedelta(days=29 * k, minutes=k)
               for k in range(20)] + [datetime(2024, 2, 29, 12, tzinfo=UTC), datetime(2091, 1, 1, tzinfo=UTC)]
    store_before_head(engine, "native:m1", moments)
    store_before_head(engine, "native:m2", moments, celsius=-20.0)
    before = everything(engine)
    assert len(before) == 2 * len(moments)

    migrate.upgrade(engine)
    assert migrate.schema_problem(engine) is None
    assert everything(engine) == before
    migrate.check(engine)  # the partitions are not models: the comparison leaves them out
    with engine.connect() as conn:
        assert partitions.partitioned(conn)
        months = partitions.attached(conn)
        default_rows = conn.scalar(sa.text(f"SELECT count(*) FROM {partitions.DEFAULT}"))
    assert {partitions.month_of(at) for at in moments} <= set(months)  # every month with rows has its own
    assert partitions.month_of(datetime.now(UTC)) in months
    assert default_rows == 0
    # The id sequence goes on from where it was; a reading delivered again is still skipped.
    store(engine, "native:m1", [moments[0], datetime(2025, 6, 1, tzinfo=UTC)])
    after = everything(engine)
    assert after[:-1] == before and after[-1][0] > before[-1][0]

    with engine.begin() as conn:
        command.downgrade(migrate.alembic_config(conn), "0024")
    assert everything(engine) == after
    with engine.connect() as conn:
        assert not partitions.partitioned(conn)
        assert conn.scalar(sa.text("SELECT count(*) FROM pg_class WHERE relname LIKE 'readings\\_y%'")) == 0
    with pytest.raises(sa.exc.DatabaseError, match="readings rows are append-only: DELETE refused"), \
            engine.begin() as conn:
        conn.execute(sa.delete(m.Reading.__table__))
    migrate.upgrade(engine)
    assert everything(engine) == after
