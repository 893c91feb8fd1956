"""Importing a data logger's file against the sqlite3 shell's ``.import`` of the same rows.

Writes a Berlinger Fridge-tag 2 L report (:mod:`sensors.logger_files`) holding
N logged readings (one a minute) and its daily history, and a CSV of the same
readings as they are stored. Copies of one migrated SQLite database (a site
and a fridge declared and synced) then take them, in the same run:

  baseline  ``sqlite3 DB ".import --csv --skip 1 rows.csv copy"`` into a table
            of the readings' shape (columns, foreign key to the sensor, unique
            key, index), with the pragmas the application sets (foreign keys
            on, synchronous FULL);
  import    ``Importer.store`` in this process (connected, as a running web or
            command process is): reading and checking the whole
            file, placing its times in the site's zone, and storing the
            readings, the rollups, the device days, the file itself and the
            audit event in one transaction; the ratio import / baseline is
            taken on this (target < 3);
  judging   ``Importer.judge`` right after: the fridge judged again over the
            file's whole span (excursions, device alarms, lots, daily time out
            of range), printed apart;
  command   ``fridge-monitor import FILE --fridge F`` in a child process on a
            fresh copy, start-up and judging included, printed apart.

Each of baseline and import runs three times on fresh copies; the best time of each is
kept. Checks every database holds N readings.

    python benchmarks/logger_import.py [--rows 100000] [--keep DIR]
"""

from __future__ import annotations

import csv
import math
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so
import sqlite_shell

from fridge_monitor.config import load_config
from fridge_monitor.core.loggers import read
from fridge_monitor.core.loggers.local_time import place
from fridge_monitor.loggers.importing import Importer, Request
from fridge_monitor.store import models as m
from fridge_monitor.store.db import create_engine
from fridge_monitor.store.sync import sync_declarations
from sensors.logger_files import fridge_tag_report

TARGET_RATIO = 3.0
ROUNDS = 3
ZONE = "Europe/Berlin"
FRIDGE = "Vaccines"
SERIAL = "130500109088"
# The readings table's shape, checks included (its foreign key to the sensor, its unique key, its index);
# the sensor is there, as the import registers it.
BASELINE_TABLE = f"""CREATE TABLE copy (sensor_id VARCHAR(300) NOT NULL REFERENCES sensors (id),
    measured_at DATETIME NOT NULL, received_at DATETIME NOT NULL, temperature_c FLOAT NOT NULL,
    UNIQUE (sensor_id, measured_at));
CREATE INDEX ix_copy_measured_at ON copy (measured_at);
INSERT INTO sensors (id, format, device, created_at) VALUES ('fridgetag:{SERIAL}', 'fridgetag', '{SERIAL}',
    '2026-01-01 00:00:00.000000');"""


def config_text(db: Path) -> str:
    return (f'[database]\nurl = "sqlite:///{db}"\n\n[logging]\nlevel = "WARNING"\n\n'
            f'[[sites]]\nname = "Bench"\ntimezone = "{ZONE}"\n\n'
            f'[[fridges]]\nname = "{FRIDGE}"\nsite = "Bench"\nsensors = []\n')


def sqlite_text(at: datetime) -> str:
    """How SQLAlchemy stores a UTC datetime in SQLite."""
    return at.strftime("%Y-%m-%d %H:%M:%S.%f")


def build(workdir: Path, rows: int) -> tuple[Path, Path, Path, Path]:
    """A migrated database (site and fridge synced) with its config, the report and the rows as CSV."""
    db, config_path = workdir / "fresh.db", workdir / "fresh.toml"
    config_path.write_text(config_text(db))
    subprocess.run([sys.executable, "-m", "fridge_monitor", "--config", str(config_path), "db", "upgrade"],
                   check=True, capture_output=True)
    start_utc = datetime.now(UTC) - timedelta(minutes=rows + 60)
    config = load_config(str(config_path))
    engine = create_engine(config.database)
    sync_declarations(engine, config, start_utc - timedelta(days=1))
    engine.dispose()

    zone = ZoneInfo(ZONE)
    start = start_utc.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0)
    minutes = [round(5.0 + 1.5 * math.sin(i / 720 * math.pi) + 0.3 * math.sin(i / 7), 1) for i in range(rows)]
    report = workdir / f"{SERIAL}_bench.txt"
    report.write_bytes(fridge_tag_report(SERIAL, start, minutes, interval_min=1))
    # The same readings as stored, for the baseline: read and placed as the import does.
    placed = place(read("fridgetag", report.read_bytes()).points, zone, ZONE)
    received = sqlite_text(datetime.now(UTC))
    rows_csv = workdir / "rows.csv"
    with rows_csv.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["sensor_id", "measured_at", "received_at", "temperature_c"])
        writer.writerows([f"fridgetag:{SERIAL}", sqlite_text(at), received, celsius] for at, celsius in placed)
    return db, config_path, report, rows_csv


def copy(workdir: Path, fresh: Path, name: str) -> tuple[Path, Path]:
    """A copy of the fresh database, and a config pointing at it."""
    db = workdir / f"{name}.db"
    shutil.copyfile(fresh, db)
    db.chmod(0o600)
    config_path = workdir / f"{name}.toml"
    config_path.write_text(config_text(db))
    return db, config_path


def baseline(db: Path, rows_csv: Path) -> float:
    """Seconds for the sqlite3 shell to insert the CSV's rows."""
    began = time.perf_counter()
    subprocess.run(["sqlite3", str(db), "PRAGMA foreign_keys=ON", "PRAGMA synchronous=FULL",
                    f".import --csv --skip 1 {rows_csv} copy"], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - began


def import_in_process(config_path: Path, report: Path) -> tuple[float, float, str]:
    """Seconds to store the file, seconds to judge the fridge after, and the import's summary line."""
    config = load_config(str(config_path))
    engine = create_engine(config.database)
    importer = Importer(engine, config)
    request = Request(report.name, report.read_bytes())
    with so.Session(engine) as session:  # a running process has its connection and mappers ready
        session.scalar(sa.select(m.Fridge.id).where(m.Fridge.name == FRIDGE))
    began = time.perf_counter()
    stored = importer.store(FRIDGE, request, "benchmark")
    stored_s = time.perf_counter() - began
    importer.judge(stored)
    judged_s = time.perf_counter() - began - stored_s
    engine.dispose()
    return stored_s, judged_s, stored.summary()


def import_command(config_path: Path, report: Path) -> float:
    cmd = [sys.executable, "-m", "fridge_monitor", "--config", str(config_path), "import", str(report),
           "--fridge", FRIDGE]
    began = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"fridge-monitor import exited with {done.returncode}:\n{done.stderr[-2000:]}")
    return elapsed


def count(db: Path, table: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def main() -> int:
    args = sqlite_shell.options(__doc__ or "", 100_000, "the databases, config, report and CSV")
    workdir, tmp = sqlite_shell.workdir(args.keep, "fm-bench-logger-")
    try:
        print(f"building in {workdir}: a Fridge-tag report of {args.rows:,} readings", file=sys.stderr)
        fresh, _config, report, rows_csv = build(workdir, args.rows)
        # Each timed ROUNDS times on a fresh copy, the best time kept (the machine's noise is one-sided).
        base_s, stored_s, judged_s = math.inf, math.inf, math.inf
        for round_ in range(ROUNDS):
            baseline_db, _ = copy(workdir, fresh, f"baseline{round_}")
            with sqlite3.connect(baseline_db) as conn:
                conn.executescript(BASELINE_TABLE)
            base_s = min(base_s, baseline(baseline_db, rows_csv))
            import_db, import_config = copy(workdir, fresh, f"import{round_}")
            stored, judged, summary = import_in_process(import_config, report)
            stored_s, judged_s = min(stored_s, stored), min(judged_s, judged)
        print(f"  {summary}", file=sys.stderr)
        command_db, command_config = copy(workdir, fresh, "command")
        command_s = import_command(command_config, report)
        counts = {count(baseline_db, "copy"), count(import_db, "readings"), count(command_db, "readings")}
    finally:
        if tmp is not None:
            tmp.cleanup()
    if counts != {args.rows}:
        raise SystemExit(f"row counts differ: {args.rows} in the file, stored {sorted(counts)}")
    ratio = stored_s / base_s
    print(f"rows                    {args.rows:,}")
    print(f"sqlite3 .import         {base_s:.2f} s  ({args.rows / base_s:,.0f} rows/s)")
    print(f"import (store)          {stored_s:.2f} s  ({args.rows / stored_s:,.0f} rows/s)")
    print(f"judging after it        {judged_s:.2f} s  (the fridge over the file's whole span)")
    print(f"fridge-monitor import   {command_s:.2f} s  (the command: start-up, store and judging)")
    print(f"ratio import / .import = {ratio:.2f} (target < {TARGET_RATIO:g}): "
          f"{'PASS' if ratio < TARGET_RATIO else 'above target'}")
    return 0

if __name__ == "__main__":
    sys.exit(main())
