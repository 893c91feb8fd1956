"""Years of readings on PostgreSQL: one partition of ``readings`` per UTC month, made ahead; archived ones detached.

On PostgreSQL ``readings`` is partitioned by range of ``measured_at`` (migration 0025): one table per UTC month,
``readings_yYYYYmMM``, and a DEFAULT partition, ``readings_default``, which takes a reading of any month that
has no partition of its own, so that no reading is ever refused. The scheduler makes the coming months'
partitions ahead of time (:func:`ensure_partitions`); ``fridge-monitor archive --confirm`` detaches a month
once its export bundle verified (:func:`detach_month`), keeping the detached table. SQLite keeps one table and
none of this applies there.

Every partition refuses UPDATE and DELETE through the row trigger it inherits from ``readings`` (PostgreSQL
clones it), and TRUNCATE through a statement trigger of its own (those are not inherited). Making or detaching
a partition holds a transaction-level advisory lock, so two schedulers, an upgrade and an archive never race.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime

import sqlalchemy as sa

from fridge_monitor.store import models as m
from fridge_monitor.store.db import first_line
from fridge_monitor.store.migrate import row_trigger, truncate_trigger

log = logging.getLogger(__name__)

PARENT = "readings"
DEFAULT = "readings_default"
MONTHS_AHEAD = 3  # the current month and the next three have their partitions
COLUMNS = "id, sensor_id, measured_at, received_at, temperature_c"
# The partitions' names (a name taken by a detached table gets a suffix, ``readings_y2026m01_2``).
_NAME = re.compile(r"^readings_(?:y(\d{4})m(\d{2})(?:_\d+)?|default)$")
# Making or detaching a partition takes the exclusive lock of ``readings``: ingest waits for it, and it waits for
# every query reading readings (a long export). Outside a migration it gives up after this long and tries later.
LOCK_TIMEOUT = "10s"
# Any constant: the key of the PostgreSQL advisory lock that serialises making and detaching partitions.
_LOCK_KEY = 0x46_4D_50_54  # "FMPT"


def is_partition_name(name: str) -> bool:
    """Whether a table is a month's partition of ``readings`` (attached or detached) or its DEFAULT partition:
    tables the migrations do not declare one by one, which ``db check`` leaves alone."""
    return _NAME.match(name) is not None


# -- UTC months ------------------------------------------------------------------------------------------------


def month_of(moment: datetime) -> date:
    """The first day of ``moment``'s UTC month."""
    utc = moment.astimezone(UTC)
    return date(utc.year, utc.month, 1)


def add_months(month: date, count: int) -> date:
    """The first day of the month ``count`` months after ``month``'s (before it when negative)."""
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def bounds(month: date) -> tuple[datetime, datetime]:
    """[start, end) of a UTC month, as aware datetimes."""
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    following = add_months(month, 1)
    return start, datetime(following.year, following.month, 1, tzinfo=UTC)


def month_text(month: date) -> str:
    """``YYYY-MM``."""
    return f"{month.year:04d}-{month.month:02d}"


def partition_name(month: date) -> str:
    """The name a month's partition gets: ``readings_y2026m12``."""
    return f"readings_y{month.year:04d}m{month.month:02d}"


# -- what the database holds ------------------------------------------------------------------------------------


def partitioned(conn: sa.Connection) -> bool:
    """Whether ``readings`` is a partitioned table here (PostgreSQL from migration 0025 on)."""
    if conn.dialect.name != "postgresql":
        return False
    kind = conn.scalar(sa.text("SELECT relkind FROM pg_class WHERE oid = to_regclass(:name)"), {"name": PARENT})
    return bool(kind == "p")


def attached(conn: sa.Connection) -> dict[date, str]:
    """The months that have a partition of their own, with its name (the DEFAULT partition is not one)."""
    names = conn.scalars(sa.text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = to_regclass(:parent)"), {"parent": PARENT})
    months = {}
    for name in names:
        found = _NAME.match(name)
        if found is not None and found.group(1) is not None:
            months[date(int(found.group(1)), int(found.group(2)), 1)] = name
    return months


def has_default(conn: sa.Connection) -> bool:
    """Whether the DEFAULT partition is attached."""
    return bool(conn.scalar(sa.text(
        "SELECT count(*) FROM pg_inherits WHERE inhparent = to_regclass(:parent) AND inhrelid = to_regclass(:name)"),
        {"parent": PARENT, "name": DEFAULT}))


def readings_per_month(conn: sa.Connection, before: date) -> list[tuple[date, int]]:
    """Each UTC month before ``before`` that holds readings, with how many (on every database)."""
    r = m.Reading.__table__
    if conn.dialect.name == "sqlite":  # naive UTC text, "2026-11-20 08:00:00.000000"
        month = sa.func.substr(r.c.measured_at, 1, 7)
    else:
        month = sa.func.to_char(sa.func.timezone("UTC", r.c.measured_at), "YYYY-MM")
    start, _end = bounds(before)
    rows = conn.execute(sa.select(month.label("month"), sa.func.count()).where(r.c.measured_at < start)
                        .group_by(month).order_by(month)).all()
    return [(date(int(text[:4]), int(text[5:7]), 1), int(count)) for text, count in rows]


# -- making partitions ------------------------------------------------------------------------------------------


def ensure_partitions(engine: sa.Engine, now: datetime, months_ahead: int = MONTHS_AHEAD) -> list[str]:
    """Make the partitions of ``now``'s UTC month and the ``months_ahead`` after it that are missing; their names.

    Idempotent, and safe while another process does the same; a no-op on SQLite. Each month is made in a
    transaction of its own, so ingest waits for one short lock at a time.
    """
    if engine.dialect.name != "postgresql":
        return []
    wanted = [add_months(month_of(now), k) for k in range(months_ahead + 1)]
    with engine.connect() as conn:
        if not partitioned(conn):
            return []
        missing = [month for month in wanted if month not in attached(conn)]
    made = []
    for month in missing:
        try:
            with engine.begin() as conn:
                lock_timeout(conn)
                name = create_month(conn, month)
        except sa.exc.OperationalError as exc:  # most likely the lock timeout: a long query on readings
            log.warning("the readings partition of %s was not made this time (%s); the next round tries again",
                        month_text(month), first_line(exc))
            continue
        if name is not None:
            log.info("made the readings partition %s for %s (UTC)", name, month_text(month))
            made.append(name)
    return made


def ensure_on(conn: sa.Connection, months: list[date]) -> list[str]:
    """Inside a transaction (a migration): the partitions of ``months`` that are missing, made; their names."""
    return [name for month in months if (name := create_month(conn, month)) is not None]


def create_month(conn: sa.Connection, month: date) -> str | None:
    """Make ``month``'s partition in the caller's transaction, unless it exists (None); its name.

    PostgreSQL refuses a new partition while the DEFAULT partition holds rows of its range; such rows (a
    reading from a clock set ahead, a backlog of a month never made ahead) move into the new partition in this
    same transaction: the DEFAULT partition is detached (which takes the parent's exclusive lock, so nobody
    sees the moment), the month's partition made, its rows copied in and removed from the detached DEFAULT
    (no longer a partition, so not append-only for that moment), and the DEFAULT partition attached again.
    """
    lock(conn)
    if month in attached(conn):
        return None
    name = _free_name(conn, month)
    start, end = (f"'{moment.isoformat()}'" for moment in bounds(month))  # "'2026-12-01T00:00:00+00:00'"
    create = f"CREATE TABLE {name} PARTITION OF {PARENT} FOR VALUES FROM ({start}) TO ({end})"
    in_range = f"measured_at >= {start} AND measured_at < {end}"
    stray = has_default(conn) and conn.exec_driver_sql(f"SELECT count(*) FROM {DEFAULT} WHERE {in_range}").scalar()
    if stray:
        conn.exec_driver_sql(f"ALTER TABLE {PARENT} DETACH PARTITION {DEFAULT}")
        conn.exec_driver_sql(create)
        conn.exec_driver_sql(f"INSERT INTO {PARENT} ({COLUMNS}) SELECT {COLUMNS} FROM {DEFAULT} WHERE {in_range}")
        conn.exec_driver_sql(f"DELETE FROM {DEFAULT} WHERE {in_range}")
        conn.exec_driver_sql(f"ALTER TABLE {PARENT} ATTACH PARTITION {DEFAULT} DEFAULT")
        log.warning("moved %d reading(s) of %s from %s into the new partition %s", stray, month_text(month),
                    DEFAULT, name)
    else:
        conn.exec_driver_sql(create)
    no_truncate(conn, name)
    return name


def create_default(conn: sa.Connection) -> None:
    """Make the DEFAULT partition (a migration's step)."""
    conn.exec_driver_sql(f"CREATE TABLE {DEFAULT} PARTITION OF {PARENT} DEFAULT")
    no_truncate(conn, DEFAULT)


def no_truncate(conn: sa.Connection, table: str) -> None:
    """The TRUNCATE trigger a partition needs of its own (the parent's fires only for ``TRUNCATE readings``)."""
    conn.exec_driver_sql(truncate_trigger(table))


def lock_timeout(conn: sa.Connection) -> None:
    """Give up waiting for a lock after :data:`LOCK_TIMEOUT`, for the rest of the transaction."""
    conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")


def lock(conn: sa.Connection) -> None:
    """Hold the partitions' advisory lock until the transaction ends."""
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})


def _free_name(conn: sa.Connection, month: date) -> str:
    """``readings_yYYYYmMM``, or with a suffix where a detached (archived) table already has that name."""
    base = partition_name(month)
    name, number = base, 1
    while conn.scalar(sa.text("SELECT to_regclass(:name)"), {"name": name}) is not None:
        number += 1
        name = f"{base}_{number}"
    return name


# -- detaching an archived month ----------------------------------------------------------------------------------


def detach_month(conn: sa.Connection, month: date) -> str:
    """Detach ``month``'s partition in the caller's transaction and keep it as a table; its name.

    A month whose readings sit in the DEFAULT partition first gets a partition of its own. The detached table
    loses the row trigger it had inherited, so it gets one of its own: it stays append-only until someone
    drops it.
    """
    lock(conn)
    name = attached(conn).get(month) or create_month(conn, month)
    assert name is not None  # made just now under the lock if it was missing
    conn.exec_driver_sql(f"ALTER TABLE {PARENT} DETACH PARTITION {name}")
    conn.exec_driver_sql(row_trigger(name))
    return name
