"""Dashboard, fridge list API, one-year fridge page, readings API and lot page latency on a large SQLite database.

Builds a database with the migrations, 200 fridges on three sites and N
readings generated directly (bulk inserts, no MQTT) with their hourly
rollups (held figures computed as the scheduler computes them): one fridge
has two years of minute readings and a Botox lot kept in it all that time,
the others share the rest over the last year. Then times, with the Flask
test client signed in, the dashboard page and ``GET /api/v1/fridges`` (p50/p95
over repeated requests), the minute-logged fridge's page with a year's range
(chart, statistics, daily log), its year of readings in daily buckets, and
the lot's page (its two-year temperature history); and the audit page with
a million audit events (``audit_page.py``: the first view, which checks every
event once, then later views). Targets (p95): dashboard < 100 ms, one-year
fridge page < 200 ms, readings API < 100 ms, lot page < 200 ms, audit page
< 200 ms.

    python benchmarks/dashboard.py [--readings 10000000] [--fridges 200] [--db PATH] [--repeat 40]

With ``--sites``, a hospital group instead (``dashboard_sites.py``): the sites
and fridges given, site 1 with 50 of them, a year of hourly rollups for every
fridge and the last 24 h of minute readings, on SQLite or, with ``--database
postgresql+psycopg://…``, PostgreSQL (the database is created if missing, and
rebuilt unless ``--reuse`` finds the same data in it, which it then brings up
to now). Then times, signed in as an admin (every site) and as a nurse listed
at two sites, the site list ``/``, the 50-fridge site's page and its tiles
refresh. Targets (p95): site list < 100 ms, 50-fridge site page < 100 ms.

    python benchmarks/dashboard.py --fridges 5000 --sites 500 \
        --database postgresql+psycopg://postgres@127.0.0.1:5432/bench_dashboard [--reuse] [--days 365]
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sqlite3
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dashboard_sites as group
import sqlalchemy as sa
import sqlalchemy.orm as so
from audit_page import (
    add_acknowledged_alerts,
    add_audit_events,
    audit_rows,
    bench_database,
    engine_settings,
    report,
    sqlite_text,
    timed,
)

from fridge_monitor.alerts import handling as alerts
from fridge_monitor.config import build_config
from fridge_monitor.core.status import State, status
from fridge_monitor.inventory import catalog, ledger
from fridge_monitor.store import accounts, audit_trail, migrate, rollups, site_overview
from fridge_monitor.store import models as m
from fridge_monitor.store.db import create_engine
from fridge_monitor.store.series import profiles_of
from fridge_monitor.store.sync import sync_config
from fridge_monitor.web import create_app
from fridge_monitor.web.server import settle

SITES = [("North Clinic", "Europe/Berlin"), ("South Clinic", "America/New_York"), ("East Clinic", "Asia/Kolkata")]
YEAR = timedelta(days=365)
LOT_SPAN = 2 * YEAR  # the minute-logged fridge's history, and how long its lot has been kept
MINUTE_FRIDGE = "F000"
CHUNK = 200_000


def build(path: Path, fridges: int, readings: int, now: datetime) -> None:
    url = f"sqlite:///{path}"
    settings = engine_settings(url)
    engine = create_engine(settings)
    migrate.upgrade(engine)
    config = bench_config(url, fridges)
    with so.Session(engine) as session, session.begin():
        sync_config(session, config, now - LOT_SPAN - timedelta(days=1))
        accounts.create_user(session, "bench", "nurse", "benchmark-password", actor="benchmark", now=now)
        accounts.create_user(session, "auditor", "auditor", "benchmark-password", actor="benchmark", now=now)
        botox = session.scalar(sa.select(m.Product.id).where(m.Product.catalogue_key == "botox"))
        fridge = session.scalar(sa.select(m.Fridge.id).where(m.Fridge.name == MINUTE_FRIDGE))
        lot = catalog.lot_for(session, product_id=botox, lot_number="C2-LONG", expiry=(now + YEAR).date(),
                              actor="benchmark", now=now - LOT_SPAN)
        ledger.receive(session, lot_id=lot.id, fridge_id=fridge, quantity=20, actor="benchmark", now=now - LOT_SPAN)
    engine.dispose()

    minute_count = min(readings // 2, int(LOT_SPAN.total_seconds() // 60))
    others = fridges - 1
    per_other = (readings - minute_count) // max(1, others)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-400000")
    rng = random.Random(42)
    total = 0
    began = time.perf_counter()
    for index in range(fridges):
        sensor = f"native:probe{index:03d}"
        count = minute_count if index == 0 else per_other
        span = LOT_SPAN if index == 0 else YEAR
        step = span.total_seconds() / max(1, count)
        start = now - span
        base = 2.5 if index % 10 else -20.0  # every tenth one a freezer
        rows = []
        for k in range(count):
            at = start + timedelta(seconds=k * step)
            temp = round(base + 2.5 + 1.5 * math.sin(k * step / 3600 / 24 * 2 * math.pi) + rng.uniform(-0.4, 0.4), 2)
            text = sqlite_text(at)
            rows.append((sensor, text, text, temp))
            if len(rows) >= CHUNK:
                conn.executemany("INSERT INTO readings (sensor_id, measured_at, received_at, temperature_c) "
                                 "VALUES (?, ?, ?, ?)", rows)
                total += len(rows)
                rows.clear()
        if rows:
            conn.executemany("INSERT INTO readings (sensor_id, measured_at, received_at, temperature_c) "
                             "VALUES (?, ?, ?, ?)", rows)
            total += len(rows)
        last = sqlite_text(start + timedelta(seconds=(count - 1) * step))
        conn.execute("UPDATE sensors SET first_seen_at = ?, last_seen_at = ?, last_measured_at = ?, battery_pct = ?, "
                     "battery_at = ?, last_temperature_c = (SELECT temperature_c FROM readings r "
                     "WHERE r.sensor_id = sensors.id AND r.measured_at = ?) WHERE id = ?",
                     (sqlite_text(start), last, last, 15.0 if index % 37 == 5 else 88.0, last, last, sensor))
        if index % 20 == 0:
            conn.commit()
            print(f"  {total:,} readings ({time.perf_counter() - began:.0f} s)", file=sys.stderr, flush=True)
    conn.commit()
    print(f"  rollups ({time.perf_counter() - began:.0f} s)", file=sys.stderr, flush=True)
    conn.execute(
        "INSERT INTO hourly_rollups (sensor_id, hour, min_c, max_c, sum_c, count) "
        "SELECT sensor_id, substr(measured_at, 1, 13) || ':00:00.000000', min(temperature_c), max(temperature_c), "
        "sum(temperature_c), count(*) FROM readings GROUP BY sensor_id, substr(measured_at, 1, 13)"
    )
    conn.commit()
    conn.close()
    print(f"  held figures of the rollups ({time.perf_counter() - began:.0f} s)", file=sys.stderr, flush=True)
    engine = create_engine(settings)
    with engine.begin() as sa_conn:
        rollups.refresh_all(sa_conn)  # what the scheduler does as readings arrive
    engine.dispose()
    print(f"  built {total:,} readings in {time.perf_counter() - began:.0f} s", file=sys.stderr, flush=True)


def analyze(path: Path) -> None:
    """Table statistics for SQLite's planner, once every table is filled (stale ones mislead it)."""
    conn = sqlite3.connect(path)
    conn.execute("ANALYZE")
    conn.close()


def bench_config(url: str, fridges: int):  # noqa: ANN201
    return build_config({
        "database": {"url": url},
        "web": {"secret_key": "b" * 40},
        "sites": [{"name": name, "timezone": tz} for name, tz in SITES],
        "fridges": [
            {"name": f"F{i:03d}", "site": SITES[i % len(SITES)][0],
             "kind": "freezer" if i % 10 == 0 and i else "refrigerator",
             "sensors": [f"native:probe{i:03d}"]}
            for i in range(fridges)
        ],
    }, {}, {}, "benchmark")


SITE_TARGET_MS = 100.0


STARTED = time.perf_counter()


def say(line: str) -> None:
    print(f"  {line} ({time.perf_counter() - STARTED:.0f} s)", file=sys.stderr, flush=True)


def fresh_database(url: str, reuse: bool, scale: group.Scale) -> tuple[sa.Engine, bool]:
    """An engine on ``url``, and whether it holds ``scale``'s data to reuse; else the database is made empty
    (created if missing; one a previous run built is emptied, any other refused)."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "postgresql":
        admin = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            if not conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": parsed.database}):
                conn.exec_driver_sql(f'CREATE DATABASE "{parsed.database}"')
        admin.dispose()
    engine = create_engine(engine_settings(url))
    found = group.fingerprint(engine)
    if found is not None and reuse and {k: found.get(k) for k in scale.fingerprint()} == scale.fingerprint():
        return engine, True
    with engine.connect() as conn:
        tables = sa.inspect(conn).get_table_names()
    if tables and found is None:
        raise SystemExit(f"{engine.url.render_as_string()} holds tables this benchmark did not make: "
                         "give a new or empty database")
    if tables:
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.exec_driver_sql("DROP SCHEMA public CASCADE")
                conn.exec_driver_sql("CREATE SCHEMA public")
        else:
            engine.dispose()
            path = Path(parsed.database or "")
            for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                leftover.unlink(missing_ok=True)
            engine = create_engine(engine_settings(url))
    return engine, False


def analyze_all(engine: sa.Engine) -> None:
    """Planner statistics once every table is filled (stale ones mislead both planners)."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")


def state_counts(engine: sa.Engine, now: datetime) -> Counter[State]:
    """Every fridge's state as the site list counts it."""
    with so.Session(engine) as session:
        waiting = alerts.waiting_by_fridge(session)
        return Counter(status(f.latest, now, f.max_gap, f.low_battery_pct, alerts_waiting=waiting.get(f.id, 0))
                       for f in site_overview.fridge_states(session.connection(), now, within=None,
                                                                   profile_of=profiles_of(session)))


def signed_in(app: Any, engine: sa.Engine, name: str) -> Any:  # noqa: ANN401
    client = app.test_client()
    with engine.connect() as conn:
        user_id = conn.scalar(sa.select(m.User.id).where(m.User.name == name))
    with client.session_transaction() as session:
        session["user_id"] = user_id
    return client


def run_sites(args: argparse.Namespace) -> int:
    """The hospital-group benchmark (``--sites``)."""
    scale = group.Scale(sites=args.sites, fridges=args.fridges, days=args.days)
    path, workdir = bench_database(args.db) if args.database is None else (None, None)
    url = args.database or f"sqlite:///{path}"
    engine, reusable = fresh_database(url, args.reuse, scale)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    began = time.perf_counter()
    if reusable:
        print(f"reusing {engine.url.render_as_string()}: bringing it up to now", file=sys.stderr)
        written = group.top_up(engine, scale, now, say)
        how = "reused"
    else:
        print(f"building {engine.url.render_as_string()}: {scale}", file=sys.stderr)
        written = group.build(engine, url, scale, now, say)
        how = "built"
    say("ANALYZE")
    analyze_all(engine)
    took = time.perf_counter() - began
    with engine.connect() as conn:
        def count(table: str) -> int:
            return int(conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar() or 0)
        figures = {table: count(table) for table in ("sites", "fridges", "sensors", "sensor_assignments",
                                                     "hourly_rollups", "readings", "alerts", "stock_entries")}
        first, last = conn.execute(sa.select(sa.func.min(m.Reading.measured_at),
                                             sa.func.max(m.Reading.measured_at))).one()
        big = conn.scalar(sa.select(m.Site.id).where(m.Site.name == group.site_name(1)))
        big_fridges = conn.scalar(sa.select(sa.func.count()).select_from(m.Fridge).where(m.Fridge.site_id == big))
        version = conn.exec_driver_sql("SELECT version()").scalar() if conn.dialect.name == "postgresql" \
            else f"SQLite {sqlite3.sqlite_version}"
    states = state_counts(engine, datetime.now(UTC))
    app = create_app(group.config(url, scale), engine=engine)
    admin, nurse = signed_in(app, engine, group.ADMIN), signed_in(app, engine, group.NURSE)
    settle()  # as the web role does before it serves (web/server.py)
    pages = [
        (f"site list GET / (admin, {figures['sites']} sites)", admin, "/", SITE_TARGET_MS),
        ("site list refresh GET /dashboard/tiles (admin)", admin, "/dashboard/tiles", None),
        (f"site page GET /sites/{big} ({big_fridges} fridges, admin)", admin, f"/sites/{big}", SITE_TARGET_MS),
        (f"site tiles refresh /dashboard/tiles?site={big}", admin, f"/dashboard/tiles?site={big}", SITE_TARGET_MS),
        ("site list GET / (nurse listed at 2 sites)", nurse, "/", SITE_TARGET_MS),
    ]
    for _label, client, path, _target in pages:
        timed(client, path, 2)  # warm caches and template compilation
    load_before = os.getloadavg()[0]
    rows = [(label, timed(client, path, args.repeat), target) for label, client, path, target in pages]
    load_after = os.getloadavg()[0]

    added = ", ".join(f"{key.replace('_', ' ')} {value:,}" for key, value in written.items())
    print(f"database: {version.split(' on ')[0]}, {how} in {took:.0f} s ({added or 'nothing to add'})")
    zones = min(scale.sites, len(group.TIMEZONES))
    print(f"generated: {figures['sites']:,} sites in {zones} time zones, {figures['fridges']:,} fridges "
          f"({big_fridges} in {group.site_name(1)}), {figures['sensors']:,} sensors "
          f"({figures['sensor_assignments']:,} assignments), {figures['hourly_rollups']:,} hourly rollups "
          f"({scale.days} days), {figures['readings']:,} minute readings "
          f"({first:%d %b %H:%M} to {last:%d %b %H:%M} UTC), "
          f"{figures['alerts']:,} alerts, {figures['stock_entries']:,} stock entries")
    print("fridges now: " + ", ".join(f"{state.value} {states[state]:,}" for state in State if states[state]))
    print(f"machine load (1 min average) {load_before:.2f} before the timed requests, {load_after:.2f} after "
          f"({os.cpu_count()} cores)")
    for row in rows:
        print(report(*row))
    engine.dispose()
    if workdir is not None:
        workdir.cleanup()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--readings", type=int, default=10_000_000)
    parser.add_argument("--fridges", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--audit-events", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, default=None, help="reuse (or create) this database file")
    parser.add_argument("--sites", type=int, default=None,
                        help="a hospital group of this many sites (site 1 with 50 fridges) instead")
    parser.add_argument("--database", default=None,
                        help="with --sites: the database URL (default: a temporary SQLite file)")
    parser.add_argument("--days", type=int, default=365, help="with --sites: days of hourly rollups")
    parser.add_argument("--reuse", action="store_true",
                        help="with --sites: reuse the database when it holds the same data (brought up to now)")
    args = parser.parse_args()
    if args.sites is not None:
        return run_sites(args)
    if args.database is not None:
        parser.error("--database is for the hospital-group benchmark: give --sites too")
    now = datetime.now(UTC).replace(microsecond=0)
    path, workdir = bench_database(args.db)
    if not path.exists():
        print(f"building {path}: {args.fridges} fridges, {args.readings:,} readings, {args.audit_events:,} audit "
              "events", file=sys.stderr)
        build(path, args.fridges, args.readings, now)
        add_audit_events(path, args.audit_events)
        add_acknowledged_alerts(path, 300, now)
        analyze(path)
    url = f"sqlite:///{path}"
    engine = create_engine(engine_settings(url))
    with engine.begin() as conn:  # the audit page's first view, from no checkpoint, also on a reused database
        conn.exec_driver_sql("DELETE FROM settings WHERE key = ?", (audit_trail.CHECKPOINT_KEY,))
    with engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT count(*) FROM readings").scalar()
        events = conn.exec_driver_sql("SELECT count(*) FROM audit_events").scalar()
        user_id = conn.exec_driver_sql("SELECT id FROM users WHERE name = 'bench'").scalar()
        auditor_id = conn.exec_driver_sql("SELECT id FROM users WHERE name = 'auditor'").scalar()
    app = create_app(bench_config(url, args.fridges), engine=engine)
    client = app.test_client()
    with client.session_transaction() as session:
        session["user_id"] = user_id
    timed(client, "/", 2)  # warm caches and template compilation
    dashboard = timed(client, "/", args.repeat)
    tiles = timed(client, "/dashboard/tiles", args.repeat)
    api = timed(client, "/api/v1/fridges", args.repeat)
    year = timed(client, f"/fridges/{MINUTE_FRIDGE}?range=year", max(10, args.repeat // 2))
    year_api = timed(client, f"/api/v1/fridges/{MINUTE_FRIDGE}/readings?from={(now - YEAR).date()}&every=86400",
                     max(10, args.repeat // 2))
    with engine.connect() as conn:
        lot_id = conn.exec_driver_sql("SELECT id FROM lots WHERE lot_number = 'C2-LONG'").scalar()
    lot_page = timed(client, f"/lots/{lot_id}", max(10, args.repeat // 2))
    auditor = app.test_client()
    with auditor.session_transaction() as session:
        session["user_id"] = auditor_id

    print(f"database: {stored:,} readings, {args.fridges} fridges, {events:,} audit events "
          f"(SQLite {sqlite3.sqlite_version})")
    rows = [
        ("dashboard page GET /", dashboard, 100.0),
        ("dashboard tiles refresh", tiles, None),
        ("GET /api/v1/fridges", api, None),
        (f"one-year fridge page /fridges/{MINUTE_FRIDGE}?range=year", year, 200.0),
        ("one-year readings API, daily buckets", year_api, 100.0),
        ("lot page of a lot kept 2 years /lots/<id>", lot_page, 200.0),
    ]
    for row in [*rows, *audit_rows(auditor, args.repeat)]:
        print(report(*row))
    engine.dispose()
    if workdir is not None:
        workdir.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
