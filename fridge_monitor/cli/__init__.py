"""The ``fridge-monitor`` command."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from fridge_monitor import __version__
from fridge_monitor.config import Config, ConfigError, load_config, redact, redact_log_handlers
from fridge_monitor.core.readings import SUBSCRIPTION_FORMATS, ParseContext, filter_base

if TYPE_CHECKING:
    import sqlalchemy as sa

log = logging.getLogger("fridge_monitor")


class CliError(click.ClickException):
    """One line on stderr, exit status 2."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"fridge-monitor: error: {redact(self.message)}", err=True)


def _load(ctx: click.Context, overrides: dict[str, dict[str, Any]] | None = None) -> Config:
    try:
        config = load_config(ctx.obj["config_path"], overrides=overrides)
    except ConfigError as exc:
        raise CliError(str(exc)) from None
    _setup_logging(config.logging["level"], ctx.obj["verbose"])
    return config


def _setup_logging(level: str, verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else getattr(logging, level),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    redact_log_handlers()
    for noisy in ("amqtt", "transitions", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def open_database(config: Config, *, require_current: bool = True) -> sa.Engine:
    """An engine for the configured database, refusing to run on an old schema."""
    import sqlalchemy as sa

    from fridge_monitor.store import migrate
    from fridge_monitor.store.db import create_engine, describe

    engine = create_engine(config.database)
    if not require_current:
        return engine
    try:
        problem = migrate.schema_problem(engine)
    except sa.exc.OperationalError as exc:
        raise CliError(f"cannot open database {describe(config.database['url'])}: {exc.orig}") from None
    if problem:
        raise CliError(problem)
    return engine


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


# -- roles -----------------------------------------------------------------


def _run_roles(config: Config, stop: threading.Event, *, ingest: bool, web: bool, scheduler: bool = False) -> None:
    """Run the chosen roles until ``stop``. Ingest's writer process checks the schema and
    syncs the declared sites and fridges before anything is received."""
    from fridge_monitor.ingest.subscriber import Ingest, IngestStartError

    running: list[Any] = []
    try:
        if ingest:
            role = Ingest(config)
            try:
                role.start(cancel=stop)
            except IngestStartError as exc:
                if stop.is_set():
                    return  # asked to stop while the database was still down
                raise CliError(str(exc)) from None
            running.append(role)
        if web:
            running.append(_start_web(config))
        if scheduler:
            running.append(_start_scheduler(config))
        while not stop.wait(1.0):
            for role in running:
                if getattr(role, "fatal_error", None):
                    raise CliError(role.fatal_error)
    finally:
        for role in reversed(running):
            role.stop()


def _start_scheduler(config: Config) -> Any:
    from fridge_monitor.alerts.scheduler import Scheduler
    from fridge_monitor.store.sync import sync_declarations

    engine = open_database(config)
    sync_declarations(engine, config, datetime.now(UTC))  # it may run before any ingest
    role = Scheduler(config, engine)
    role.start()
    return role


def _start_web(config: Config) -> Any:
    from fridge_monitor.web import create_app
    from fridge_monitor.web.server import WebServer

    engine = open_database(config)
    try:
        server = WebServer(create_app(config, engine=engine), config.web["host"], config.web["port"],
                           config.web["threads"])
    except ConfigError as exc:  # e.g. a session key file others can read
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"cannot listen on {config.web['host']}:{config.web['port']}: {exc.strerror}") from None
    server.start()
    click.echo(f"dashboard on {server.url}", err=True)
    return server


@main.command()
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
    config = _load(ctx, overrides)
    with stop_on_signals() as stop:
        _run_roles(config, stop, ingest=True, web=False)


@main.command()
@click.pass_context
def web(ctx: click.Context) -> None:
    """Serve the dashboard and JSON API (one role, for scale-out behind a load balancer)."""
    config = _load(ctx)
    with stop_on_signals() as stop:
        _run_roles(config, stop, ingest=False, web=True)


@main.command()
@click.pass_context
def scheduler(ctx: click.Context) -> None:
    """Time-based checks, escalation and reminders (one role; a second one waits as a hot standby)."""
    config = _load(ctx)
    with stop_on_signals() as stop:
        _run_roles(config, stop, ingest=False, web=False, scheduler=True)


@main.command()
@click.pass_context
def check(ctx: click.Context) -> None:
    """Run every scheduled check once and exit (for cron and tests)."""
    import sqlalchemy as sa

    from fridge_monitor.alerts.outbox import Outbox
    from fridge_monitor.alerts.scheduler import run_checks
    from fridge_monitor.store.db import describe
    from fridge_monitor.store.sync import sync_declarations

    config = _load(ctx)
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


@main.command()
@click.pass_context
def run(ctx: click.Context) -> None:
    """Production single box: every role in one process (plus the embedded broker if configured)."""
    from fridge_monitor.mqtt.broker import EmbeddedBroker
    from fridge_monitor.mqtt.client import broker_address

    config = _load(ctx)
    broker = None
    if config.mqtt["embedded"]:
        address = broker_address(config.mqtt["url"])
        broker = EmbeddedBroker(address.host, address.port)
        try:
            broker.start()
        except RuntimeError as exc:
            raise CliError(str(exc)) from None
        if config.mqtt["protocol"] != "3.1.1":
            config = config.replace("mqtt", protocol="3.1.1")  # amqtt speaks MQTT 3.1.1 only
    try:
        with stop_on_signals() as stop:
            _run_roles(config, stop, ingest=True, web=True, scheduler=True)
    finally:
        if broker is not None:
            broker.stop()


@main.command()
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

    _setup_logging("WARNING", ctx.obj["verbose"])
    with stop_on_signals() as stop:
        if duration is not None:
            threading.Timer(duration, stop.set).start()
        try:
            run_demo(data_dir, stop, fresh=fresh, mqtt_port=mqtt_port, web_port=web_port,
                     status_every=status_every, out=sys.stdout)
        except RuntimeError as exc:
            raise CliError(str(exc)) from None


# -- database --------------------------------------------------------------


@main.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Apply migrations up to the newest schema."""
    import sqlalchemy as sa

    from fridge_monitor.store import migrate
    from fridge_monitor.store.db import describe

    config = _load(ctx)
    engine = open_database(config, require_current=False)
    try:
        migrate.upgrade(engine)
    except sa.exc.OperationalError as exc:
        raise CliError(f"cannot upgrade {describe(config.database['url'])}: {exc.orig}") from None
    click.echo(f"database {describe(config.database['url'])} is at revision {migrate.current_revision(engine)}")


@db.command("check")
@click.pass_context
def db_check(ctx: click.Context) -> None:
    """Fail if the models and the migrations disagree (for CI)."""
    from alembic.util.exc import AutogenerateDiffsDetected

    from fridge_monitor.store import migrate

    config = _load(ctx)
    engine = open_database(config)
    try:
        migrate.check(engine)
    except AutogenerateDiffsDetected as exc:
        raise CliError(f"models and migrations disagree: {exc}") from None
    click.echo("models and migrations agree")


# -- users: fridge_monitor/cli_users.py ------------------------------------

from fridge_monitor.cli.users import users  # noqa: E402  (it imports CliError, _load and open_database from here)

main.add_command(users)


# -- audit -----------------------------------------------------------------


@main.group()
def audit() -> None:
    """The tamper-evident audit trail (21 CFR 11.10(e))."""


@audit.command("verify")
@click.argument("bundle", required=False, type=click.Path(exists=True, dir_okay=False))
@click.option("--anchors", "anchors_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Also check the trail against earlier anchors: the anchor file ([audit] anchor_file), or saved "
                   "payloads of the retained anchor message, one per line.")
@click.pass_context
def audit_verify(ctx: click.Context, bundle: str | None, anchors_path: str | None) -> None:
    """Verify the audit trail in the database (hash chain and recorded head), or an export BUNDLE offline.

    With --anchors, every anchor must still name an event with the hash it
    recorded; otherwise the chain was rewritten or truncated, even if it
    verifies on its own. Exits 0 when intact, 1 when any event was changed,
    removed or reordered (naming the first bad event), any anchor is broken
    (naming each) or any file of the bundle does not match (naming it), 2 when
    the check could not run.
    """
    import sqlalchemy as sa

    from fridge_monitor.store import audit_trail
    from fridge_monitor.store.db import describe

    if bundle is not None:
        if anchors_path is not None:
            raise CliError("--anchors checks the database's trail; leave out the BUNDLE argument")
        _verify_bundle(ctx, bundle)
        return
    config = _load(ctx)
    engine = open_database(config)
    try:
        verdict = audit_trail.check_database(engine)
        broken = _check_anchors(engine, anchors_path) if anchors_path is not None else []
    except sa.exc.OperationalError as exc:
        raise CliError(f"cannot read the audit trail from {describe(config.database['url'])}: {exc.orig}") from None
    noun = "event" if verdict.count == 1 else "events"
    click.echo(f"{verdict.count} audit {noun} in {describe(config.database['url'])}")
    if broken:
        for problem in broken:
            click.echo(f"fridge-monitor: {anchors_path}: anchor BROKEN: {problem}", err=True)
    if verdict.problem is not None:
        click.echo(f"fridge-monitor: audit trail BROKEN: {verdict.problem}", err=True)
        ctx.exit(1)
    if broken:
        click.echo(f"fridge-monitor: audit trail REWRITTEN: {len(broken)} anchor(s) in {anchors_path} do not match",
                   err=True)
        ctx.exit(1)
    if verdict.last_hash is None:
        click.echo("audit trail intact (empty)")
    else:
        click.echo(f"audit trail intact (head {verdict.last_hash})")


def _check_anchors(engine: sa.Engine, path: str) -> list[str]:
    """Problems found checking the trail against the anchors in ``path`` (see :mod:`fridge_monitor.store.anchors`)."""
    from fridge_monitor.store import anchors

    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            result = anchors.check(engine, fh)
    except OSError as exc:
        raise CliError(f"--anchors: cannot read {path}: {exc.strerror}") from None
    if result.anchors == 0:
        raise CliError(f"--anchors: {path} holds no anchors")
    if not result.problems:
        click.echo(f"{result.anchors} anchor(s) in {path} match the trail")
    return result.problems


def _verify_bundle(ctx: click.Context, path: str) -> None:
    """Check an export bundle with no database: every file against the manifest and the audit chain inside."""
    import json
    import zipfile

    from fridge_monitor.core import manifest

    try:
        with zipfile.ZipFile(path) as archive:
            problems = manifest.verify_bundle(archive)
            document = json.loads(archive.read(manifest.MANIFEST)) if not problems else {}
            count = len(archive.namelist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise CliError(f"{path}: not a readable zip file ({exc})") from None
    if problems:
        for problem in problems:
            click.echo(f"fridge-monitor: {path}: {problem}", err=True)
        click.echo(f"bundle {path} does NOT verify: {len(problems)} problem{'s' if len(problems) != 1 else ''}",
                   err=True)
        ctx.exit(1)
    period = document["period"]
    click.echo(f"bundle {path} verifies: {count} files match the manifest, and the audit chain inside is intact")
    click.echo(f"  period {period['from']} to {period['to']}, exported by {document['exported_by']} "
               f"at {document['exported_at']}")
    click.echo(f"  audit head at export: event {document['audit_head']['id']} {document['audit_head']['hash']}")
    click.echo("  compare that head with `fridge-monitor audit verify` on the live database to rule out a rebuilt copy")


# -- tools -----------------------------------------------------------------


@main.command("parse")
@click.option("--format", "fmt", type=click.Choice(SUBSCRIPTION_FORMATS), required=True, help="Payload format.")
@click.option("--topic", required=True, help="The MQTT topic the payload was published on.")
@click.option("--timezone", "tz_name", default="UTC", show_default=True,
              help="Local time zone for devices that send clock time without an offset (Tasmota).")
@click.option("--retained", is_flag=True,
              help="The broker handed the message over from its store on subscribe (it may be old).")
@click.pass_context
def parse_command(ctx: click.Context, fmt: str, topic: str, tz_name: str, retained: bool) -> None:
    """Read one payload on stdin and print the readings it holds, or why not.

    The configured subscriptions give the base topic (zigbee2mqtt's friendly
    names follow it) and [[mqtt.esphome_entities]] what ESPHome entities measure.
    """
    from paho.mqtt.client import topic_matches_sub

    from fridge_monitor.core.parsers import explain, parse

    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CliError(f"--timezone: unknown time zone {tz_name!r}") from None
    config = _load(ctx)
    base = next((filter_base(s.topic) for s in config.subscriptions
                 if s.fmt == fmt and topic_matches_sub(s.topic, topic)), None)
    payload = sys.stdin.buffer.read()
    context = ParseContext(datetime.now(UTC), lambda _sid: tz, shelly_gen1_unit=config.ingest["shelly_gen1_unit"],
                           retained=retained, base_topic=base, declared_entities=config.esphome_entities)
    result = parse(fmt, topic, payload, context)
    for line in explain(result):
        click.echo(line)
    if result.rejections and not result.readings:
        sys.exit(1)


EXPORTS = ["readings", "rejected", "daily", "alerts", "excursions", "stock", "audit", "bundle"]
BY_FRIDGE = ("readings", "daily", "alerts", "excursions", "stock", "bundle")  # the exports --fridge narrows


@main.command("export")
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
    from fridge_monitor.reports import export

    config = _load(ctx)
    if kind == "bundle":
        _export_bundle(config, start, end, fridge, out)
        return
    tz = None
    if tz_name is not None:
        try:
            tz = ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise CliError(f"--tz: unknown time zone {tz_name!r}") from None
    try:
        if kind == "daily":
            first, last = export.parse_days(start, end)
        else:
            lo, hi = export.parse_period(start, end, tz or UTC)
    except export.PeriodError as exc:
        raise CliError(str(exc)) from None
    engine = open_database(config)
    if fridge is not None and kind in BY_FRIDGE:
        _require_fridge(engine, fridge)
    with _output(out) as stream:
        if kind == "daily":
            rows = export.export_daily(engine, stream, first, last, fridge=fridge, tz=tz, config=config)
        elif kind == "rejected":
            rows = export.export_rejected(engine, stream, lo, hi)
        elif kind == "audit":
            rows = export.export_audit(engine, stream, lo, hi, tz=tz)
        else:
            write = {"readings": export.export_readings, "alerts": export.export_alerts,
                     "excursions": export.export_excursions, "stock": export.export_stock}[kind]
            rows = write(engine, stream, lo, hi, fridge=fridge, tz=tz)
    if out is not None:
        click.echo(f"{rows} rows written to {out}", err=True)



# -- reports ---------------------------------------------------------------


@main.group()
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

    from fridge_monitor.reports import monthly

    try:
        year, month = monthly.parse_month(month_text)
    except monthly.ReportError as exc:
        raise CliError(f"--month: {exc}") from None
    config = _load(ctx)
    engine = open_database(config)
    try:
        pdf = monthly.monthly_pdf(engine, fridge, year, month, generated_by=by or getpass.getuser(),
                                  now=datetime.now(UTC), config=config)
    except monthly.ReportError as exc:
        raise CliError(str(exc)) from None
    finally:
        engine.dispose()
    from fridge_monitor.store import files as storage

    tmp = Path(out + ".partial")
    with storage.open_private(tmp) as fh:  # records: mode 0600
        fh.write(pdf)
    tmp.replace(out)  # never leave a half-written report under the real name
    click.echo(f"{fridge} {year:04d}-{month:02d}: {len(pdf)} bytes written to {out}", err=True)

def _export_bundle(config: Config, start: str, end: str, fridge: str | None, out: str | None) -> None:
    import getpass

    from fridge_monitor.reports import bundle, export

    if out is None:
        raise CliError("--out: a bundle is a zip file; name it, e.g. --out fridge-monitor-2026-03.zip")
    try:
        lo, hi = export.parse_period(start, end, UTC)
    except export.PeriodError as exc:
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


@contextmanager
def _output(path: str | None) -> Iterator[TextIO]:
    if path is None:
        yield sys.stdout
        sys.stdout.flush()
        return
    from fridge_monitor.store import files as storage

    tmp = Path(path + ".partial")
    with storage.open_private(tmp, "w", encoding="utf-8", newline="") as fh:  # records: mode 0600
        yield fh
    tmp.replace(path)  # never leave a half-written export under the real name
