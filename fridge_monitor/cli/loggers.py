"""``fridge-monitor import``: files downloaded from stand-alone data loggers, into a fridge's record."""

from __future__ import annotations

from pathlib import Path

import click

from fridge_monitor.cli.common import CliError, load, open_database
from fridge_monitor.core.loggers import FORMATS


@click.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--fridge", required=True, help="The fridge the logger is in.")
@click.option("--format", "fmt", type=click.Choice(["auto", *FORMATS]), default="auto", show_default=True,
              help="fridgetag: Berlinger Fridge-tag / Q-tag .txt report; logtag: LogTag Analyzer CSV export; "
                   "csv: time,temperature_c.")
@click.option("--tz", "tz_name", default=None,
              help="The zone the logger's clock keeps (default: the fridge's site's), e.g. Europe/Berlin.")
@click.option("--time-format", default=None, help="csv only: strptime format of the time column, e.g. "
                                                  "'%d/%m/%Y %H:%M' (default: ISO 8601).")
@click.option("--serial", default=None, help="csv only: the logger's serial number (a plain CSV does not say).")
@click.pass_context
def import_command(ctx: click.Context, files: tuple[str, ...], fridge: str, fmt: str, tz_name: str | None,
                   time_format: str | None, serial: str | None) -> None:
    """Import data-logger files into a fridge's record.

    The logger becomes a sensor of the fridge (a backup if it has a primary);
    its readings and its own daily history join the record, and the file is
    kept unaltered. Importing the same file again, or a later download that
    overlaps it, adds nothing twice. Each file is read whole first: a damaged
    one is refused with the line at fault, and nothing of it is written.
    """
    import getpass

    from fridge_monitor.loggers.importing import Importer, ImportRefused, Request

    config = load(ctx)
    importer = Importer(open_database(config), config)
    actor = f"{getpass.getuser()} (command line)"
    refused = 0
    for name in files:
        path = Path(name)
        request = Request(path.name, path.read_bytes(), fmt=fmt, tz=tz_name, time_format=time_format, serial=serial)
        try:
            result = importer.import_file(fridge, request, actor)
        except ImportRefused as exc:
            if len(files) == 1:
                raise CliError(str(exc)) from None
            click.echo(f"fridge-monitor: error: {exc}", err=True)
            refused += 1
            continue
        click.echo(result.summary())
        for note in result.notes:
            click.echo(f"  {note}")
        click.echo(f"  {result.signature}")
        for title in result.alerts:
            click.echo(f"  alert: {title}")
    if refused:
        ctx.exit(1)
