"""Alerts as staff meet them in the browser and the API: banner, list, acknowledgement, history; both databases."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.alerts.evaluate import Evaluator
from fridge_monitor.alerts.notify.message import STEPS
from fridge_monitor.core.readings import Reading
from fridge_monitor.ingest.batches import Batch, Store
from fridge_monitor.store import accounts
from fridge_monitor.store import models as m

from support import STAFF, client_for, clinic_app, clinic_config, csrf

NOW = datetime.now(UTC).replace(microsecond=0)
START = NOW - timedelta(hours=3)  # A1 was 9.5 °C from START + 30 min until START + 2 h: a heat alarm, now over


def minutes(n: float) -> datetime:
    return START + timedelta(minutes=n)


@pytest.fixture
def clinic(database_url, engine_for):
    engine = engine_for(database_url)
    config = clinic_config([{"name": "A1", "site": "Clinic A", "sensors": ["native:a1"]},
                            {"name": "B2", "site": "Clinic A", "sensors": ["native:b2"]}],
                           database_url, web={"secret_key": "s" * 40})
    app = clinic_app(engine, config, STAFF, NOW, NOW - timedelta(days=2))
    points = [(t, 9.5 if 30 <= t < 120 else 5.0) for t in range(0, 181, 5)]
    Store(engine).write(Batch(readings=[
        *((Reading("native:a1", "native", "a1", minutes(t), temp, 90), minutes(t)) for t, temp in points),
        *((Reading("native:b2", "native", "b2", minutes(t), 4.0, 90), minutes(t)) for t in range(0, 181, 5)),
    ]))
    evaluator = Evaluator(engine, config, clock=lambda: NOW)
    evaluator.everything()
    evaluator.outbox.close()
    return app, engine



def text(response) -> str:
    """The page as a person reads it: tags dropped, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


def stored_alerts(engine) -> list[tuple]:
    a = m.Alert
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(a.id, a.rule, a.state, a.acknowledged_by, a.action)
                                               .order_by(a.id))]


def heat_alarm(engine) -> int:
    return next(i for i, rule, *_ in stored_alerts(engine) if rule == "heat")


def test_banner_on_every_page_and_the_list_puts_what_needs_action_first(clinic):
    app, engine = clinic
    assert [(rule, state) for _, rule, state, *_ in stored_alerts(engine)] == [
        ("out-of-range", "resolved"), ("heat", "resolved")]
    nurse = client_for(app, engine, "nina")
    for path in ("/", "/fridges/B2", "/preferences", "/alerts"):
        page = text(nurse.get(path))
        assert "2 alerts waiting for acknowledgement (1 alarm)" in page, path
    assert "2 alerts waiting" in text(nurse.get("/alerts/banner"))

    listing = nurse.get("/alerts")
    assert listing.status_code == 200
    rows = re.findall(r'data-alert="(\d+)"', listing.get_data(as_text=True))
    assert len(rows) == 2
    page = text(listing)
    assert "resolved — needs acknowledgement" in page and "A1" in page

    # The dashboard: A1 is back in range but not OK while its alerts wait; B2 is OK.
    tiles = nurse.get("/dashboard/tiles").get_data(as_text=True)
    a1 = tiles.split('data-fridge="A1"')[1].split("</a>")[0]
    b2 = tiles.split('data-fridge="B2"')[1].split("</a>")[0]
    assert "ALERT" in a1 and "over, needs acknowledgement" in a1
    assert "OK" in b2 and "ALERT" not in b2


def test_a_nurse_acknowledges_with_steps_and_words_and_everyone_sees_who_and_what(clinic):
    app, engine = clinic
    alert_id = heat_alarm(engine)
    nurse = client_for(app, engine, "nina")
    detail = text(nurse.get(f"/alerts/{alert_id}"))
    assert "Heat" in detail or "heat" in detail
    assert "9.5 °C" in detail and "Mean kinetic temperature" in detail
    assert STEPS["excursion"][0] in detail

    # Without an action: a message next to the field, and nothing stored.
    token = csrf(nurse)
    refused = nurse.post(f"/alerts/{alert_id}/acknowledge", data={"csrf_token": token, "action": "  "})
    assert refused.status_code == 400
    assert "Describe the action taken" in text(refused)
    assert stored_alerts(engine)[1][3] is None

    # Acknowledging an alarm is signed: the first time in a session, user name and password, and a meaning.
    unsigned = nurse.post(f"/alerts/{alert_id}/acknowledge", data={
        "csrf_token": token, "action": "Moved all Botox vials to fridge B2, labelled DO NOT USE.",
        "meaning": "performed", "sign_name": "nina", "sign_password": "not-her-password"})
    assert unsigned.status_code == 400 and "Wrong password, or the account is locked: nothing was signed" in text(
        unsigned)
    assert stored_alerts(engine)[1][3] is None
    done = nurse.post(f"/alerts/{alert_id}/acknowledge", data={
        "csrf_token": token, "steps": [STEPS["excursion"][0], STEPS["excursion"][1]],
        "action": "Moved all Botox vials to fridge B2, labelled DO NOT USE.",
        "meaning": "performed", "sign_name": "nina", "sign_password": "nina-password-1",
    }, follow_redirects=True)
    assert done.status_code == 200
    page = text(done)
    assert "Acknowledged by nina" in page
    assert re.search(r"Signed by Nina Tester \(nina\) on \d{4}-\d\d-\d\d \d\d:\d\d CES?T, meaning: performed", page)
    assert "[x] Tell the vaccine coordinator" in page and "Moved all Botox vials to fridge B2" in page
    _, rule, state, by, action = stored_alerts(engine)[1]
    assert (rule, state, by) == ("heat", "resolved", "nina")
    assert action.splitlines() == [f"[x] {STEPS['excursion'][0]}", f"[x] {STEPS['excursion'][1]}",
                                   "Moved all Botox vials to fridge B2, labelled DO NOT USE."]
    with engine.connect() as conn:
        audited = conn.execute(sa.select(m.AuditEvent.actor, m.AuditEvent.action, m.AuditEvent.record_id)
                               .where(m.AuditEvent.record_type == "alert")).all()
    assert [tuple(r) for r in audited] == [("nina", "acknowledge", str(alert_id))]

    # The auditor reads who and what, on the alert and on the fridge's history; cannot acknowledge.
    auditor = client_for(app, engine, "aldo")
    assert "Acknowledged by nina" in text(auditor.get(f"/alerts/{alert_id}"))
    history = text(auditor.get("/fridges/A1"))
    assert "Alert history" in history and "nina" in history and "Moved all Botox vials" in history
    assert "1 alert waiting for acknowledgement" in history  # the out-of-range warning is still waiting
    assert auditor.post(f"/alerts/{alert_id}/acknowledge", data={"csrf_token": csrf(auditor),
                                                                 "action": "x"}).status_code == 403

    # A second acknowledgement is refused with who did it; the record is unchanged.
    again = nurse.post(f"/alerts/{alert_id}/acknowledge", data={"csrf_token": token, "action": "again"})
    assert again.status_code == 409
    assert "already acknowledged by nina" in text(again)
    assert stored_alerts(engine)[1][4] == action


def test_the_api_lists_filters_and_acknowledges(clinic):
    app, engine = clinic
    with so.Session(engine) as session, session.begin():
        token, auditor_token = (
            accounts.new_token(session, session.scalar(sa.select(m.User).where(m.User.name == name)),
                               actor="test", now=NOW)
            for name in ("nina", "aldo"))
    client = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    body = client.get("/api/v1/alerts", headers=auth).get_json()
    assert [(a["rule"], a["state"], a["needs_acknowledgement"]) for a in body["alerts"]] == [
        ("out-of-range", "resolved", True), ("heat", "resolved", True)]
    heat = body["alerts"][1]
    assert heat["fridge"] == "A1" and heat["peak_c"] == 9.5 and heat["severity"] == "alarm"
    assert heat["steps"] == list(STEPS["excursion"])
    assert client.get("/api/v1/alerts?fridge=B2", headers=auth).get_json()["alerts"] == []
    assert client.get("/api/v1/alerts?fridge=Z9", headers=auth).status_code == 404
    bad = client.get("/api/v1/alerts?state=sleeping", headers=auth)
    assert bad.status_code == 400 and "parameter 'state'" in bad.get_json()["error"]["message"]
    fridge = client.get("/api/v1/fridges/A1", headers=auth).get_json()
    assert fridge["status"] == "ALERT" and fridge["alerts"]["waiting"] == 2

    url = f"/api/v1/alerts/{heat['id']}/acknowledge"
    assert client.post(url, json={"action": "x"},
                       headers={"Authorization": f"Bearer {auditor_token}"}).status_code == 403
    # An alarm's acknowledgement is signed: the token alone cannot sign; the person's password in the body can.
    unsigned = client.post(url, json={"action": "Coordinator informed; vials quarantined."}, headers=auth)
    assert unsigned.status_code == 403
    assert "acknowledging this alarm is signed ([signatures] require_for): send \"signature\"" in (
        unsigned.get_json()["error"]["message"])
    wrong = client.post(url, json={"action": "Coordinator informed.",
                                   "signature": {"password": "not-hers", "meaning": "performed"}}, headers=auth)
    assert wrong.status_code == 403 and "nothing was signed" in wrong.get_json()["error"]["message"]
    warning = body["alerts"][0]
    assert warning["severity"] == "warning"
    url = f"/api/v1/alerts/{warning['id']}/acknowledge"
    missing = client.post(url, json={"steps": []}, headers=auth)
    assert missing.status_code == 400 and "field 'action'" in missing.get_json()["error"]["message"]
    wrong_step = client.post(url, json={"action": "ok", "steps": ["Dance"]}, headers=auth)
    assert wrong_step.status_code == 400 and "unknown step 'Dance'" in wrong_step.get_json()["error"]["message"]
    done = client.post(url, json={"action": "Coordinator informed; vials quarantined."}, headers=auth)
    assert done.status_code == 200
    assert done.get_json()["acknowledged_by"] == "nina" and done.get_json()["state"] == "resolved"
    assert client.post(url, json={"action": "again"}, headers=auth).status_code == 409
    resolved = client.get("/api/v1/alerts?state=resolved", headers=auth).get_json()["alerts"]
    assert next(a["action"] for a in resolved if a["id"] == warning["id"]) == "Coordinator informed; vials quarantined."
    active = client.get("/api/v1/alerts", headers=auth).get_json()["alerts"]
    assert [a["rule"] for a in active] == ["heat"]
    assert client.get(f"/api/v1/alerts/{heat['id']}", headers=auth).get_json()["notifications"] == []


def test_a_lot_expiring_in_months_is_listed_but_does_not_flag_a_fridge_that_stores_well(clinic):
    app, engine = clinic
    with so.Session(engine) as session, session.begin():
        b2 = session.scalar(sa.select(m.Fridge).where(m.Fridge.name == "B2"))
        session.add(m.Alert(fridge_id=b2.id, kind="lot-expiring", rule="90-days", subject="lot:1",
                            severity="warning", state="open", title="MMR lot MM1 expires in 90 days",
                            detail="Use it first.", started_at=NOW, created_at=NOW, updated_at=NOW))
    nurse = client_for(app, engine, "nina")
    tiles = nurse.get("/dashboard/tiles").get_data(as_text=True)
    b2_tile = tiles.split('data-fridge="B2"')[1].split("</a>")[0]
    assert "OK" in b2_tile and "ALERT" not in b2_tile and "expires in 90 days" in b2_tile
    fridge = nurse.get("/api/v1/fridges/B2").get_json()
    assert fridge["status"] == "OK" and fridge["alerts"]["waiting"] == 1
    assert "3 alerts waiting for acknowledgement" in text(nurse.get("/alerts"))
