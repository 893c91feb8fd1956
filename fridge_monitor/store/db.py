"""Engines and sessions for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping
from typing import Any, TypeAlias

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.dialects import postgresql, sqlite

from fridge_monitor.config.redact import redact
from fridge_monitor.store import files as storage

log = logging.getLogger(__name__)


def normalise_url(url: str) -> str:
    """Let ``postgresql://`` mean the psycopg 3 driver this project ships with."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def create_engine(settings: Mapping[str, Any]) -> sa.Engine:
    """An engine for ``[database]`` settings, with SQLite tuned for safe concurrency."""
    url = sa.make_url(normalise_url(settings["url"]))
    if url.get_backend_name() == "sqlite":
        _private_sqlite_file(url.render_as_string(hide_password=False))
        busy_ms = int(settings["busy_timeout_s"] * 1000)
        engine = sa.create_engine(
            url,
            connect_args={"timeout": settings["busy_timeout_s"], "check_same_thread": False},
        )
        synchronous = settings["sqlite_synchronous"].upper()

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # WAL lets readers (web, export) run while ingest writes; the busy
            # timeout makes writers wait for each other instead of failing.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={busy_ms}")
            cur.execute(f"PRAGMA synchronous={synchronous}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return sa.create_engine(
        url,
        pool_pre_ping=True,
        connect_args={"connect_timeout": 5},
    )


def _private_sqlite_file(url: str) -> None:
    """Create a new database file mode 0600 (its -wal and -shm follow); warn about an existing one others can read.

    The file holds password hashes, API token hashes and every record: the
    default umask would leave it readable by every local user.
    """
    path = storage.sqlite_path(url)
    if path is None:
        return
    storage.create_sqlite_file(path)
    try:
        mode = path.stat().st_mode
    except OSError:
        return  # SQLite says what is wrong when it opens it
    if not storage.is_private(mode):
        log.warning("the database file %s is readable by other users (mode %o): run `chmod 600 %s*`",
                    path, mode & 0o777, path)


def describe(url: str) -> str:
    """The URL without its password, for logs and status lines."""
    return redact(url)


def first_line(exc: BaseException) -> str:
    """The first line of a database error (the driver's message, without SQLAlchemy's SQL and parameters)."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def write_lock(session: so.Session) -> None:
    """Hold SQLite's write lock from here to commit (a no-op once this transaction has written).

    In WAL mode a transaction that reads and then writes fails at once
    ("database is locked") if another writer committed in between; taking the
    lock first makes it wait its turn instead. SQLite has one writer, so this
    lock also serialises every lot and every audit append. PostgreSQL needs
    nothing here.
    """
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        return
    raw = conn.connection.dbapi_connection
    if not (isinstance(raw, sqlite3.Connection) and raw.in_transaction):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


DialectInsert: TypeAlias = postgresql.Insert | sqlite.Insert
"""An INSERT that can say what to do on a conflict (``on_conflict_do_nothing``/``_do_update``, ``excluded``)."""


def dialect_insert(dialect_name: str, table: sa.Table) -> DialectInsert:
    """An INSERT of ``table`` in the dialect's own flavour, ready for an ON CONFLICT clause."""
    if dialect_name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
