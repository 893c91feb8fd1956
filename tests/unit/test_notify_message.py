"""Alert notifications rendered from literal alerts: e-mail, JSON, MQTT state, short text, signature — each
naming its event."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

import pytest

from fridge_monitor.alerts.notify.message import (
    AlertMessage,
    email_body,
    email_subject,
    mqtt_payload,
    mqtt_topic,
    short_text,
    signature,
    webhook_body,
)

OPEN = AlertMessage(
    alert_id=42,
    kind="excursion",
    event="opened",
    state="open",
    severity="alarm",
    fridge="A1",
    site="Clinic A",
    title="Temperature above 8.0 °C",
    detail="Peak 9.4 °C; above 8.0 °C for 61 minutes.",
    started_at=datetime(2026, 11, 25, 10, 0, tzinfo=UTC),
    updated_at=datetime(2026, 11, 25, 11, 1, tzinfo=UTC),
    url="http://127.0.0.1:8000/alerts/42",
    timezone="Europe/Berlin",
)
ACKNOWLEDGED = dataclasses.replace(
    OPEN, event="acknowledged", state="acknowledged", acknowledged_by="nurse.kim",
    acknowledged_at=datetime(2026, 11, 25, 11, 10, tzinfo=UTC), action="Moved all lots to fridge B2.",
    updated_at=datetime(2026, 11, 25, 11, 10, tzinfo=UTC),
)
CLEARED = dataclasses.replace(ACKNOWLEDGED, event="resolved", state="resolved",
                              updated_at=datetime(2026, 11, 25, 11, 30, tzinfo=UTC))
REMINDER = dataclasses.replace(OPEN, event="reminder", updated_at=datetime(2026, 11, 25, 11, 31, tzinfo=UTC))
ESCALATED = dataclasses.replace(OPEN, event="escalated")
CHANGED = dataclasses.replace(OPEN, event="changed")
RESOLVED = dataclasses.replace(OPEN, event="resolved", state="resolved",
                               updated_at=datetime(2026, 11, 25, 11, 20, tzinfo=UTC))


def test_email_subject_says_what_happened_how_bad_what_and_where():
    assert email_subject(OPEN) == "[New ALARM] A1 at Clinic A: Temperature above 8.0 °C"
    assert email_subject(dataclasses.replace(OPEN, severity="warning")).startswith("[New WARNING] A1 at Clinic A")
    assert email_subject(ESCALATED) == "[Escalated ALARM, not acknowledged] A1 at Clinic A: Temperature above 8.0 °C"
    assert email_subject(REMINDER) == "[Reminder: ALARM, not acknowledged] A1 at Clinic A: Temperature above 8.0 °C"
    assert email_subject(CHANGED) == "[Changed to ALARM] A1 at Clinic A: Temperature above 8.0 °C"
    assert email_subject(ACKNOWLEDGED) == "[Acknowledged] A1 at Clinic A: Temperature above 8.0 °C"
    assert email_subject(RESOLVED) == "[Resolved, needs acknowledgement] A1 at Clinic A: Temperature above 8.0 °C"
    assert email_subject(CLEARED) == "[Resolved, closed] A1 at Clinic A: Temperature above 8.0 °C"


def test_email_subject_of_each_event_says_what_is_left_to_do():
    closed = dataclasses.replace(RESOLVED, acknowledged_by="nurse.kim", acknowledged_at=RESOLVED.updated_at)
    assert email_subject(dataclasses.replace(closed, event="acknowledged")).startswith("[Acknowledged, closed] A1")
    # A reminder of an alert that ended by itself; an alert found late, already over, is new all the same.
    assert email_subject(dataclasses.replace(RESOLVED, event="reminder")).startswith(
        "[Reminder: ALARM, ended, needs acknowledgement] A1")
    assert email_subject(dataclasses.replace(RESOLVED, event="opened")).startswith(
        "[New ALARM, ended, needs acknowledgement] A1")
    assert email_subject(dataclasses.replace(ACKNOWLEDGED, event="changed", severity="warning")).startswith(
        "[Changed to WARNING, acknowledged] A1")


def test_email_body_of_an_open_excursion_tells_a_nurse_what_to_do():
    assert email_body(OPEN) == """\
New ALARM: Temperature above 8.0 °C

Fridge:   A1
Site:     Clinic A
Since:    2026-11-25 11:00 CET
Details:  Peak 9.4 °C; above 8.0 °C for 61 minutes.

What to do now:
1. Tell the vaccine coordinator or your supervisor now.
2. Label the products in this fridge "DO NOT USE" and keep them at the correct temperature \
(move them to a working fridge if needed). Do not throw anything away.
3. Write down the time, how long it lasted, the lowest and highest temperature, what you did and who did it.
4. Contact the manufacturer (and the immunization programme) about each lot and record their answer: \
use or discard.
Then acknowledge the alert with the action you took: http://127.0.0.1:8000/alerts/42

Alert 42 (excursion, alarm), updated 2026-11-25 12:01 CET.
--\x20
Fridge Monitor
"""


def test_email_body_of_a_reminder_says_it_is_one():
    assert email_body(REMINDER).startswith("""\
Reminder: ALARM, not acknowledged: Temperature above 8.0 °C

Reminder: this alert has not been acknowledged yet.

Fridge:   A1
""")
    assert email_body(REMINDER).endswith(
        "Alert 42 (excursion, alarm), updated 2026-11-25 12:31 CET.\n-- \nFridge Monitor\n")


def test_email_body_of_an_escalation_and_of_a_change_say_why_they_come():
    assert email_body(ESCALATED).startswith("""\
Escalated ALARM, not acknowledged: Temperature above 8.0 °C

Nobody has acknowledged this alert yet, so it now goes to you as well.

Fridge:   A1
""")
    assert email_body(CHANGED).startswith("""\
Changed to ALARM: Temperature above 8.0 °C

The alert has changed: it is now an alarm.

Fridge:   A1
""")
    assert "it is now a warning." in email_body(dataclasses.replace(CHANGED, severity="warning"))


def test_email_body_after_acknowledgement_and_when_closed():
    body = email_body(ACKNOWLEDGED)
    assert "Acknowledged by nurse.kim at 2026-11-25 12:10 CET.\nAction taken: Moved all lots to fridge B2.\n" in body
    assert "This alert has been acknowledged. Finish any steps still open:\n1. Tell the" in body
    assert "Then acknowledge" not in body
    closed = email_body(CLEARED)
    assert "Ended:    2026-11-25 12:30 CET\n" in closed
    assert "This alert is closed: it has ended and was acknowledged. Nothing more is needed for it.\n" in closed
    assert "What to do now" not in closed


def test_email_body_of_a_resolved_unacknowledged_alert_still_asks_for_acknowledgement():
    body = email_body(dataclasses.replace(OPEN, state="resolved", url=None))
    assert ("The condition has ended, but this alert still needs an acknowledgement.\nWhat to do now:\n1. " in body)
    assert body.count("Then acknowledge the alert with the action you took.\n") == 1


def test_each_kind_has_its_own_steps_and_an_unknown_kind_a_generic_one():
    no_data = email_body(dataclasses.replace(OPEN, kind="no-data", title="No readings for 45 minutes"))
    assert "1. Check the fridge's own thermometer now and write down the temperature.\n" in no_data
    battery = email_body(dataclasses.replace(OPEN, kind="low-battery", severity="warning"))
    assert "1. Replace or charge the sensor's battery today.\n" in battery
    assert "1. Check the fridge and its sensor.\n" in email_body(dataclasses.replace(OPEN, kind="door-left-open"))


def test_webhook_body_is_compact_json_with_stable_keys_and_utc_times():
    assert webhook_body(OPEN) == (
        '{"acknowledged_at":null,"acknowledged_by":null,"action":null,"alert_id":42,'
        '"detail":"Peak 9.4 °C; above 8.0 °C for 61 minutes.","event":"opened","fridge":"A1","kind":"excursion",'
        '"severity":"alarm","site":"Clinic A","started_at":"2026-11-25T10:00:00Z","state":"open",'
        '"title":"Temperature above 8.0 °C","updated_at":"2026-11-25T11:01:00Z",'
        '"url":"http://127.0.0.1:8000/alerts/42","version":1}'
    ).encode()
    acknowledged = json.loads(webhook_body(ACKNOWLEDGED))
    assert (acknowledged["state"], acknowledged["acknowledged_by"], acknowledged["acknowledged_at"]) == (
        "acknowledged", "nurse.kim", "2026-11-25T11:10:00Z")


@pytest.mark.parametrize(("message", "event", "state"), [
    (OPEN, "opened", "open"),
    (ESCALATED, "escalated", "open"),
    (REMINDER, "reminder", "open"),
    (CHANGED, "changed", "open"),
    (ACKNOWLEDGED, "acknowledged", "acknowledged"),
    (RESOLVED, "resolved", "resolved"),
    (CLEARED, "resolved", "resolved"),
])
def test_webhook_and_mqtt_bodies_name_the_event(message, event, state):
    body = json.loads(webhook_body(message))
    assert (body["version"], body["event"], body["state"], body["alert_id"]) == (1, event, state, 42)
    assert json.loads(mqtt_payload(message))["event"] == event


def test_a_reminder_is_told_apart_from_the_first_message_only_by_its_event_and_time():
    first, reminder = json.loads(webhook_body(OPEN)), json.loads(webhook_body(REMINDER))
    assert {k for k in first if first[k] != reminder[k]} == {"event", "updated_at"}
    assert reminder["event"] == "reminder"


def test_times_in_other_zones_are_written_in_utc():
    from zoneinfo import ZoneInfo

    local = dataclasses.replace(OPEN, started_at=datetime(2026, 7, 1, 12, 0, tzinfo=ZoneInfo("Europe/Berlin")))
    assert json.loads(webhook_body(local))["started_at"] == "2026-07-01T10:00:00Z"
    assert "Since:    2026-07-01 12:00 CEST\n" in email_body(local)


def test_mqtt_state_is_active_until_resolved_and_acknowledged():
    assert json.loads(mqtt_payload(OPEN)) == {**json.loads(webhook_body(OPEN)), "active": True}
    assert json.loads(mqtt_payload(ACKNOWLEDGED))["active"] is True
    assert json.loads(mqtt_payload(dataclasses.replace(OPEN, state="resolved")))["active"] is True
    cleared = json.loads(mqtt_payload(CLEARED))
    assert (cleared["active"], cleared["state"], cleared["event"], cleared["fridge"]) == (False, "resolved", "resolved",
                                                                                         "A1")


def test_mqtt_topic_keeps_fridge_names_out_of_the_topic_structure():
    assert mqtt_topic("fridge-monitor/alerts", "A1") == "fridge-monitor/alerts/A1"
    assert mqtt_topic("x", "Ward 3/Fridge #2+") == "x/Ward 3_Fridge _2_"


def test_short_text_for_chat_and_sms():
    assert short_text(OPEN) == (
        "[New ALARM] A1 (Clinic A): Temperature above 8.0 °C. Since 2026-11-25 11:00 CET. "
        "Peak 9.4 °C; above 8.0 °C for 61 minutes. Acknowledge: http://127.0.0.1:8000/alerts/42"
    )
    assert short_text(REMINDER) == (
        "[Reminder: ALARM, not acknowledged] A1 (Clinic A): Temperature above 8.0 °C. Since 2026-11-25 11:00 CET. "
        "Peak 9.4 °C; above 8.0 °C for 61 minutes. Acknowledge: http://127.0.0.1:8000/alerts/42"
    )
    assert short_text(ESCALATED).startswith("[Escalated ALARM, not acknowledged] A1 (Clinic A): ")
    assert short_text(CHANGED).startswith("[Changed to ALARM] A1 (Clinic A): ")
    assert short_text(RESOLVED).startswith("[Resolved, needs acknowledgement] A1 (Clinic A): ")
    assert short_text(ACKNOWLEDGED) == (
        "[Acknowledged] A1 (Clinic A): Temperature above 8.0 °C. "
        "Acknowledged by nurse.kim: Moved all lots to fridge B2."
    )
    assert short_text(CLEARED) == (
        "[Resolved, closed] A1 (Clinic A): Temperature above 8.0 °C. Closed, acknowledged by nurse.kim."
    )


def test_short_text_is_cut_to_300_characters_keeping_the_link():
    long = dataclasses.replace(OPEN, detail="x" * 1000)
    text = short_text(long)
    assert len(text) == 300
    assert text.endswith("x… Acknowledge: http://127.0.0.1:8000/alerts/42")


def test_webhook_signature_is_hmac_sha256_of_the_body():
    assert signature("s3cret", b'{"alert_id":1}') == (
        # printf %s '{"alert_id":1}' | openssl dgst -sha256 -hmac s3cret
        "sha256=565ef386adf8a4750e7a8122d9a15ed34281b6837cc4f38a98c41f6eedeb19d8"
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"state": "closed"}, "alert state must be one of open, acknowledged, resolved, not 'closed'"),
        ({"event": "again"}, "notification event must be one of opened, escalated, reminder, acknowledged, "
                             "resolved, changed, not 'again'"),
        ({"started_at": datetime(2026, 1, 1)}, "started_at must be timezone-aware"),
    ],
)
def test_bad_messages_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(OPEN, **changes)
