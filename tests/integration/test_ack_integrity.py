"""An acknowledgement is evidence: `audit verify` catches one changed outside the application; both databases.

Alerts are acknowledged the real way (the alarm on its page, signed; the
warning through the JSON API with a nurse's token, a step ticked); the
tests then change the alert rows directly, as someone with database access would (the alerts table has no triggers: its
state legitimately changes), and `audit verify` names the alert and what
differs, in the database and in an export bundle made afterwards.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so
from test_alert_pages import (
    clinic,  # noqa: F401  (the alert pages' fixture: a heat alarm and an out-of-range)
    heat_alarm,
    stored_alerts,
)

from fridge_monitor.alerts.notify.message import STEPS
from fridge_monitor.core.audit import canonical_time
from fridge_monitor.reports import bundle
from fridge_monitor.store import accounts
from fridge_monitor.store import models as m

from support import cli, client_for, signed_acknowledgement

ACTION = "Moved all Botox vials to fridge B2, labelled DO NOT USE."


def acknowledged(app, engine) -> tuple[int, int]:
    """(heat alarm, out-of-range warning), acknowledged by nina: the alarm on its page, signed; the warning
    through the JSON API, with a step."""
    heat = heat_alarm(engine)
    other = next(i for i, rule, *_ in stored_alerts(engine) if i != heat)
    signed = signed_acknowledgement(client_for(app, engine, "nina"), heat, "nina", ACTION)
    assert signed.status_code == 302, signed.get_data(as_text=True)
    with so.Session(engine) as session, session.begin():
        nina = session.scalar(sa.select(m.User).where(m.User.name == "nina"))
        token = accounts.new_token(session, nina, actor="test", now=datetime.now(UTC))
    done = app.test_client().post(f"/api/v1/alerts/{other}/acknowledge",
                                  json={"action": "Door closed; probe checked.", "steps": [STEPS["excursion"][0]]},
                                  headers={"Authorization": f"Bearer {token}"})
    assert done.status_code == 200, done.get_json()
    return heat, other


def verify(database_url: str):
    return cli("audit", "verify", env={"FRIDGE_MONITOR_DATABASE_URL": database_url})


def change_alert(engine: sa.Engine, alert_id: int, **values: object) -> None:
    table = m.Alert.__table__
    with engine.begin() as conn:
        assert conn.execute(sa.update(table).where(table.c.id == alert_id).values(**values)).rowcount == 1


def ack_of(engine: sa.Engine, alert_id: int) -> tuple[str, datetime, str]:
    a = m.Alert
    with engine.connect() as conn:
        return tuple(conn.execute(sa.select(a.acknowledged_by, a.acknowledged_at, a.action)
                                  .where(a.id == alert_id)).one())


def test_a_changed_user_time_or_text_is_caught_naming_the_alert(clinic):  # noqa: F811
    app, engine = clinic
    heat, other = acknowledged(app, engine)
    url = app.extensions["fridge_monitor"]["config"].database["url"]
    for alert_id in (heat, other):  # the event holds the acknowledgement exactly as stored
        a = m.AuditEvent
        with engine.connect() as conn:
            event = conn.execute(sa.select(a.actor, a.at, a.new_value).where(
                a.action == "acknowledge", a.record_type == "alert", a.record_id == str(alert_id))).one()
        assert (event.actor, event.at, event.new_value) == ack_of(engine, alert_id)
    assert ack_of(engine, other)[2] == f"[x] {STEPS['excursion'][0]}\nDoor closed; probe checked."
    result = verify(url)
    assert result.returncode == 0, result.stderr
    assert "audit trail intact" in result.stdout
    by, at, action = ack_of(engine, heat)
    later = at + timedelta(hours=1)
    for values, says in (
        ({"acknowledged_by": "ada"}, "acknowledged_by is 'ada' but audit event {event} recorded 'nina'"),
        ({"acknowledged_at": later},
         f"acknowledged_at is {canonical_time(later)} but audit event {{event}} recorded {canonical_time(at)}"),
        ({"action": "Nothing to do."},
         "action is 'Nothing to do.' but audit event {event} recorded 'Moved all Botox vials to fridge B2, "),
    ):
        change_alert(engine, heat, **values)
        result = verify(url)
        assert result.returncode == 1, result.stdout
        with engine.connect() as conn:
            event = conn.scalar(sa.select(m.AuditEvent.id).where(m.AuditEvent.action == "acknowledge",
                                                                  m.AuditEvent.record_id == str(heat)))
        assert f"alert {heat}'s acknowledgement was changed outside the application" in result.stderr
        assert says.format(event=event) in result.stderr, result.stderr
        assert f"alert {other}" not in result.stderr
        change_alert(engine, heat, acknowledged_by=by, acknowledged_at=at, action=action)
        assert verify(url).returncode == 0


def test_a_cleared_a_forged_and_a_removed_acknowledgement_are_caught(clinic):  # noqa: F811
    app, engine = clinic
    heat, other = acknowledged(app, engine)
    url = app.extensions["fridge_monitor"]["config"].database["url"]
    change_alert(engine, heat, acknowledged_by=None, acknowledged_at=None, action=None, state="resolved")
    result = verify(url)
    assert result.returncode == 1
    assert f"alert {heat} lost its acknowledgement by 'nina' at " in result.stderr
    assert "cleared outside the application" in result.stderr

    # Acknowledged by hand in SQL: no audit event vouches for it.
    with engine.begin() as conn:
        conn.execute(sa.insert(m.Alert.__table__).from_select(
            [c.key for c in m.Alert.__table__.c if c.key != "id"],
            sa.select(*(c for c in m.Alert.__table__.c if c.key != "id")).where(m.Alert.id == other)))
        forged = conn.scalar(sa.select(sa.func.max(m.Alert.id)))
    result = verify(url)
    assert f"alert {forged} is acknowledged by 'nina' at " in result.stderr
    assert "no audit event records an acknowledgement of it" in result.stderr

    # An acknowledged alert removed altogether (its delivery log first, which holds no evidence trigger).
    with engine.begin() as conn:
        conn.execute(sa.delete(m.Notification.__table__).where(m.Notification.alert_id == other))
        conn.execute(sa.delete(m.Alert.__table__).where(m.Alert.id == other))
    result = verify(url)
    assert result.returncode == 1
    assert f"alert {other} was acknowledged by 'nina'" in result.stderr
    assert "the alert is no longer there" in result.stderr
    assert f"alert {heat} lost its acknowledgement" in result.stderr


def test_a_bundle_made_after_the_change_fails_offline_naming_the_alert(clinic, tmp_path):  # noqa: F811
    app, engine = clinic
    heat, _other = acknowledged(app, engine)
    config = app.extensions["fridge_monitor"]["config"]
    now = datetime.now(UTC)
    period = bundle.Request(now - timedelta(days=1), now + timedelta(hours=1))
    clean = bundle.build(engine, config, period, tmp_path / "clean.zip", actor="test")
    result = cli("audit", "verify", str(clean.path))
    assert result.returncode == 0, result.stderr

    change_alert(engine, heat, acknowledged_by="ada")
    tampered = bundle.build(engine, config, period, tmp_path / "tampered.zip", actor="test")
    result = cli("audit", "verify", str(tampered.path))
    assert result.returncode == 1
    assert (f"alerts.csv: alert {heat}'s acknowledgement was changed outside the application: "
            "acknowledged_by is 'ada' but audit event") in result.stderr
    # The alarm's acknowledgement was signed: its signature no longer holds either.
    assert (f"signatures.csv: signature 1 (nina, performed) on alert-acknowledgement {heat}: the record was "
            "changed after it was signed") in result.stderr
    assert "does NOT verify: 2 problems" in result.stderr

