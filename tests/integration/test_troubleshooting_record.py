"""The excursion troubleshooting record on both databases: the simulator's compressor failure, over the real broker
and a real ingest, gives an excursion whose record Fridge Monitor fills in (times, extremes, duration, the lot and
its quantity); a nurse completes and signs it, and the PDF holds every field; until then `record-incomplete`
reminds; the API and the bundle carry it."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
import sqlalchemy.orm as so
from test_alert_pages import text as text_of
from test_bundle import simulate
from test_monthly_report import pdf_text

from fridge_monitor.alerts.evaluate import Evaluator
from fridge_monitor.config import load_config
from fridge_monitor.inventory import catalog
from fridge_monitor.inventory import ledger as inventory
from fridge_monitor.reports import bundle
from fridge_monitor.store import models as m
from fridge_monitor.web import create_app

from support import STAFF, add_users, cli, client_for, csrf, wait_until

START = (datetime.now(UTC) - timedelta(hours=7)).replace(minute=0, second=0, microsecond=0)


def test_a_compressor_failure_s_record_is_filled_completed_signed_and_exported(
        database_url, make_config, ingest_processes, engine_for, mqtt_url, prefix, tmp_path: Path):
    _config, path = make_config(
        database_url, sites=[{"name": "Ward 3", "timezone": "Europe/Berlin"}],
        fridges=[{"name": "Botox", "site": "Ward 3", "sensors": ["native:sim-fridge-1"]}],
        sections={"web": {"secret_key": "s" * 40}})
    config = load_config(path)
    engine = engine_for(database_url)
    add_users(engine, STAFF, START)
    ingest = ingest_processes(path).start()
    wait_until(lambda: "subscribed" in ingest.log() or "connected" in ingest.log(), 30, what="ingest to connect")
    received = START + timedelta(minutes=2)
    with so.Session(engine) as session, session.begin():
        botox = session.scalar(sa.select(m.Product).where(m.Product.catalogue_key == "botox"))
        fridge_id = session.scalar(sa.select(m.Fridge.id).where(m.Fridge.name == "Botox"))
        lot = catalog.lot_for(session, product_id=botox.id, lot_number="C7012AB",
                              expiry=received.date() + timedelta(days=300), actor="nina", now=received)
        inventory.receive(session, lot_id=lot.id, fridge_id=fridge_id, quantity=6, actor="nina", now=received)
        lot_id = lot.id
    simulate(mqtt_url, prefix, scenarios="compressor-failure", start=START)  # fails after an hour of five

    def stored() -> int:
        with engine.connect() as conn:
            return conn.scalar(sa.select(sa.func.count()).select_from(m.Reading))

    wait_until(lambda: stored() >= 60, 60, what="the simulator's 60 readings to be stored")
    ingest.terminate()
    assert cli("--config", str(path), "check").returncode == 0

    with so.Session(engine) as session:
        excursion = session.scalar(sa.select(m.Excursion).where(m.Excursion.rule == "out-of-range"))
        assert excursion is not None
        readings = session.execute(sa.select(m.Reading.measured_at, m.Reading.temperature_c)
                                   .order_by(m.Reading.measured_at)).all()
    beyond = [(at, c) for at, c in readings if c > 8.0 and at >= excursion.started_at]
    last_ok = max(at for at, c in readings if 2.0 <= c <= 8.0 and at < excursion.started_at)
    app = create_app(config, engine=engine, testing=True)
    nina = client_for(app, engine, "nina")
    url = f"/excursions/{excursion.id}/record"

    # What Fridge Monitor fills in: the event's times, extremes, duration, and the lot with its units.
    api = nina.get(f"/api/v1/excursions/{excursion.id}/record").get_json()
    facts = api["facts"]
    assert api["complete"] is False and "when the problem was found" in api["missing"]
    assert facts["started_at"] == excursion.started_at.isoformat().replace("+00:00", "Z")
    assert facts["ended_at"] is None and facts["peak_c"] == max(c for _, c in beyond)
    assert facts["time_beyond_s"] == excursion.time_beyond_s > 3600
    assert facts["last_in_range_at"] == last_ok.isoformat().replace("+00:00", "Z")
    assert [(x["lot_number"], x["quantity"], x["funding"]) for x in facts["lots"]] == [("C7012AB", 6, None)]

    # A day later with the record still incomplete: a reminder.
    later = excursion.started_at + timedelta(days=1, hours=1)
    evaluator = Evaluator(engine, config, clock=lambda: later)
    evaluator.everything()
    evaluator.outbox.close()
    with engine.connect() as conn:
        assert conn.execute(sa.select(m.Alert.state).where(m.Alert.kind == "record-incomplete")).scalars().all() == [
            "open"]

    page = text_of(nina.get(url))
    assert "Incomplete" in page and "C7012AB" in page
    form = {"csrf_token": csrf(nina), "found_at": (START + timedelta(hours=2)).astimezone().strftime("%Y-%m-%dT%H:%M"),
            "found_by": "Nina Tester", "room_c": "22.5", "found_c": "11.4", "found_min_c": "4.1", "found_max_c": "11.8",
            "other_contents": "Nothing else; no food or drinks.", "earlier_problems": "Door seal replaced in May.",
            "actions": "Moved the vials to fridge B, labelled DO NOT USE.", "contacted": "Allergan medical information",
            "case_number": "AL-2026-4471", "contact_answer": "Stable for 72 h up to 25 °C: may be used.",
            f"funding-{lot_id}": "private", f"outcome-{lot_id}": "Released per manufacturer",
            "outcome": "Compressor replaced; unit back in range.", "finish": "1", "meaning": "responsible",
            "sign_name": "nina", "sign_password": "nina-password-1"}
    gap = nina.post(url, data={**form, "room_c": ""})
    assert gap.status_code == 400 and "To complete the record, give the room temperature." in text_of(gap)
    draft = nina.post(url, data={**form, "room_c": "", "finish": "0"}, follow_redirects=True)
    assert "saved (version 1), as a draft" in text_of(draft)
    signed = nina.post(url, data=form, follow_redirects=True)
    assert "saved (version 2), complete and signed" in text_of(signed)
    assert "Signed by Nina Tester (nina) on " in text_of(signed) and "meaning: responsible" in text_of(signed)
    with engine.connect() as conn:
        assert conn.scalar(sa.select(m.Lot.funding).where(m.Lot.id == lot_id)) == "private"
        assert conn.execute(sa.select(m.Alert.state).where(m.Alert.kind == "record-incomplete")).scalars().all() == [
            "resolved"]

    pdf = nina.get(f"{url.removesuffix('/record')}/record.pdf")
    (tmp_path / "record.pdf").write_bytes(pdf.data)
    shown = " ".join(pdf_text(tmp_path / "record.pdf").split())
    for value in ("Vaccine Storage Troubleshooting Record", "COMPLETE", "22.5 °C", "11.4 °C (min 4.1 °C, max 11.8 °C)",
                  "Nothing else; no food or drinks.", "Door seal replaced in May.", "Moved the vials to fridge B",
                  "Allergan medical information; case number AL-2026-4471", "Stable for 72 h up to 25 °C",
                  "C7012AB", "private", "Released per manufacturer", "Compressor replaced; unit back in range.",
                  f"highest {max(c for _, c in beyond):.1f} °C", "Signed by Nina Tester (nina) on ",
                  "Version 2, saved by nina"):
        assert value in shown, value

    made = bundle.build(engine, config, bundle.Request(START, datetime.now(UTC) + timedelta(hours=1)),
                        tmp_path / "b.zip", actor="aldo")
    with zipfile.ZipFile(made.path) as archive:
        versions = list(csv.DictReader(io.StringIO(archive.read("excursion_records.csv").decode())))
        assert [(v["version"], v["complete"]) for v in versions] == [("1", "false"), ("2", "true")]
        assert f"excursion_records/Botox_{excursion.id}.pdf" in archive.namelist()
        assert ",excursion-record," in archive.read("signatures.csv").decode()
    verified = cli("audit", "verify", str(made.path))
    assert verified.returncode == 0, verified.stderr
    assert "Traceback" not in ingest.log(), ingest.log_tail()
