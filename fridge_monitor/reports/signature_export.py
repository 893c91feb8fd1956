"""The signatures in an export bundle: those of the records the bundle holds (``signatures.csv``).

`audit verify FILE.zip` checks each one offline against its record (the
acknowledgement in ``alerts.csv``, the disposition in ``lot_dispositions.csv``,
the check in ``checks.csv``, the review in ``monthly_reviews.csv``) and against
its event in ``audit.csv`` (:func:`fridge_monitor.core.signatures.bundle_problems`).
"""

from __future__ import annotations

from datetime import datetime
from typing import TextIO

import sqlalchemy as sa

from fridge_monitor.core import csv_cells
from fridge_monitor.core.signatures import (
    ALERT_ACKNOWLEDGEMENT,
    EXCURSION_RECORD,
    LOT_DISPOSITION,
    MONTHLY_REVIEW,
    SIGNATURES_HEADER,
    TEMPERATURE_CHECK,
)
from fridge_monitor.core.times import iso_utc
from fridge_monitor.store import models as m


def export_signatures(engine: sa.Engine, out: TextIO, start: datetime, end: datetime, *,
                      fridge: str | None = None) -> int:
    """Signatures of the records a bundle of the period holds: alerts overlapping it, dispositions of reviews
    overlapping it, checks made in it, and reviews of the months it touches."""
    a, r, d, f, s = m.Alert, m.LotReview, m.LotDisposition, m.Fridge, m.Signature
    c, mr, x, e = m.TemperatureCheck, m.MonthlyReview, m.ExcursionRecord, m.Excursion
    alerts = (sa.select(sa.cast(a.id, sa.String)).join(f, f.id == a.fridge_id)
              .where(a.started_at < end, sa.or_(a.ended_at.is_(None), a.ended_at >= start)))
    decided = (sa.select(sa.cast(d.id, sa.String)).join(r, r.id == d.review_id).join(f, f.id == r.fridge_id)
               .where(r.started_at < end, sa.or_(r.ended_at.is_(None), r.ended_at >= start)))
    checked = (sa.select(sa.cast(c.id, sa.String)).join(f, f.id == c.fridge_id)
               .where(c.checked_at >= start, c.checked_at < end))
    reviewed = (sa.select(sa.cast(mr.id, sa.String)).join(f, f.id == mr.fridge_id)
                .where(mr.starts_at < end, mr.ends_at > start))
    recorded = (sa.select(sa.cast(x.id, sa.String)).join(e, e.id == x.excursion_id).join(f, f.id == e.fridge_id)
                .where(e.started_at < end, sa.or_(e.ended_at.is_(None), e.ended_at >= start)))
    if fridge is not None:
        alerts, decided = alerts.where(f.name == fridge), decided.where(f.name == fridge)
        checked, reviewed = checked.where(f.name == fridge), reviewed.where(f.name == fridge)
        recorded = recorded.where(f.name == fridge)
    query = (sa.select(s).where(sa.or_(sa.and_(s.record_type == ALERT_ACKNOWLEDGEMENT, s.record_id.in_(alerts)),
                                       sa.and_(s.record_type == LOT_DISPOSITION, s.record_id.in_(decided)),
                                       sa.and_(s.record_type == TEMPERATURE_CHECK, s.record_id.in_(checked)),
                                       sa.and_(s.record_type == MONTHLY_REVIEW, s.record_id.in_(reviewed)),
                                       sa.and_(s.record_type == EXCURSION_RECORD, s.record_id.in_(recorded))))
             .order_by(s.id))
    with engine.connect() as conn:
        rows = [[row.id, row.record_type, row.record_id, row.record_hash, row.meaning, row.user_name, row.full_name,
                 iso_utc(row.signed_at, "microseconds"), row.timezone] for row in conn.execute(query)]
    return csv_cells.write_all(out, SIGNATURES_HEADER, rows)
