"""Storing readings: the one INSERT, idempotent on (sensor, measured time), for ingest and logger imports.

A reading already stored (a message delivered twice, a logger file imported
again) is skipped by ON CONFLICT DO NOTHING, which fires no UPDATE trigger on
the append-only table.

On PostgreSQL the rows go to the server in one binary COPY into a temporary
staging table of the connection's own, then into ``readings`` with one
``INSERT … SELECT … ON CONFLICT DO NOTHING``: two round trips a batch, however
many rows, and psycopg writes the rows in C. (The driver's executemany runs one
INSERT per row; an ``unnest`` of arrays costs several times COPY's time to
send.) The staging table empties itself at commit (ON COMMIT DELETE ROWS: a
truncation, so it never bloats) and is moved with DELETE … RETURNING, so two
inserts in one transaction never see each other's rows. Each insert makes it
if it is missing, in its own transaction: after a rollback, or behind a pooler
that hands each transaction to any server session, it is there all the same.
A database user that may not create temporary tables (``TEMPORARY`` revoked)
gets one ``INSERT … SELECT … FROM unnest(…)`` of the rows as arrays instead:
slower to send, the same result.

On SQLite the statement is compiled once and run with the driver's
executemany, the times prepared once per value as the column stores them
(naive UTC text as SQLAlchemy writes it), so inserting many rows costs what
the driver costs, not a type conversion per parameter.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from fridge_monitor.store import models as m
from fridge_monitor.store.db import dialect_insert

log = logging.getLogger(__name__)

CHUNK = 5000  # rows per executemany (SQLite)
COLUMNS = ("sensor_id", "measured_at", "received_at", "temperature_c")

STAGE = "readings_incoming"
_STAGE_DDL = (f"CREATE TEMPORARY TABLE IF NOT EXISTS {STAGE} (sensor_id varchar(300), measured_at timestamptz, "
              "received_at timestamptz, temperature_c float8) ON COMMIT DELETE ROWS")
_COPY = f"COPY {STAGE} ({', '.join(COLUMNS)}) FROM STDIN (FORMAT BINARY)"
_COPY_TYPES = ["varchar", "timestamptz", "timestamptz", "float8"]
_MOVE = (f"WITH staged AS (DELETE FROM {STAGE} RETURNING {', '.join(COLUMNS)}) "
         f"INSERT INTO readings ({', '.join(COLUMNS)}) SELECT {', '.join(COLUMNS)} FROM staged "
         "ON CONFLICT (sensor_id, measured_at) DO NOTHING")
_UNNEST = (f"INSERT INTO readings ({', '.join(COLUMNS)}) "
           "SELECT * FROM unnest(%s::varchar[], %s::timestamptz[], %s::timestamptz[], %s::float8[]) "
           "ON CONFLICT (sensor_id, measured_at) DO NOTHING")


class ReadingsInsert:
    """``INSERT … ON CONFLICT (sensor_id, measured_at) DO NOTHING`` of readings, in one dialect."""

    def __init__(self, dialect: str, *, staging: bool | None = None) -> None:
        """``staging``: PostgreSQL through the staging table (True) or arrays (False); None: the staging
        table if the database user may create temporary tables (asked once)."""
        self._sqlite = dialect == "sqlite"
        self._staging = staging
        # SQLite's statement; PostgreSQL's are the COPY and the move above.
        self.statement = dialect_insert(dialect, m.Reading.__table__).values(
            sensor_id=sa.bindparam("sensor_id", type_=sa.String()),
            measured_at=sa.bindparam("measured_at", type_=sa.String()),
            received_at=sa.bindparam("received_at", type_=sa.String()),
            temperature_c=sa.bindparam("temperature_c", type_=sa.Float()),
        ).on_conflict_do_nothing(index_elements=["sensor_id", "measured_at"])

    def execute(self, conn: sa.Connection, rows: Iterable[tuple[str, datetime, datetime, float]]) -> None:
        """Insert (sensor id, measured at, received at, °C) rows (aware times), skipping those stored already."""
        if not self._sqlite:
            self._postgresql(conn, rows)
            return
        rows = list(rows)
        received_at = {received: _sqlite_text(received) for received in {row[2] for row in rows}}
        # One expression a row: a year of minute readings is half a million of them.
        prepared: list[tuple[Any, ...]] = [
            (sensor_id,
             (measured if measured.tzinfo is UTC else measured.astimezone(UTC)).isoformat(" ", "microseconds")[:26],
             received_at[received], celsius)
            for sensor_id, measured, received, celsius in rows]
        self._run(conn, prepared)

    def execute_series(self, conn: sa.Connection, sensor_id: str, received: datetime,
                       series: Iterable[tuple[datetime, float]]) -> None:
        """Insert one sensor's readings (measured at, °C), all received at ``received`` (a logger file)."""
        if not self._sqlite:
            self._postgresql(conn, ((sensor_id, at, received, celsius) for at, celsius in series))
            return
        stored_received = _sqlite_text(received)
        prepared: list[tuple[Any, ...]] = [
            (sensor_id, (at if at.tzinfo is UTC else at.astimezone(UTC)).isoformat(" ", "microseconds")[:26],
             stored_received, celsius) for at, celsius in series]
        self._run(conn, prepared)

    def _postgresql(self, conn: sa.Connection, rows: Iterable[tuple[str, datetime, datetime, float]]) -> None:
        if self._staging is None:
            self._staging = bool(conn.exec_driver_sql(
                "SELECT has_database_privilege(current_database(), 'TEMPORARY')").scalar())
            if not self._staging:
                log.warning("the database user may not create temporary tables: readings are inserted without "
                            "COPY (slower); GRANT TEMPORARY ON DATABASE to it for the faster path")
        (_copy_in if self._staging else _unnest_in)(conn, rows)

    def _run(self, conn: sa.Connection, prepared: list[tuple[Any, ...]]) -> None:
        """SQLite: the statement compiled once, run with the driver's executemany on values ready as stored."""
        compiled = self.statement.compile(dialect=conn.dialect)
        sql = str(compiled)
        order = list(compiled.positiontup or []) if compiled.positional else None
        batch: list[Any]
        for start in range(0, len(prepared), CHUNK):
            chunk = prepared[start:start + CHUNK]
            if order == list(COLUMNS):
                batch = chunk
            elif order is not None:
                batch = [tuple(values[COLUMNS.index(name)] for name in order) for values in chunk]
            else:
                batch = [dict(zip(COLUMNS, values, strict=True)) for values in chunk]
            conn.exec_driver_sql(sql, batch)


def _sqlite_text(at: datetime) -> str:
    """``at`` (aware) as SQLite's column stores it: naive UTC text, as SQLAlchemy writes it (without "+00:00")."""
    utc = at if at.tzinfo is UTC else at.astimezone(UTC)
    return utc.isoformat(" ", "microseconds")[:26]


def _copy_in(conn: sa.Connection, rows: Iterable[tuple[str, datetime, datetime, float]]) -> None:
    """PostgreSQL: stage the rows with one binary COPY, then move the new ones into ``readings``."""
    raw: Any = conn.connection.dbapi_connection  # psycopg's, in the transaction ``conn`` is in
    with raw.cursor() as cursor:
        cursor.execute(_STAGE_DDL)
        with cursor.copy(_COPY) as copy:
            copy.set_types(_COPY_TYPES)
            write = copy.write_row
            for row in rows:
                write(row)
        cursor.execute(_MOVE)


def _unnest_in(conn: sa.Connection, rows: Iterable[tuple[str, datetime, datetime, float]]) -> None:
    """PostgreSQL without temporary tables: the rows as four arrays, inserted by one statement."""
    columns = [list(column) for column in zip(*rows, strict=True)]
    if columns:
        conn.exec_driver_sql(_UNNEST, tuple(columns))
