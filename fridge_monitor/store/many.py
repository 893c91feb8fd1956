"""One statement for many rows: the driver's executemany on SQLite; on PostgreSQL one statement over arrays.

Ingest writes, per batch, a row per sensor (or per sensor and hour) to several
statements. Run row by row (even pipelined by psycopg) each row is a statement
of its own for the server to bind and run, and a dict of parameters for
SQLAlchemy to process. On PostgreSQL :class:`ManyRows` sends each column as
one array and the statement reads the rows from ``unnest(...)``: one
statement whatever the number of rows. The statement is written once, by a
function of the row's columns, so both databases run the same SQL rule: bound
parameters (one execution per row) on SQLite, the unnested columns on
PostgreSQL.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


class ManyRows:
    """A statement run for many rows at once: ``build(columns)``, where ``columns.<name>`` is the row's value.

    ``columns`` are given as name=type, in the order of the tuples :meth:`execute` takes. When
    :attr:`multirow` is true (PostgreSQL) one execution sees every row, so a statement that could meet a
    target row twice (an upsert) must group its rows first.
    """

    def __init__(self, dialect: str, build: Callable[[Any, bool], sa.Executable], **columns: Any) -> None:
        self.names = tuple(columns)
        self.multirow = dialect == "postgresql"
        if self.multirow:
            arrays = [sa.bindparam(f"{name}_rows", type_=postgresql.ARRAY(type_)) for name, type_ in columns.items()]
            table = sa.func.unnest(*arrays).table_valued(*self.names).render_derived(name="v")
            self.statement = build(table.c, True)
        else:
            params = {name: sa.bindparam(name, type_=type_) for name, type_ in columns.items()}
            self.statement = build(types.SimpleNamespace(**params), False)

    def execute(self, conn: sa.Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        """Run the statement for ``rows`` (tuples in the order of the columns); nothing for none."""
        if not rows:
            return
        if self.multirow:
            conn.execute(self.statement, {f"{name}_rows": [row[i] for row in rows]
                                          for i, name in enumerate(self.names)})
        else:
            conn.execute(self.statement, [dict(zip(self.names, row, strict=True)) for row in rows])
