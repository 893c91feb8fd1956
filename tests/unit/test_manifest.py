"""Offline verification of export bundles: any changed byte is found and named."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime

import pytest

from fridge_monitor.core import manifest
from fridge_monitor.core.audit import GENESIS, Entry, Stored, entry_hash

AT = datetime(2026, 3, 31, 22, 0, 0, 123456, tzinfo=UTC)
FILES = {
    "readings.csv": b"measured_at_utc,fridge,sensor,temperature_c,received_at_utc\n"
                    b"2026-03-01T00:00:00Z,A1,native:a1,4.2,2026-03-01T00:00:01Z\n",
    "reports/A1_2026-03.pdf": b"%PDF-1.4 not really a pdf but bytes all the same\n",
}


def chain(entries: list[Entry]) -> list[Stored]:
    out, prev = [], GENESIS
    for number, entry in enumerate(entries, start=1):
        digest = entry_hash(prev, entry)
        out.append(Stored(number, entry, prev, digest))
        prev = digest
    return out


def bundle(files: dict[str, bytes] = FILES) -> dict[str, bytes]:
    """The members of a bundle made the way bundle.build makes one."""
    document = {
        "format": manifest.FORMAT, "generator": "fridge-monitor test",
        "period": {"from": "2026-03-01T00:00:00Z", "to": "2026-04-01T00:00:00Z"},
        "fridges": ["A1"], "exported_by": "otto", "exported_at": "2026-04-02T08:00:00Z",
        "files": {name: manifest.file_entry(data) for name, data in files.items()},
    }
    events = chain([
        Entry(AT, "ada", "update", "fridge", "1", "high_c", "8.0", "6.0", "Botox label"),
        Entry(AT, "nina", "acknowledge", "alert", "7", "action", None, "\\N moved vials", None),
        Entry(AT, "otto", manifest.EXPORT_ACTION, manifest.EXPORT_RECORD, "2026-03", "manifest_claims",
              None, manifest.claims_text(document), "export"),
    ])
    audit, count = manifest.audit_csv(events)
    document["files"][manifest.AUDIT_FILE] = manifest.file_entry(audit, count)
    document["audit_head"] = {"id": events[-1].id, "hash": events[-1].hash}
    document["export_event"] = events[-1].id
    return {manifest.MANIFEST: manifest.canonical(document), manifest.AUDIT_FILE: audit, **files}


def problems(members: dict[str, bytes]) -> list[str]:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive:
        return manifest.verify_bundle(archive)


def flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]


def test_a_bundle_as_written_verifies():
    assert problems(bundle()) == []


def test_audit_rows_give_back_the_same_events_and_hashes():
    members = bundle()
    events = list(manifest.read_audit(members[manifest.AUDIT_FILE]))
    assert [e.entry.actor for e in events] == ["ada", "nina", "otto"]
    assert events[1].entry.old_value is None and events[1].entry.new_value == "\\N moved vials"
    assert events[1].entry.reason is None
    assert events[0].entry.at == AT
    assert all(entry_hash(e.prev_hash, e.entry) == e.hash for e in events)


@pytest.mark.parametrize("name", ["readings.csv", "reports/A1_2026-03.pdf", manifest.AUDIT_FILE])
@pytest.mark.parametrize("position", [0, 40, -2])
def test_one_changed_byte_in_any_file_is_named(name, position):
    members = bundle()
    data = members[name]
    members[name] = flip(data, position % len(data))
    found = problems(members)
    assert found and all(p.startswith(f"{name}: altered") for p in found), found


@pytest.mark.parametrize("share", [n / 40 for n in range(40)])
def test_one_changed_byte_of_the_manifest_is_named(share):
    members = bundle()
    raw = members[manifest.MANIFEST]
    members[manifest.MANIFEST] = flip(raw, int(share * len(raw)))
    found = problems(members)
    assert found and all(p.startswith(f"{manifest.MANIFEST}: altered") for p in found), found


def test_a_rewritten_manifest_that_still_lists_true_hashes_does_not_match_the_recorded_export():
    import json

    members = bundle()
    document = json.loads(members[manifest.MANIFEST])
    document["exported_by"] = "someone-else"  # canonical again, hashes all true: only the audit event knows
    members[manifest.MANIFEST] = manifest.canonical(document)
    assert problems(members) == [
        f"{manifest.MANIFEST}: altered ('exported_by' differs from the export recorded in the audit trail)"]


def test_added_missing_and_unlisted_files_are_named():
    members = bundle()
    members["extra.csv"] = b"a,b\n"
    del members["readings.csv"]
    assert problems(members) == [
        "readings.csv: missing from the bundle",
        "extra.csv: not listed in the manifest (added after the export)",
    ]
    assert problems({k: v for k, v in bundle().items() if k != manifest.MANIFEST}) == [
        f"{manifest.MANIFEST}: missing, so nothing in this zip can be verified"]


def test_a_removed_audit_event_breaks_the_chain_even_with_a_matching_file_hash():
    import json

    members = bundle()
    lines = members[manifest.AUDIT_FILE].decode().splitlines(keepends=True)
    members[manifest.AUDIT_FILE] = "".join(lines[:1] + lines[2:]).encode()
    document = json.loads(members[manifest.MANIFEST])
    document["files"][manifest.AUDIT_FILE] = manifest.file_entry(members[manifest.AUDIT_FILE], 2)
    members[manifest.MANIFEST] = manifest.canonical(document)
    assert problems(members) == [
        f"{manifest.AUDIT_FILE}: altered: audit trail broken: event 2 does not follow the event before it "
        "(an event was removed, inserted or reordered before it)"]
