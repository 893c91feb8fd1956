"""Readings export against the sqlite3 shell, on the same database and the same query.

Builds a SQLite database with the migrations (``fridge-monitor db upgrade``),
three fridges declared in a config file with a primary and a backup sensor
each (synced, so every reading belongs to a fridge), and N minute readings
inserted in large batches. Then, in the same run, writes the same rows to a
file twice:

  baseline  ``sqlite3 -csv -header DB "<readings_query>"``: the exporter's own
            query (the readings joined to the fridge each sensor was in when it
            measured, in the same order) compiled to SQL, rows as stored;
  export    ``fridge-monitor --config CFG export readings --from ... --to ... --out FILE``
            in a child process, start-up included.

Checks both files hold the same number of data rows, and prints both times,
rows/s, the ratio baseline time / export time (target >= 0.3) and the
exporter's peak RSS (VmHWM, target < 150 MB).

    python benchmarks/export.py [--rows 1000000] [--keep DIR]

With ``--keep DIR`` the database, config and both CSV files stay in DIR.
"""

from __future__ import annotations

import math
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlite_shell
from sqlalchemy.dialects import sqlite as sqlite_dialect

from fridge_monitor.config import load_config
from fridge_monitor.core.period import parse_period
from fridge_monitor.reports.export import readings_query
from fridge_monitor.store.db import create_engine
from fridge_monitor.store.sync import sync_declarations

TARGET_RATIO = 0.3
TARGET_RSS_MB = 150
FRIDGES = ["Botox A", "Vaccines B", "Insulin C"]
STEP = timedelta(minutes=1)
CHUNK = 100_000
POLL_S = 0.01


def config_text(db: Path) -> str:
    lines = [f'[database]\nurl = "sqlite:///{db}"\n\n[logging]\nlevel = "WARNING"\n\n'
             '[[sites]]\nname = "Bench"\ntimezone = "Europe/Berlin"\n']
    for index, name in enumerate(FRIDGES):
        lines.append(f'\n[[fridges]]\nname = "{name}"\nsite = "Bench"\n'
                     f'sensors = ["native:probe-{index}a", "native:probe-{index}b"]\n')
    return "".join(lines)


def sensors() -> list[str]:
    return [f"native:probe-{i}{side}" for i in range(len(FRIDGES)) for side in "ab"]


def sqlite_text(at: datetime) -> str:
    """How SQLAlchemy stores a UTC datetime in SQLite."""
    return at.strftime("%Y-%m-%d %H:%M:%S.%f")


def build(workdir: Path, rows: int) -> tuple[Path, Path, datetime, datetime]:
    """The database and config; returns them with the first and last measured time."""
    db, config_path = workdir / "bench.db", workdir / "fridge-monitor.toml"
    config_path.write_text(config_text(db))
    fm = [sys.executable, "-m", "fridge_monitor", "--config", str(config_path)]
    subprocess.run([*fm, "db", "upgrade"], check=True, capture_output=True)

    probes = sensors()
    per_sensor = math.ceil(rows / len(probes))
    first = (datetime.now(UTC) - per_sensor * STEP - timedelta(days=1)).replace(
        hour=0, minute=0, second=0, microsecond=0)
    config = load_config(str(config_path))
    engine = create_engine(config.database)
    sync_declarations(engine, config, first - timedelta(days=1))
    engine.dispose()

    began = time.perf_counter()
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA synchronous=OFF")
    rng = random.Random(42)
    batch: list[tuple[str, str, str, float]] = []
    last = first
    for n in range(rows):
        sensor_index, k = n % len(probes), n // len(probes)
        # a few seconds apart, so the sensors' readings interleave in measured order
        measured = first + k * STEP + timedelta(seconds=7 * sensor_index, microseconds=rng.randrange(1000) * 1000)
        received = measured + timedelta(seconds=rng.uniform(0.05, 3.0))
        temp = round(5.0 + 1.5 * math.sin(k / 720 * math.pi) + rng.uniform(-0.4, 0.4), 2)
        batch.append((probes[sensor_index], sqlite_text(measured), sqlite_text(received), temp))
        last = max(last, measured)
        if len(batch) >= CHUNK:
            conn.executemany("INSERT INTO readings (sensor_id, measured_at, received_at, temperature_c) "
                             "VALUES (?, ?, ?, ?)", batch)
            batch.clear()
    if batch:
        conn.executemany("INSERT INTO readings (sensor_id, measured_at, received_at, temperature_c) "
                         "VALUES (?, ?, ?, ?)", batch)
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # both readers start from the same main file
    stored = conn.execute("SELECT count(*) FROM readings").fetchone()[0]
    conn.close()
    if stored != rows:
        raise SystemExit(f"built {stored} readings, expected {rows}")
    print(f"  built {rows:,} readings in {time.perf_counter() - began:.1f} s", file=sys.stderr, flush=True)
    return db, config_path, first, last


def data_rows(path: Path) -> int:
    """Lines after the header (no field in these files holds a line break)."""
    lines = 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            lines += chunk.count(b"\n")
    return lines - 1


def baseline(db: Path, out: Path, first: datetime, last: datetime) -> float:
    """Seconds for the sqlite3 shell to write the exporter's query result as CSV."""
    query = readings_query(*parse_period(first.date().isoformat(), last.date().isoformat()))  # the export's bounds
    sql = str(query.compile(dialect=sqlite_dialect.dialect(), compile_kwargs={"literal_binds": True}))
    began = time.perf_counter()
    with out.open("wb") as f:
        subprocess.run(["sqlite3", "-csv", "-header", str(db), sql], stdout=f, check=True)
    return time.perf_counter() - began


def export(config_path: Path, out: Path, first: datetime, last: datetime) -> tuple[float, float]:
    """Seconds and peak RSS (MB) of ``fridge-monitor export readings`` over the whole period."""
    cmd = [sys.executable, "-m", "fridge_monitor", "--config", str(config_path), "export", "readings",
           "--from", first.date().isoformat(), "--to", last.date().isoformat(), "--out", str(out)]
    with tempfile.TemporaryFile() as log:
        began = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log)
        # VmHWM, polled: the child's ru_maxrss would count this process's memory, copied at the fork before exec.
        peak_kb = 0
        while proc.poll() is None:
            peak_kb = max(peak_kb, _vm_hwm_kb(proc.pid))
            time.sleep(POLL_S)
        elapsed = time.perf_counter() - began
        if proc.returncode != 0:
            log.seek(0)
            raise SystemExit(f"fridge-monitor export exited with {proc.returncode}:\n"
                             f"{log.read().decode(errors='replace')[-2000:]}")
    return elapsed, peak_kb / 1024


def _vm_hwm_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def verdict(ok: bool) -> str:
    return "PASS" if ok else "below target"


def main() -> int:
    args = sqlite_shell.options(__doc__ or "", 1_000_000, "the database, config and CSV files")
    if args.keep is not None and (args.keep / "bench.db").exists():
        raise SystemExit(f"{args.keep} already holds bench.db: give an empty or new directory")
    workdir, tmp = sqlite_shell.workdir(args.keep, "fm-bench-export-")
    try:
        print(f"building {workdir / 'bench.db'}: {len(FRIDGES)} fridges, {args.rows:,} readings", file=sys.stderr)
        db, config_path, first, last = build(workdir, args.rows)
        base_csv, export_csv = workdir / "baseline.csv", workdir / "export.csv"
        base_s = baseline(db, base_csv, first, last)
        export_s, peak_mb = export(config_path, export_csv, first, last)
        base_rows, export_rows = data_rows(base_csv), data_rows(export_csv)
    finally:
        if tmp is not None:
            tmp.cleanup()
    if not base_rows == export_rows == args.rows:
        raise SystemExit(f"row counts differ: {args.rows} stored, sqlite3 wrote {base_rows}, "
                         f"fridge-monitor export wrote {export_rows}")
    ratio = base_s / export_s
    print(f"rows:                     {args.rows:,} readings ({len(FRIDGES)} fridges, {len(sensors())} sensors, "
          f"SQLite {sqlite3.sqlite_version}), same count in both files")
    print(f"sqlite3 shell (baseline): {base_s:.2f} s, {args.rows / base_s:,.0f} rows/s")
    print(f"fridge-monitor export:    {export_s:.2f} s, {args.rows / export_s:,.0f} rows/s (process start included)")
    print(f"ratio:                    {ratio:.2f} (target >= {TARGET_RATIO}: {verdict(ratio >= TARGET_RATIO)})")
    print(f"export peak RSS:          {peak_mb:.0f} MB (target < {TARGET_RSS_MB} MB: "
          f"{verdict(peak_mb < TARGET_RSS_MB)})")
    if args.keep is not None:
        print(f"kept:                     {db}, {config_path}, {base_csv}, {export_csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
