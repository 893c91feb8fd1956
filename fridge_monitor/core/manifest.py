"""Export bundles' manifest and their offline verification: pure functions over bytes and plain values.

A bundle is a zip of CSV files and PDFs with a ``manifest.json`` holding the
SHA-256 of every other file, the period, who exported it and when, and the
audit chain's head at export time. The export itself is an audit event that
records the manifest's *claims* (everything but the audit trail file and the
head, which come after the event), and the bundle's ``audit.csv`` holds the
whole chain up to and including that event, as its last one. So, offline and
without the database:

- a changed file no longer matches its SHA-256 in the manifest;
- a changed manifest is no longer in its canonical form, or no longer matches
  the export event recorded in the chain;
- a changed, removed or reordered audit event breaks the chain;
- an acknowledgement in ``alerts.csv`` that differs from its audit event was
  changed in the database before the export (:mod:`fridge_monitor.core.ack_evidence`).

What this cannot do offline is tell a bundle from a complete forgery made with
a rebuilt chain: comparing the manifest's ``audit_head`` with the live
database's (``fridge-monitor audit verify``) closes that gap.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from fridge_monitor.core import ack_evidence, csv_cells, signatures
from fridge_monitor.core.audit import Entry, Stored, canonical_time, first_problem

FORMAT = "fridge-monitor-bundle/1"
MANIFEST = "manifest.json"
AUDIT_FILE = "audit.csv"
AUDIT_HEADER = ["id", "at_utc", "actor", "action", "record_type", "record_id", "field", "old_value", "new_value",
                "reason", "prev_hash", "hash"]
EXPORT_ACTION = "export"
EXPORT_RECORD = "bundle"
MANIFEST_MAX_BYTES = 1 << 20  # a manifest lists a few hundred files; anything larger is not one
TRAIL_MAX_BYTES = 1 << 30  # the bound on an audit.csv whose manifest entry was altered away
READ_CHUNK = 1 << 16


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical(document: Mapping[str, Any]) -> bytes:
    """The one byte form of a manifest: sorted keys, two-space indent, UTF-8, a final newline."""
    return (json.dumps(document, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode("utf-8")


def claims(document: Mapping[str, Any]) -> dict[str, Any]:
    """What the export event vouches for: the manifest without the audit file and the chain head."""
    out = {key: value for key, value in document.items() if key not in ("audit_head", "export_event")}
    out["files"] = {name: entry for name, entry in document.get("files", {}).items() if name != AUDIT_FILE}
    return out


def claims_text(document: Mapping[str, Any]) -> str:
    """What the export audit event records: the claims as canonical JSON."""
    return canonical(claims(document)).decode("utf-8")


def audit_row(event: Stored) -> list[str]:
    """One audit event as a CSV row that reproduces its hash exactly (times to the microsecond)."""
    entry = event.entry
    at = canonical_time(entry.at)
    return [str(event.id), at, entry.actor, entry.action, entry.record_type, entry.record_id, _blank(entry.field),
            _blank(entry.old_value), _blank(entry.new_value), _blank(entry.reason), event.prev_hash, event.hash]


# Empty text and a missing value differ in the hash, so a missing one is written as this marker.
NULL = "\\N"


def _blank(value: str | None) -> str:
    if value is None:
        return NULL
    return "\\" + value if value.startswith("\\") else value


def _unblank(text: str) -> str | None:
    if text == NULL:
        return None
    return text[1:] if text.startswith("\\") else text


def read_audit(data: bytes) -> Iterator[Stored]:
    """The events of an ``audit.csv`` written with :func:`audit_row`; raises ValueError on a malformed row."""
    reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
    header = next(reader, None)
    if header != AUDIT_HEADER:
        raise ValueError(f"{AUDIT_FILE} does not start with the header {','.join(AUDIT_HEADER)}")
    for number, row in enumerate(reader, start=2):
        if len(row) != len(AUDIT_HEADER):
            raise ValueError(f"{AUDIT_FILE} line {number} has {len(row)} fields, not {len(AUDIT_HEADER)}")
        try:
            event_id = int(row[0])
            at = datetime.fromisoformat(row[1].replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{AUDIT_FILE} line {number}: unreadable id or time") from None
        row = [csv_cells.unguard(cell) for cell in row]  # as audit_csv wrote them: no cell a formula
        entry = Entry(at, row[2], row[3], row[4], row[5], _unblank(row[6]), _unblank(row[7]), _unblank(row[8]),
                      _unblank(row[9]))
        yield Stored(event_id, entry, row[10], row[11])


def verify_bundle(archive: zipfile.ZipFile) -> list[str]:
    """Every problem found in an export bundle, each naming the file at fault; empty when it verifies.

    The audit trail inside is self-authenticating (a hash chain that must end at
    the manifest's head and re-serialise to the very bytes in the file), and its
    export event records every other file's SHA-256 and the manifest's claims.
    So a mismatch can be blamed: a file that differs from what the event
    recorded was altered; a manifest that differs from it was altered.
    """
    listed = Counter(archive.namelist())
    repeated = sorted(name for name, count in listed.items() if count > 1)
    if repeated:  # which copy would be checked, and which one would a reader open?
        return [f"{name}: appears {listed[name]} times in the zip (a bundle never repeats a name): refused"
                for name in repeated]
    names = set(listed)
    if MANIFEST not in names:
        return [f"{MANIFEST}: missing, so nothing in this zip can be verified"]
    raw = _read(archive, MANIFEST, MANIFEST_MAX_BYTES)
    if raw is None:
        return [f"{MANIFEST}: larger than {MANIFEST_MAX_BYTES} bytes, so not a bundle manifest: refused unread"]
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return [f"{MANIFEST}: altered or damaged: not readable JSON ({exc})"]
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        return [f"{MANIFEST}: altered, or not a Fridge Monitor bundle manifest (format {FORMAT!r} expected)"]
    problems = []
    if canonical(document) != raw:
        problems.append(f"{MANIFEST}: altered (it is no longer byte for byte as it was written)")
    files = _table(document, "files")
    limits = {name: _declared_bytes(files.get(name)) for name in names if name != MANIFEST}
    actual = {name: _digest(archive, name, limit) for name, limit in limits.items()}
    oversized = sorted(name for name, digest in actual.items() if digest is None and limits[name] is not None)
    if oversized:  # a zip bomb, or a file grown since export: either way not read further
        return [f"{name}: larger than the {limits[name]} bytes the manifest gives it: refused unread"
                for name in oversized]
    recorded, audit_problems, audit_entry = _recorded_claims(archive, names, document, limits.get(AUDIT_FILE))
    problems.extend(audit_problems)
    if recorded is not None:
        mine = claims(document)
        for key in sorted((set(recorded) | set(mine)) - {"files"}):
            if recorded.get(key) != mine.get(key):
                problems.append(f"{MANIFEST}: altered ({key!r} differs from the export recorded in the audit trail)")
        recorded_files = _table(recorded, "files")
        for name in sorted((set(recorded_files) | set(files)) - {AUDIT_FILE}):
            want = (recorded_files.get(name) or {}).get("sha256")
            if files.get(name) != recorded_files.get(name):
                problems.append(f"{MANIFEST}: altered (its entry for {name} differs from the export recorded "
                                "in the audit trail)")
            if want is not None and name not in actual:
                problems.append(f"{name}: missing from the bundle")
            elif want is not None and actual[name] != want:
                problems.append(f"{name}: altered (its SHA-256 differs from the one recorded at export)")
        if files.get(AUDIT_FILE) != audit_entry:
            problems.append(f"{MANIFEST}: altered (its entry for {AUDIT_FILE} does not match the intact trail)")
        expected = set(recorded_files) | {AUDIT_FILE}
    else:
        for name in sorted(files):
            if name == AUDIT_FILE and audit_problems:
                continue  # named above
            if name not in actual:
                problems.append(f"{name}: listed in the manifest but missing from the bundle")
            elif actual[name] != (files[name] or {}).get("sha256"):
                problems.append(f"{name}: does not match its SHA-256 in the manifest (it or the manifest was altered)")
        expected = set(files)
    for name in sorted(set(actual) - expected):
        problems.append(f"{name}: not listed in the manifest (added after the export)")
    return list(dict.fromkeys(problems))


def _table(document: Mapping[str, Any], key: str) -> dict[str, Any]:
    """``document[key]`` when it is a JSON object, else an empty one (a damaged manifest is reported, not raised)."""
    value = document.get(key)
    return value if isinstance(value, dict) else {}


def _declared_bytes(entry: object) -> int | None:
    """The size a manifest entry gives its file, or None when it gives none."""
    size = entry.get("bytes") if isinstance(entry, dict) else None
    return size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None


def _chunks(archive: zipfile.ZipFile, name: str, limit: int) -> Iterator[bytes]:
    """The member's bytes in bounded chunks; raises OverflowError past ``limit`` bytes (nothing more is inflated)."""
    total = 0
    with archive.open(name) as member:
        for block in iter(lambda: member.read(READ_CHUNK), b""):
            total += len(block)
            if total > limit:
                raise OverflowError(name)
            yield block


def _read(archive: zipfile.ZipFile, name: str, limit: int) -> bytes | None:
    """The whole member, or None when it holds more than ``limit`` bytes."""
    try:
        return b"".join(_chunks(archive, name, limit))
    except OverflowError:
        return None


def _digest(archive: zipfile.ZipFile, name: str, limit: int | None) -> str | None:
    """The member's SHA-256, read in chunks; None when it holds more than ``limit`` bytes. A member the
    manifest gives no size is hashed only as far as the manifest's own bound: it is reported as unlisted anyway."""
    digest = hashlib.sha256()
    try:
        for block in _chunks(archive, name, MANIFEST_MAX_BYTES if limit is None else limit):
            digest.update(block)
    except OverflowError:
        return None if limit is not None else "unread"
    return digest.hexdigest()


def _recorded_claims(archive: zipfile.ZipFile, names: set[str], document: Mapping[str, Any],
                     limit: int | None) -> tuple[dict[str, Any] | None, list[str], dict[str, Any] | None]:
    """(what the export event recorded, problems with the audit trail file or the manifest's head, or
    acknowledgements that differ from the trail's, the trail file's true manifest entry)."""
    if AUDIT_FILE not in names:
        return None, [f"{AUDIT_FILE}: missing, so the export cannot be checked against the audit trail"], None
    data = _read(archive, AUDIT_FILE, TRAIL_MAX_BYTES if limit is None else limit)
    if data is None:
        return None, [f"{AUDIT_FILE}: larger than {TRAIL_MAX_BYTES} bytes: refused unread"], None
    try:
        events = list(read_audit(data))
    except (ValueError, UnicodeDecodeError, csv.Error) as exc:  # csv.Error: e.g. a field over csv's size limit
        return None, [f"{AUDIT_FILE}: altered or damaged: {exc}"], None
    if audit_csv(events)[0] != data:
        return None, [f"{AUDIT_FILE}: altered (it is no longer byte for byte as it was written)"], None
    problem = first_problem(events)
    if problem is not None:
        return None, [f"{AUDIT_FILE}: altered: audit trail broken: {problem}"], None
    head = _table(document, "audit_head")
    last = events[-1] if events else None
    if last is None or head.get("id") != last.id or head.get("hash") != last.hash:
        return None, [f"{MANIFEST}: altered, or {AUDIT_FILE} cut short: the trail in the bundle ends at event "
                      f"{last.id if last else 'none'}, the manifest's audit head is {head.get('id')}"], None
    if document.get("export_event") != last.id or (last.entry.action, last.entry.record_type) != (
            EXPORT_ACTION, EXPORT_RECORD):
        return None, [f"{MANIFEST}: altered: its export event is not the last event of the trail in the bundle"], None
    try:
        recorded = json.loads(last.entry.new_value or "")
    except ValueError:
        return None, [f"{AUDIT_FILE}: the export event {last.id} holds no readable record of the export"], None
    if not isinstance(recorded, dict):
        return None, [], file_entry(data, len(events))
    found = [*_acknowledgement_problems(archive, names, document, recorded, events),
             *signatures.bundle_problems(
                 _intact(archive, names, recorded, (signatures.SIGNATURES_FILE, *signatures.SIGNED_FILES.values())),
                 events, _recorded_hashes(recorded))]
    return recorded, found, file_entry(data, len(events))


def _acknowledgement_problems(archive: zipfile.ZipFile, names: set[str], document: Mapping[str, Any],
                              recorded: Mapping[str, Any], events: list[Stored]) -> list[str]:
    """Acknowledgements in an intact ``alerts.csv`` that differ from the trail's (changed in the database
    before the export). A missing or altered ``alerts.csv`` is named by the manifest checks instead."""
    data = _intact(archive, names, recorded, [ack_evidence.ALERTS_FILE]).get(ack_evidence.ALERTS_FILE)
    return [] if data is None else ack_evidence.bundle_problems(data, events, ack_evidence.exported_at(document))


def _recorded_hashes(recorded: Mapping[str, Any]) -> dict[str, str]:
    """Each file's SHA-256 as the export recorded it."""
    files = recorded.get("files")
    if not isinstance(files, dict):
        return {}
    return {name: str(e["sha256"]) for name, e in files.items() if isinstance(e, dict) and "sha256" in e}


def _intact(archive: zipfile.ZipFile, names: set[str], recorded: Mapping[str, Any],
            wanted: Iterable[str]) -> dict[str, bytes]:
    """Those of ``wanted`` that are in the bundle exactly as the export recorded them (an altered one is named by
    the manifest checks instead)."""
    files = recorded.get("files")
    out = {}
    for name in wanted:
        entry_ = files.get(name) if isinstance(files, dict) else None
        size = _declared_bytes(entry_)
        if name not in names or not isinstance(entry_, dict) or size is None:
            continue
        data = _read(archive, name, size)
        if data is not None and sha256(data) == entry_.get("sha256"):
            out[name] = data
    return out


def entry(sha256_hex: str, size: int, rows: int | None = None) -> dict[str, int | str]:
    """A file's entry in the manifest: its SHA-256, its size in bytes and, for a CSV, its rows."""
    found: dict[str, int | str] = {"sha256": sha256_hex, "bytes": size}
    if rows is not None:
        found["rows"] = rows
    return found


def file_entry(data: bytes, rows: int | None = None) -> dict[str, int | str]:
    return entry(sha256(data), len(data), rows)


def audit_csv(events: Iterable[Stored]) -> tuple[bytes, int]:
    """The whole chain as ``audit.csv`` bytes, and the number of events."""
    out = io.StringIO(newline="")
    writer = csv_cells.writer(out)
    writer.writerow(AUDIT_HEADER)
    count = 0
    for event in events:
        writer.writerow(audit_row(event))
        count += 1
    return out.getvalue().encode("utf-8"), count
