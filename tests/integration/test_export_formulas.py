"""No CSV export carries a cell a spreadsheet would run (a formula from an MQTT publisher or a free-text reason),
numbers stay numbers, and a bundle with such content still verifies; on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.core.readings import Reading
from fridge_monitor.ingest.batches import Batch, Store
from fridge_monitor.inventory import catalog
from fridge_monitor.inventory import ledger as inventory
from fridge_monitor.reports import bundle, export
from fridge_monitor.store import audit_trail
from fridge_monitor.store import models as m
from fridge_monitor.store.sync import sync_config

from support import cli, clinic_config

NOW = datetime.now(UTC).replace(microsecond=0)
START = NOW - timedelta(hours=2)
FORMULA = '=HYPERLINK("http://x")'


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def written(write, engine, *args, **kwargs) -> str:
    out = io.StringIO(newline="")
    write(engine, out, *args, **kwargs)
    return out.getvalue()


def test_formulas_become_text_numbers_stay_numbers_and_the_bundle_verifies(database_url, engine_for, tmp_path):
    engine = engine_for(database_url)
    config = clinic_config([{"name": "Freezer", "site": "Clinic A", "sensors": ["native:f1"]}], database_url)
    with so.Session(engine) as s, s.begin():
        sync_config(s, config, NOW - timedelta(days=2))
        freezer = s.scalar(sa.select(m.Fridge.id).where(m.Fridge.name == "Freezer"))
        botox = s.scalar(sa.select(m.Product.id).where(m.Product.catalogue_key == "botox"))
        lot = catalog.lot_for(s, product_id=botox, lot_number="-LOT1", expiry=date(2030, 1, 31),
                                actor="nurse.kim", now=START)
        inventory.receive(s, lot_id=lot.id, fridge_id=freezer, quantity=6, actor="nurse.kim", now=START)
        inventory.discard(s, lot_id=lot.id, fridge_id=freezer, quantity=2, reason_code="other", reason="@SUM(1)",
                          actor="nurse.kim", now=START + timedelta(minutes=5))
        s.add(m.RejectedMessage(received_at=START + timedelta(minutes=1), topic="+cmd", format=None, sensor_id=None,
                                reason="-not a reading", payload=FORMULA.encode(), payload_size=len(FORMULA)))
        audit_trail.record(s, at=START + timedelta(minutes=2), actor="test", action="update", record_type="fridge",
                           record_id="Freezer", field="note", old="=1+1", new="-18.5", reason="+cmd")
    Store(engine).write(Batch(readings=[
        (Reading("native:f1", "native", "f1", START + timedelta(minutes=t), -18.5, 90), START + timedelta(minutes=t))
        for t in (0, 5, 10)]))
    period = (START - timedelta(hours=1), NOW + timedelta(hours=1))

    rejected = written(export.export_rejected, engine, *period)
    [row] = rows(rejected)
    assert (row["topic"], row["reason"], row["payload"]) == ("'+cmd", "'-not a reading", "'" + FORMULA)

    stock = written(export.export_stock, engine, *period)
    discard = [r for r in rows(stock) if r["movement"] == "discard"]
    assert [(r["reason"], r["quantity"], r["lot"]) for r in discard] == [("'@SUM(1)", "-2", "'-LOT1")]

    readings = written(export.export_readings, engine, *period)
    assert [r["temperature_c"] for r in rows(readings)] == ["-18.5"] * 3
    assert "-18.5" in {r["min_c"] for r in rows(written(
        export.export_daily, engine, (NOW - timedelta(days=1)).date(), NOW.date(), config=config, now=NOW))}

    audit = rows(written(export.export_audit, engine, *period))
    [event] = [e for e in audit if e["record_id"] == "Freezer" and e["field"] == "note"]
    assert (event["old_value"], event["new_value"], event["reason"]) == ("'=1+1", "-18.5", "'+cmd")

    for text in (rejected, stock, readings):
        for line in text.splitlines()[1:]:
            assert not any(cell.startswith(("=", "+", "@", "\t", "\r")) for cell in next(csv.reader([line])))

    made = bundle.build(engine, config, bundle.Request(*period), tmp_path / "bundle.zip", actor="test", now=NOW)
    with zipfile.ZipFile(made.path) as archive:
        assert "'+cmd" in archive.read("rejected.csv").decode()
        assert "'@SUM(1)" in archive.read("stock.csv").decode()
        assert "'=1+1" in archive.read("audit.csv").decode()
    verified = cli("audit", "verify", str(made.path))
    assert verified.returncode == 0, verified.stdout + verified.stderr
