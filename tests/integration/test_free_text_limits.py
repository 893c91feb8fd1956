"""Free text (notes, reasons, actions) is capped at one limit: the API answers 400 naming the field, a form
shows the error next to the field, and the domain refuses it whatever the caller; on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so
from test_alert_pages import clinic as alert_clinic  # noqa: F401  (the alert pages' fixture)
from test_alert_pages import heat_alarm, stored_alerts
from test_api_inventory import BOTOX, Clinic, message
from test_inventory_pages import EXPIRY, csrf, field_errors, held, ids
from test_inventory_pages import clinic as pages_clinic  # noqa: F401  (the forms' fixture)

from fridge_monitor.alerts import handling as alerts
from fridge_monitor.core import free_text
from fridge_monitor.inventory import catalog, lot_safety
from fridge_monitor.inventory import ledger as inventory
from fridge_monitor.store import accounts
from fridge_monitor.store import models as m

from support import client_for

HUGE = "x" * 200_000


@pytest.fixture
def api_clinic(database_url, engine_for) -> Clinic:
    return Clinic(database_url, engine_for(database_url))


@pytest.mark.parametrize("path,body,field", [
    ("/stock/receive", {"fridge": "A1", "product": BOTOX, "lot": "L-1", "expiry": "2030-01-31", "quantity": 1,
                        "note": HUGE}, "note"),
    ("/stock/discard", {"fridge": "A1", "lot_id": 1, "quantity": 1, "reason_code": "other", "reason": HUGE},
     "reason"),
    ("/stock/correct", {"fridge": "A1", "lot_id": 1, "counted": 0, "reason": HUGE}, "reason"),
])
def test_the_api_answers_400_naming_a_200_kb_field_and_writes_nothing(api_clinic, path, body, field):
    body = {**body, "lot_id": api_clinic.receive("L-0", 2)["movement"]["lot"]["id"]} if "lot_id" in body else body
    before = api_clinic.run(lambda s: s.scalar(sa.select(sa.func.count()).select_from(m.StockMovement)))
    status, answer = api_clinic.post(path, body)
    assert status == 400, answer
    assert message(answer) == f"field '{field}': this text may be at most {free_text.FREE_TEXT_MAX} characters"
    assert api_clinic.run(lambda s: s.scalar(sa.select(sa.func.count()).select_from(m.StockMovement))) == before


def test_a_200_kb_note_in_the_stock_form_is_shown_next_to_the_field(pages_clinic):  # noqa: F811
    app, engine = pages_clinic
    known = ids(engine)
    nurse = client_for(app, engine, "nina")
    typed = {"csrf_token": csrf(nurse), "step": "save", "product": known["dysport"], "lot_number": "D-300",
             "expiry": EXPIRY.isoformat(), "fridge": known["B2"], "quantity": "2", "reason": HUGE}
    refused = nurse.post("/stock/receive", data=typed)
    assert refused.status_code == 400
    assert field_errors(refused, "reason") == [f"Field cannot be longer than {free_text.FREE_TEXT_MAX} characters."]
    with engine.connect() as conn:
        assert conn.scalar(sa.select(m.Lot.id).where(m.Lot.lot_number == "D-300")) is None
    assert held  # the page helpers are the inventory pages' own


def test_the_domain_refuses_over_long_text_whatever_the_caller(api_clinic):
    now = datetime.now(UTC)
    lot_id = api_clinic.receive("L-2", 2)["movement"]["lot"]["id"]
    fridge = api_clinic.fridge_ids["A1"]
    with pytest.raises(alerts.AckError, match="at most 2000 characters") as caught:
        alerts.compose_action(HUGE, [], "high")
    assert caught.value.field == "action"
    for call in (
        lambda s: inventory.use(s, lot_id=lot_id, fridge_id=fridge, quantity=1, actor="kim", now=now, note=HUGE),
        lambda s: inventory.discard(s, lot_id=lot_id, fridge_id=fridge, quantity=1, reason_code="other",
                                    actor="kim", now=now, reason=HUGE),
        lambda s: inventory.correct(s, lot_id=lot_id, fridge_id=fridge, counted=0, reason=HUGE, actor="kim", now=now),
        lambda s: lot_safety.record_disposition(s, lot_id=lot_id, decision="discarded", reference=None, note=HUGE,
                                                actor="kim", now=now),
    ):
        with pytest.raises(catalog.InventoryError, match="at most 2000 characters"):
            api_clinic.run(call)


def test_a_200_kb_acknowledgement_action_is_400_in_the_api_and_an_error_next_to_the_field_in_the_form(alert_clinic):  # noqa: F811  (the imported fixture)
    app, engine = alert_clinic
    alert_id = heat_alarm(engine)
    with so.Session(engine) as session, session.begin():
        user = session.scalar(sa.select(m.User).where(m.User.name == "nina"))
        token = accounts.new_token(session, user, actor="test", now=datetime.now(UTC))
    warning = next(i for i, rule, *_ in stored_alerts(engine) if rule == "out-of-range")  # an API may ack it
    refused = app.test_client().post(f"/api/v1/alerts/{warning}/acknowledge", json={"action": HUGE},
                                     headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 400
    assert refused.get_json()["error"]["message"] == (
        f"field 'action': the action may be at most {free_text.FREE_TEXT_MAX} characters")
    nurse = client_for(app, engine, "nina")
    page = nurse.post(f"/alerts/{alert_id}/acknowledge", data={"csrf_token": csrf(nurse), "action": HUGE})
    assert page.status_code == 400
    assert field_errors(page, "action") == [f"Field cannot be longer than {free_text.FREE_TEXT_MAX} characters."]
    assert all(acknowledged_by is None for _, _, _, acknowledged_by, _ in stored_alerts(engine))
