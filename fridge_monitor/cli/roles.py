"""The role commands: ``run`` (every role in one process), ``ingest``, ``web``, ``scheduler``, ``check``, ``demo``."""

from __future__ import annotations

import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from fridge_monitor.cli.common import CliError, load, open_database, setup_logging, stop_on_signals
from fridge_monitor.config import Config
from fridge_monitor.launch import RoleError, Roles


def run_roles(config: Config, stop: threading.Event, *, ingest: bool = False, web: bool = False,
              scheduler: bool = False, broker: bool = False) -> None:
    """Run the chosen roles (``broker``: the embedded broker, if configured) until ``stop``, failing with
    one line when one cannot start or fails."""
    roles = Roles()
    try:
        if broker and config.mqtt["embedded"]:
            config = roles.start_broker(config)
        if ingest and roles.start_ingest(config, stop) is None:
            return  # asked to stop while the database was still down
        if web:
            server = roles.start_web(config, open_database(config))
            click.echo(f"dashboard on {server.url}", err=True)
        if scheduler:
            roles.start_scheduler(config, open_database(config))
        while not stop.wait(1.0):
            roles.check()
    except RoleError as exc:
        raise CliError(str(exc)) from None
    finally:
        roles.stop()


def _serve(ctx: click.Context, overrides: dict[str, dict[str, Any]] | None = None, **chosen: bool) -> None:
    """Load the settings, then run the ``chosen`` roles until SIGTERM or Ctrl-C."""
    config = load(ctx, overrides)
    with stop_on_signals() as stop:
        run_roles(config, stop, **chosen)


@click.command()
@click.option("--shared-group", default=None, help="Share the load with other ingest processes "
              "through MQTT shared subscriptions ($share/NAME/...).")
@click.option("--client-id", default=None, help="MQTT client id (each ingest process needs its own).")
@click.pass_context
def ingest(ctx: click.Context, shared_group: str | None, client_id: str | None) -> None:
    """Receive readings over MQTT and store them (one role, for scale-out)."""
    overrides: dict[str, dict[str, Any]] = {}
    if shared_group is not None:
        overrides["ingest"] = {"shared_group": shared_group}
    if client_id is not None:
        overrides["mqtt"] = {"client_id": client_id}
    _serve(ctx, overrides, ingest=True)


@click.command()
@click.pass_context
def web(ctx: click.Context) -> None:
    """Serve the dashboard and JSON API (one role, for scale-out behind a load balancer)."""
    _serve(ctx, web=True)


@click.command()
@click.pass_context
def scheduler(ctx: click.Context) -> None:
    """Time-based checks, escalation and reminders (one role; a second one waits as a hot standby)."""
    _serve(ctx, scheduler=True)


@click.command()
@click.pass_context
def check(ctx: click.Context) -> None:
    """Run every scheduled check once and exit (for cron and tests)."""
    import sqlalchemy as sa

    from fridge_monitor.alerts.outbox import Outbox
    from fridge_monitor.alerts.scheduler import run_checks
    from fridge_monitor.store.db import describe
    from fridge_monitor.store.sync import sync_declarations

    config = load(ctx)
    engine = open_database(config)
    outbox = Outbox(engine, config)
    try:
        sync_declarations(engine, config, datetime.now(UTC))
        outcome = run_checks(engine, config, outbox)
    except sa.exc.OperationalError as exc:
        raise CliError(f"cannot run the checks on {describe(config.database['url'])}: {exc.orig}") from None
    finally:
        outbox.close()
    click.echo(f"checks done: {len(outcome.created)} alert(s) opened, {len(outcome.changed)} updated")


@click.command()
@click.pass_context
def run(ctx: click.Context) -> None:
    """Production single box: every role in one process (plus the embedded broker if configured)."""
    _serve(ctx, ingest=True, web=True, scheduler=True, broker=True)


@click.command()
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("data/demo"),
              show_default=True, help="Where the demo keeps its SQLite database.")
@click.option("--fresh", is_flag=True, help="Start from an empty database.")
@click.option("--mqtt-port", type=int, default=None, help="Port for the embedded broker (default 1883, or a free one).")
@click.option("--web-port", type=int, default=None, help="Port for the dashboard (default 8000, or a free one).")
@click.option("--status-every", type=float, default=5.0, show_default=True, help="Seconds between status lines.")
@click.option("--duration", type=float, default=None, help="Stop by itself after this many seconds.")
@click.pass_context
def demo(ctx: click.Context, data_dir: Path, fresh: bool, mqtt_port: int | None, web_port: int | None,
         status_every: float, duration: float | None) -> None:
    """Everything on one machine with nothing installed: broker, database, simulated fridges."""
    from fridge_monitor.demo import run_demo

    setup_logging("WARNING", ctx.obj["verbose"])
    with stop_on_signals() as stop:
        if duration is not None:
            threading.Timer(duration, stop.set).start()
        try:
            run_demo(data_dir, stop, fresh=fresh, mqtt_port=mqtt_port, web_port=web_port,
                     status_every=status_every, out=sys.stdout)
        except RuntimeError as exc:
            raise CliError(str(exc)) from None
