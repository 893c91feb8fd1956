"""An export bundle made from a database the simulator filled over the real broker verifies offline, and any
changed byte in it is found and named; on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.core import manifest
from fridge_monitor.inventory import catalog, lot_safety
from fridge_monitor.inventory import ledger as inventory
from fridge_monitor.store import accounts
from fridge_monitor.store import models as m

from support import REPO, cli, wait_until

START = (datetime.now(UTC) - timedelta(hours=7)).replace(minute=0, second=0, microsecond=0)


def simulate(mqtt_url: str, prefix: str, *, scenarios: str = "compressor-failure,normal",
             start: datetime = START) -> None:
    """A fridge per scenario (two by default), five hours every five minutes; the first one's compressor fails
    after an hour."""
    done = subprocess.run(
        [sys.executable, "-m", "sensors", "--broker", mqtt_url, "--fridges", str(len(scenarios.split(","))),
         "--prefix", prefix, "--scenario", scenarios, "--interval", "300", "--count", "60", "--speed", "7200",
         "--onset", "3600", "--start", start.isoformat(), "--seed", "3", "-q"],
        capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stderr


@pytest.fixture
def filled(database_url, make_config, ingest_processes, engine_for, mqtt_url, prefix):
    """(config path, engine): readings from the simulator through a real ingest, judged; a lot and its review."""
    _config, path = make_config(
        database_url, sites=[{"name": "Ward 3", "timezone": "Europe/Berlin"}],
        fridges=[{"name": "Botox", "site": "Ward 3", "sensors": ["native:sim-fridge-1"]},
                 {"name": "Vaccines", "site": "Ward 3", "sensors": ["native:sim-fridge-2"]}])
    engine = engine_for(database_url)
    with so.Session(engine) as session, session.begin():
        accounts.create_user(session, "nina", "nurse", "nurse-password-1", actor="test", now=START)
    ingest = ingest_processes(path).start()
    wait_until(lambda: "subscribed" in ingest.log() or "connected" in ingest.log(), 30, what="ingest to connect")
    received = START + timedelta(minutes=2)
    with so.Session(engine) as session, session.begin():
        botox = session.scalar(sa.select(m.Product).where(m.Product.catalogue_key == "botox"))
        fridge = session.scalar(sa.select(m.Fridge).where(m.Fridge.name == "Botox"))
        lot = catalog.lot_for(session, product_id=botox.id, lot_number="C7012AB",
                                expiry=received.date() + timedelta(days=300), actor="nina", now=received)
        inventory.receive(session, lot_id=lot.id, fridge_id=fridge.id, quantity=6, actor="nina", now=received)
        lot_id = lot.id
    simulate(mqtt_url, prefix)

    def stored() -> int:
        with engine.connect() as conn:
            return conn.scalar(sa.select(sa.func.count()).select_from(m.Reading))

    wait_until(lambda: stored() >= 120, 60, what="the simulator's 120 readings to be stored")
    ingest.terminate()
    checked = cli("--config", str(path), "check")
    assert checked.returncode == 0, checked.stderr
    with so.Session(engine) as session, session.begin():
        assert session.scalar(sa.select(sa.func.count()).select_from(m.LotReview)) >= 1
        lot_safety.record_disposition(session, lot_id=lot_id, decision="discarded", reference=None,
                                      note="manufacturer: discard", actor="nina", now=datetime.now(UTC))
    return path, engine


def verify(path: Path) -> subprocess.CompletedProcess[str]:
    return cli("audit", "verify", str(path))


def rewrite(source: Path, target: Path, change: dict[str, bytes]) -> None:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for name in old.namelist():
            new.writestr(name, change.get(name, old.read(name)))


@pytest.mark.slow
def test_a_bundle_of_simulated_data_verifies_and_every_changed_byte_is_named(filled, tmp_path):
    path, engine = filled
    out = tmp_path / "bundle.zip"
    made = cli("--config", str(path), "export", "bundle", "--from", START.date().isoformat(),
               "--to", datetime.now(UTC).date().isoformat(), "--out", str(out))
    assert made.returncode == 0, made.stderr
    assert "files" in made.stderr and "written to" in made.stderr

    ok = verify(out)
    assert ok.returncode == 0, ok.stderr
    assert "verifies" in ok.stdout

    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        members = {name: archive.read(name) for name in names}
    assert {"manifest.json", "readings.csv", "daily.csv", "excursions.csv", "alerts.csv", "notifications.csv",
            "stock.csv", "lot_dispositions.csv", "rejected.csv", "audit.csv"} <= set(names)
    assert any(name.startswith("reports/Botox_") and name.endswith(".pdf") for name in names)
    document = json.loads(members["manifest.json"])
    assert document["files"]["readings.csv"]["rows"] >= 120
    readings = members["readings.csv"].decode()
    assert readings.count("\n") - 1 == document["files"]["readings.csv"]["rows"]
    assert "discarded" in members["lot_dispositions.csv"].decode()
    assert ",heat," in members["excursions.csv"].decode()
    # The export is itself in the audit trail, with who made it.
    with engine.connect() as conn:
        actor = conn.scalar(sa.select(m.AuditEvent.actor).where(m.AuditEvent.id == document["export_event"]))
    assert actor.endswith("(command line)")

    # Every file and the manifest, one changed byte at its start, middle and end: each is named. The
    # command line runs for two of them; the rest call the same check in-process (it is pure).
    for name in names:
        data = members[name]
        for position in (0, len(data) // 2, len(data) - 1):
            flipped = data[:position] + bytes([data[position] ^ 0x20]) + data[position + 1:]
            tampered = tmp_path / "tampered.zip"
            rewrite(out, tampered, {name: flipped})
            with zipfile.ZipFile(tampered) as archive:
                problems = manifest.verify_bundle(archive)
            assert problems and all(p.startswith(f"{name}: ") for p in problems), (name, position, problems)
    for name in ("manifest.json", "readings.csv"):
        data = members[name]
        rewrite(out, tmp_path / "tampered.zip", {name: data[:10] + bytes([data[10] ^ 0x20]) + data[11:]})
        result = verify(tmp_path / "tampered.zip")
        assert result.returncode == 1 and f": {name}: altered" in result.stderr, result.stderr


def test_verify_needs_no_database_and_explains_a_bad_file(tmp_path):
    not_zip = tmp_path / "bundle.zip"
    not_zip.write_bytes(b"hello")
    result = cli("audit", "verify", str(not_zip), env={"FRIDGE_MONITOR_DATABASE_URL": "postgresql://nobody@256.0.0.1/x"})
    assert result.returncode == 2 and "not a readable zip file" in result.stderr
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readings.csv", "a\n")
    not_zip.write_bytes(buffer.getvalue())
    result = cli("audit", "verify", str(not_zip))
    assert result.returncode == 1
    assert "manifest.json: missing" in result.stderr
