"""`audit verify FILE.zip` refuses hostile zips cleanly: an over-long CSV field, repeated names, a zip bomb."""

from __future__ import annotations

import warnings
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from fridge_monitor.core import manifest
from fridge_monitor.core.audit import GENESIS, Entry, Stored, entry_hash

from support import cli

AT = datetime(2026, 3, 31, 22, 0, tzinfo=UTC)
READINGS = b"measured_at_utc,fridge,sensor,temperature_c,received_at_utc\n"


def members(reason: str = "moved vials", readings: bytes = READINGS) -> dict[str, bytes]:
    """A bundle's members made the way bundle.build makes them, one acknowledgement carrying ``reason``."""
    document = {
        "format": manifest.FORMAT, "generator": "fridge-monitor test",
        "period": {"from": "2026-03-01T00:00:00Z", "to": "2026-04-01T00:00:00Z"},
        "fridges": ["A1"], "exported_by": "otto", "exported_at": "2026-04-02T08:00:00Z",
        "files": {"readings.csv": manifest.file_entry(readings)},
    }
    entries = [Entry(AT, "nina", "acknowledge", "alert", "7", "action", None, "done", reason),
               Entry(AT, "otto", manifest.EXPORT_ACTION, manifest.EXPORT_RECORD, "2026-03", "manifest_claims",
                     None, manifest.claims_text(document), "export")]
    events, prev = [], GENESIS
    for number, entry in enumerate(entries, start=1):
        events.append(Stored(number, entry, prev, entry_hash(prev, entry)))
        prev = events[-1].hash
    audit, count = manifest.audit_csv(events)
    document["files"][manifest.AUDIT_FILE] = manifest.file_entry(audit, count)
    document["audit_head"] = {"id": events[-1].id, "hash": events[-1].hash}
    document["export_event"] = events[-1].id
    return {manifest.MANIFEST: manifest.canonical(document), manifest.AUDIT_FILE: audit, "readings.csv": readings}


def write(path: Path, entries: list[tuple[str, bytes]]) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns of the duplicate name we make on purpose
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, data in entries:
                archive.writestr(name, data)
    return path


def verify_fails_with(path: Path, problem: str) -> None:
    result = cli("audit", "verify", str(path))
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines == [f"fridge-monitor: {path}: {problem}", f"bundle {path} does NOT verify: 1 problem"], lines


def test_the_hand_made_bundle_verifies(tmp_path):
    path = write(tmp_path / "ok.zip", list(members().items()))
    result = cli("audit", "verify", str(path))
    assert result.returncode == 0, result


def test_a_200_kb_csv_field_is_a_problem_naming_the_file_not_a_traceback(tmp_path):
    path = write(tmp_path / "long.zip", list(members(reason="x" * 200_000).items()))
    result = cli("audit", "verify", str(path))
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"fridge-monitor: {path}: audit.csv: altered or damaged: "), lines
    assert "field larger than field limit" in lines[0]


def test_a_zip_repeating_a_member_name_is_refused(tmp_path):
    good = members()
    path = write(tmp_path / "twice.zip", [*good.items(), ("readings.csv", READINGS + b"forged row\n")])
    verify_fails_with(path, "readings.csv: appears 2 times in the zip (a bundle never repeats a name): refused")


def test_a_member_larger_than_its_manifest_size_is_refused_unread(tmp_path):
    good = members()
    bomb = b"0" * (64 << 20)  # 64 MiB of zeros deflate to about 64 KB
    path = write(tmp_path / "bomb.zip",
                 [(name, bomb if name == "readings.csv" else data) for name, data in good.items()])
    verify_fails_with(path,
                      f"readings.csv: larger than the {len(READINGS)} bytes the manifest gives it: refused unread")
