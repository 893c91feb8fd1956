"""CSV exports, streamed row by row in constant memory with no row cap."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, TextIO, TypeVarTuple
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.config import Config
from fridge_monitor.core import csv_cells
from fridge_monitor.core.calibration import Limits
from fridge_monitor.core.times import iso_utc
from fridge_monitor.reports.calibration_export import DeviceCalibration
from fridge_monitor.store import models as m

READINGS_HEADER = ["measured_at_utc", "fridge", "sensor", "temperature_c", "received_at_utc", "calibrated_device"]
REJECTED_HEADER = ["received_at_utc", "topic", "reason", "payload"]
ALERTS_HEADER = ["id", "fridge", "kind", "rule", "severity", "started_at_utc", "ended_at_utc", "state", "peak_c",
                 "low_c", "acknowledged_by", "acknowledged_at_utc", "action", "subject", "title"]
ALERTS_LOCAL = ["started_at_local", "ended_at_local", "acknowledged_at_local"]
EXCURSIONS_HEADER = ["id", "fridge", "rule", "started_at_utc", "ended_at_utc", "duration_s", "peak_c", "low_c",
                     "mkt_c", "severity", "alarm_at_utc", "time_beyond_s", "unknown_s"]
EXCURSIONS_LOCAL = ["started_at_local", "ended_at_local", "alarm_at_local"]
STOCK_HEADER = ["id", "at_utc", "fridge", "product", "lot", "expiry", "movement", "quantity", "user", "reason",
                "reason_code", "counted", "opened_vial", "from_fridge", "to_fridge", "corrects"]
STOCK_LOCAL = ["at_local"]
STREAM_ROWS = 5000
Columns = TypeVarTuple("Columns")


def readings_query(start: datetime, end: datetime,
                   fridge: str | None = None) -> sa.Select[datetime, str, str, float, datetime]:
    """Readings in [start, end), each with the fridge its sensor was in at that time."""
    r, a, f = m.Reading, m.SensorAssignment, m.Fridge
    in_assignment = sa.and_(
        a.sensor_id == r.sensor_id,
        sa.or_(a.since.is_(None), a.since <= r.measured_at),
        sa.or_(a.until.is_(None), r.measured_at < a.until),
    )
    query = (
        sa.select(r.measured_at, f.name, r.sensor_id, r.temperature_c, r.received_at)
        .select_from(r)
        .outerjoin(a, in_assignment)
        .outerjoin(f, f.id == a.fridge_id)
        .where(r.measured_at >= start, r.measured_at < end)
        .order_by(r.measured_at, r.sensor_id)
    )
    if fridge is not None:
        query = query.where(f.name == fridge)
    return query


def stream_rows(engine: sa.Engine, query: sa.Select[*Columns]) -> Iterator[sa.Row[*Columns]]:
    """The query's rows, fetched a partition at a time (constant memory however many there are)."""
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=STREAM_ROWS).execute(query)
        for partition in result.partitions():
            yield from partition


def export_readings(
    engine: sa.Engine,
    out: TextIO,
    start: datetime,
    end: datetime,
    *,
    fridge: str | None = None,
    tz: tzinfo | None = None,
    limits: Limits | None = None,
) -> int:
    """Write the readings CSV; return the number of rows. ``calibrated_device`` says whether the sensor had a
    passing certificate of calibration in force that day (``limits``: ``[calibration]``)."""
    # The columns are datetimes, or on SQLite the text of them (below).
    query: sa.Select[*tuple[Any, ...]] = readings_query(start, end, fridge)
    sqlite = engine.dialect.name == "sqlite"
    if sqlite:
        # SQLite keeps UTC as text ("2026-11-20 00:00:00.654000"): let it write iso_utc's form itself rather
        # than parse every value into a datetime only to print it again (most of a large export's time).
        query = query.with_only_columns(
            *(_sqlite_iso_utc(c) if isinstance(c.type, m.UTCDateTime) else c for c in query.selected_columns),
            maintain_column_froms=True,
        )

    header = READINGS_HEADER + (["measured_at_local"] if tz else [])
    csv_cells.writer(out).writerow(header)
    # Rows are joined by hand: csv.writer's per-field checks were a third of the time. Only names can
    # need quoting, and there are few of them, so each is quoted once, by csv itself, and remembered.
    quoted: dict[str, str] = {}

    def field(name: str | None) -> str:
        text = name or ""
        found = quoted.get(text)
        if found is None:
            found = quoted[text] = _csv_field(text)
        return found

    count = 0
    lines: list[str] = []
    calibrated = DeviceCalibration(engine, limits or Limits())
    for measured, fridge_name, sensor, temp, received in stream_rows(engine, query):
        if not sqlite:
            measured_text, received_text = iso_utc(measured), iso_utc(received)
        else:
            measured_text, received_text = measured, received
        flag = calibrated.flag(sensor, fridge_name, measured_text)
        if tz is None:
            lines.append(f"{measured_text},{field(fridge_name)},{field(sensor)},{temp!r},{received_text},{flag}\n")
        else:
            moment = datetime.fromisoformat(measured) if sqlite else measured
            lines.append(f"{measured_text},{field(fridge_name)},{field(sensor)},{temp!r},{received_text},{flag},"
                         f"{moment.astimezone(tz).isoformat()}\n")
        count += 1
        if len(lines) >= STREAM_ROWS:
            out.write("".join(lines))
            lines.clear()
    out.write("".join(lines))
    return count


def _csv_field(text: str) -> str:
    """One field exactly as the export's csv writer writes it (quoted only when it must be, never a formula)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow([csv_cells.guard(text)])
    written = buffer.getvalue()
    return "" if written == '""' else written  # a lone empty field is quoted only to keep its row


def _sqlite_iso_utc(column: sa.ColumnElement[Any]) -> sa.ColumnElement[str]:
    """SQL that turns SQLite's stored UTC text into what :func:`iso_utc` writes for the same time."""
    text = sa.type_coerce(column, sa.String())
    whole = sa.func.substr(text, 1, 10) + "T" + sa.func.substr(text, 12, 8)
    fraction = sa.func.substr(text, 20)
    return sa.case((fraction.in_(["", ".000000"]), whole + "Z"), else_=whole + fraction + "Z").label(column.name)


def export_rejected(engine: sa.Engine, out: TextIO, start: datetime, end: datetime) -> int:
    """Write the rejected-messages CSV (payload as text, undecodable bytes escaped)."""
    rm = m.RejectedMessage
    query = (
        sa.select(rm.received_at, rm.topic, rm.reason, rm.payload, rm.payload_size)
        .where(rm.received_at >= start, rm.received_at < end)
        .order_by(rm.received_at, rm.id)
    )
    return csv_cells.write_all(out, REJECTED_HEADER, (_rejected_row(*row) for row in stream_rows(engine, query)))


def _rejected_row(received: datetime, topic: str, reason: str, payload: bytes, size: int) -> list[Any]:
    text = bytes(payload).decode("utf-8", "backslashreplace")
    if size > len(payload):
        text += f"… [{size - len(payload)} more bytes not kept]"
    return [iso_utc(received), topic, reason, text]


# -- alerts and excursions ---------------------------------------------------------


def _number(value: float | None) -> str:
    return "" if value is None else repr(value)


def _seconds(value: float | None) -> str:
    """Whole seconds without a fraction (``4800``), else to the millisecond (``12.5``)."""
    if value is None:
        return ""
    value = round(value, 3)
    return str(int(value)) if value == int(value) else repr(value)


def _overlapping(model: type[m.Alert] | type[m.Excursion], columns: list[str], start: datetime, end: datetime,
                 fridge: str | None) -> sa.Select[*tuple[Any, ...]]:
    """Records that overlap [start, end): started before its end and not ended before its start."""
    f = m.Fridge
    query = (
        sa.select(*(getattr(model, c) for c in columns), f.name.label("fridge")).join(f, f.id == model.fridge_id)
        .where(model.started_at < end, sa.or_(model.ended_at.is_(None), model.ended_at >= start))
        .order_by(model.started_at, model.id)
    )
    if fridge is not None:
        query = query.where(f.name == fridge)
    return query


ALERT_COLUMNS = ["id", "kind", "rule", "severity", "started_at", "ended_at", "state", "peak_c", "low_c",
                 "acknowledged_by", "acknowledged_at", "action", "subject", "title"]
EXCURSION_COLUMNS = ["id", "rule", "started_at", "ended_at", "peak_c", "low_c", "mkt_c", "severity", "alarm_at",
                     "time_beyond_s", "unknown_s"]


def export_alerts(engine: sa.Engine, out: TextIO, start: datetime, end: datetime, *, fridge: str | None = None,
                  tz: tzinfo | None = None) -> int:
    """Write the alerts CSV: each alert overlapping the period, with who acknowledged it and what they did."""
    alerts = stream_rows(engine, _overlapping(m.Alert, ALERT_COLUMNS, start, end, fridge))
    return csv_cells.write_all(out, ALERTS_HEADER + (ALERTS_LOCAL if tz else []), (_alert_row(a, tz) for a in alerts))


def _alert_row(a: sa.Row[*tuple[Any, ...]], tz: tzinfo | None) -> list[Any]:
    row = [a.id, a.fridge, a.kind, a.rule, a.severity, iso_utc(a.started_at), csv_cells.utc_or_empty(a.ended_at),
           a.state, _number(a.peak_c), _number(a.low_c), a.acknowledged_by or "",
           csv_cells.utc_or_empty(a.acknowledged_at), a.action or "", a.subject, a.title]
    if tz is not None:
        row += [csv_cells.local_or_empty(x, tz) for x in (a.started_at, a.ended_at, a.acknowledged_at)]
    return row


def export_excursions(engine: sa.Engine, out: TextIO, start: datetime, end: datetime, *, fridge: str | None = None,
                      tz: tzinfo | None = None) -> int:
    """Write the excursions CSV; an ongoing excursion has an empty end and duration."""
    found = stream_rows(engine, _overlapping(m.Excursion, EXCURSION_COLUMNS, start, end, fridge))
    return csv_cells.write_all(out, EXCURSIONS_HEADER + (EXCURSIONS_LOCAL if tz else []),
                               (_excursion_row(e, tz) for e in found))


def _excursion_row(e: sa.Row[*tuple[Any, ...]], tz: tzinfo | None) -> list[Any]:
    duration = (e.ended_at - e.started_at).total_seconds() if e.ended_at is not None else None
    mkt = "" if e.mkt_c is None else f"{e.mkt_c:.2f}"
    row = [e.id, e.fridge, e.rule, iso_utc(e.started_at), csv_cells.utc_or_empty(e.ended_at), _seconds(duration),
           _number(e.peak_c), _number(e.low_c), mkt, e.severity, csv_cells.utc_or_empty(e.alarm_at),
           _seconds(e.time_beyond_s), _seconds(e.unknown_s)]
    if tz is not None:
        row += [csv_cells.local_or_empty(x, tz) for x in (e.started_at, e.ended_at, e.alarm_at)]
    return row


# -- the stock ledger --------------------------------------------------------------


def _transfer_side(movement_id: so.InstrumentedAttribute[int], leaving: bool) -> sa.ScalarSelect[str]:
    """The fridge a transfer's units left (``leaving``) or entered."""
    e, f = so.aliased(m.StockEntry), so.aliased(m.Fridge)
    side = e.delta < 0 if leaving else e.delta > 0
    return sa.select(f.name).join(e, e.fridge_id == f.id).where(e.movement_id == movement_id, side) \
        .order_by(e.id).limit(1).scalar_subquery()


def stock_query(start: datetime, end: datetime, fridge: str | None = None) -> sa.Select[*tuple[Any, ...]]:
    """The ledger's signed entries of movements made in [start, end), oldest first."""
    e, mv, lot, p, f = m.StockEntry, m.StockMovement, m.Lot, m.Product, m.Fridge
    query = (
        sa.select(mv.id, mv.at, f.name.label("fridge"), p.name.label("product"), lot.lot_number, lot.expiry,
                  mv.kind, e.delta, mv.actor, mv.reason, mv.reason_code, mv.counted, e.opened_vial_id,
                  mv.corrects_id, _transfer_side(mv.id, True).label("from_fridge"),
                  _transfer_side(mv.id, False).label("to_fridge"))
        .select_from(e).join(mv, mv.id == e.movement_id).join(lot, lot.id == e.lot_id)
        .join(p, p.id == lot.product_id).join(f, f.id == e.fridge_id)
        .where(mv.at >= start, mv.at < end)
        .order_by(mv.at, mv.id, e.id)
    )
    if fridge is not None:
        query = query.where(f.name == fridge)
    return query


def export_stock(engine: sa.Engine, out: TextIO, start: datetime, end: datetime, *, fridge: str | None = None,
                 tz: tzinfo | None = None) -> int:
    """Write the stock ledger CSV: one row per signed entry, so each fridge's rows add up to its change.

    A transfer is two rows with the same id (minus in the fridge it left, plus in
    the one it entered), both naming ``from_fridge`` and ``to_fridge``; a
    reconstitution is minus sealed units and plus the same in its opened vial
    group. ``quantity`` is signed; ``counted`` is what a correction counted.
    """
    entries = stream_rows(engine, stock_query(start, end, fridge))
    return csv_cells.write_all(out, STOCK_HEADER + (STOCK_LOCAL if tz else []), (_stock_row(r, tz) for r in entries))


def _stock_row(r: sa.Row[*tuple[Any, ...]], tz: tzinfo | None) -> list[Any]:
    transfer = r.kind == "transfer"
    row = [r.id, iso_utc(r.at), r.fridge, r.product, r.lot_number, r.expiry.isoformat(), r.kind, r.delta,
           r.actor, r.reason or "", r.reason_code or "", "" if r.counted is None else r.counted,
           r.opened_vial_id or "", r.from_fridge if transfer else "", r.to_fridge if transfer else "",
           r.corrects_id or ""]
    if tz is not None:
        row.append(r.at.astimezone(tz).isoformat())
    return row


# -- the daily log -------------------------------------------------------------------

DAILY_HEADER = ["fridge", "day", "timezone", "day_length_h", "min_c", "max_c", "mean_c", "mkt_c",
                "first_reading_at_utc", "first_reading_c", "time_out_of_range_s", "coverage", "readings",
                "excursions", "excursion_rules", "acknowledged_by"]
DAILY_LOCAL = ["first_reading_at_local"]
DAILY_CHUNK_DAYS = 31  # days read from the database at a time, so a long period stays in constant memory


def _zone_name(zone: tzinfo) -> str:
    return zone.key if isinstance(zone, ZoneInfo) else str(zone)


def _fixed(value: float | None) -> str:
    """A derived temperature to the hundredth (mean, MKT): sensors are good to ±0.5 °C."""
    return "" if value is None else f"{value:.2f}"


def export_daily(
    engine: sa.Engine,
    out: TextIO,
    first: date,
    last: date,
    *,
    fridge: str | None = None,
    tz: tzinfo | None = None,
    config: Config | None = None,
    now: datetime | None = None,
) -> int:
    """Write the daily log CSV: one row per fridge and local day (the site's, or ``tz``'s), by site and fridge.

    Empty figures mean no reading held during the day; days the fridge was not
    in service or that have not begun are left out.
    """
    from fridge_monitor.reports.temperature_log import (
        daily_log,  # it reads the rules' series builder; keep export light
    )

    now = now or datetime.now(UTC)
    f, site = m.Fridge, m.Site
    query = sa.select(f.id, f.name, site.timezone).join(site, f.site_id == site.id).order_by(site.name, f.name)
    if fridge is not None:
        query = query.where(f.name == fridge)
    with engine.connect() as conn:
        fridges = conn.execute(query).all()
    writer = csv_cells.writer(out)
    writer.writerow(DAILY_HEADER + (DAILY_LOCAL if tz else []))
    count = 0
    for fridge_id, name, zone_name in fridges:
        zone = tz or ZoneInfo(zone_name)
        chunk = first
        while chunk <= last:
            chunk_last = min(last, chunk + timedelta(days=DAILY_CHUNK_DAYS - 1))
            with engine.connect() as conn:
                days = daily_log(conn, fridge_id, chunk, chunk_last, config=config, now=now, tz=zone)
            for d in days:
                s, reading = d.stats, d.first_reading
                first_at, first_c = reading if reading else (None, None)
                row = [name, d.day.isoformat(), _zone_name(zone), _seconds(d.length.total_seconds() / 3600),
                       _number(s.min_c), _number(s.max_c), _fixed(s.mean_c), _fixed(s.mkt_c),
                       csv_cells.utc_or_empty(first_at), _number(first_c),
                       _seconds(s.time_out_of_range_s), f"{s.coverage:.4f}".rstrip("0").rstrip("."), s.readings,
                       len(d.excursion_rules), "; ".join(d.excursion_rules), "; ".join(d.acknowledged_by)]
                if tz is not None:
                    row.append(csv_cells.local_or_empty(first_at, zone))
                writer.writerow(row)
                count += 1
            chunk = chunk_last + timedelta(days=1)
    return count


# -- audit trail -------------------------------------------------------------------------------


def export_audit(engine: sa.Engine, out: TextIO, start: datetime, end: datetime, *, tz: tzinfo | None = None) -> int:
    """Write the audit events of the period with their hashes (a bundle holds the whole chain, to verify it)."""
    from fridge_monitor.core import manifest
    from fridge_monitor.core.audit import Entry, Stored

    a = m.AuditEvent
    query = (sa.select(a.id, a.at, a.actor, a.action, a.record_type, a.record_id, a.field, a.old_value,
                       a.new_value, a.reason, a.prev_hash, a.hash)
             .where(a.at >= start, a.at < end).order_by(a.id))

    def audit_row(row: sa.Row[*tuple[Any, ...]]) -> list[str]:
        event = Stored(row.id, Entry(row.at, row.actor, row.action, row.record_type, row.record_id, row.field,
                                     row.old_value, row.new_value, row.reason), row.prev_hash, row.hash)
        return manifest.audit_row(event) + ([row.at.astimezone(tz).isoformat()] if tz else [])

    return csv_cells.write_all(out, manifest.AUDIT_HEADER + (["at_local"] if tz else []),
                               (audit_row(row) for row in stream_rows(engine, query)))
