"""What every command shares: the one-line error, loading the settings, the database, stopping on signals."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from fridge_monitor.config import Config, ConfigError, load_config, redact, redact_log_handlers

if TYPE_CHECKING:
    import sqlalchemy as sa

log = logging.getLogger("fridge_monitor")
# Libraries whose INFO lines would drown the application's own: they log warnings and errors only.
NOISY_LOGGERS = ("amqtt", "transitions", "alembic", "apscheduler")  # (apscheduler: a line per job run)


class CliError(click.ClickException):
    """One line on stderr, exit status 2."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"fridge-monitor: error: {redact(self.message)}", err=True)


def load(ctx: click.Context, overrides: dict[str, dict[str, Any]] | None = None) -> Config:
    """The settings named by ``--config`` (a bad one is a :class:`CliError`), with logging set up by them."""
    try:
        config = load_config(ctx.obj["config_path"], overrides=overrides)
    except ConfigError as exc:
        raise CliError(str(exc)) from None
    setup_logging(config.logging["level"], ctx.obj["verbose"])
    return config


def setup_logging(level: str, verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else getattr(logging, level),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    redact_log_handlers()
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)


def open_database(config: Config, *, require_current: bool = True) -> sa.Engine:
    """An engine for the configured database, refusing to run on an old schema."""
    import sqlalchemy as sa

    from fridge_monitor.store import migrate
    from fridge_monitor.store.db import create_engine, describe

    engine = create_engine(config.database)
    context = click.get_current_context(silent=True)
    if context is not None:  # the command's connections close when it ends, not when the process exits
        context.call_on_close(engine.dispose)
    if not require_current:
        return engine
    try:
        problem = migrate.schema_problem(engine)
    except sa.exc.OperationalError as exc:
        raise CliError(f"cannot open database {describe(config.database['url'])}: {exc.orig}") from None
    if problem:
        raise CliError(problem)
    return engine


def time_zone(option: str, name: str) -> ZoneInfo:
    """The zone an option names, or a :class:`CliError` naming the option."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CliError(f"{option}: unknown time zone {name!r}") from None


@contextmanager
def private_output(path: str, **mode: Any) -> Iterator[Any]:
    """A records file opened with mode 0600 under ``PATH.partial``, renamed to ``path`` once complete,
    so a half-written export or report never carries the real name."""
    from fridge_monitor.store import files as storage

    tmp = Path(path + ".partial")
    with storage.open_private(tmp, **mode) as fh:
        yield fh
    tmp.replace(path)


@contextmanager
def output(path: str | None) -> Iterator[TextIO]:
    """Text to ``path`` (see :func:`private_output`), or to stdout without one."""
    if path is None:
        yield sys.stdout
        sys.stdout.flush()
        return
    with private_output(path, mode="w", encoding="utf-8", newline="") as fh:
        yield fh


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """An event set by SIGTERM or Ctrl-C, so roles can shut down cleanly."""
    stop = threading.Event()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

    def _handler(signum: int, _frame: Any) -> None:
        log.info("received %s; stopping", signal.Signals(signum).name)
        stop.set()

    for sig in previous:
        signal.signal(sig, _handler)
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
