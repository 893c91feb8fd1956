"""Alembic environment: runs on the connection handed over by fridge_monitor.store.migrate,
or on ``sqlalchemy.url`` / FRIDGE_MONITOR_DATABASE_URL when run as ``alembic``."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from fridge_monitor.store.models import Base
from fridge_monitor.store.partitions import is_partition_name

config = context.config
target_metadata = Base.metadata


def _include_name(name: str | None, type_: str, _parents: object) -> bool:
    """The monthly partitions of ``readings`` on PostgreSQL (and the archived ones detached from it) are made at
    run time, not declared by a model: the comparison of models and migrations leaves them out."""
    return not (type_ == "table" and name is not None and is_partition_name(name))


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=_include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from fridge_monitor.config import load_config
    from fridge_monitor.store.db import create_engine

    url = config.get_main_option("sqlalchemy.url")
    settings = dict(load_config().database)
    if url:
        settings["url"] = url
    engine = create_engine(settings)
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run `fridge-monitor db upgrade`")
run_migrations_online()
