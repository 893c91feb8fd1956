"""The API's fridges: each with its state now, its sensors, its readings (raw or in buckets) and statistics."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import abort, jsonify

from fridge_monitor.alerts import handling as alerts
from fridge_monitor.core.period import PeriodError, parse_bound
from fridge_monitor.core.status import status, workday_start
from fridge_monitor.core.times import iso_utc
from fridge_monitor.reports.temperature_log import fridge_stats
from fridge_monitor.store import models as m
from fridge_monitor.store.buckets import readings_in_buckets
from fridge_monitor.store.overview import FridgeNow, fridges_now
from fridge_monitor.store.sensors import SensorInfo, sensors
from fridge_monitor.store.series import profiles_of, raw_readings
from fridge_monitor.web import scope
from fridge_monitor.web.access import EVERYONE, allow
from fridge_monitor.web.api import bp, iso
from fridge_monitor.web.api.contract import operation
from fridge_monitor.web.api.schemas.common import FridgePath
from fridge_monitor.web.api.schemas.fridges import (
    Fridge,
    FridgeList,
    Period,
    Readings,
    ReadingsQuery,
    Sensor,
    SensorList,
    Stats,
)
from fridge_monitor.web.context import db, now_utc, settings
from fridge_monitor.web.scope import names

MAX_RAW = 100_000
MAX_SPAN = timedelta(days=3 * 366 + 1)


def sensor_json(s: SensorInfo) -> Sensor:
    return {
        "id": s.id, "format": s.format, "device": s.device, "fridge": s.fridge, "role": s.role,
        "temperature_c": s.temperature_c, "last_measured_at": iso(s.last_measured_at),
        "last_seen_at": iso(s.last_seen_at), "battery_pct": s.battery_pct, "online": s.online,
        "calibration_certificate": s.calibration_certificate,
        "calibration_due": s.calibration_due.isoformat() if s.calibration_due else None,
    }


def fridge_json(f: FridgeNow, now: datetime, active: list[m.Alert] | None = None) -> Fridge:
    latest = f.latest
    active = active or []
    waiting = sum(1 for a in active if a.acknowledged_at is None)
    flagged = sum(1 for a in active if alerts.flags_fridge(a))
    return {
        "name": f.name, "site": f.site, "timezone": f.timezone, "kind": f.kind,
        "range": {"low_c": latest.low_c, "high_c": latest.high_c},
        "status": status(latest, now, f.max_gap, f.low_battery_pct, alerts_waiting=flagged).value,
        "alerts": {"waiting": waiting, "ongoing": sum(1 for a in active if a.ended_at is None),
                   "ids": [a.id for a in active]},
        "temperature_c": latest.temperature_c,
        "last_reading_at": iso(latest.measured_at),
        "today": {"since": iso_utc(workday_start(now, f.tz)), "min_c": latest.min_c, "max_c": latest.max_c},
        "sensors": [sensor_json(s) for s in f.sensors],
    }


@bp.route("/fridges")
@allow(*EVERYONE)
@operation("listFridges", "Every fridge in service with its state now",
           answers={200: (FridgeList, "Fridges by site, then name.")})
def fridges() -> Any:
    now = now_utc()
    found = fridges_now(db().connection(), now, profile_of=profiles_of(db(), settings()), history=timedelta(0),
                        sites=scope.sites())
    active = alerts.open_by_fridge(db(), [f.id for f in found])
    answer: FridgeList = {"fridges": [fridge_json(f, now, active.get(f.id)) for f in found],
                          "generated_at": iso_utc(now)}
    return jsonify(answer)


def _one(name: str, now: datetime) -> FridgeNow:
    found = fridges_now(db().connection(), now, profile_of=profiles_of(db(), settings()), name=name,
                        history=timedelta(0))
    if not found:
        abort(404, f"there is no fridge named {name!r}")
    return found[0]


@bp.route("/fridges/<name>")
@allow(*EVERYONE)
@names(name="fridge")
@operation("getFridge", "One fridge with its state now (retired ones too)", path=FridgePath,
           answers={200: (Fridge, "The fridge.")})
def fridge(name: str) -> Any:
    now = now_utc()
    found = _one(name, now)
    return jsonify(fridge_json(found, now, alerts.open_by_fridge(db(), [found.id]).get(found.id)))


@bp.route("/sensors")
@allow(*EVERYONE)
@operation("listSensors", "Every known sensor, assigned or not", answers={200: (SensorList, "Sensors by id.")})
def sensor_list() -> Any:
    found = sensors(db().connection())
    if scope.limited():  # the sensors in the user's sites' fridges; unassigned ones belong to no site
        mine = set(scope.fridge_names())
        found = [s for s in found if s.fridge in mine]
    answer: SensorList = {"sensors": [sensor_json(s) for s in found]}
    return jsonify(answer)


def _bound(param: str, text: str | None, tz: ZoneInfo, *, end: bool) -> datetime | None:
    if text is None or not text.strip():
        return None
    try:
        return parse_bound(text.strip().replace(" ", "+") if "T" in text else text.strip(), tz, end=end)
    except (PeriodError, OverflowError) as exc:
        abort(400, f"parameter '{param}': {exc if isinstance(exc, PeriodError) else 'out of range'}")


def _fridge_period(name: str, period: Period, now: datetime) -> tuple[sa.Row[int, str], datetime, datetime]:
    """(the fridge's id and time zone, start, end) from ``?from=&to=``, read in the site's zone; last 24 h by
    default."""
    fridge_row = db().execute(sa.select(m.Fridge.id, m.Site.timezone).join(m.Site).where(m.Fridge.name == name)).first()
    if fridge_row is None:  # (another site's fridge never gets here: scope.check_url answered 404)
        abort(404, f"there is no fridge named {name!r}")
    tz = ZoneInfo(fridge_row.timezone)
    end = _bound("to", period.end, tz, end=True) or now
    start = _bound("from", period.start, tz, end=False) or end - timedelta(days=1)
    if end <= start:
        abort(400, "parameter 'to': the period is empty (to is not after from)")
    if end - start > MAX_SPAN:
        abort(400, "parameter 'from': the period may span at most three years")
    return fridge_row, start, end


@bp.route("/fridges/<name>/readings")
@allow(*EVERYONE)
@names(name="fridge")
@operation("fridgeReadings", "The fridge's readings in a period, raw or in buckets", path=FridgePath,
           query=ReadingsQuery, description=(
               "Readings belong to the fridge their sensor was in at the time. Without `every`, raw readings (at "
               "most 100000; otherwise 400). With `every`, per-sensor buckets of that many seconds aligned to the "
               "Unix epoch, each with min, max, mean and count (at most 100000 buckets)."),
           answers={200: (Readings, "Raw readings or buckets."),
                    400: "A parameter does not fit (the message names it): a bound that is not a date or a "
                         "date-time, `to` not after `from`, a period over three years, or too many readings or "
                         "buckets."})
def readings(name: str, query: ReadingsQuery) -> Any:
    now = now_utc()
    fridge_row, start, end = _fridge_period(name, query, now)
    body: Readings = {"fridge": name, "from": iso_utc(start), "to": iso_utc(end), "every": query.every}
    conn = db().connection()
    every = query.every
    if every is None:
        rows = raw_readings(conn, fridge_row.id, start, end, MAX_RAW + 1)
        if len(rows) > MAX_RAW:
            abort(400, f"parameter 'every': more than {MAX_RAW} readings in this period; "
                       "ask for a shorter period or for buckets with every=<seconds>")
        body["readings"] = [{"at": iso_utc(at), "sensor": sid, "temperature_c": temp} for at, sid, temp in rows]
        return jsonify(body)
    if (end - start).total_seconds() / every > MAX_RAW:
        abort(400, f"parameter 'every': {every} s buckets would make more than {MAX_RAW} buckets; choose a larger one")
    body["buckets"] = [
        {"start": iso_utc(at), "sensor": sid, "min_c": low, "max_c": high, "mean_c": round(mean, 4), "count": count}
        for at, sid, low, high, mean, count in readings_in_buckets(conn, fridge_row.id, start, end, every)
    ]
    return jsonify(body)


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


@bp.route("/fridges/<name>/stats")
@allow(*EVERYONE)
@names(name="fridge")
@operation("fridgeStats", "Statistics of the fridge's temperature over a period", path=FridgePath, query=Period,
           description=(
               "From the readings the rules judge (the primary sensor; a backup stands in while it is silent), each "
               "holding until the next one for at most the allowed gap: minimum, maximum, time-weighted mean, mean "
               "kinetic temperature (USP, ΔH/R = 10 000 K), the time outside the fridge's range, and coverage, the "
               "share of the period with a known temperature. A period still going on counts up to now. Figures "
               "are null when no temperature is known."),
           answers={200: (Stats, "The period's statistics."),
                    400: "A parameter does not fit (the message names it): a bound that is not a date or a "
                         "date-time, `to` not after `from`, or a period over three years."})
def statistics(name: str, query: Period) -> Any:
    now = now_utc()
    fridge_row, start, end = _fridge_period(name, query, now)
    found = fridge_stats(db(), fridge_row.id, start, end, config=settings(), now=now)
    if found is None:  # removed since the line above: fridges are retired, not deleted, so hardly ever
        abort(404, f"there is no fridge named {name!r}")
    answer: Stats = {
        "fridge": name, "timezone": fridge_row.timezone, "from": iso_utc(start), "to": iso_utc(end),
        "min_c": found.min_c, "max_c": found.max_c, "mean_c": _rounded(found.mean_c, 3),
        "mkt_c": _rounded(found.mkt_c, 3), "time_out_of_range_s": round(found.time_out_of_range_s, 3),
        "coverage": round(found.coverage, 4), "readings": found.readings,
    }
    return jsonify(answer)
