"""The auditor's export page: CSV files streamed as they are written, bundles made in the background.

Every export is an audit event: a CSV download when it starts, a bundle when
it is made (:func:`fridge_monitor.reports.bundle.build` records it), and each download
of a finished bundle. So every route that writes one answers only POST with
the form's CSRF token: a link, an image or a prefetch on another site (a GET)
must never put an export in someone's name into the audit trail. A GET on
them is 405 with ``Allow: POST``.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    stream_with_context,
    url_for,
)

from fridge_monitor.config import Config
from fridge_monitor.core.period import PeriodError, parse_period
from fridge_monitor.core.times import iso_utc, today_at
from fridge_monitor.reports import bundle, channel_export, export, export_jobs
from fridge_monitor.store import audit_trail, calibrations, site_overview
from fridge_monitor.store import models as m
from fridge_monitor.web import scope
from fridge_monitor.web.access import allow, nav, signed_in
from fridge_monitor.web.context import db, now_utc, settings
from fridge_monitor.web.scope import BUNDLE_WHOLE, every_site, names

bp = Blueprint("exports", __name__, url_prefix="/exports")
nav("exports.index", "Exports", 70)

READERS = ("auditor", "admin")
CSV_KINDS = {
    "readings": "Readings (every stored reading, with the fridge it belonged to)",
    "channels": "Door contacts, smart plugs and humidity (every value, with its fridge and unit)",
    "daily": "Daily log (min, max, first reading of the workday, time out of range, who acknowledged)",
    "excursions": "Excursions (duration, peak, lowest, MKT)",
    "alerts": "Alerts (who acknowledged and the action taken)",
    "stock": "Stock ledger (every movement, who and why)",
    "rejected": "Rejected messages (payloads that could not be understood)",
}
BY_FRIDGE = {"readings", "channels", "daily", "excursions", "alerts", "stock"}
CHUNK = 64 * 1024


def runner() -> export_jobs.Runner:
    """The web process's bundle maker, made on first use."""
    extension = current_app.extensions["fridge_monitor"]
    if "export_runner" not in extension:
        extension["export_runner"] = export_jobs.Runner(extension["engine"], extension["config"])
    made: export_jobs.Runner = extension["export_runner"]
    return made


def _writers(config: Config) -> dict[str, Callable[..., int]]:
    """The exporters by kind; they run in a thread of their own, outside the request's context."""

    def daily(engine: Any, out: TextIO, start: datetime, end: datetime, *, fridge: str | None) -> int:
        first, last = start.date(), (end - timedelta(microseconds=1)).date()
        return export.export_daily(engine, out, first, last, fridge=fridge, config=config)

    def readings(engine: Any, out: TextIO, start: datetime, end: datetime, *, fridge: str | None) -> int:
        return export.export_readings(engine, out, start, end, fridge=fridge, limits=calibrations.limits(config))

    return {"readings": readings, "channels": channel_export.export_channels, "excursions": export.export_excursions,
            "alerts": export.export_alerts, "stock": export.export_stock, "daily": daily}


def _period(args: Any) -> tuple[datetime, datetime, str | None]:
    """The chosen period in UTC (dates read in UTC), or an error message."""
    start, end = (args.get("from") or "").strip(), (args.get("to") or "").strip()
    if not start or not end:
        return datetime.min, datetime.min, "Choose the first and last day of the period."
    try:
        lo, hi = parse_period(start, end, UTC)
    except PeriodError as exc:
        return datetime.min, datetime.min, str(exc)[0].upper() + str(exc)[1:] + "."
    return lo, hi, None


def _fridge_names() -> list[str]:
    return scope.fridge_names()


def _kinds() -> dict[str, str]:
    """What may be exported: someone limited to sites exports their fridges' records (rejected messages belong
    to no fridge, so to no site)."""
    return {kind: text for kind, text in CSV_KINDS.items() if kind in BY_FRIDGE or not scope.limited()}


def _page(errors: dict[str, str] | None = None, status: int = 200) -> Any:
    now = now_utc()
    # By default the last month that has ended at the sites (a site east of UTC begins its month first).
    today = today_at(now, *(site.timezone for site in site_overview.sites(db().connection(), scope.sites())))
    first = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    values = {"from": request.values.get("from", first.isoformat()),
              "to": request.values.get("to", (today.replace(day=1) - timedelta(days=1)).isoformat()),
              "kind": request.values.get("kind", "readings"), "fridge": request.values.get("fridge", ""),
              "fridges": request.values.getlist("fridges")}
    return render_template("exports.html", kinds=_kinds(), fridges=_fridge_names(), values=values,
                           errors=errors or {}, jobs=_jobs(now), busy=_busy(now),
                           bundles=not scope.limited(), bundle_refusal=BUNDLE_WHOLE), status


def _jobs(now: datetime) -> list[dict[str, Any]]:
    if scope.limited():
        return []  # bundles carry every site's audit trail (scope.BUNDLE_WHOLE)
    out = []
    for job in export_jobs.jobs_for(db()):
        seen = export_jobs.view(job, now)
        out.append({"id": job.id, "by": job.requested_by, "at": job.requested_at.strftime("%Y-%m-%d %H:%M UTC"),
                    "period": f"{job.period_from:%Y-%m-%d} to {job.period_to - timedelta(microseconds=1):%Y-%m-%d}",
                    "fridges": ", ".join(json.loads(job.fridges)) if job.fridges else "every fridge",
                    "state": seen.state, "error": seen.error, "progress": round(job.progress * 100),
                    "step": job.step, "size": _size(job.bytes), "sha256": job.sha256,
                    "url": url_for("exports.download", job_id=job.id) if seen.state == "done" else None})
    return out


def _busy(now: datetime) -> bool:
    return any(job["state"] in ("queued", "running") for job in _jobs(now))


def _size(size: int | None) -> str:
    if size is None:
        return ""
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return ""


@bp.route("/")
@allow(*READERS)
def index() -> Any:
    return _page()


@bp.route("/jobs")
@allow(*READERS)
def jobs_part() -> Any:
    """The list of bundles alone, refreshed in place while one is being made."""
    now = datetime.now(UTC)
    return render_template("_export_jobs.html", jobs=_jobs(now), busy=_busy(now))


@bp.route("/csv", methods=["POST"])
@allow(*READERS)
def csv_file() -> Any:
    """One CSV file, streamed while it is written (no row limit, the browser never waits for the whole)."""
    kind = request.form.get("kind", "")
    errors: dict[str, str] = {}
    if kind not in _kinds():
        errors["kind"] = "Choose what to export."
    start, end, problem = _period(request.form)
    if problem:
        errors["period"] = problem
    fridge = (request.form.get("fridge") or "").strip() or None
    if fridge is not None and fridge not in _fridge_names():
        errors["fridge"] = f"There is no fridge named {fridge!r}."
    if errors:
        return _page(errors, 400)
    actor = signed_in().name
    session = db()
    audit_trail.record(session, at=datetime.now(UTC), actor=actor, action="export", record_type=kind,
                       record_id=f"{iso_utc(start)}..{iso_utc(end)}", field="csv",
                       new=fridge or ("every fridge of the user's sites" if scope.limited() else "every fridge"),
                       reason="CSV download from the export page")
    session.commit()
    engine = current_app.extensions["fridge_monitor"]["engine"]
    if kind == "rejected":
        def write(out: TextIO) -> int:
            return export.export_rejected(engine, out, start, end)
    else:
        writer = _writers(settings())[kind]
        # Someone limited to sites who chose no fridge gets each of theirs in turn, the header once.
        each: list[str | None] = [fridge] if fridge is not None or not scope.limited() else list(_fridge_names())

        def write(out: TextIO) -> int:
            return sum(writer(engine, out if number == 0 else bundle.SkipFirstLine(out), start, end, fridge=name)
                       for number, name in enumerate(each))
    last = end - timedelta(microseconds=1)
    name = f"fridge-monitor-{kind}-{start:%Y%m%d}-{last:%Y%m%d}{'-' + _safe(fridge) if fridge else ''}.csv"
    return Response(stream_with_context(_streamed(write)), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)


class _Pipe:
    """A text stream whose writes are handed to the response in chunks, with back-pressure."""

    def __init__(self, chunks: queue.Queue[bytes | BaseException | None]) -> None:
        self.chunks = chunks
        self.buffer: list[str] = []
        self.size = 0

    def write(self, text: str) -> int:
        self.buffer.append(text)
        self.size += len(text)
        if self.size >= CHUNK:
            self.flush()
        return len(text)

    def flush(self) -> None:
        if self.buffer:
            self.chunks.put("".join(self.buffer).encode("utf-8"))
            self.buffer, self.size = [], 0


def _streamed(write: Callable[[TextIO], int]) -> Iterator[bytes]:
    """Run the exporter in a thread and yield what it writes as it comes."""
    chunks: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=16)

    def produce() -> None:
        pipe = _Pipe(chunks)
        try:
            write(pipe)  # type: ignore[arg-type]
            pipe.flush()
            chunks.put(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the response, which ends the download short
            chunks.put(exc)

    threading.Thread(target=produce, name="csv-export", daemon=True).start()
    while True:
        chunk = chunks.get()
        if chunk is None:
            return
        if isinstance(chunk, BaseException):
            current_app.logger.error("CSV export failed: %s", chunk)
            return  # the file ends short; the browser shows the download as failed
        yield chunk


@bp.route("/bundle", methods=["POST"])
@allow(*READERS)
@every_site(BUNDLE_WHOLE)
def make_bundle() -> Any:
    errors: dict[str, str] = {}
    start, end, problem = _period(request.form)
    if problem:
        errors["period"] = problem
    chosen = [name for name in request.form.getlist("fridges") if name]
    if not chosen and scope.limited():
        chosen = _fridge_names()  # "every fridge" of someone limited to sites: every fridge of theirs
    unknown = [name for name in chosen if name not in _fridge_names()]
    if unknown:
        errors["fridges"] = f"There is no fridge named {unknown[0]!r}."
    if errors:
        return _page(errors, 400)
    session = db()
    job = export_jobs.queue(session, bundle.Request(start, end, tuple(chosen) if chosen else None),
                            actor=signed_in().name, now=datetime.now(UTC))
    session.commit()
    runner().submit(job.id)
    flash(f"Export bundle {job.id} is being made; it appears below with a download link when ready.")
    return redirect(url_for("exports.index") + f"#job-{job.id}")


@bp.route("/jobs/<int:job_id>/download", methods=["POST"])
@allow(*READERS)
@every_site(BUNDLE_WHOLE)
@names(job_id="export")
def download(job_id: int) -> Any:
    """The finished bundle's zip; each download is an audit event."""
    job = db().get(m.ExportJob, job_id)
    if job is None or job.state != "done" or not job.file_name:
        abort(404, f"there is no finished export bundle {job_id}")
    path = export_jobs.exports_dir(settings()) / job.file_name
    if not path.is_file():
        abort(410, f"the file of export bundle {job_id} is no longer in the exports folder; make it again")
    session = db()
    audit_trail.record(session, at=datetime.now(UTC), actor=signed_in().name, action="download",
                       record_type="export_bundle", record_id=job.id, field="sha256", new=job.sha256,
                       reason=f"bundle of {job.period_from:%Y-%m-%d}..{job.period_to:%Y-%m-%d}")
    session.commit()
    return send_file(path, mimetype="application/zip", as_attachment=True, download_name=job.file_name)
