"""Storing readings: the one INSERT, idempotent on (sensor, measured time), for ingest and logger imports.

A reading already stored (a message delivered twice, a logger file imported
again) is skipped by ON CONFLICT DO NOTHING, which fires no UPDATE trigger on
the append-only table. The times are prepared once per value, as the column
stores them (SQLite: naive UTC text as SQLAlchemy writes it; PostgreSQL:
aware ``timestamptz``), so inserting many rows costs what the driver costs,
not a type conversion per parameter.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from fridge_monitor.store import models as m
from fridge_monitor.store.db import dialect_insert

CHUNK = 5000  # rows per executemany
COLUMNS = ("sensor_id", "measured_at", "received_at", "temperature_c")


class ReadingsInsert:
    """``INSERT … ON CONFLICT (sensor_id, measured_at) DO NOTHING`` of readings, in one dialect."""

    def __init__(self, dialect: str) -> None:
        self._sqlite = dialect == "sqlite"
        moment = sa.String() if self._sqlite else sa.DateTime(timezone=True)
        self.statement = dialect_insert(dialect, m.Reading.__table__).values(
            sensor_id=sa.bindparam("sensor_id", type_=sa.String()),
            measured_at=sa.bindparam("measured_at", type_=moment),
            received_at=sa.bindparam("received_at", type_=moment),
            temperature_c=sa.bindparam("temperature_c", type_=sa.Float()),
        ).on_conflict_do_nothing(index_elements=["sensor_id", "measured_at"])

    def moment(self, at: datetime) -> datetime | str:
        """``at`` (aware) as the column stores it."""
        utc = at if at.tzinfo is UTC else at.astimezone(UTC)
        return utc.isoformat(" ", "microseconds")[:26] if self._sqlite else utc  # without its "+00:00"

    def execute(self, conn: sa.Connection, rows: Iterable[tuple[str, datetime, datetime, float]]) -> None:
        """Insert (sensor id, measured at, received at, °C) rows, skipping those stored already.

        The statement is compiled once and run with the driver's own executemany: the parameters are
        ready as stored, so there is nothing left for SQLAlchemy to convert row by row.
        """
        if self._sqlite:
            rows = list(rows)
            received_at = {received: self.moment(received) for received in {row[2] for row in rows}}
            # One expression a row: a year of minute readings is half a million of them.
            prepared: list[tuple[Any, ...]] = [
                (sensor_id,
                 (measured if measured.tzinfo is UTC else measured.astimezone(UTC)).isoformat(" ", "microseconds")[:26],
                 received_at[received], celsius)
                for sensor_id, measured, received, celsius in rows]
        else:
            prepared = [(sensor_id, measured.astimezone(UTC), received.astimezone(UTC), celsius)
                        for sensor_id, measured, received, celsius in rows]
        self._run(conn, prepared)

    def execute_series(self, conn: sa.Connection, sensor_id: str, received: datetime,
                       series: Iterable[tuple[datetime, float]]) -> None:
        """Insert one sensor's readings (measured at, °C), all received at ``received`` (a logger file)."""
        stored_received = self.moment(received)
        prepared: list[tuple[Any, ...]]
        if self._sqlite:
            prepared = [(sensor_id,
                         (at if at.tzinfo is UTC else at.astimezone(UTC)).isoformat(" ", "microseconds")[:26],
                         stored_received, celsius) for at, celsius in series]
        else:
            prepared = [(sensor_id, at.astimezone(UTC), stored_received, celsius) for at, celsius in series]
        self._run(conn, prepared)

    def _run(self, conn: sa.Connection, prepared: list[tuple[Any, ...]]) -> None:
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
