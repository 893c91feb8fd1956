"""The ``fridge-monitor`` command: the group and its options; the commands live in the modules beside it.

``roles`` runs the processes (run, ingest, web, scheduler, check, demo),
``admin`` the database, audit and parse commands, ``exports`` the CSV exports
and printable reports, ``archive`` old readings by month, ``users`` the accounts; ``common`` holds what they
share.
"""

from __future__ import annotations

import click

from fridge_monitor import __version__
from fridge_monitor.cli import admin, archive, exports, loggers, roles
from fridge_monitor.cli.users import users


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    envvar="FRIDGE_MONITOR_CONFIG",
    help="TOML settings file (env FRIDGE_MONITOR_CONFIG). Every key can be overridden by "
    "env FRIDGE_MONITOR_<SECTION>_<KEY>.",
)
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
@click.version_option(__version__, prog_name="fridge-monitor")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, verbose: bool) -> None:
    """Fridge Monitor: temperature logging and lot safety for medical fridges."""
    ctx.ensure_object(dict)
    ctx.obj["config_path"] = config_path
    ctx.obj["verbose"] = verbose


for command in (roles.ingest, roles.web, roles.scheduler, roles.check, roles.run, roles.demo,
                admin.db, users, admin.audit, admin.parse_command, exports.export_command, exports.report,
                loggers.import_command, archive.archive_command):
    main.add_command(command)
