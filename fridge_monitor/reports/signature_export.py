"""The signatures in an export bundle: those of the alerts and dispositions the bundle holds (``signatures.csv``).

`audit verify FILE.zip` checks each one offline against the acknowledgement in
``alerts.csv`` or the disposition in ``lot_dispositions.csv`` and against its
event in ``audit.csv`` (:func:`fridge_monitor.core.signatures.bundle_problems`).
"""

from __future__ import annotations

from datetime import datetime
from typing import TextIO

import sqlalchemy as sa

from fridge_monitor.core import csv_cells
from fridge_monitor.core.signatures import ALERT_ACKNOWLEDGEMENT, LOT_DISPOSITION, SIGNATURES_HEADER
from fridge_monitor.core.times import iso_utc
from fridge_monitor.store import models as m


def export_signatures(engine: sa.Engine, out: TextIO, start: datetime, end: datetime, *,
                      fridge: str | None = None) -> int:
    """Signatures of the alerts overlapping the period and of the dispositions of reviews overlapping it."""
    a, r, d, f, s = m.Alert, m.LotReview, m.LotDisposition, m.Fridge, m.Signature
    alerts = (sa.select(sa.cast(a.id, sa.String)).join(f, f.id == a.fridge_id)
              .where(a.started_at < end, sa.or_(a.ended_at.is_(None), a.ended_at >= start)))
    decided = (sa.select(sa.cast(d.id, sa.String)).join(r, r.id == d.review_id).join(f, f.id == r.fridge_id)
               .where(r.started_at < end, sa.or_(r.ended_at.is_(None), r.ended_at >= start)))
    if fridge is not None:
        alerts, decided = alerts.where(f.name == fridge), decided.where(f.name == fridge)
    query = (sa.select(s).where(sa.or_(sa.and_(s.record_type == ALERT_ACKNOWLEDGEMENT, s.record_id.in_(alerts)),
                                       sa.and_(s.record_type == LOT_DISPOSITION, s.record_id.in_(decided))))
             .order_by(s.id))
    with engine.connect() as conn:
        rows = [[row.id, row.record_type, row.record_id, row.record_hash, row.meaning, row.user_name, row.full_name,
                 iso_utc(row.signed_at, "microseconds"), row.timezone] for row in conn.execute(query)]
    return csv_cells.write_all(out, SIGNATURES_HEADER, rows)
