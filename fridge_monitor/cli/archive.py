"""``fridge-monitor archive``: a verified export bundle per UTC month of old readings; on PostgreSQL, with
``--confirm``, each archived month's partition detached from ``readings`` (kept as a table)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from fridge_monitor.cli.common import CliError, load, open_database

if TYPE_CHECKING:
    import sqlalchemy as sa

    from fridge_monitor.reports.archive import MonthBundle


@click.command("archive")
@click.option("--before", "before_text", required=True, metavar="YYYY-MM",
              help="Archive every UTC month before this one (UTC months: the partitions' bounds).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="The directory the bundles are written to (made if missing): fridge-monitor-YYYY-MM.zip each, "
                   "replacing a file of that name.")
@click.option("--confirm", is_flag=True,
              help="PostgreSQL only: then detach each archived month's partition from readings, for the months "
                   "whose bundle verified in this run. The detached table is kept.")
@click.pass_context
def archive_command(ctx: click.Context, before_text: str, out_dir: str, confirm: bool) -> None:
    """Write a verified export bundle of every UTC month before --before that holds readings.

    Months are UTC months, the bounds of the readings partitions on
    PostgreSQL. Each bundle is the one `export bundle` writes for that month;
    it is checked as `audit verify FILE.zip` checks one, and must hold every
    reading of the month. Prints each month's readings, the bundle's path and
    its SHA-256. Without --confirm nothing else happens. With --confirm
    (PostgreSQL), each month whose bundle verified is detached from the
    readings table and kept as a table of its own (readings_yYYYYmMM), which
    you drop yourself once the bundle is stored safely. Nothing is ever
    detached or deleted automatically. The run and every detachment are
    audit events. Exits 1 if any bundle does not verify.
    """
    import getpass

    from fridge_monitor.reports import archive
    from fridge_monitor.reports.monthly import ReportError, parse_month
    from fridge_monitor.store import partitions

    try:
        year, month = parse_month(before_text)
    except ReportError as exc:
        raise CliError(f"--before: {exc}") from None
    before, now = date(year, month, 1), datetime.now(UTC)
    if before > partitions.month_of(now):
        raise CliError(f"--before {before_text}: only months that have ended can be archived; the current UTC month "
                       f"is {partitions.month_text(partitions.month_of(now))}")
    config = load(ctx)
    engine = open_database(config)
    if confirm and engine.dialect.name != "postgresql":
        raise CliError("--confirm detaches months from the readings table, which needs PostgreSQL (readings are "
                       f"partitioned by month there, not on {engine.dialect.name}); leave out --confirm to write "
                       "the bundles only")
    actor = f"{getpass.getuser()} (command line)"

    def done(made: archive.MonthBundle) -> None:
        verdict = "verified" if made.verified else "does NOT verify"
        click.echo(f"{partitions.month_text(made.month)}: {made.readings} readings -> {made.path} "
                   f"sha256 {made.sha256} ({verdict})")
        for problem in made.problems:
            click.echo(f"fridge-monitor: {made.path}: {problem}", err=True)

    made = archive.write_bundles(engine, config, before, Path(out_dir), actor=actor, done=done)
    if not made:
        click.echo(f"no readings before {partitions.month_text(before)} (UTC): nothing to archive")
    failed = [bundle for bundle in made if not bundle.verified]
    if failed:
        click.echo(f"fridge-monitor: {len(failed)} bundle(s) did not verify; those months stay in the readings "
                   "table", err=True)
    kept = 0
    if confirm:
        kept = _detach(engine, [bundle for bundle in made if bundle.verified], actor)
    elif made:
        click.echo("nothing detached: the readings stay in the database (with --confirm, on PostgreSQL, each "
                   "archived month is detached from the readings table)")
    if failed or kept:
        ctx.exit(1)


def _detach(engine: sa.Engine, verified: list[MonthBundle], actor: str) -> int:
    """Detach each verified month, printing what became of it; how many could not be detached."""
    from fridge_monitor.reports import archive
    from fridge_monitor.store import partitions

    detached, kept = [], 0
    for made in verified:
        try:
            gone = archive.detach(engine, made, actor=actor)
        except archive.ArchiveError as exc:
            click.echo(f"fridge-monitor: {exc}", err=True)
            kept += 1
            continue
        detached.append(gone.table)
        click.echo(f"{partitions.month_text(gone.month)}: {gone.readings} readings detached from readings; "
                   f"kept as table {gone.table}")
    if detached:
        click.echo("once each bundle is stored safely (write-once media, its SHA-256 recorded), drop the detached "
                   f"table(s) with: DROP TABLE {', '.join(detached)};")
    return kept
