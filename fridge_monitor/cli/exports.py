"""``fridge-monitor export`` and ``report``: records for a period, as CSV, a bundle or a monthly PDF."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from fridge_monitor.cli.common import CliError, load, open_database, output, private_output, time_zone
from fridge_monitor.config import Config
from fridge_monitor.core.period import PeriodError, parse_days, parse_period

if TYPE_CHECKING:
    import sqlalchemy as sa

EXPORTS = ["readings", "channels", "rejected", "daily", "alerts", "excursions", "stock", "checks", "calibrations",
           "audit", "bundle"]
# the exports --fridge narrows
BY_FRIDGE = ("readings", "channels", "daily", "alerts", "excursions", "stock", "checks", "calibrations", "bundle")


@click.command("export")
@click.argument("kind", type=click.Choice(EXPORTS))
@click.option("--from", "start", required=True, help="First day (YYYY-MM-DD) or ISO date-time.")
@click.option("--to", "end", required=True, help="Last day, included (YYYY-MM-DD) or ISO date-time (excluded).")
@click.option("--fridge", default=None, help="Only this fridge's readings, alerts, excursions or stock entries.")
@click.option("--tz", "tz_name", default=None, help="Read dates in this zone and add local-time columns.")
@click.option("--out", type=click.Path(dir_okay=False, writable=True), default=None, help="File (default stdout).")
@click.pass_context
def export_command(ctx: click.Context, kind: str, start: str, end: str, fridge: str | None,
                   tz_name: str | None, out: str | None) -> None:
    """Write a CSV export for a period (streamed; no row limit).

    Alerts and excursions belong to the period when they overlap it. The stock
    ledger has one row per signed entry: a transfer is a minus row and a plus row.
    `bundle` writes a zip of all of them with the monthly PDFs, the whole audit
    trail and a checksum manifest (needs --out); `audit verify FILE.zip` checks it.
    """
    from fridge_monitor.reports import calibration_export, channel_export, checks_export, export
    from fridge_monitor.store import calibrations

    config = load(ctx)
    if kind == "bundle":
        _export_bundle(config, start, end, fridge, out)
        return
    tz = time_zone("--tz", tz_name) if tz_name is not None else None
    try:
        if kind == "daily":
            first, last = parse_days(start, end)
        else:
            lo, hi = parse_period(start, end, tz or UTC)
    except PeriodError as exc:
        raise CliError(str(exc)) from None
    engine = open_database(config)
    if fridge is not None and kind in BY_FRIDGE:
        _require_fridge(engine, fridge)
    with output(out) as stream:
        if kind == "daily":
            rows = export.export_daily(engine, stream, first, last, fridge=fridge, tz=tz, config=config)
        elif kind == "rejected":
            rows = export.export_rejected(engine, stream, lo, hi)
        elif kind == "audit":
            rows = export.export_audit(engine, stream, lo, hi, tz=tz)
        elif kind == "calibrations":
            rows = calibration_export.export_calibrations(engine, stream, lo, hi, fridge=fridge,
                                                          limits=calibrations.limits(config))
        else:
            write = {"readings": export.export_readings, "channels": channel_export.export_channels,
                     "alerts": export.export_alerts,
                     "excursions": export.export_excursions, "stock": export.export_stock,
                     "checks": checks_export.export_checks}[kind]
            extra = {"limits": calibrations.limits(config)} if kind == "readings" else {}
            rows = write(engine, stream, lo, hi, fridge=fridge, tz=tz, **extra)
    if out is not None:
        click.echo(f"{rows} rows written to {out}", err=True)


def _export_bundle(config: Config, start: str, end: str, fridge: str | None, out: str | None) -> None:
    import getpass

    from fridge_monitor.reports import bundle

    if out is None:
        raise CliError("--out: a bundle is a zip file; name it, e.g. --out fridge-monitor-2026-03.zip")
    try:
        lo, hi = parse_period(start, end, UTC)
    except PeriodError as exc:
        raise CliError(str(exc)) from None
    engine = open_database(config)
    actor = f"{getpass.getuser()} (command line)"

    def progress(step: str, share: float) -> None:
        click.echo(f"  {share * 100:3.0f} %  {step}", err=True)

    try:
        result = bundle.build(engine, config, bundle.Request(lo, hi, (fridge,) if fridge else None), Path(out),
                              actor=actor, progress=progress)
    except bundle.BundleError as exc:
        raise CliError(f"--fridge: {exc}") from None
    click.echo(f"{result.files} files ({result.bytes} bytes before compression) written to {out}; "
               f"audit head {result.export_event}:{result.audit_head}", err=True)


def _require_fridge(engine: sa.Engine, name: str) -> None:
    import sqlalchemy as sa

    from fridge_monitor.store import models as m

    with engine.connect() as conn:
        if conn.scalar(sa.select(m.Fridge.id).where(m.Fridge.name == name)) is None:
            raise CliError(f"--fridge: no fridge named {name!r}")


@click.group()
def report() -> None:
    """Printable reports (PDF)."""


@report.command("monthly")
@click.option("--fridge", required=True, help="The fridge's name.")
@click.option("--month", "month_text", required=True, help="The month, YYYY-MM (days in the site's time zone).")
@click.option("--out", type=click.Path(dir_okay=False, writable=True), required=True, help="The PDF file to write.")
@click.option("--by", "by", default=None, help="Who the footer names as generating it (default: your login name).")
@click.pass_context
def report_monthly(ctx: click.Context, fridge: str, month_text: str, out: str, by: str | None) -> None:
    """Write the monthly temperature log of one fridge as PDF."""
    import getpass

    from fridge_monitor.reports import monthly, reviews

    try:
        year, month = monthly.parse_month(month_text)
    except monthly.ReportError as exc:
        raise CliError(f"--month: {exc}") from None
    config = load(ctx)
    engine = open_database(config)
    try:
        made = reviews.copies(engine, fridge, year, month, generated_by=by or getpass.getuser(),
                              now=datetime.now(UTC), config=config)
    except monthly.ReportError as exc:
        raise CliError(str(exc)) from None
    finally:
        engine.dispose()
    with private_output(out) as fh:
        fh.write(made.pdf)
    signed = " (the copy frozen when the month was signed)" if made.signed else ""
    click.echo(f"{fridge} {year:04d}-{month:02d}: {len(made.pdf)} bytes written to {out}{signed}", err=True)
    if made.addendum is not None:
        extra = str(Path(out).with_name(Path(out).stem + "-addendum.pdf"))
        with private_output(extra) as fh:
            fh.write(made.addendum)
        click.echo(f"{fridge} {year:04d}-{month:02d} was signed, and its records changed since: the signed copy is in "
                   f"{out}, the changes in {extra}", err=True)
