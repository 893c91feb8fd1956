"""Who hears of an alert and when: tiers, reminders, the end of an episode, acknowledgement, a change of
severity — each message named by its event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fridge_monitor.core.escalation import AlertTimes, Policy, Target, due, still_wanted

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
POLICY = Policy(tier_delay=timedelta(minutes=15), reminder=timedelta(minutes=30))
WARD = Target("ward-email", "email", 1)
COORDINATOR = Target("coordinator-hook", "webhook", 2)
MANAGER = Target("manager-sms", "apprise", 3)
STATE = Target("alert-state", "mqtt", 1)
ALL = [WARD, COORDINATOR, MANAGER, STATE]


def m(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_tier_one_at_once_higher_tiers_after_their_delay_as_an_escalation():
    alert = AlertTimes(T0, None, None)
    assert due(alert, ALL, POLICY, set(), m(0)) == [("ward-email", "opened", 0), ("alert-state", "opened", 0)]
    assert ("coordinator-hook", "escalated", 0) not in due(alert, ALL, POLICY, set(), m(14.9))
    assert ("coordinator-hook", "escalated", 0) in due(alert, ALL, POLICY, set(), m(15))
    assert ("manager-sms", "escalated", 0) not in due(alert, ALL, POLICY, set(), m(29.9))
    assert ("manager-sms", "escalated", 0) in due(alert, ALL, POLICY, set(), m(30))


def test_every_tier_told_at_once_is_opened_not_escalated():
    alert = AlertTimes(T0, None, None)
    at_once = Policy(tier_delay=timedelta(0), reminder=timedelta(minutes=30))
    assert due(alert, [WARD, COORDINATOR], at_once, set(), m(0)) == [
        ("ward-email", "opened", 0), ("coordinator-hook", "opened", 0)]


def test_a_channel_told_opened_before_escalated_was_a_name_is_not_told_again():
    # Rows planned before the escalated event existed call a tier 2 channel's first message "opened".
    alert = AlertTimes(T0, None, None)
    assert due(alert, [COORDINATOR], POLICY, {("coordinator-hook", "opened", 0)}, m(20)) == []


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


def test_an_acknowledgement_is_told_to_the_channels_told_so_far_then_its_end_no_reminders():
    alert = AlertTimes(T0, None, m(5))
    sent = {("ward-email", "opened", 0), ("alert-state", "opened", 0)}
    told = {"ward-email", "alert-state"}
    assert due(alert, ALL, POLICY, sent, m(6), told=told) == [
        ("ward-email", "acknowledged", 0), ("alert-state", "acknowledged", 0)]
    sent |= {("ward-email", "acknowledged", 0), ("alert-state", "acknowledged", 0)}
    assert due(alert, ALL, POLICY, sent, m(300), told=told) == []  # no reminder, no tier 2 or 3
    ended = AlertTimes(T0, m(40), m(5))
    assert due(ended, ALL, POLICY, sent, m(300), told=told) == [
        ("ward-email", "resolved", 0), ("alert-state", "resolved", 0)]


def test_resolved_by_itself_then_acknowledged():
    ended = AlertTimes(T0, m(20), None)
    sent = {("ward-email", "opened", 0)}
    assert due(ended, [WARD], POLICY, sent, m(21), told={"ward-email"}) == [("ward-email", "resolved", 0)]
    sent.add(("ward-email", "resolved", 0))
    closed = AlertTimes(T0, m(20), m(25))
    assert due(closed, [WARD], POLICY, sent, m(26), told={"ward-email"}) == [("ward-email", "acknowledged", 0)]


def test_an_acknowledgement_is_not_told_to_a_channel_that_never_received_the_alert():
    # The e-mail server was down: the opened message never arrived, so neither does its acknowledgement.
    alert = AlertTimes(T0, m(40), m(5))
    sent = {("ward-email", "opened", 0), ("alert-state", "opened", 0)}
    assert due(alert, [WARD, STATE], POLICY, sent, m(60), told=set()) == [
        ("alert-state", "acknowledged", 0), ("alert-state", "resolved", 0)]


def test_a_change_of_severity_is_told_to_every_channel_reached_each_time_it_changes():
    alert = AlertTimes(T0, None, None)
    sent = {("ward-email", "opened", 0), ("alert-state", "opened", 0)}
    assert due(alert, ALL, POLICY, sent, m(5), severity_changed=True) == [
        ("ward-email", "changed", 1), ("alert-state", "changed", 1)]
    sent |= {("ward-email", "changed", 1), ("alert-state", "changed", 1)}
    assert due(alert, [WARD], POLICY, sent, m(6)) == []
    assert due(alert, [WARD], POLICY, sent, m(7), severity_changed=True) == [("ward-email", "changed", 2)]
    # A tier not reached yet hears of the alert as it is when reached, not of the change.
    assert due(alert, [COORDINATOR], POLICY, set(), m(5), severity_changed=True) == []
    assert due(alert, [COORDINATOR], POLICY, set(), m(15), severity_changed=True) == [
        ("coordinator-hook", "escalated", 0)]
    # Acknowledged: told to the channels that heard of it.
    acked = AlertTimes(T0, None, m(3))
    sent.add(("ward-email", "acknowledged", 0))
    assert due(acked, [WARD], POLICY, sent, m(8), told={"ward-email"}, severity_changed=True) == [
        ("ward-email", "changed", 2)]


def test_a_tier_due_only_after_the_acknowledgement_is_never_told():
    alert = AlertTimes(T0, None, m(10))
    assert due(alert, [COORDINATOR, MANAGER], POLICY, set(), m(100)) == []


def test_an_acknowledgement_cancels_escalation_and_reminders_not_news():
    assert still_wanted("reminder", "email", acknowledged=True) is False
    assert still_wanted("opened", "webhook", acknowledged=True) is False
    assert still_wanted("escalated", "apprise", acknowledged=True) is False
    assert still_wanted("acknowledged", "webhook", acknowledged=True) is True
    assert still_wanted("resolved", "email", acknowledged=True) is True
    assert still_wanted("changed", "email", acknowledged=True) is True
    assert still_wanted("opened", "webhook", acknowledged=False) is True
    assert still_wanted("resolved", "mqtt", acknowledged=True) is True
