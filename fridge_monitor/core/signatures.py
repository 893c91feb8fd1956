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

import dataclasses
import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

MEANINGS = ("performed", "reviewed", "approved", "responsible")
ACTION = "sign"  # the audit event of a signature: record type "signature", record id the signature's id
RECORD_TYPE = "signature"
ALERT_ACKNOWLEDGEMENT = "alert-acknowledgement"  # an alert's acknowledgement (who, when, the action taken)
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
