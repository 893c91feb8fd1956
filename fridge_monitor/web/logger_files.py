"""Data-logger files on a fridge's page: upload (several at once), the files kept, the devices' own days."""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, render_template, request
from werkzeug.datastructures import FileStorage

from fridge_monitor.core.loggers import FORMAT_NAMES, FORMATS, signature_status
from fridge_monitor.core.loggers.alarms import DISAGREEMENT_C, disagrees, triggered
from fridge_monitor.loggers.importing import MAX_FILE_BYTES, Importer, ImportRefused, Request
from fridge_monitor.store import logger_files
from fridge_monitor.store import models as m
from fridge_monitor.store.overview import Agg, daily_min_max
from fridge_monitor.web.access import EVERYONE, STAFF, accepts_uploads, allow, signed_in
from fridge_monitor.web.context import db, settings
from fridge_monitor.web.scope import names
from fridge_monitor.web.units import temperature

bp = Blueprint("logger_files", __name__)

MAX_FILES = 20  # files in one upload
DEVICE_DAYS_SHOWN = 31


def _fridge(name: str) -> m.Fridge:
    fridge = db().scalar(sa.select(m.Fridge).where(m.Fridge.name == name))
    if fridge is None:
        abort(404, f"there is no fridge named {name!r}")
    return fridge


@bp.route("/fridges/<name>/logger-files", methods=["POST"])
@allow(*STAFF)
@names(name="fridge")
@accepts_uploads(MAX_FILES * MAX_FILE_BYTES)
def upload(name: str) -> Any:
    fridge = _fridge(name)
    chosen: list[FileStorage] = [f for f in request.files.getlist("files") if f.filename]
    fmt = request.form.get("format", "auto")
    zone = request.form.get("tz", "").strip() or None
    results, errors = [], []
    if not chosen:
        errors.append("Choose one or more logger files (.txt from a Fridge-tag or Q-tag, .csv from LogTag Analyzer).")
    elif len(chosen) > MAX_FILES:
        errors.append(f"Choose at most {MAX_FILES} files at once.")
    elif fmt not in ("auto", *FORMATS):
        errors.append(f"Unknown format {fmt!r}.")
    else:
        importer = Importer(current_app.extensions["fridge_monitor"]["engine"], settings())
        for item in chosen:
            request_ = Request(item.filename or "file", item.read(), fmt=fmt, tz=zone,
                               serial=request.form.get("serial", "").strip() or None,
                               time_format=request.form.get("time_format", "").strip() or None)
            try:
                results.append(importer.import_file(fridge.name, request_, signed_in().name))
            except ImportRefused as exc:
                errors.append(str(exc))
    return render_template("logger_import.html", fridge=fridge, results=results, errors=errors,
                           formats=FORMAT_NAMES), 200 if results or not errors else 400


@bp.route("/fridges/<name>/logger-files/<int:file_id>")
@allow(*EVERYONE)
@names(name="fridge")
def download(name: str, file_id: int) -> Any:
    fridge = _fridge(name)
    kept = db().get(m.LoggerFile, file_id)
    if kept is None or kept.fridge_id != fridge.id:
        abort(404, "there is no such logger file for this fridge")
    mimetype = "text/csv" if kept.file_name.lower().endswith(".csv") else "text/plain"
    return current_app.response_class(kept.content, mimetype=mimetype, headers={
        "Content-Disposition": f"attachment; filename=\"{_safe(kept.file_name)}\"",
        "X-Content-SHA256": kept.sha256})


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in name) or "logger-file"


def section(fridge_id: int, tz: tzinfo, last: date, now: datetime, unit: str) -> dict[str, Any]:
    """What the fridge page shows of its loggers: the files kept, and the device days of the month up to ``last``
    (the range shown), each beside the minimum and maximum computed from the readings."""
    conn = db().connection()

    def local(at: datetime | None) -> str:
        return at.astimezone(tz).strftime("%d %b %Y %H:%M") if at else "—"

    files = logger_files.files(conn, fridge_id=fridge_id)
    sensor_ids = sorted({f.sensor_id for f in files})
    first = last - timedelta(days=DEVICE_DAYS_SHOWN - 1)
    found = logger_files.device_days(conn, sensor_ids, first, last)
    by_day = dict(daily_min_max(conn, fridge_id, found[0].day, last, tz, now)) if found else {}
    rows = []
    for day in sorted(found, key=lambda d: (d.day, d.sensor_id), reverse=True):
        agg = by_day.get(day.day, Agg())
        alarms = [f"{s.rule}: {a.minutes} min" + (" (alarm)" if triggered(s, a) else "")
                  for s, a in day.alarms if a.minutes]
        rows.append({
            "day": day.day, "sensor": day.sensor_id, "complete": day.complete,
            "min": temperature(day.min_c, unit), "min_at": local(day.min_at)[-5:] if day.min_at else "",
            "max": temperature(day.max_c, unit), "max_at": local(day.max_at)[-5:] if day.max_at else "",
            "mean": temperature(day.mean_c, unit), "alarms": alarms,
            "computed": (f"{temperature(agg.min_c, unit)} … {temperature(agg.max_c, unit)}"
                         if agg.count else "no readings"),
            "disagrees": day.complete and bool(agg.count) and disagrees((day.min_c, day.max_c),
                                                                        (agg.min_c, agg.max_c)),
        })
    return {
        "files": [{"id": f.id, "name": f.file_name, "model": f.model, "sensor": f.sensor_id,
                   "imported": local(f.imported_at), "by": f.imported_by, "rows": f.data_rows,
                   "new": f.new_readings, "days": f.days, "sha256": f.sha256, "size": f.size,
                   "span": f"{local(f.first_at)} to {local(f.last_at)}" if f.first_at else "—",
                   "signature": signature_status(f.signed), "trailer": f.signature,
                   "notes": f.notes.splitlines()} for f in files],
        "device_days": rows,
        "tolerance": DISAGREEMENT_C,
        "formats": FORMAT_NAMES,
    }
