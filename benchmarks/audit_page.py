"""The audit trail page with a million audit events (issue 19, item 4).

Builds a SQLite database with the migrations, appends N audit events with a
valid hash chain (bulk inserts, hashes by ``core.audit.entry_hash``, the
recorded head moved to the newest), and a few hundred acknowledged alerts
with their acknowledgement events; then times ``GET /audit`` with the Flask
test client signed in as an auditor: the first view (which verifies every
event once and stores the checkpoint) on its own, then p50/p95 over repeated
views and a filtered view. Target: p95 < 200 ms.

    python benchmarks/audit_page.py [--events 1000000] [--alerts 300] [--db PATH] [--repeat 40]

``add_audit_events`` and ``audit_rows`` are what ``dashboard.py`` can call to
add the audit page to its figures.
"""

from __future__ import annotations

import argparse
import math
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy.orm as so

from fridge_monitor.config import build_config
from fridge_monitor.core import ack_evidence
from fridge_monitor.core.audit import GENESIS, Entry, entry_hash
from fridge_monitor.store import accounts, audit_trail, migrate
from fridge_monitor.store.db import create_engine
from fridge_monitor.store.sync import sync_config
from fridge_monitor.web import create_app

CHUNK = 50_000
ACTORS = ["ingest", "config-sync", "system", *(f"user{k:02d}" for k in range(20))]
KINDS = [("update", "fridge", "high_c"), ("create", "sensor", None), ("update", "user", "role"),
         ("create", "lot", None), ("update", "product", "name"), ("export", "readings", None)]
TARGET_MS = 200.0
FILTERED = "/audit?record_type=fridge&actor=user07"
RARE = "/audit?actor=nobody"  # no index on the actor: the page's query reads the whole table


def sqlite_text(at: datetime) -> str:
    """How SQLAlchemy stores a UTC datetime in SQLite."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _head(conn: sqlite3.Connection) -> tuple[int, str]:
    row = conn.execute("SELECT id, hash FROM audit_events ORDER BY id DESC LIMIT 1").fetchone()
    return (row[0], row[1]) if row else (0, GENESIS)


def _append(conn: sqlite3.Connection, entries: Iterator[Entry]) -> int:
    """Append the entries to the chain in bulk, and move the recorded head; how many."""
    last_id, prev = _head(conn)
    rows: list[tuple[Any, ...]] = []
    count = 0

    def flush() -> None:
        conn.executemany("INSERT INTO audit_events (id, at, actor, action, record_type, record_id, field, old_value, "
                         "new_value, reason, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        rows.clear()

    for entry in entries:
        digest = entry_hash(prev, entry)
        last_id += 1
        rows.append((last_id, sqlite_text(entry.at), entry.actor, entry.action, entry.record_type, entry.record_id,
                     entry.field, entry.old_value, entry.new_value, entry.reason, prev, digest))
        prev = digest
        count += 1
        if len(rows) >= CHUNK:
            flush()
    if rows:
        flush()
    conn.execute("INSERT INTO settings (key, value) VALUES (?, ?) "
                 "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (audit_trail.HEAD_KEY, f"{last_id}:{prev}"))
    conn.commit()
    return count


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-400000")
    return conn


def add_audit_events(path: Path, count: int, start: datetime | None = None) -> int:
    """Append ``count`` ordinary audit events (a chain that verifies) to the SQLite database at ``path``."""
    began = start or datetime.now(UTC) - timedelta(days=365)
    step = timedelta(days=365) / max(1, count)

    def entries() -> Iterator[Entry]:
        for k in range(count):
            action, record_type, field = KINDS[k % len(KINDS)]
            old, new = (None, f"{k % 97}.0") if field else (None, None)
            yield Entry(began + k * step, ACTORS[(k * 7) % len(ACTORS)], action, record_type, f"R{k % 5000}", field,
                        old, new, "benchmark" if k % 3 == 0 else None)

    conn = _connect(path)
    try:
        return _append(conn, entries())
    finally:
        conn.close()


def add_acknowledged_alerts(path: Path, count: int, now: datetime) -> int:
    """Insert ``count`` acknowledged alerts on the first fridge, each with its acknowledgement event."""
    conn = _connect(path)
    try:
        fridge_id = conn.execute("SELECT min(id) FROM fridges").fetchone()[0]
        acks: list[Entry] = []
        for k in range(count):
            at = now - timedelta(hours=count - k)
            by, action = ACTORS[3 + k % 20], f"Checked the fridge and moved the vials ({k})."
            cur = conn.execute(
                "INSERT INTO alerts (fridge_id, kind, rule, subject, severity, state, title, detail, started_at, "
                "ended_at, created_at, updated_at, acknowledged_by, acknowledged_at, action) "
                "VALUES (?, 'excursion', 'out-of-range', '', 'warning', 'resolved', 'Out of range', 'benchmark', "
                "?, ?, ?, ?, ?, ?, ?)",
                (fridge_id, sqlite_text(at - timedelta(minutes=30)), sqlite_text(at - timedelta(minutes=5)),
                 sqlite_text(at - timedelta(minutes=30)), sqlite_text(at), by, sqlite_text(at), action))
            acks.append(Entry(at, by, ack_evidence.ACTION, ack_evidence.RECORD_TYPE, str(cur.lastrowid),
                              ack_evidence.FIELD, None, action, None))
        return _append(conn, iter(acks))
    finally:
        conn.close()


def bench_config(url: str):  # noqa: ANN201
    return build_config({
        "database": {"url": url},
        "web": {"secret_key": "b" * 40},
        "sites": [{"name": "North Clinic", "timezone": "Europe/Berlin"}],
        "fridges": [{"name": "F000", "site": "North Clinic", "sensors": ["native:probe000"]}],
    }, {}, {}, "benchmark")


def bench_database(db: Path | None) -> tuple[Path, tempfile.TemporaryDirectory[str] | None]:
    """The database file to build or reuse: ``db``, or one in a temporary directory removed afterwards."""
    if db is not None:
        return db, None
    workdir = tempfile.TemporaryDirectory(prefix="fm-bench-")
    return Path(workdir.name) / "bench.db", workdir


def engine_settings(url: str) -> dict[str, Any]:
    return {"url": url, "sqlite_synchronous": "normal", "busy_timeout_s": 30.0, "retry_max_s": 2.0}


def build(path: Path, events: int, alerts: int, now: datetime) -> None:
    url = f"sqlite:///{path}"
    engine = create_engine(engine_settings(url))
    migrate.upgrade(engine)
    with so.Session(engine) as session, session.begin():
        sync_config(session, bench_config(url), now - timedelta(days=366))
        accounts.create_user(session, "auditor", "auditor", "benchmark-password", actor="benchmark", now=now)
    engine.dispose()
    began = time.perf_counter()
    add_audit_events(path, events)
    print(f"  {events:,} audit events in {time.perf_counter() - began:.0f} s", file=sys.stderr, flush=True)
    add_acknowledged_alerts(path, alerts, now)
    conn = sqlite3.connect(path)
    conn.execute("ANALYZE")
    conn.close()


def timed(client: Any, path: str, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, (path, response.status_code, response.data[:300])
    return times


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(pct / 100 * len(ordered)) - 1))]


def _views_after_appends(client: Any, repeat: int, appended: int) -> list[float]:
    """Views each preceded by ``appended`` events written through the application (untimed)."""
    engine = client.application.extensions["fridge_monitor"]["engine"]
    times = []
    for view in range(repeat):
        with so.Session(engine) as session, session.begin():
            for k in range(appended):
                audit_trail.record(session, at=datetime.now(UTC), actor="benchmark", action="update",
                                   record_type="fridge", record_id="F000", field="note", new=f"{view}.{k}")
        times += timed(client, "/audit", 1)
    return times


def audit_rows(client: Any, repeat: int) -> list[tuple[str, list[float], float | None]]:
    """The audit page's figures for a client signed in as an auditor or admin: (label, times in ms, target).

    The first view is timed on its own: with no checkpoint stored yet it reads every event once.
    """
    first = timed(client, "/audit", 1)
    page = client.get("/audit").get_data(as_text=True)
    assert "Audit trail intact" in page, page[:2000]
    few = max(5, repeat // 4)
    return [
        ("audit page GET /audit, first view (checks every event)", first, None),
        ("audit page GET /audit, later views", timed(client, "/audit", repeat), TARGET_MS),
        ("audit page, 20 events appended before each view", _views_after_appends(client, few, 20), TARGET_MS),
        ("audit page, an older page (page=100)", timed(client, "/audit?page=100", few), TARGET_MS),
        (f"audit page, filtered ({FILTERED.split('?')[1]})", timed(client, FILTERED, few), TARGET_MS),
        ("audit page, a filter nothing matches (reads every event)", timed(client, RARE, few), None),
    ]


def report(label: str, values: list[float], target: float | None) -> str:
    p50, p95 = statistics.median(values), percentile(values, 95)
    verdict = ""
    if target is not None:
        verdict = f"  target p95 < {target:.0f} ms: {'met' if p95 < target else 'MISSED'} ({p95 / target:.2f}× target)"
    return f"{label:<58} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  (n={len(values)}){verdict}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--alerts", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--db", type=Path, default=None, help="reuse (or create) this database file")
    args = parser.parse_args()
    now = datetime.now(UTC).replace(microsecond=0)
    path, workdir = bench_database(args.db)
    if not path.exists():
        print(f"building {path}: {args.events:,} audit events, {args.alerts} acknowledged alerts", file=sys.stderr)
        build(path, args.events, args.alerts, now)
    url = f"sqlite:///{path}"
    engine = create_engine(engine_settings(url))
    with engine.begin() as conn:  # measure the first view from no checkpoint, also on a reused database
        conn.exec_driver_sql("DELETE FROM settings WHERE key = ?", (audit_trail.CHECKPOINT_KEY,))
    with engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT count(*) FROM audit_events").scalar()
        alerts = conn.exec_driver_sql("SELECT count(*) FROM alerts WHERE acknowledged_by IS NOT NULL").scalar()
        user_id = conn.exec_driver_sql("SELECT id FROM users WHERE name = 'auditor'").scalar()
    app = create_app(bench_config(url), engine=engine)
    client = app.test_client()
    with client.session_transaction() as session:
        session["user_id"] = user_id
    print(f"database: {stored:,} audit events, {alerts} acknowledged alerts (SQLite {sqlite3.sqlite_version})")
    for row in audit_rows(client, args.repeat):
        print(report(*row))
    engine.dispose()
    if workdir is not None:
        workdir.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
