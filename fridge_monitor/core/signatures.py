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
from datetime import datetime
from zoneinfo import ZoneInfo

from fridge_monitor.core import ack_evidence, csv_cells
from fridge_monitor.core.audit import Stored, canonical_time

MEANINGS = ("performed", "reviewed", "approved", "responsible")
ACTION = "sign"  # the audit event of a signature: record type "signature", record id the signature's id
RECORD_TYPE = "signature"
SIGNATURES_FILE = "signatures.csv"  # in an export bundle
SIGNATURES_HEADER = ["id", "record_type", "record_id", "record_hash", "meaning", "user", "full_name",
                     "signed_at_utc", "timezone"]
DISPOSITIONS_FILE = "lot_dispositions.csv"
ALERT_ACKNOWLEDGEMENT = "alert-acknowledgement"  # an alert's acknowledgement (who, when, the action taken)
TEMPERATURE_CHECK = "temperature-check"  # a staff temperature check (what the display read, who, when)
LOT_DISPOSITION = "lot-disposition"  # a lot review's disposition (the decision, the manufacturer's reference)


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


def bundle_problems(files: Mapping[str, bytes], events: Iterable[Stored]) -> list[str]:
    """Every signature in a bundle's ``signatures.csv`` that no longer holds, checked offline against the
    acknowledgements in ``alerts.csv``, the dispositions in ``lot_dispositions.csv`` and the ``sign`` events
    of ``audit.csv``; each problem names the file it was found in."""
    if SIGNATURES_FILE not in files:
        return []
    recorded = {int(e.entry.record_id): e.entry.new_value or "" for e in events
                if e.entry.action == ACTION and e.entry.record_type == RECORD_TYPE and e.entry.record_id.isdigit()}
    contents: dict[tuple[str, str], str | None] = {}
    # A record file the export did not write, or that was altered since, is named by the manifest checks: its
    # signatures are not checked against it.
    checked = {ALERT_ACKNOWLEDGEMENT: ack_evidence.ALERTS_FILE in files, LOT_DISPOSITION: DISPOSITIONS_FILE in files}
    try:
        for alert_id, by, at, action in _csv_rows(files[ack_evidence.ALERTS_FILE], (
                "id", "acknowledged_by", "acknowledged_at_utc", "action")) if checked[ALERT_ACKNOWLEDGEMENT] else []:
            contents[ALERT_ACKNOWLEDGEMENT, alert_id] = ack_evidence.canonical(ack_evidence.Acknowledgement(
                int(alert_id), by or None, datetime.fromisoformat(at) if at else None, action or None))
        for decided in _csv_rows(files[DISPOSITIONS_FILE], ("disposition_id", "review_id", "decision", "reference",
                                                            "note", "decided_at_utc", "decided_by")
                                 ) if checked[LOT_DISPOSITION] else []:
            if decided[0]:
                contents[LOT_DISPOSITION, decided[0]] = disposition_content(
                    int(decided[0]), int(decided[1]), decided[2], decided[3] or None, decided[4] or None,
                    datetime.fromisoformat(decided[5]), decided[6])
        signed = [Signature(int(row[0]), row[1], row[2], row[3], row[4], row[5], row[6],
                            datetime.fromisoformat(row[7]), row[8])
                  for row in _csv_rows(files[SIGNATURES_FILE], SIGNATURES_HEADER)]
    except (ValueError, UnicodeDecodeError, csv.Error) as exc:
        return [f"{SIGNATURES_FILE}: its signatures cannot be checked: {exc}"]
    signed = [sig for sig in signed if checked.get(sig.record_type, False)]
    return [f"{SIGNATURES_FILE}: {problem}" for problem in binding_problems(signed, contents, recorded, [])]
