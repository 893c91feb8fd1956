"""Excursion troubleshooting records: the facts filled in from the records, and the versions staff save.

Each save is a new version (append-only, audited) holding what staff typed and
the facts as they were then (:mod:`fridge_monitor.core.troubleshooting`). A
version is complete when nothing required is missing and it is signed (or, where
``[signatures] require_for`` does not list ``excursion-records``, confirmed by
the person saving it).
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.config import Config
from fridge_monitor.core import free_text
from fridge_monitor.core.checks import Finding
from fridge_monitor.core.free_text import FieldError
from fridge_monitor.core.troubleshooting import (
    EARLIER_LOOKBACK,
    FUNDING,
    Entry,
    Facts,
    LotEntry,
    LotFacts,
    earlier_lines,
    entry_json,
    missing,
    overdue,
    record_content,
)
from fridge_monitor.store import audit_trail
from fridge_monitor.store import models as m
from fridge_monitor.store.series import fridge_facts, fridge_profile, in_assignment

RANGE_RULE = "out-of-range"


class RecordError(FieldError):
    """A record that cannot be saved."""


def episode(session: so.Session, excursion: m.Excursion) -> list[m.Excursion]:
    """The excursion and the others of its episode (the range and each alarm rule it broke), oldest rule first."""
    e = m.Excursion
    end = excursion.ended_at or datetime.max.replace(tzinfo=excursion.started_at.tzinfo)
    return list(session.scalars(sa.select(e).where(
        e.fridge_id == excursion.fridge_id, e.started_at <= end,
        sa.or_(e.ended_at.is_(None), e.ended_at >= excursion.started_at)).order_by(e.started_at, e.id)))


def anchor(session: so.Session, excursion: m.Excursion) -> m.Excursion:
    """The excursion an episode's one record belongs to: its time out of range (else the excursion itself)."""
    if excursion.rule == RANGE_RULE:
        return excursion
    return next((x for x in episode(session, excursion) if x.rule == RANGE_RULE), excursion)


def facts(session: so.Session, excursion: m.Excursion, config: Config | None = None) -> Facts:
    """What the records say of the excursion now."""
    fridge = session.get_one(m.Fridge, excursion.fridge_id)
    tz = ZoneInfo(fridge.site.timezone)
    found = fridge_facts(session, fridge.id)
    assert found is not None
    profile = fridge_profile(session, found, config)
    together = episode(session, excursion)
    ids = [x.id for x in together]
    r = m.Reading
    last_ok = session.scalar(
        sa.select(sa.func.max(r.measured_at)).join(m.SensorAssignment, in_assignment(fridge.id))
        .where(r.measured_at < excursion.started_at, r.temperature_c >= profile.low_c,
               r.temperature_c <= profile.high_c))
    e = m.Excursion
    earlier = session.execute(
        sa.select(e.started_at, e.ended_at, e.rule, e.peak_c).where(
            e.fridge_id == fridge.id, e.rule == excursion.rule, e.id != excursion.id,
            e.started_at < excursion.started_at, e.started_at >= excursion.started_at - EARLIER_LOOKBACK)
        .order_by(e.started_at)).all()
    a = m.Alert
    acks = session.execute(sa.select(a.acknowledged_by, a.acknowledged_at, a.action).where(
        a.excursion_id.in_(ids), a.acknowledged_at.is_not(None)).order_by(a.acknowledged_at, a.id)).all()
    return Facts(
        excursion.id, fridge.name, fridge.site.name, fridge.site.timezone, fridge.kind,
        f"{profile.low_c:.1f} to {profile.high_c:.1f} °C", tuple(dict.fromkeys(x.rule for x in together)),
        excursion.started_at, excursion.ended_at, excursion.alarm_at, excursion.time_beyond_s, excursion.unknown_s,
        max(x.peak_c for x in together), min(x.low_c for x in together), excursion.mkt_c, excursion.readings_count,
        last_ok, tuple(_lots(session, fridge.id, ids, excursion.started_at)),
        earlier_lines([(start, end, rule, peak) for start, end, rule, peak in earlier], tz),
        tuple(_acknowledged(by, at, action, tz) for by, at, action in acks))


def _acknowledged(by: str | None, at: datetime | None, action: str | None, tz: ZoneInfo) -> str:
    when = at.astimezone(tz).strftime("%d %b %Y %H:%M") if at else ""
    return f"{by}, {when}: {action}" if action else f"{by}, {when}"


def _lots(session: so.Session, fridge_id: int, excursion_ids: list[int], started: datetime) -> list[LotFacts]:
    rv, lot, p, d = m.LotReview, m.Lot, m.Product, m.LotDisposition
    reviews = session.execute(
        sa.select(rv.id, lot.id, p.name, lot.lot_number, lot.expiry, lot.funding).join(lot, lot.id == rv.lot_id)
        .join(p, p.id == lot.product_id).where(rv.excursion_id.in_(excursion_ids)).order_by(p.name, lot.lot_number)
    ).all()
    out: dict[int, LotFacts] = {}
    se, sm = m.StockEntry, m.StockMovement
    for review_id, lot_id, product, number, expiry, funding in reviews:
        if lot_id in out:
            continue
        held = session.scalar(sa.select(sa.func.coalesce(sa.func.sum(se.delta), 0)).join(sm, sm.id == se.movement_id)
                              .where(se.lot_id == lot_id, se.fridge_id == fridge_id, sm.at <= started)) or 0
        decided = session.execute(sa.select(d.decision, d.reference).where(d.review_id == review_id)
                                  .order_by(d.decided_at.desc(), d.id.desc()).limit(1)).first()
        disposition = (decided[0] + (f" (manufacturer's ref. {decided[1]})" if decided[1] else "")) if decided else None
        out[lot_id] = LotFacts(lot_id, product, number, expiry.isoformat(), int(held), funding, disposition)
    return list(out.values())


def current(session: so.Session, excursion_id: int) -> m.ExcursionRecord | None:
    """The newest version of the excursion's record."""
    x = m.ExcursionRecord
    return session.scalar(sa.select(x).where(x.excursion_id == excursion_id).order_by(x.version.desc()).limit(1))


def entry_of(row: m.ExcursionRecord | None) -> Entry:
    if row is None:
        return Entry()
    lots = tuple(LotEntry(int(lot["lot_id"]), lot.get("funding"), lot.get("outcome")) for lot in json.loads(row.lots))
    return Entry(row.found_at, row.found_by, row.room_c, row.found_c, row.found_min_c, row.found_max_c,
                 row.other_contents, row.earlier_problems, row.actions, row.contacted, row.case_number,
                 row.contact_answer, lots, row.outcome)


def content(row: m.ExcursionRecord) -> str:
    """What a record's signature is bound to: every field of the version, and the facts it was saved with."""
    return record_content(row.id, row.excursion_id, row.version, entry_json(entry_of(row)), json.loads(row.facts),
                          row.saved_by, row.saved_at)


def check_entry(entry: Entry) -> None:
    for field in ("found_by", "other_contents", "earlier_problems", "actions", "contacted", "case_number",
                  "contact_answer", "outcome"):
        if free_text.too_long(getattr(entry, field)):
            raise RecordError(free_text.limit_message("this field"), field)
    for field in ("room_c", "found_c", "found_min_c", "found_max_c"):
        value = getattr(entry, field)
        if value is not None and not -100 <= value <= 100:
            raise RecordError(f"{value:g} °C is not a plausible temperature.", field)
    for lot in entry.lots:
        if lot.funding is not None and lot.funding not in FUNDING:
            raise RecordError("Funding is public or private.", f"funding-{lot.lot_id}")
        if free_text.too_long(lot.outcome):
            raise RecordError(free_text.limit_message("the outcome"), f"outcome-{lot.lot_id}")


def set_funding(session: so.Session, lot: m.Lot, funding: str, *, actor: str, now: datetime, reason: str) -> None:
    """Say who paid for a lot (``public`` programme stock or ``private``), audited old → new."""
    if funding not in FUNDING:
        raise RecordError("Funding is public or private.", "funding")
    if lot.funding == funding:
        return
    audit_trail.record(session, at=now, actor=actor, action="update", record_type="lot", record_id=lot.id,
                       field="funding", old=lot.funding, new=funding, reason=reason)
    lot.funding = funding


def save(session: so.Session, excursion: m.Excursion, entry: Entry, *, actor: str, now: datetime,
         finish: bool, signed: bool, config: Config | None = None) -> m.ExcursionRecord:
    """Save a new version in the caller's transaction (audited). ``finish``: the person means it complete (it is,
    when nothing required is missing; else RecordError naming the first gap); ``signed``: the caller signs it in
    this transaction (else, finishing, the person saving confirms it by name). Lot funding given here is set on
    the lot too."""
    check_entry(entry)
    known = facts(session, excursion, config)
    gaps = missing(entry, known)
    if finish and gaps:
        raise RecordError(f"To complete the record, give {gaps[0]}" + (f" (and {len(gaps) - 1} more)"
                                                                       if len(gaps) > 1 else "") + ".", "record")
    previous = current(session, excursion.id)
    row = m.ExcursionRecord(
        excursion_id=excursion.id, version=(previous.version + 1) if previous else 1, found_at=entry.found_at,
        found_by=entry.found_by, room_c=entry.room_c, found_c=entry.found_c, found_min_c=entry.found_min_c,
        found_max_c=entry.found_max_c, other_contents=entry.other_contents, earlier_problems=entry.earlier_problems,
        actions=entry.actions, contacted=entry.contacted, case_number=entry.case_number,
        contact_answer=entry.contact_answer,
        lots=json.dumps([dataclasses.asdict(lot) for lot in entry.lots], ensure_ascii=False),
        outcome=entry.outcome, facts=known.as_json(), complete=finish, confirmed_by=actor if finish and not signed
        else None, saved_by=actor, saved_at=now)
    session.add(row)
    session.flush()
    for lot in entry.lots:
        stored = session.get(m.Lot, lot.lot_id)
        if stored is not None and lot.funding in FUNDING:
            set_funding(session, stored, lot.funding, actor=actor, now=now,
                        reason=f"troubleshooting record of excursion {excursion.id}")
    audit_trail.record(session, at=now, actor=actor, action="record", record_type="excursion_record",
                       record_id=row.id, field=f"excursion {excursion.id} v{row.version}", new=content(row),
                       reason=("completed" if finish else f"draft: {len(gaps)} required field(s) to go"))
    return row


REMINDER_LOOKBACK = timedelta(days=90)  # older excursions (e.g. from before records existed) are not chased


def reminders(session: so.Session, fridge_id: int, fridge: str, now: datetime, due_after: timedelta) -> list[Finding]:
    """`record-incomplete` for the fridge's excursions (of its range) of the last 90 days whose troubleshooting
    record is not complete ``due_after`` their end."""
    e, x = m.Excursion, m.ExcursionRecord
    newest = (sa.select(x.excursion_id, sa.func.max(x.version).label("version")).group_by(x.excursion_id)
              .subquery())
    complete = set(session.scalars(sa.select(x.excursion_id).join(
        newest, sa.and_(newest.c.excursion_id == x.excursion_id, newest.c.version == x.version))
        .join(e, e.id == x.excursion_id).where(e.fridge_id == fridge_id, x.complete)))
    rows = session.execute(sa.select(e.id, e.started_at, e.ended_at).where(
        e.fridge_id == fridge_id, e.rule == RANGE_RULE,
        sa.or_(e.ended_at.is_(None), e.ended_at >= now - REMINDER_LOOKBACK))).all()
    return overdue({eid: (start, end, fridge) for eid, start, end in rows}, complete, now, due_after)
