"""Electronic signatures on both databases: signing an alarm's acknowledgement on its page, the password asked
again (the user name too, the first time in a session), wrong passwords counting toward the lockout, and
`audit verify` naming a signed record changed afterwards or a signature copied to another record."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so
from test_alert_pages import NOW, minutes, stored_alerts, text

from fridge_monitor.alerts.evaluate import Evaluator
from fridge_monitor.core.readings import Reading
from fridge_monitor.ingest.batches import Batch, Store
from fridge_monitor.store import models as m

from support import STAFF, cli, client_for, clinic_app, clinic_config, csrf, signed_acknowledgement


@pytest.fixture
def signed_clinic(database_url, engine_for):
    """A heat alarm (A1) and an out-of-range warning (A1), with warnings signed too."""
    engine = engine_for(database_url)
    config = clinic_config([{"name": "A1", "site": "Clinic A", "sensors": ["native:a1"]}], database_url,
                           web={"secret_key": "s" * 40, "max_failed_logins": 3},
                           signatures={"require_for": ["alarms", "warnings", "dispositions"]})
    app = clinic_app(engine, config, STAFF, NOW, NOW - timedelta(days=2))
    points = [(t, 9.5 if 30 <= t < 120 else 5.0) for t in range(0, 181, 5)]
    Store(engine).write(Batch(readings=[(Reading("native:a1", "native", "a1", minutes(t), temp, 90), minutes(t))
                                        for t, temp in points]))
    evaluator = Evaluator(engine, config, clock=lambda: NOW)
    evaluator.everything()
    evaluator.outbox.close()
    return app, engine, database_url


def alert_ids(engine) -> dict[str, int]:
    return {rule: alert_id for alert_id, rule, *_ in stored_alerts(engine)}


def verify(database_url: str):
    return cli("audit", "verify", env={"FRIDGE_MONITOR_DATABASE_URL": database_url})


def test_signing_asks_the_name_once_a_session_then_the_password_and_binds_the_record(signed_clinic):
    app, engine, url = signed_clinic
    ids = alert_ids(engine)
    nurse = client_for(app, engine, "nina")
    first = nurse.get(f"/alerts/{ids['heat']}").get_data(as_text=True)
    assert 'name="sign_name"' in first and 'name="sign_password"' in first
    # Another person's name is refused next to the field, and nothing is recorded.
    other = signed_acknowledgement(nurse, ids["heat"], "ada", "Vials moved.", password="ada-password-1")
    assert other.status_code == 400 and "Type your own user name" in text(other)
    assert signed_acknowledgement(nurse, ids["heat"], "nina", "Vials moved to B2.",
                                  meaning="responsible").status_code == 302
    # Later in the same session: the password again, not the name.
    second = nurse.get(f"/alerts/{ids['out-of-range']}").get_data(as_text=True)
    assert 'name="sign_name"' not in second and 'name="sign_password"' in second
    done = nurse.post(f"/alerts/{ids['out-of-range']}/acknowledge", data={
        "csrf_token": csrf(nurse), "action": "Door closed.", "meaning": "performed",
        "sign_password": "nina-password-1"}, follow_redirects=True)
    assert done.status_code == 200 and "Signed by Nina Tester (nina) on " in text(done)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(m.Signature.record_id, m.Signature.meaning, m.Signature.full_name)
                            .order_by(m.Signature.id)).all()
    assert [tuple(r) for r in rows] == [(str(ids["heat"]), "responsible", "Nina Tester"),
                                        (str(ids["out-of-range"]), "performed", "Nina Tester")]
    result = verify(url)
    assert result.returncode == 0, result.stderr

    # The signed acknowledgement edited in the database: `audit verify` names the signature and the record.
    table = m.Alert.__table__
    with engine.begin() as conn:
        conn.execute(sa.update(table).where(table.c.id == ids["heat"]).values(action="Nothing done."))
    result = verify(url)
    assert result.returncode == 1
    assert (f"signature 1 (nina, responsible) on alert-acknowledgement {ids['heat']}: the record was changed "
            "after it was signed") in result.stderr
    with engine.begin() as conn:
        conn.execute(sa.update(table).where(table.c.id == ids["heat"]).values(action="Vials moved to B2."))
    assert verify(url).returncode == 0

    # A signature copied onto another record (a third alert, acknowledged by hand): named too.
    with engine.begin() as conn:
        conn.execute(sa.insert(m.Signature.__table__).from_select(
            [c.key for c in m.Signature.__table__.c if c.key != "id"],
            sa.select(*(sa.literal(str(ids["out-of-range"] + 100)).label("record_id") if c.key == "record_id" else c
                        for c in m.Signature.__table__.c if c.key != "id")).where(m.Signature.id == 1)))
    result = verify(url)
    assert result.returncode == 1
    assert (f"signature 3 (nina, responsible) on alert-acknowledgement {ids['out-of-range'] + 100}: no audit event "
            "recorded it") in result.stderr


def test_wrong_signing_passwords_count_toward_the_lockout(signed_clinic):
    app, engine, _url = signed_clinic
    ids = alert_ids(engine)
    nurse = client_for(app, engine, "nina")
    for _ in range(3):  # [web] max_failed_logins = 3
        refused = signed_acknowledgement(nurse, ids["heat"], "nina", "Vials moved.", password="wrong-password")
        assert refused.status_code == 400 and "nothing was signed" in text(refused)
    with engine.connect() as conn:
        locked = conn.scalar(sa.select(m.User.locked_until).where(m.User.name == "nina"))
        lock_events = conn.scalar(sa.select(sa.func.count()).select_from(m.AuditEvent)
                                  .where(m.AuditEvent.action == "lock", m.AuditEvent.record_id == "nina"))
    assert locked is not None and lock_events == 1
    # Locked: even the right password signs nothing now.
    assert signed_acknowledgement(nurse, ids["heat"], "nina", "Vials moved.").status_code == 400
    assert stored_alerts(engine)[0][3] is None and stored_alerts(engine)[1][3] is None


def test_a_user_without_a_recorded_full_name_cannot_sign(signed_clinic):
    app, engine, _url = signed_clinic
    with so.Session(engine) as session, session.begin():
        session.execute(sa.update(m.User).where(m.User.name == "nina").values(full_name=None))
    refused = signed_acknowledgement(client_for(app, engine, "nina"), alert_ids(engine)["heat"], "nina", "Moved.")
    assert refused.status_code == 400
    assert "Your full name is not recorded, and a signature prints it: ask an admin" in text(refused)


def test_a_signed_disposition_and_an_api_signature_are_bound_too(signed_clinic):
    from datetime import date

    from test_inventory_pages import put_under_review, stock_lot

    app, engine, url = signed_clinic
    with engine.connect() as conn:
        fridge = conn.scalar(sa.select(m.Fridge.id).where(m.Fridge.name == "A1"))
        botox = conn.scalar(sa.select(m.Product.id).where(m.Product.catalogue_key == "botox"))
    lot_id = stock_lot(engine, fridge, botox, "SIG-1", date(2030, 1, 31), 2)
    put_under_review(engine, lot_id, fridge)
    nurse = client_for(app, engine, "nina")
    done = nurse.post(f"/lots/{lot_id}/disposition", data={
        "csrf_token": csrf(nurse), "decision": "released", "reference": "MFR-77", "meaning": "approved",
        "sign_name": "nina", "sign_password": "nina-password-1"}, follow_redirects=True)
    assert done.status_code == 200 and "meaning: approved" in text(done)

    # Signed through the API: the nurse's token, and her password in the body.
    from fridge_monitor.store import accounts
    with so.Session(engine) as session, session.begin():
        token = accounts.new_token(session, session.scalar(sa.select(m.User).where(m.User.name == "nina")),
                                   actor="test", now=NOW)
    heat = alert_ids(engine)["heat"]
    answer = app.test_client().post(f"/api/v1/alerts/{heat}/acknowledge", headers={"Authorization": f"Bearer {token}"},
                                    json={"action": "Vials moved to B2.",
                                          "signature": {"password": "nina-password-1", "meaning": "performed"}})
    assert answer.status_code == 200, answer.get_json()
    with engine.connect() as conn:
        kinds = conn.execute(sa.select(m.Signature.record_type, m.Signature.meaning).order_by(m.Signature.id)).all()
    assert [tuple(k) for k in kinds] == [("lot-disposition", "approved"), ("alert-acknowledgement", "performed")]
    assert verify(url).returncode == 0

    # The signed disposition's reference edited in the database by someone who first lifted its append-only
    # trigger (as the database's owner could): named.
    table = m.LotDisposition.__table__
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER lot_dispositions_no_update")
        else:
            conn.exec_driver_sql("ALTER TABLE lot_dispositions DISABLE TRIGGER lot_dispositions_append_only")
        conn.execute(sa.update(table).values(reference="MFR-78"))
    result = verify(url)
    assert result.returncode == 1
    assert "signature 1 (nina, approved) on lot-disposition 1: the record was changed after it was signed" in (
        result.stderr)


def test_the_monthly_pdf_shows_the_signatures(signed_clinic, tmp_path):
    from test_monthly_report import pdf_text

    from fridge_monitor.reports import monthly

    app, engine, _url = signed_clinic
    assert signed_acknowledgement(client_for(app, engine, "nina"), alert_ids(engine)["heat"], "nina",
                                  "Vials moved to B2.", meaning="responsible").status_code == 302
    config = app.extensions["fridge_monitor"]["config"]
    month = NOW.astimezone(ZoneInfo("Europe/Berlin"))  # Clinic A's zone
    path = tmp_path / "month.pdf"
    path.write_bytes(monthly.monthly_pdf(engine, "A1", month.year, month.month, generated_by="aldo",
                                         now=NOW + timedelta(minutes=5), config=config))
    shown = " ".join(pdf_text(path).split())
    excursions = shown[shown.index("Excursions Rule"):shown.index("Affected lots")]
    assert "Vials moved to B2." in excursions and "Signed by Nina Tester (nina) on " in excursions
    assert "meaning: responsible" in excursions
