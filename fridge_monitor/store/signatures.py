"""Signing records, reading signatures back, and checking their binding (:mod:`fridge_monitor.core.signatures`).

A signature is made in the transaction that writes what it signs: the signer
gives their password again (their user name too, the first time in a
session), and a wrong one counts toward the account's lockout as at sign-in.
The row and its audit event are written together; `audit verify` reads both
back with the records they sign.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.core import ack_evidence, names, signatures
from fridge_monitor.core.audit import Verdict
from fridge_monitor.core.free_text import FieldError
from fridge_monitor.core.signatures import Signature
from fridge_monitor.store import accounts, audit_trail, staff_checks, troubleshooting
from fridge_monitor.store import models as m

LISTED = 20  # problems spelt out before the rest are counted


class SignatureError(FieldError):
    """A signature that cannot be made."""

    field_default = "password"


def check_signer(session: so.Session, user: m.User, password: str, *, typed_name: str | None, now: datetime,
                 max_failed: int, lockout: timedelta) -> None:
    """The signer is ``user``, by their password (and user name, when asked): else SignatureError. A wrong
    password counts toward the lockout; the caller commits that even though nothing is signed."""
    if typed_name is not None and names.name_key(typed_name.strip()) != names.name_key(user.name):
        raise SignatureError("Type your own user name: a signature is made by the person signed in.", "name")
    if not password:
        raise SignatureError("Give your password to sign.")
    found = accounts.authenticate(session, user.name, password, now=now, max_failed=max_failed, lockout=lockout)
    if not isinstance(found, m.User) or found.id != user.id:
        minutes = max(1, round(lockout.total_seconds() / 60))
        raise SignatureError(f"Wrong password, or the account is locked: nothing was signed. After {max_failed} "
                             f"wrong passwords in a row an account is locked for {minutes} minutes.")
    if not user.full_name:
        raise SignatureError("Your full name is not recorded, and a signature prints it: ask an admin to record it "
                             "under Admin → Users.")


def _sign(session: so.Session, user: m.User, *, record_type: str, record_id: object, content: str, meaning: str,
          now: datetime, fridge_id: int) -> Signature:
    """Sign a record in the caller's transaction: the row, and its audit event holding it whole; its local time is
    that of the site of the fridge the record is about."""
    if meaning not in signatures.MEANINGS:
        raise SignatureError(f"Choose what the signature means: {', '.join(signatures.MEANINGS)}.", "meaning")
    if not user.full_name:
        raise SignatureError("Your full name is not recorded, and a signature prints it: ask an admin to record it "
                             "under Admin → Users.")
    record = str(record_id)
    row = m.Signature(record_type=record_type, record_id=record,
                      record_hash=signatures.record_hash(record_type, record, content), meaning=meaning,
                      user_id=user.id, user_name=user.name, full_name=user.full_name, signed_at=now,
                      timezone=_zone(session, fridge_id))
    session.add(row)
    session.flush()
    made = _value(row)
    audit_trail.record(session, at=now, actor=user.name, action=signatures.ACTION,
                       record_type=signatures.RECORD_TYPE, record_id=row.id, field=record_type,
                       new=made.event_value(), reason=made.shown())
    return made


def _zone(session: so.Session, fridge_id: int) -> str:
    f, s = m.Fridge, m.Site
    return session.scalar(sa.select(s.timezone).join(f, f.site_id == s.id).where(f.id == fridge_id)) or "UTC"


def sign_acknowledgement(session: so.Session, user: m.User, alert: m.Alert, meaning: str,
                         now: datetime) -> Signature:
    """Sign an alert's acknowledgement (who, when, the action), just recorded in this transaction."""
    return _sign(session, user, record_type=signatures.ALERT_ACKNOWLEDGEMENT, record_id=alert.id,
                 content=acknowledgement_content(alert), meaning=meaning, now=now, fridge_id=alert.fridge_id)


def sign_dispositions(session: so.Session, user: m.User, made: Iterable[m.LotDisposition], meaning: str,
                      now: datetime) -> list[Signature]:
    """Sign the dispositions just recorded in this transaction (one per review of the lot)."""
    out = []
    for disposition in made:
        fridge_id = session.get_one(m.LotReview, disposition.review_id).fridge_id
        out.append(_sign(session, user, record_type=signatures.LOT_DISPOSITION, record_id=disposition.id,
                         content=of_disposition(disposition), meaning=meaning, now=now, fridge_id=fridge_id))
    return out


def sign_check(session: so.Session, user: m.User, check: m.TemperatureCheck, meaning: str,
               now: datetime) -> Signature:
    """Sign a staff temperature check just recorded in this transaction."""
    return _sign(session, user, record_type=signatures.TEMPERATURE_CHECK, record_id=check.id,
                 content=staff_checks.content(check), meaning=meaning, now=now, fridge_id=check.fridge_id)


def sign_review(session: so.Session, user: m.User, review: m.MonthlyReview, meaning: str,
                now: datetime) -> Signature:
    """Sign a monthly review just recorded in this transaction."""
    return _sign(session, user, record_type=signatures.MONTHLY_REVIEW, record_id=review.id,
                 content=of_review(review), meaning=meaning, now=now, fridge_id=review.fridge_id)


def sign_record(session: so.Session, user: m.User, record: m.ExcursionRecord, fridge_id: int, meaning: str,
                now: datetime) -> Signature:
    """Sign a version of an excursion's troubleshooting record just saved in this transaction."""
    return _sign(session, user, record_type=signatures.EXCURSION_RECORD, record_id=record.id,
                 content=troubleshooting.content(record), meaning=meaning, now=now, fridge_id=fridge_id)


def of_review(r: m.MonthlyReview) -> str:
    return signatures.review_content(r.id, r.fridge_id, r.month, r.comment, json.loads(r.open_items), r.pdf_sha256,
                                     r.reviewed_by, r.reviewed_at)


def _value(row: m.Signature) -> Signature:
    return Signature(row.id, row.record_type, row.record_id, row.record_hash, row.meaning, row.user_name,
                     row.full_name, row.signed_at, row.timezone)


def of_records(session: so.Session, record_type: str, record_ids: Iterable[object]) -> dict[str, list[Signature]]:
    """The signatures of these records, oldest first, by record id."""
    ids = sorted({str(r) for r in record_ids})
    found: dict[str, list[Signature]] = defaultdict(list)
    if not ids:
        return found
    s = m.Signature
    for row in session.scalars(sa.select(s).where(s.record_type == record_type, s.record_id.in_(ids))
                               .order_by(s.id)):
        found[row.record_id].append(_value(row))
    return found


def acknowledgement_content(alert: m.Alert) -> str:
    """What an alert's acknowledgement signature is bound to: who, when, the action (as `audit verify` reads it)."""
    return ack_evidence.canonical(ack_evidence.Acknowledgement(alert.id, alert.acknowledged_by,
                                                                alert.acknowledged_at, alert.action))


def of_disposition(d: m.LotDisposition) -> str:
    return signatures.disposition_content(d.id, d.review_id, d.decision, d.reference, d.note, d.decided_at,
                                          d.decided_by)


def problems(conn: sa.Connection) -> list[str]:
    """Every signature whose record changed after signing, that was changed, moved or removed, or made
    outside the application (see :func:`fridge_monitor.core.signatures.binding_problems`)."""
    s = m.Signature
    rows = [Signature(row.id, row.record_type, row.record_id, row.record_hash, row.meaning, row.user_name,
                      row.full_name, row.signed_at, row.timezone)
            for row in conn.execute(sa.select(s).order_by(s.id))]
    e = m.AuditEvent
    events = conn.execute(sa.select(e.record_id, e.new_value).where(
        e.action == signatures.ACTION, e.record_type == signatures.RECORD_TYPE)).all()
    recorded = {int(record_id): value or "" for record_id, value in events if record_id.isdigit()}
    contents: dict[tuple[str, str], str | None] = {}
    acked = [int(sig.record_id) for sig in rows if sig.record_type == signatures.ALERT_ACKNOWLEDGEMENT
             and sig.record_id.isdigit()]
    a = m.Alert
    for row in conn.execute(sa.select(a.id, a.acknowledged_by, a.acknowledged_at, a.action)
                            .where(a.id.in_(acked))) if acked else []:
        contents[signatures.ALERT_ACKNOWLEDGEMENT, str(row.id)] = ack_evidence.canonical(
            ack_evidence.Acknowledgement(row.id, row.acknowledged_by, row.acknowledged_at, row.action))
    decided = [int(sig.record_id) for sig in rows if sig.record_type == signatures.LOT_DISPOSITION
               and sig.record_id.isdigit()]
    d = m.LotDisposition
    for made in conn.execute(sa.select(d.id, d.review_id, d.decision, d.reference, d.note, d.decided_at,
                                       d.decided_by).where(d.id.in_(decided))) if decided else []:
        contents[signatures.LOT_DISPOSITION, str(made.id)] = signatures.disposition_content(
            made.id, made.review_id, made.decision, made.reference, made.note, made.decided_at, made.decided_by)
    checked = [int(sig.record_id) for sig in rows if sig.record_type == signatures.TEMPERATURE_CHECK
               and sig.record_id.isdigit()]
    reviewed = [int(sig.record_id) for sig in rows if sig.record_type == signatures.MONTHLY_REVIEW
                and sig.record_id.isdigit()]
    frozen: list[str] = []
    with so.Session(bind=conn) as session:
        for check in session.scalars(sa.select(m.TemperatureCheck).where(m.TemperatureCheck.id.in_(checked))
                                     ) if checked else []:
            contents[signatures.TEMPERATURE_CHECK, str(check.id)] = staff_checks.content(check)
        recorded_ids = [int(sig.record_id) for sig in rows if sig.record_type == signatures.EXCURSION_RECORD
                        and sig.record_id.isdigit()]
        for record in session.scalars(sa.select(m.ExcursionRecord).where(m.ExcursionRecord.id.in_(recorded_ids))
                                      ) if recorded_ids else []:
            contents[signatures.EXCURSION_RECORD, str(record.id)] = troubleshooting.content(record)
        for review in session.scalars(sa.select(m.MonthlyReview).where(m.MonthlyReview.id.in_(reviewed))
                                      ) if reviewed else []:
            contents[signatures.MONTHLY_REVIEW, str(review.id)] = of_review(review)
            if hashlib.sha256(review.pdf).hexdigest() != review.pdf_sha256:
                frozen.append(f"monthly review {review.id}: its stored PDF is no longer the copy that was signed "
                              "(its SHA-256 differs)")
    return [*signatures.binding_problems(rows, contents, recorded, sorted(recorded)), *frozen]


def check_database(engine: sa.Engine) -> Verdict:
    """:func:`fridge_monitor.store.audit_trail.check_database`, and every signature's binding as well."""
    verdict = audit_trail.check_database(engine)
    with engine.connect() as conn:
        found = problems(conn)
    if not found:
        return verdict
    shown = "; ".join(found[:LISTED]) + (f"; and {len(found) - LISTED} more" if len(found) > LISTED else "")
    text = f"{len(found)} signature(s) no longer hold: {shown}"
    return dataclasses.replace(verdict, problem=text if verdict.problem is None else f"{verdict.problem}; {text}")
