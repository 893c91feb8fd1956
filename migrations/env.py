"""Alembic environment: runs on the connection handed over by fridge_monitor.store.migrate,
or on ``sqlalchemy.url`` / FRIDGE_MONITOR_DATABASE_URL when run as ``alembic``."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from fridge_monitor.store.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
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
