"""Period statistics from the hourly rollups stay exact under late data, on SQLite and PostgreSQL (issue #19).

A fridge reports every 5 minutes through October 2026, with a warm hour, a
reading on its upper limit and a 3-hour silence on 15 October. Readings are
written as ingest writes them; the scheduler's round recomputes stale hours.
The month's statistics from the rollups equal the raw computation over every
reading; then the silence's readings arrive late (a backlog into last month),
and the month's statistics change exactly as a raw recomputation says, before
the stale hours are recomputed (read raw meanwhile) and after.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.alerts.scheduler import Scheduler
from fridge_monitor.config import build_config
from fridge_monitor.core.readings import Reading
from fridge_monitor.core.rollups import HOUR, HourFigures, hour_figures
from fridge_monitor.core.stats import period_stats
from fridge_monitor.ingest.batches import Batch, Store
from fridge_monitor.reports.temperature_log import fridge_stats
from fridge_monitor.store import models as m
from fridge_monitor.store import rollups
from fridge_monitor.store.series import load_series
from fridge_monitor.store.sync import sync_config

from support import wait_until

GAP = timedelta(minutes=30)
OCTOBER = (datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC))
NOW = datetime(2026, 11, 20, tzinfo=UTC)
SILENCE = (datetime(2026, 10, 15, 10, tzinfo=UTC), datetime(2026, 10, 15, 13, tzinfo=UTC))
WARM_HOUR = datetime(2026, 10, 20, 3, tzinfo=UTC)


def temperature(at: datetime) -> float:
    if WARM_HOUR <= at < WARM_HOUR + HOUR:
        return 9.5
    if at == datetime(2026, 10, 22, 12, 5, tzinfo=UTC):
        return 8.0  # on the limit: inside
    return 4.0 + (at.minute // 5 % 4) * 0.25


def reading(at: datetime, celsius: float | None = None) -> tuple[Reading, datetime]:
    return Reading("native:probe", "native", "probe", at, temperature(at) if celsius is None else celsius), at


@pytest.fixture
def clinic(database_url, engine_for):
    engine = engine_for(database_url)
    config = build_config({
        "database": {"url": database_url},
        "sites": [{"name": "Clinic", "timezone": "Europe/Berlin"}],
        "alarm_profiles": [{"name": "five-minute", "low_c": 2.0, "high_c": 8.0, "allowed_gap_min": 30}],
        "fridges": [{"name": "Vaccines", "site": "Clinic", "sensors": ["native:probe"],
                     "alarm_profile": "five-minute"}],
    }, {}, {}, "test")
    with so.Session(engine) as session, session.begin():
        sync_config(session, config, datetime(2026, 9, 1, tzinfo=UTC))
        fridge_id = session.scalar(sa.select(m.Fridge.id))
    start, end = OCTOBER
    times = [start + timedelta(minutes=5 * k) for k in range(int((end - start) / timedelta(minutes=5)))]
    store = Store(engine)
    kept = [t for t in times if not SILENCE[0] <= t < SILENCE[1]]
    for k in range(0, len(kept), 2000):  # batches, as ingest commits them
        store.write(Batch(readings=[reading(t) for t in kept[k:k + 2000]]))
    return engine, config, fridge_id


def stale(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return rollups.stale_count(conn)


def refresh_all(engine: sa.Engine) -> None:
    """What the scheduler's rounds do, until no hour is stale."""
    while rollups.refresh(engine):
        pass
    with engine.connect() as conn:
        assert rollups.stale_count(conn) == 0


def raw(engine: sa.Engine, fridge_id: int):
    with so.Session(engine) as session:
        series = load_series(session, fridge_id, OCTOBER[0] - 2 * GAP, OCTOBER[1], GAP)
    return period_stats(series, *OCTOBER, 2.0, 8.0, GAP)


def from_rollups(engine: sa.Engine, config, fridge_id: int, reads: list[str] | None = None):
    """The month's statistics as the fridge page asks for them; the statements that read raw readings are
    added to ``reads``."""
    def count(_conn, _cursor, statement, *_args):
        if "FROM readings" in statement and reads is not None:
            reads.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        with engine.connect() as conn:
            return fridge_stats(conn, fridge_id, *OCTOBER, config=config, now=NOW)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def same(found, expected) -> None:
    assert (found.min_c, found.min_at, found.max_c, found.max_at, found.readings) == (
        expected.min_c, expected.min_at, expected.max_c, expected.max_at, expected.readings)
    assert found.known_s == pytest.approx(expected.known_s, abs=1e-6)
    assert found.time_out_of_range_s == pytest.approx(expected.time_out_of_range_s, abs=1e-6)
    assert found.mean_c == pytest.approx(expected.mean_c, abs=1e-9)
    assert found.mkt_c == pytest.approx(expected.mkt_c, abs=1e-9)


def every_row_as_recomputed(engine: sa.Engine, hours: int) -> None:
    """Each of the ``hours`` stored holds what the hour's readings (with their neighbours) give."""
    names = [f.name for f in dataclasses.fields(HourFigures)]
    r = m.HourlyRollup.__table__
    with engine.connect() as conn:
        readings = [tuple(row) for row in conn.execute(sa.select(m.Reading.measured_at, m.Reading.temperature_c))]
        stored = {row.hour: HourFigures(*(row[n] for n in names))
                  for row in conn.execute(sa.select(*(r.c[n] for n in names)).where(r.c.held_s.is_not(None)))
                  .mappings()}
    assert len(stored) == hours
    for figures in hour_figures(readings, stored):
        assert stored[figures.hour] == pytest.approx(figures), figures.hour


def test_a_late_backlog_into_last_month_changes_its_statistics_as_a_raw_recomputation_does(clinic, database_url):
    engine, config, fridge_id = clinic
    refresh_all(engine)
    every_row_as_recomputed(engine, 31 * 24 - 3)  # no row for the silent hours
    reads: list[str] = []
    before = from_rollups(engine, config, fridge_id, reads)
    same(before, raw(engine, fridge_id))
    # Of the month's 744 hours all come from the rollups but two stretches read raw: the silence with the hour
    # before it (its step is longer than the gap), and the last hour (its last reading has no next one yet).
    assert len(reads) == 2
    assert before.time_out_of_range_s == 3600.0 and before.max_c == 9.5 and before.max_at == WARM_HOUR
    with engine.connect() as conn:  # a day of whole hours from the rollups: when its extremes first held
        day = fridge_stats(conn, fridge_id, datetime(2026, 10, 2, tzinfo=UTC), datetime(2026, 10, 3, tzinfo=UTC),
                           config=config, now=NOW)
    assert (day.min_c, day.min_at, day.max_c, day.max_at) == (4.0, datetime(2026, 10, 2, 0, 0, tzinfo=UTC),
                                                              4.75, datetime(2026, 10, 2, 0, 15, tzinfo=UTC))
    # The silence: 3 hours unknown, less what the reading before it holds (its gap allows 30 minutes).
    assert before.known_s == pytest.approx((31 * 24 - 3) * 3600 + 25 * 60)

    # The silence's readings come late, warm: the month's statistics change.
    backlog = [reading(SILENCE[0] + timedelta(minutes=5 * k), 8.6) for k in range(36)]
    Store(engine).write(Batch(readings=backlog))
    with engine.connect() as conn:
        assert rollups.stale_count(conn) == 5  # the three hours, and the hours before and after them
    late = raw(engine, fridge_id)
    assert late.known_s == 31 * 24 * 3600.0 and late.time_out_of_range_s == 4 * 3600.0
    same(from_rollups(engine, config, fridge_id), late)  # stale hours read raw meanwhile
    refresh_all(engine)
    every_row_as_recomputed(engine, 31 * 24)
    same(from_rollups(engine, config, fridge_id), late)


def test_an_hour_changed_while_it_was_recomputed_stays_stale(clinic):
    engine, config, fridge_id = clinic
    refresh_all(engine)
    hour = datetime(2026, 10, 10, 6, tzinfo=UTC)
    Store(engine).write(Batch(readings=[reading(hour + timedelta(minutes=2), 7.0)]))  # late, between two readings
    with engine.connect() as conn:
        stale = rollups._stale(conn, 100)["native:probe"]
        computed = rollups._recompute(conn, "native:probe", stale)
    # Another late reading lands in the same hour before the recomputed figures are written.
    Store(engine).write(Batch(readings=[reading(hour + timedelta(minutes=7), 11.0)]))
    with engine.begin() as conn:
        written = conn.execute(rollups._update_statement(), computed).rowcount
    assert written == 0  # the hour and its neighbours moved on: nothing written
    with engine.connect() as conn:
        assert rollups.stale_count(conn) >= 1
    same(from_rollups(engine, config, fridge_id), raw(engine, fridge_id))
    refresh_all(engine)
    every_row_as_recomputed(engine, 31 * 24 - 3)


def test_the_active_scheduler_recomputes_stale_hours_and_a_standby_does_not(clinic):
    """What the scheduler role does every few seconds: the stale hours of a late backlog are recomputed, by the
    scheduler that holds the lease only."""
    engine, config, fridge_id = clinic
    with engine.connect() as conn:
        assert rollups.stale_count(conn) == 31 * 24 - 3  # nothing recomputed them yet
    first, second = Scheduler(config, engine, holder="first"), Scheduler(config, engine, holder="second")
    first.start()
    try:
        wait_until(lambda: first.active, 10, what="the first scheduler to take the lease")
        second.start()
        wait_until(lambda: stale(engine) == 0, 60, what="the stale hours recomputed")
        assert first.active and not second.active
    finally:
        second.stop()
        first.stop()
    every_row_as_recomputed(engine, 31 * 24 - 3)
    same(from_rollups(engine, config, fridge_id), raw(engine, fridge_id))


def test_a_sensor_replaced_mid_hour_keeps_the_statistics_exact(clinic):
    """The fridge's primary sensor is replaced at 12:20 on 10 October; both report all month (the new one a
    little warmer). Hours near the change are read raw, the others from each sensor's own rollups."""
    engine, config, fridge_id = clinic
    start, end = OCTOBER
    change = datetime(2026, 10, 10, 12, 20, tzinfo=UTC)
    times = [start + timedelta(minutes=5 * k) for k in range(int((end - start) / timedelta(minutes=5)))]
    store = Store(engine)
    rows = [(Reading("native:spare", "native", "spare", t, temperature(t) + 0.6), t) for t in times]
    for k in range(0, len(rows), 3000):
        store.write(Batch(readings=rows[k:k + 3000]))
    a = m.SensorAssignment
    with engine.begin() as conn:
        conn.execute(sa.update(a).where(a.sensor_id == "native:probe").values(until=change))
        conn.execute(sa.insert(a).values(sensor_id="native:spare", fridge_id=fridge_id, role="primary", since=change,
                                         created_at=change))
    refresh_all(engine)
    found = from_rollups(engine, config, fridge_id)
    same(found, raw(engine, fridge_id))
    assert found.max_c == 9.5 + 0.6  # the warm hour on the 20th, by the new sensor


def test_readings_in_time_order_leave_the_hours_before_theirs_fresh(clinic):
    """Live readings mark their own hour stale, and the hour before only with the first reading of a new hour
    (it ends that hour's last step): the scheduler recomputes one or two hours a sensor, not more."""
    engine, _config, _fridge_id = clinic
    refresh_all(engine)
    store = Store(engine)

    def stale_hours() -> list[datetime]:
        with engine.connect() as conn:
            return list(conn.scalars(sa.select(m.HourlyRollup.hour).where(m.HourlyRollup.held_s.is_(None))
                                     .order_by(m.HourlyRollup.hour)))

    last_hour = datetime(2026, 10, 31, 23, tzinfo=UTC)
    store.write(Batch(readings=[reading(last_hour + timedelta(minutes=57), 4.1)]))
    assert stale_hours() == [last_hour]
    refresh_all(engine)
    store.write(Batch(readings=[reading(OCTOBER[1] + timedelta(seconds=30), 4.2)]))  # the first of a new hour
    assert stale_hours() == [last_hour, OCTOBER[1]]
    refresh_all(engine)
    store.write(Batch(readings=[reading(OCTOBER[1] + timedelta(minutes=5), 4.3)]))
    assert stale_hours() == [OCTOBER[1]]
    # A late reading into an old hour, after that hour's first reading, marks that hour alone.
    refresh_all(engine)
    store.write(Batch(readings=[reading(datetime(2026, 10, 5, 7, 2, tzinfo=UTC), 6.0)]))
    assert stale_hours() == [datetime(2026, 10, 5, 7, tzinfo=UTC)]
    refresh_all(engine)
    store.write(Batch(readings=[reading(datetime(2026, 10, 5, 9, 0, 10, tzinfo=UTC), 6.0)]))  # after 09:00's
    assert stale_hours() == [datetime(2026, 10, 5, 9, tzinfo=UTC)]
    refresh_all(engine)
    every_row_as_recomputed(engine, 31 * 24 - 3 + 1)
