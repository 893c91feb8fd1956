"""Who hears of an alert and when: tiers, reminders, the end of an episode, acknowledgement."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from fridge_monitor.escalation import AlertTimes, Policy, Target, due, still_wanted

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)
POLICY = Policy(tier_delay=timedelta(minutes=15), reminder=timedelta(minutes=30))
WARD = Target("ward-email", "email", 1)
COORDINATOR = Target("coordinator-hook", "webhook", 2)
MANAGER = Target("manager-sms", "apprise", 3)
STATE = Target("alert-state", "mqtt", 1)
ALL = [WARD, COORDINATOR, MANAGER, STATE]


def m(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_tier_one_at_once_higher_tiers_after_their_delay():
    alert = AlertTimes(T0, None, None)
    assert due(alert, ALL, POLICY, set(), m(0)) == [("ward-email", "opened", 0), ("alert-state", "opened", 0)]
    assert ("coordinator-hook", "opened", 0) not in due(alert, ALL, POLICY, set(), m(14.9))
    assert ("coordinator-hook", "opened", 0) in due(alert, ALL, POLICY, set(), m(15))
    assert ("manager-sms", "opened", 0) not in due(alert, ALL, POLICY, set(), m(29.9))
    assert ("manager-sms", "opened", 0) in due(alert, ALL, POLICY, set(), m(30))


def test_nothing_twice():
    alert = AlertTimes(T0, None, None)
    sent = set(due(alert, ALL, POLICY, set(), m(0)))
    assert due(alert, ALL, POLICY, sent, m(1)) == []


def test_reminders_every_interval_only_the_latest_missed_one():
    alert = AlertTimes(T0, None, None)
    sent = {("ward-email", "opened", 0)}
    assert due(alert, [WARD], POLICY, sent, m(29)) == []
    assert due(alert, [WARD], POLICY, sent, m(30)) == [("ward-email", "reminder", 1)]
    # The scheduler was down for two hours: one reminder now, not four.
    assert due(alert, [WARD], POLICY, sent | {("ward-email", "reminder", 1)}, m(150)) == [("ward-email", "reminder", 5)]
    # Tier 2's reminders count from when it was reached.
    assert due(alert, [COORDINATOR], POLICY, {("coordinator-hook", "opened", 0)}, m(44)) == []
    assert due(alert, [COORDINATOR], POLICY, {("coordinator-hook", "opened", 0)}, m(45)) == [
        ("coordinator-hook", "reminder", 1)]


def test_no_reminders_when_switched_off():
    alert = AlertTimes(T0, None, None)
    policy = Policy(tier_delay=timedelta(minutes=15), reminder=timedelta(0))
    assert due(alert, [WARD], policy, {("ward-email", "opened", 0)}, m(600)) == []


def test_resolved_by_itself_still_needs_acknowledgement():
    alert = AlertTimes(T0, m(20), None)
    sent = {("ward-email", "opened", 0), ("coordinator-hook", "opened", 0)}
    assert due(alert, [WARD, COORDINATOR], POLICY, sent, m(21)) == [
        ("ward-email", "resolved", 0), ("coordinator-hook", "resolved", 0)]
    # ... and reminders go on until someone acknowledges.
    sent |= {("ward-email", "resolved", 0), ("coordinator-hook", "resolved", 0)}
    assert due(alert, [WARD], POLICY, sent, m(31)) == [("ward-email", "reminder", 1)]


def test_nothing_more_once_acknowledged_but_the_state_channel_follows():
    alert = AlertTimes(T0, None, m(5))
    sent = {("ward-email", "opened", 0), ("alert-state", "opened", 0)}
    assert due(alert, ALL, POLICY, sent, m(300)) == [("alert-state", "acknowledged", 0)]
    ended = AlertTimes(T0, m(40), m(5))
    sent.add(("alert-state", "acknowledged", 0))
    assert due(ended, ALL, POLICY, sent, m(300)) == [("alert-state", "resolved", 0)]


def test_a_tier_due_only_after_the_acknowledgement_is_never_told():
    alert = AlertTimes(T0, None, m(10))
    assert due(alert, [COORDINATOR, MANAGER], POLICY, set(), m(100)) == []


def test_an_acknowledgement_cancels_messages_to_people_not_the_state():
    assert still_wanted("reminder", "email", acknowledged=True) is False
    assert still_wanted("opened", "webhook", acknowledged=True) is False
    assert still_wanted("opened", "webhook", acknowledged=False) is True
    assert still_wanted("resolved", "mqtt", acknowledged=True) is True
