"""Per-site access: a nurse, supervisor or auditor listed at North Clinic sees and changes only North Clinic.

Two sites, each with a fridge that had an excursion (an alert, an excursion record, a lot put under review), a
lot of its own, and an export bundle of its own. The matrix walks every route as every role limited to North:
a route naming a South record answers 404 — the words a missing record gets, so South's names never show — and
the same route naming North's record is served; every page and API list leaves South out. Admins, and users
with no sites listed, see both.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so
from werkzeug.routing import IntegerConverter

from fridge_monitor.alerts.evaluate import Evaluator
from fridge_monitor.config import build_config
from fridge_monitor.core.readings import Reading
from fridge_monitor.ingest.batches import Batch, Store
from fridge_monitor.inventory import catalog
from fridge_monitor.inventory import ledger as inventory
from fridge_monitor.store import models as m
from fridge_monitor.store import site_access
from fridge_monitor.store.sync import sync_declarations
from fridge_monitor.web import create_app
from fridge_monitor.web.scope import NOT_FOUND

from support import add_users, cli

NOW = datetime.now(UTC).replace(microsecond=0)
ROLES = ("nurse", "supervisor", "auditor")
SOUTH_MARKS = ("Zebra-Fridge-South", "South Clinic", "LOTSOUTH77", "native:zebra-probe", "south-ward")
# Route arguments that name no site's record: a stock form's kind, a month, a logger file within its (checked)
# fridge. Admin pages are for admins, who see every site.
NOT_SITE_RECORDS = {"kind", "month", "file_id", "asset"}  # asset: a file of Swagger UI


def reading(sensor: str, at: datetime, celsius: float) -> tuple[Reading, datetime]:
    fmt, device = sensor.split(":")
    return Reading(sensor, fmt, device, at, celsius), at


@pytest.fixture
def clinic(sqlite_url, engine_for):
    """(app, engine, records by site: fridge, alert, excursion, lot, export, sensor; user ids by name)."""
    engine = engine_for(sqlite_url)
    config = build_config({
        "database": {"url": sqlite_url},
        "sites": [{"name": "North Clinic", "timezone": "Europe/Berlin"},
                  {"name": "South Clinic", "timezone": "Europe/Lisbon"}],
        "fridges": [{"name": "North-1", "site": "North Clinic", "sensors": ["native:north-probe"]},
                    {"name": "Zebra-Fridge-South", "site": "South Clinic", "sensors": ["native:zebra-probe"]}],
        "alerts": {"channels": [{"name": "south-ward", "type": "webhook", "url": "http://127.0.0.1:9/hook",
                                 "sites": ["South Clinic"]}]},
    }, {}, {}, "test")
    sync_declarations(engine, config, NOW - timedelta(days=2))
    records: dict[str, dict[str, object]] = {"north": {}, "south": {}}
    with so.Session(engine) as session, session.begin():
        botox = session.scalar(sa.select(m.Product).where(m.Product.catalogue_key == "botox"))
        for side, fridge_name, number in (("north", "North-1", "LOTNORTH11"), ("south", "Zebra-Fridge-South",
                                                                                  "LOTSOUTH77")):
            fridge = session.scalar(sa.select(m.Fridge).where(m.Fridge.name == fridge_name))
            lot = catalog.lot_for(session, product_id=botox.id, lot_number=number, expiry=date(2030, 1, 31),
                                  actor="test", now=NOW - timedelta(hours=3))
            inventory.receive(session, lot_id=lot.id, fridge_id=fridge.id, quantity=5, actor="test",
                              now=NOW - timedelta(hours=3))
            records[side].update(fridge=fridge_name, lot=lot.id)
            job = m.ExportJob(requested_by="test", requested_at=NOW, period_from=NOW - timedelta(days=1),
                              period_to=NOW, fridges=json.dumps([fridge_name]), state="done", progress=1.0,
                              step="done", updated_at=NOW, finished_at=NOW, file_name=f"{side}.zip", bytes=1,
                              sha256="0" * 64)
            session.add(job)
            session.flush()
            records[side]["export"] = job.id
    # Both fridges too warm for an hour: an excursion, its alert, and the lot in it under review.
    hot = [NOW - timedelta(minutes=k) for k in range(70, 0, -2)]
    Store(engine).write(Batch(readings=[reading(sensor, at, 12.5) for sensor in ("native:north-probe",
                                                                                  "native:zebra-probe")
                                        for at in hot]))
    evaluator = Evaluator(engine, config, clock=lambda: NOW)
    evaluator.everything()
    evaluator.outbox.close()
    with so.Session(engine) as session:
        for side in ("north", "south"):
            fridge_id = session.scalar(sa.select(m.Fridge.id).where(m.Fridge.name == records[side]["fridge"]))
            records[side]["alert"] = session.scalar(sa.select(sa.func.min(m.Alert.id))
                                                    .where(m.Alert.fridge_id == fridge_id))
            records[side]["excursion"] = session.scalar(sa.select(sa.func.min(m.Excursion.id))
                                                        .where(m.Excursion.fridge_id == fridge_id))
            records[side]["sensor"] = f"native:{'north' if side == 'north' else 'zebra'}-probe"
            records[side]["site"] = session.scalar(sa.select(m.Fridge.site_id).where(m.Fridge.id == fridge_id))
    assert all(records[side][kind] for side in records for kind in ("alert", "excursion", "lot")), records
    with so.Session(engine) as session, session.begin():
        # South's channel failed: a worry for South's staff, not North's.
        session.add(m.Notification(alert_id=records["south"]["alert"], channel="south-ward", channel_type="webhook",
                                   tier=1, event="opened", attempt=9, due_at=NOW, sent_at=NOW, ok=False,
                                   detail="connection refused"))
        for side in ("north", "south"):
            certificate = m.CalibrationCertificate(
                sensor_id=records[side]["sensor"], number=f"CAL-{side}", laboratory="Lab", accreditation_body="UKAS",
                accreditation_number="0001", calibrated_on=date(2026, 1, 5), due_on=date(2027, 1, 5), model="T1",
                serial=side, points="[]", uncertainty_c=0.1, lab_result="pass", file_name=f"{side}.pdf",
                file_type="application/pdf", file_size=4, file_sha256="0" * 64, content=b"%PDF", recorded_by="test",
                recorded_at=NOW)
            session.add(certificate)
            session.flush()
            records[side]["certificate"] = certificate.id
    users = add_users(engine, [(f"{role}-north", role) for role in ROLES]
                      + [("nurse-everywhere", "nurse"), ("admin-1", "admin")], NOW, password="long-enough-pw")
    with so.Session(engine) as session, session.begin():
        for role in ROLES:
            site_access.set_sites(session, session.get(m.User, users[f"{role}-north"]), {records["north"]["site"]},
                                  actor="test", now=NOW, reason="works at North")
    app = create_app(config, engine=engine, testing=True)
    app.config["WTF_CSRF_ENABLED"] = False  # about sites; CSRF has its own tests
    return app, engine, records, users


def as_user(app, engine, user_id):
    client = app.test_client()
    with so.Session(engine) as session:
        version = session.get(m.User, user_id).session_version
    with client.session_transaction() as session:
        session["user_id"], session["session_version"] = user_id, version
    return client


def site_routes(app):
    """Every non-admin route whose URL names a record: (endpoint, rule, method, {argument: kind})."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or not rule.arguments or rule.rule.startswith("/admin/"):
            continue
        view = app.view_functions[rule.endpoint]
        declared = getattr(view, "site_records", {})
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, rule, method, declared


def url_for_side(rule, records, side):
    values = {}
    for argument in rule.arguments:
        kind = {"name": "fridge", "fridge": "fridge", "alert_id": "alert", "excursion_id": "excursion",
                "lot_id": "lot", "job_id": "export", "sensor_id": "sensor", "site_id": "site",
                "certificate_id": "certificate"}.get(argument)
        if kind is not None and kind in records[side]:
            values[argument] = records[side][kind]
        elif isinstance(rule._converters[argument], IntegerConverter):
            values[argument] = 1
        else:
            values[argument] = {"month": NOW.strftime("%Y-%m"), "kind": "receive"}.get(argument, "x")
    return rule.build(values, append_unknown=False)[1]


def test_every_route_naming_a_record_declares_which(clinic):
    app, *_ = clinic
    walked = 0
    for endpoint, rule, _method, declared in site_routes(app):
        undeclared = set(rule.arguments) - declared.keys() - NOT_SITE_RECORDS
        assert not undeclared, f"{endpoint} takes {sorted(undeclared)} without saying what they name"
        walked += 1
    assert walked >= 25


def test_the_matrix_other_sites_records_are_404_own_sites_are_served(clinic):
    app, engine, records, users = clinic
    checked = 0
    for endpoint, rule, method, declared in site_routes(app):
        if not declared:
            continue
        roles = app.view_functions[endpoint].allowed_roles
        south, north = url_for_side(rule, records, "south"), url_for_side(rule, records, "north")
        for role in ROLES:
            client = as_user(app, engine, users[f"{role}-north"])
            theirs = client.open(south, method=method)
            ours = client.open(north, method=method)
            if role not in roles:
                assert theirs.status_code == ours.status_code == 403, (endpoint, method, role)
                continue
            assert theirs.status_code == 404, (endpoint, method, role, south, theirs.status_code)
            body = theirs.get_data(as_text=True)
            assert not any(mark in body for mark in SOUTH_MARKS[1:] if mark not in south), (endpoint, body[:300])
            if getattr(app.view_functions[endpoint], "every_site", None):
                assert ours.status_code == 403, (endpoint, role)  # a bundle carries every site's audit trail
            elif not set(rule.arguments) & NOT_SITE_RECORDS:  # (a logger file 1 need not exist)
                # Served: at most a 404 about something else (a month with no addendum), never the record's own.
                refused = ours.status_code == 404 and any(
                    NOT_FOUND[kind].split("{")[0] in ours.get_data(as_text=True) for kind in declared.values())
                assert ours.status_code != 403 and not refused, (endpoint, method, role, north, ours.status_code)
            checked += 1
        # Someone who sees every site reaches South's record as before.
        admin = as_user(app, engine, users["admin-1"]).open(south, method=method)
        assert not (admin.status_code == 404 and any(NOT_FOUND[kind].split("{")[0] in admin.get_data(as_text=True)
                                                     for kind in declared.values())), endpoint
    assert checked >= 40


def test_every_page_and_list_leaves_other_sites_out(clinic):
    app, engine, records, users = clinic
    lists = [rule.rule for rule in app.url_map.iter_rules()
             if not rule.arguments and "GET" in rule.methods and not rule.rule.startswith(("/admin", "/static"))
             and rule.rule not in ("/login", "/healthz")]
    extra = ["/alerts?state=all", "/api/v1/alerts?state=all", "/api/v1/lots?all=true", "/?q=e",
             "/inventory?status=all", f"/lots/{records['north']['lot']}", f"/api/v1/lots/{records['north']['lot']}",
             "/fridges/North-1", "/api/v1/checks"]
    assert len(lists) >= 15
    for role in ROLES:
        client = as_user(app, engine, users[f"{role}-north"])
        for url in lists + extra:
            response = client.get(url)
            if response.status_code == 403:
                endpoint = app.url_map.bind("").match(url.split("?")[0])[0]
                roles = app.view_functions[endpoint].allowed_roles
                # by role, or a page of every site's records (the audit trail, the metrics)
                assert role not in roles or getattr(app.view_functions[endpoint], "every_site", None), (url, role)
                continue
            body = response.get_data(as_text=True)
            leaked = [mark for mark in SOUTH_MARKS if mark in body]
            assert not leaked, (role, url, leaked)
    # The same lists show South to someone who sees every site, so the check above can fail.
    for name in ("admin-1", "nurse-everywhere"):
        client = as_user(app, engine, users[name])
        assert "Zebra-Fridge-South" in client.get("/alerts?state=all").get_data(as_text=True)
        assert "south-ward" in client.get("/").get_data(as_text=True)
        assert "LOTSOUTH77" in client.get("/api/v1/lots").get_data(as_text=True)
        assert "South Clinic" in client.get("/").get_data(as_text=True)


def test_a_nurse_cannot_act_on_another_site(clinic):
    app, engine, records, users = clinic
    client = as_user(app, engine, users["nurse-north"])
    answer = client.post(f"/api/v1/alerts/{records['south']['alert']}/acknowledge",
                         json={"action": "moved the vials to the backup fridge"})
    assert answer.status_code == 404
    assert answer.get_json()["error"]["message"] == f"there is no alert {records['south']['alert']}"
    moved = client.post("/api/v1/stock/transfer", json={"from": "North-1", "to": "Zebra-Fridge-South",
                                                        "lot_id": records["north"]["lot"], "quantity": 1})
    assert moved.status_code == 404 and "Zebra-Fridge-South" in moved.get_json()["error"]["message"]
    used = client.post("/api/v1/stock/use", json={"fridge": "Zebra-Fridge-South", "lot_id": records["south"]["lot"]})
    assert used.status_code == 404
    with so.Session(engine) as session:
        alert = session.get(m.Alert, records["south"]["alert"])
        assert alert.acknowledged_at is None
        held = session.scalar(sa.select(sa.func.sum(m.StockEntry.delta)).where(m.StockEntry.lot_id
                                                                               == records["south"]["lot"]))
        assert held == 5
    # Their own site's alert they acknowledge as always.
    ours = client.post(f"/api/v1/alerts/{records['north']['alert']}/acknowledge",
                       json={"action": "moved the vials to the backup fridge"})
    assert ours.status_code == 200, ours.get_data(as_text=True)


def test_a_lot_held_at_both_sites_is_decided_only_where_the_user_works(clinic):
    app, engine, records, users = clinic
    admin = as_user(app, engine, users["admin-1"])
    moved = admin.post("/api/v1/stock/transfer", json={"from": "North-1", "to": "Zebra-Fridge-South",
                                                       "lot_id": records["north"]["lot"], "quantity": 2})
    assert moved.status_code == 200, moved.get_data(as_text=True)
    nurse = as_user(app, engine, users["nurse-north"])
    seen = nurse.get(f"/api/v1/lots/{records['north']['lot']}").get_json()
    assert isinstance(seen, dict)
    assert [f["fridge"] for f in seen["fridges"]] == ["North-1"] and seen["quantity"] == 3
    decided = nurse.post(f"/api/v1/lots/{records['north']['lot']}/disposition",
                         json={"decision": "discarded", "note": "exposed at 12.5 °C",
                               "signature": {"password": "long-enough-pw", "meaning": "approved"}})
    assert decided.status_code == 200, decided.get_data(as_text=True)
    with so.Session(engine) as session:
        left = {name: units for name, units in session.execute(
            sa.select(m.Fridge.name, sa.func.sum(m.StockEntry.delta))
            .join(m.Fridge, m.Fridge.id == m.StockEntry.fridge_id)
            .where(m.StockEntry.lot_id == records["north"]["lot"]).group_by(m.Fridge.name))}
    assert left == {"North-1": 0, "Zebra-Fridge-South": 2}


def test_exports_of_a_limited_auditor_hold_their_sites_only(clinic):
    app, engine, records, users = clinic
    auditor = as_user(app, engine, users["auditor-north"])
    start = (NOW - timedelta(days=1)).date().isoformat()
    end = NOW.date().isoformat()
    csv_text = auditor.post("/exports/csv", data={"kind": "alerts", "from": start, "to": end}).get_data(as_text=True)
    lines = csv_text.strip().splitlines()
    assert lines[0].startswith("id,fridge") and len(lines) >= 2
    assert all(",North-1," in line for line in lines[1:]), lines
    refused = auditor.post("/exports/csv", data={"kind": "rejected", "from": start, "to": end})
    assert refused.status_code == 400
    page = auditor.get("/exports/").get_data(as_text=True)
    assert "North-1" in page and "Zebra-Fridge-South" not in page
    assert "Ask an admin for a bundle" in page and "Make the bundle" not in page
    refused = auditor.post("/exports/bundle", data={"from": start, "to": end})
    assert refused.status_code == 403 and "whole audit trail" in refused.get_data(as_text=True)


def test_the_site_list_counts_fridges_by_state_and_a_site_page_shows_its_fridges(clinic):
    app, engine, records, users = clinic
    admin = as_user(app, engine, users["admin-1"])
    page = admin.get("/").get_data(as_text=True)
    rows = dict(re.findall(r'<tr data-site="([^"]+)"[^>]*>(.*?)</tr>', page, re.S))
    assert set(rows) == {"North Clinic", "South Clinic"}
    numbers = [re.findall(r">\s*(?:<span[^>]*>.*?</span>\s*)?(\d+)\s*<", rows[name]) for name in rows]
    assert numbers  # one fridge each, out of range (12.5 °C against 2–8 °C)
    assert all("⚠</span> 1" in row for row in rows.values()), rows
    south = admin.get(f"/sites/{records['south']['site']}").get_data(as_text=True)
    assert 'data-fridge="Zebra-Fridge-South"' in south and 'data-fridge="North-1"' not in south
    # A nurse of one site gets that site's tiles straight away, no list of sites.
    nurse = as_user(app, engine, users["nurse-north"]).get("/").get_data(as_text=True)
    assert 'data-fridge="North-1"' in nurse and "data-site=" not in nurse
    assert as_user(app, engine, users["nurse-north"]).get(
        f"/dashboard/tiles?site={records['south']['site']}").status_code == 404


def test_sites_are_set_by_admins_and_the_cli_and_audited(clinic, tmp_path):
    app, engine, records, users = clinic
    admin = as_user(app, engine, users["admin-1"])
    answer = admin.post(f"/admin/users/{users['nurse-everywhere']}/sites",
                        data={"sites-sites": [str(records["south"]["site"])], "sites-reason": "moved to South"})
    assert answer.status_code == 302
    with so.Session(engine) as session:
        nurse = session.get(m.User, users["nurse-everywhere"])
        assert site_access.sites_of(session, nurse) == {records["south"]["site"]}
        event = session.scalars(sa.select(m.AuditEvent).where(m.AuditEvent.field == "sites")
                                .order_by(m.AuditEvent.id.desc())).first()
        assert (event.record_id, event.old_value, event.new_value, event.reason) == (
            "nurse-everywhere", "every site", "South Clinic", "moved to South")
    listed = admin.get("/admin/users").get_data(as_text=True)
    assert "South Clinic" in listed and "every site" in listed
    bad = admin.post(f"/admin/users/{users['nurse-everywhere']}/sites",
                     data={"sites-sites": ["999"], "sites-reason": "typo"})
    assert bad.status_code == 200 and "not a valid choice" in bad.get_data(as_text=True).lower()


def test_the_cli_lists_users_at_sites(sqlite_url, engine_for, tmp_path):
    engine = engine_for(sqlite_url)
    sites = [{"name": "North Clinic", "timezone": "Europe/Berlin"},
             {"name": "South Clinic", "timezone": "Europe/Lisbon"}]
    sync_declarations(engine, build_config({"database": {"url": sqlite_url}, "sites": sites}, {}, {}, "test"), NOW)
    path = tmp_path / "fm.toml"
    path.write_text(f'[database]\nurl = "{sqlite_url}"\n')
    added = cli("--config", str(path), "users", "add", "kim", "--role", "nurse", "--site", "North Clinic",
                "--password-stdin", input=b"long-enough-pw\n")
    assert added.returncode == 0, added.stderr
    assert "created with role nurse at North Clinic" in added.stdout
    wrong = cli("--config", str(path), "users", "sites", "kim", "--site", "East Clinic")
    assert wrong.returncode == 2 and "no site named 'East Clinic'" in wrong.stderr
    moved = cli("--config", str(path), "users", "sites", "kim", "--site", "South Clinic", "--site", "North Clinic")
    assert moved.returncode == 0 and "works at South Clinic, North Clinic" in moved.stdout
    everywhere = cli("--config", str(path), "users", "sites", "kim")
    assert everywhere.returncode == 0 and "works at every site" in everywhere.stdout
