"""Excursion troubleshooting records for export bundles: every saved version (``excursion_records.csv``, which
`audit verify` checks their signatures against) and each excursion's record as PDF."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TextIO

import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.core import csv_cells
from fridge_monitor.core.times import iso_utc
from fridge_monitor.core.troubleshooting import entry_json
from fridge_monitor.store import models as m
from fridge_monitor.store import troubleshooting

RECORDS_HEADER = ["id", "excursion_id", "fridge", "version", "complete", "confirmed_by", "entry", "facts",
                  "saved_by", "saved_at_utc"]


def excursions(engine: sa.Engine, start: datetime, end: datetime, fridge: str | None = None) -> list[tuple[int, str]]:
    """(excursion id, fridge) of the excursions (of a range: each episode's record) overlapping [start, end)."""
    e, f = m.Excursion, m.Fridge
    query = (sa.select(e.id, f.name).join(f, f.id == e.fridge_id)
             .where(e.rule == troubleshooting.RANGE_RULE, e.started_at < end,
                    sa.or_(e.ended_at.is_(None), e.ended_at >= start)).order_by(e.started_at, e.id))
    if fridge is not None:
        query = query.where(f.name == fridge)
    with engine.connect() as conn:
        return [(eid, name) for eid, name in conn.execute(query)]


def bundle_path(fridge: str, excursion_id: int) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in fridge)
    return f"excursion_records/{safe}_{excursion_id}.pdf"


def export_records(engine: sa.Engine, out: TextIO, start: datetime, end: datetime, *,
                   fridge: str | None = None) -> int:
    """Every version of the records of the period's excursions, oldest first."""
    names = dict(excursions(engine, start, end, fridge))
    x = m.ExcursionRecord
    rows = []
    if names:
        with so.Session(engine) as session:
            for row in session.scalars(sa.select(x).where(x.excursion_id.in_(list(names)))
                                       .order_by(x.excursion_id, x.version)):
                rows.append([row.id, row.excursion_id, names[row.excursion_id], row.version,
                             "true" if row.complete else "false", row.confirmed_by or "",
                             json.dumps(entry_json(troubleshooting.entry_of(row)), ensure_ascii=False,
                                        sort_keys=True),
                             row.facts, row.saved_by, iso_utc(row.saved_at)])
    return csv_cells.write_all(out, RECORDS_HEADER, rows)
