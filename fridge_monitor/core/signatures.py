"""Electronic signatures (21 CFR 11.50, 11.70): what a signature says, and the record it is bound to (pure).

A signature names the signer (printed name and user name), the moment (UTC,
shown in the site's local time) and its meaning, and holds the SHA-256 of the
record it signs: the record's type, its id and its content in one canonical
text. Recomputing that hash from the record as it is stored now, and reading
the signature back from its hash-chained audit event, tells `audit verify`
whether the record was edited after signing, or the signature edited, removed
or moved to another record.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from fridge_monitor.core import ack_evidence, csv_cells, troubleshooting
from fridge_monitor.core.audit import Stored, canonical_time

MEANINGS = ("performed", "reviewed", "approved", "responsible")
ACTION = "sign"  # the audit event of a signature: record type "signature", record id the signature's id
RECORD_TYPE = "signature"
SIGNATURES_FILE = "signatures.csv"  # in an export bundle
SIGNATURES_HEADER = ["id", "record_type", "record_id", "record_hash", "meaning", "user", "full_name",
                     "signed_at_utc", "timezone"]
DISPOSITIONS_FILE = "lot_dispositions.csv"
CHECKS_FILE = "checks.csv"
REVIEWS_FILE = "monthly_reviews.csv"
RECORDS_FILE = "excursion_records.csv"
ALERT_ACKNOWLEDGEMENT = "alert-acknowledgement"  # an alert's acknowledgement (who, when, the action taken)
TEMPERATURE_CHECK = "temperature-check"  # a staff temperature check (what the display read, who, when)
LOT_DISPOSITION = "lot-disposition"  # a lot review's disposition (the decision, the manufacturer's reference)
MONTHLY_REVIEW = "monthly-review"  # a supervisor's review of a fridge-month (the comment, the frozen PDF's hash)
EXCURSION_RECORD = "excursion-record"  # a version of an excursion's troubleshooting record (every field, the facts)


def record_hash(record_type: str, record_id: str, content: str) -> str:
    """The binding: SHA-256 of the record's type, id and canonical content."""
    text = json.dumps([record_type, record_id, content], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclasses.dataclass(frozen=True, slots=True)
class Signature:
    """A signature as stored."""

    id: int
    record_type: str
    record_id: str
    record_hash: str
    meaning: str
    user: str
    full_name: str
    signed_at: datetime
    timezone: str

    def shown(self) -> str:
        """How every page, PDF and export shows it."""
        local = self.signed_at.astimezone(ZoneInfo(self.timezone))
        return (f"Signed by {self.full_name} ({self.user}) on {local:%Y-%m-%d %H:%M} {local.tzname()}, "
                f"meaning: {self.meaning}")

    def event_value(self) -> str:
        """What its audit event records of it (the event's new value)."""
        return json.dumps([self.record_type, self.record_id, self.record_hash, self.meaning, self.user,
                           self.full_name], ensure_ascii=False, separators=(",", ":"))


def binding_problems(signatures: Sequence[Signature], contents: Mapping[tuple[str, str], str | None],
                     recorded: Mapping[int, str], signed_ids: Sequence[int]) -> list[str]:
    """What no longer holds, one sentence each.

    ``contents``: each signed record's canonical content as stored now (None: the record is gone);
    ``recorded``: each signature's audit event value, by signature id; ``signed_ids``: the signature ids the
    audit trail says were made (a signature row removed since leaves its id here).
    """
    problems = []
    present = {s.id for s in signatures}
    for sig in signatures:
        what = f"signature {sig.id} ({sig.user}, {sig.meaning}) on {sig.record_type} {sig.record_id}"
        event = recorded.get(sig.id)
        if event is None:
            problems.append(f"{what}: no audit event recorded it (the signature was added outside the application)")
            continue
        if event != sig.event_value():
            problems.append(f"{what}: differs from its audit event (the signature was changed or moved to "
                            "another record)")
            continue
        content = contents.get((sig.record_type, sig.record_id))
        if content is None:
            problems.append(f"{what}: the signed record is gone")
        elif record_hash(sig.record_type, sig.record_id, content) != sig.record_hash:
            problems.append(f"{what}: the record was changed after it was signed")
    problems += [f"signature {sid}: recorded in the audit trail but removed" for sid in signed_ids
                 if sid not in present]
    return problems


def disposition_content(disposition_id: int, review_id: int, decision: str, reference: str | None, note: str | None,
                        decided_at: datetime, decided_by: str) -> str:
    """What a disposition's signature is bound to: the review, the decision, the reference, the note, who, when."""
    return json.dumps([disposition_id, review_id, decision, reference, note, canonical_time(decided_at), decided_by],
                      ensure_ascii=False, separators=(",", ":"))


def check_content(check_id: int, fridge_id: int, day: date, slot: str, checked_at: datetime, checked_by: str,
                  current_c: float | None, min_c: float | None, max_c: float | None, monitor_c: float | None,
                  comment: str | None) -> str:
    """What a staff check's signature is bound to: the fridge, the slot, who, when, what the display and the monitor
    read, the comment."""
    return json.dumps([check_id, fridge_id, day.isoformat(), slot, canonical_time(checked_at), checked_by, current_c,
                       min_c, max_c, monitor_c, comment], ensure_ascii=False, separators=(",", ":"))


def review_content(review_id: int, fridge_id: int, month: str, comment: str | None, open_items: Sequence[str],
                   pdf_sha256: str, reviewed_by: str, reviewed_at: datetime) -> str:
    """What a monthly review's signature is bound to: the fridge-month, the comment, the open items the reviewer
    saw, the SHA-256 of the frozen PDF, who, when."""
    return json.dumps([review_id, fridge_id, month, comment, list(open_items), pdf_sha256, reviewed_by,
                       canonical_time(reviewed_at)], ensure_ascii=False, separators=(",", ":"))


def _csv_rows(data: bytes, wanted: Sequence[str]) -> Iterator[list[str]]:
    reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
    header = [csv_cells.unguard(cell) for cell in next(reader, [])]
    try:
        columns = [header.index(name) for name in wanted]
    except ValueError:
        raise ValueError(f"it has no {', '.join(wanted)} columns") from None
    for number, row in enumerate(reader, start=2):
        try:
            yield [csv_cells.unguard(row[column]) for column in columns]
        except IndexError:
            raise ValueError(f"line {number} is short") from None


def _number(text: str) -> float | None:
    return float(text) if text else None


def _bundle_contents(files: Mapping[str, bytes]) -> dict[tuple[str, str], str | None]:
    """Each signed record's canonical content, read back from the record files of a bundle (those it holds)."""
    contents: dict[tuple[str, str], str | None] = {}
    if ack_evidence.ALERTS_FILE in files:
        for alert_id, by, at, action in _csv_rows(files[ack_evidence.ALERTS_FILE], (
                "id", "acknowledged_by", "acknowledged_at_utc", "action")):
            contents[ALERT_ACKNOWLEDGEMENT, alert_id] = ack_evidence.canonical(ack_evidence.Acknowledgement(
                int(alert_id), by or None, datetime.fromisoformat(at) if at else None, action or None))
    if DISPOSITIONS_FILE in files:
        for decided in _csv_rows(files[DISPOSITIONS_FILE], ("disposition_id", "review_id", "decision", "reference",
                                                            "note", "decided_at_utc", "decided_by")):
            if decided[0]:
                contents[LOT_DISPOSITION, decided[0]] = disposition_content(
                    int(decided[0]), int(decided[1]), decided[2], decided[3] or None, decided[4] or None,
                    datetime.fromisoformat(decided[5]), decided[6])
    if CHECKS_FILE in files:
        for c in _csv_rows(files[CHECKS_FILE], ("id", "fridge_id", "day", "check_time", "checked_at_utc",
                                                "checked_by", "current_c", "min_c", "max_c", "monitor_c", "comment")):
            contents[TEMPERATURE_CHECK, c[0]] = check_content(
                int(c[0]), int(c[1]), date.fromisoformat(c[2]), c[3], datetime.fromisoformat(c[4]), c[5],
                _number(c[6]), _number(c[7]), _number(c[8]), _number(c[9]), c[10] or None)
    if REVIEWS_FILE in files:
        for r in _csv_rows(files[REVIEWS_FILE], ("id", "fridge_id", "month", "comment", "open_items", "pdf_sha256",
                                                 "reviewed_by", "reviewed_at_utc")):
            contents[MONTHLY_REVIEW, r[0]] = review_content(
                int(r[0]), int(r[1]), r[2], r[3] or None, json.loads(r[4]), r[5], r[6], datetime.fromisoformat(r[7]))
    if RECORDS_FILE in files:
        for x in _csv_rows(files[RECORDS_FILE], ("id", "excursion_id", "version", "entry", "facts", "saved_by",
                                                 "saved_at_utc")):
            contents[EXCURSION_RECORD, x[0]] = troubleshooting.record_content(
                int(x[0]), int(x[1]), int(x[2]), json.loads(x[3]), json.loads(x[4]), x[5], datetime.fromisoformat(x[6]))
    return contents


# Where a bundle holds each signed record.
SIGNED_FILES = {ALERT_ACKNOWLEDGEMENT: ack_evidence.ALERTS_FILE, LOT_DISPOSITION: DISPOSITIONS_FILE,
                TEMPERATURE_CHECK: CHECKS_FILE, MONTHLY_REVIEW: REVIEWS_FILE, EXCURSION_RECORD: RECORDS_FILE}


def bundle_problems(files: Mapping[str, bytes], events: Iterable[Stored],
                    file_hashes: Mapping[str, str] | None = None) -> list[str]:
    """Every signature in a bundle's ``signatures.csv`` that no longer holds, checked offline against the
    records in ``alerts.csv``, ``lot_dispositions.csv``, ``checks.csv`` and ``monthly_reviews.csv`` and the
    ``sign`` events of ``audit.csv``; and every signed monthly PDF whose SHA-256 (``file_hashes``: as the
    export recorded each file) is not the one its review holds. Each problem names the file it was found in.
    A record file the export did not write, or that was altered since, is named by the manifest checks: its
    signatures are not checked against it."""
    problems = _frozen_problems(files, file_hashes or {})
    if SIGNATURES_FILE not in files:
        return problems
    recorded = {int(e.entry.record_id): e.entry.new_value or "" for e in events
                if e.entry.action == ACTION and e.entry.record_type == RECORD_TYPE and e.entry.record_id.isdigit()}
    try:
        contents = _bundle_contents(files)
        signed = [Signature(int(row[0]), row[1], row[2], row[3], row[4], row[5], row[6],
                            datetime.fromisoformat(row[7]), row[8])
                  for row in _csv_rows(files[SIGNATURES_FILE], SIGNATURES_HEADER)]
    except (ValueError, UnicodeDecodeError, csv.Error) as exc:
        return [*problems, f"{SIGNATURES_FILE}: its signatures cannot be checked: {exc}"]
    signed = [sig for sig in signed if SIGNED_FILES.get(sig.record_type, "") in files]
    return [*problems, *(f"{SIGNATURES_FILE}: {problem}"
                         for problem in binding_problems(signed, contents, recorded, []))]


def _frozen_problems(files: Mapping[str, bytes], file_hashes: Mapping[str, str]) -> list[str]:
    """Signed monthly PDFs in the bundle that are not the copy their review froze."""
    if REVIEWS_FILE not in files:
        return []
    try:
        rows = list(_csv_rows(files[REVIEWS_FILE], ("id", "pdf_file", "pdf_sha256")))
    except (ValueError, UnicodeDecodeError, csv.Error) as exc:
        return [f"{REVIEWS_FILE}: cannot be read: {exc}"]
    return [f"{path}: not the signed copy review {review_id} froze (its SHA-256 differs from the review's)"
            for review_id, path, digest in rows if path and path in file_hashes and file_hashes[path] != digest]
