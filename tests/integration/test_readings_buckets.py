"""The readings API's buckets of whole hours come from the hourly rollups and raw readings at the ragged edges,
and say exactly what the raw scan says: on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.core.readings import Reading
from fridge_monitor.ingest.batches import Batch, Store
from fridge_monitor.store import models as m
from fridge_monitor.store.buckets import readings_in_buckets
from fridge_monitor.store.series import bucketed_readings
from fridge_monitor.store.sync import assign_sensor, sync_declarations
from fridge_monitor.web import create_app

from support import clinic_config, user_with_token

T0 = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
Written = list[tuple[str, datetime, float]]


def write(engine: sa.Engine, readings: Written) -> None:
    """Store the readings as ingest does (one batch per 2,000), so the hourly rollups are kept."""
    store = Store(engine)
    for offset in range(0, len(readings), 2000):
        store.write(Batch(readings=[
            (Reading(sid, "native", sid.split(":")[1], at, temp, None), at)
            for sid, at, temp in readings[offset:offset + 2000]
        ]))


def app_with(database_url: str, engine: sa.Engine, fridges: list[dict[str, object]]) -> tuple[object, str]:
    config = clinic_config(fridges, database_url, web={"secret_key": "k" * 40})
    sync_declarations(engine, config, T0 - timedelta(days=400))
    token = user_with_token(engine, "audrey", "auditor", datetime.now(UTC), "correct horse battery")
    return create_app(config, engine=engine, testing=True), token


def api_buckets(app: object, token: str, fridge: str, start: datetime, end: datetime, every: int) -> list[dict]:
    response = app.test_client().get(  # type: ignore[attr-defined]
        f"/api/v1/fridges/{fridge}/readings?from={start:%Y-%m-%dT%H:%M:%SZ}&to={end:%Y-%m-%dT%H:%M:%SZ}"
        f"&every={every}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["every"] == every
    return body["buckets"]


def expected(readings: Written, start: datetime, end: datetime, every: int) -> list[dict]:
    """The buckets worked out by hand from the readings written: (start, sensor, min, max, exact mean, count)."""
    groups: dict[tuple[int, str], list[float]] = defaultdict(list)
    for sid, at, temp in readings:
        if start <= at < end:
            groups[(int(at.timestamp()) // every * every, sid)].append(temp)
    return [
        {"start": datetime.fromtimestamp(b, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "sensor": sid,
         "min_c": min(temps), "max_c": max(temps), "mean_c": sum(temps) / len(temps), "count": len(temps)}
        for (b, sid), temps in sorted(groups.items())
    ]


def assert_same(got: list[dict], want: list[dict]) -> None:
    """Equal bucket for bucket; the API's mean is rounded to 4 places, so it may differ by that rounding."""
    assert [{k: v for k, v in b.items() if k != "mean_c"} for b in got] == [
        {k: v for k, v in b.items() if k != "mean_c"} for b in want]
    for g, w in zip(got, want, strict=True):
        assert abs(g["mean_c"] - w["mean_c"]) <= 0.5e-4 + 1e-9, (g, w)


def side_by_side(engine: sa.Engine, fridge: str, start: datetime, end: datetime, every: int) -> None:
    """The raw scan and the rollups' answer, as the store gives them: the same buckets, means within rounding."""
    with engine.connect() as conn:
        fridge_id = conn.scalar(sa.select(m.Fridge.id).where(m.Fridge.name == fridge))
        raw = bucketed_readings(conn, fridge_id, start, end, every)
        rolled = readings_in_buckets(conn, fridge_id, start, end, every)
    assert [(at, sid, low, high, count) for at, sid, low, high, _, count in rolled] == [
        (at, sid, low, high, count) for at, sid, low, high, _, count in raw]
    for (*_, mean_rolled, _), (*_, mean_raw, _) in zip(rolled, raw, strict=True):
        assert mean_rolled == pytest.approx(mean_raw, rel=1e-12, abs=1e-12)


def test_ragged_period_with_a_late_reading_matches_the_raw_scan(database_url, engine_for):
    engine = engine_for(database_url)
    app, token = app_with(database_url, engine, [
        {"name": "A1", "site": "Clinic A", "sensors": ["native:a1", "native:a1-backup"]}])
    readings: Written = [("native:a1", T0 + timedelta(minutes=k), round(4.0 + (k % 37) / 10 - (k % 7) / 20, 2))
                         for k in range(3 * 1440 + 300)]
    readings += [("native:a1-backup", T0 + timedelta(minutes=5 * k, seconds=11), 5.0 + (k % 9) / 4)
                 for k in range(3 * 288 + 60)]
    write(engine, readings)
    late = [("native:a1", T0 + timedelta(hours=14, seconds=30, microseconds=500), 9.75),  # a new max, long after
            ("native:a1-backup", T0 + timedelta(hours=15, minutes=2, seconds=3), -1.5)]
    write(engine, late)
    readings += late
    start = T0 + timedelta(hours=11, minutes=13)  # a reading at the start counts, one at the end does not
    end = T0 + timedelta(days=3, hours=3, minutes=41)
    assert ("native:a1", start, readings[673][2]) in readings and any(at == end for _, at, _ in readings)
    short = (T0 + timedelta(hours=10, minutes=30, seconds=15), T0 + timedelta(hours=11, minutes=20))  # no whole hour
    for every in (3600, 86400, 7200):
        for lo, hi in ((start, end), short):
            assert_same(api_buckets(app, token, "A1", lo, hi, every), expected(readings, lo, hi, every))
            side_by_side(engine, "A1", lo, hi, every)
    # 10:31 … 10:59, 10:35:11 … 10:55:11, 11:00 … 11:19, 11:00:11 … 11:15:11
    assert [b["count"] for b in api_buckets(app, token, "A1", *short, 3600)] == [29, 5, 20, 4]
    daily = api_buckets(app, token, "A1", start, end, 86400)
    assert [(b["start"][:10], b["sensor"]) for b in daily] == [
        (day, sid) for day in ("2026-11-20", "2026-11-21", "2026-11-22", "2026-11-23")
        for sid in ("native:a1", "native:a1-backup")]
    assert daily[0]["max_c"] == 9.75 and daily[1]["min_c"] == -1.5  # the late readings are in
    first_hour = api_buckets(app, token, "A1", start, end, 3600)[0]
    assert first_hour["start"] == "2026-11-20T11:00:00Z" and first_hour["count"] == 47  # 11:13 … 11:59


def test_a_sensor_moved_mid_hour_counts_for_each_fridge_only_while_it_was_there(database_url, engine_for):
    engine = engine_for(database_url)
    app, token = app_with(database_url, engine, [
        {"name": "A1", "site": "Clinic A", "sensors": ["native:a1", "native:mover"]},
        {"name": "B1", "site": "Clinic A", "sensors": ["native:b1"]}])
    moved, back = T0 + timedelta(hours=26, minutes=20, seconds=30), T0 + timedelta(hours=30, minutes=45)
    for fridge, at in (("B1", moved), ("A1", back)):
        with so.Session(engine) as session, session.begin():
            found = session.scalars(sa.select(m.Fridge).where(m.Fridge.name == fridge)).one()
            assert assign_sensor(session, "native:mover", found, "backup", at)
    readings: Written = [(sid, T0 + timedelta(minutes=k), 3.0 + (k % 11) / 5 + (sid == "native:b1"))
                         for k in range(2 * 1440) for sid in ("native:a1", "native:mover", "native:b1")]
    write(engine, readings)
    in_a1 = [r for r in readings if r[0] == "native:a1" or (r[0] == "native:mover" and not moved <= r[1] < back)]
    in_b1 = [r for r in readings if r[0] == "native:b1" or (r[0] == "native:mover" and moved <= r[1] < back)]
    start, end = T0 + timedelta(minutes=30), T0 + timedelta(days=2)
    for every in (3600, 86400, 10800):
        for fridge, mine in (("A1", in_a1), ("B1", in_b1)):
            assert_same(api_buckets(app, token, fridge, start, end, every), expected(mine, start, end, every))
            side_by_side(engine, fridge, start, end, every)
    hourly_b1 = [b for b in api_buckets(app, token, "B1", start, end, 3600) if b["sensor"] == "native:mover"]
    assert [(b["start"][11:16], b["count"]) for b in hourly_b1] == [
        ("02:00", 39), ("03:00", 60), ("04:00", 60), ("05:00", 60), ("06:00", 45)]  # 02:21 … 06:44
    daily_a1 = {b["sensor"]: b["count"] for b in api_buckets(app, token, "A1", start, end, 86400)[2:]}
    assert daily_a1 == {"native:a1": 1440, "native:mover": 1440 - 264}  # the day after: less its time in B1


def times_in(parameters: object) -> set[datetime]:
    """The times among a statement's parameters (as the driver got them: text on SQLite), naive UTC."""
    values = parameters.values() if isinstance(parameters, dict) else parameters
    found = set()
    for value in values:  # type: ignore[attr-defined]
        if isinstance(value, datetime):
            found.add(value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value)
        elif isinstance(value, str):
            try:
                found.add(datetime.fromisoformat(value).replace(tzinfo=None))
            except ValueError:
                pass
    return found


READS_READINGS = re.compile(r"\b(FROM|JOIN)\s+readings\b", re.IGNORECASE)


def test_a_year_of_daily_buckets_reads_raw_readings_only_at_the_edges(database_url, engine_for):
    engine = engine_for(database_url)
    app, token = app_with(database_url, engine, [
        {"name": "A1", "site": "Clinic A", "sensors": ["native:a1", "native:a1-backup"]}])
    year_start = T0 - timedelta(days=365)
    readings: Written = [("native:a1", year_start + timedelta(minutes=20 * k), 2.5 + (k % 50) / 10)
                         for k in range(3 * 24 * 366)]
    readings += [("native:a1-backup", year_start + timedelta(hours=k, minutes=7), 6.0 - (k % 24) / 8)
                 for k in range(24 * 366)]
    write(engine, readings)
    statements: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001, ARG001
        statements.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        whole = api_buckets(app, token, "A1", year_start, T0, 86400)
        whole_reads = [s for s, _ in statements if READS_READINGS.search(s)]
        statements.clear()
        ragged_start, ragged_end = year_start + timedelta(minutes=50), T0 - timedelta(minutes=25)
        ragged = api_buckets(app, token, "A1", ragged_start, ragged_end, 86400)
        ragged_reads = [(s, p) for s, p in statements if READS_READINGS.search(s)]
        statements.clear()
        api_buckets(app, token, "A1", year_start, T0, 1800)  # not whole hours: the raw scan
        raw_reads = [s for s, _ in statements if READS_READINGS.search(s)]
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert len(whole) == 2 * 365 and whole_reads == []  # every hour whole: the rollups alone
    assert len(ragged_reads) == 1  # one query for the two edge hours of both sensors
    assert times_in(ragged_reads[0][1]) == {  # the edges, nothing else
        at.replace(tzinfo=None) for at in (ragged_start, ragged_start.replace(minute=0) + timedelta(hours=1),
                                           ragged_end.replace(minute=0), ragged_end)}
    assert len(raw_reads) == 1
    assert_same(ragged, expected(readings, ragged_start, ragged_end, 86400))
    side_by_side(engine, "A1", ragged_start, ragged_end, 86400)
