"""Who is told about an alert, and when: tiers, reminders, retries (pure, with an explicit ``now``).

Tier 1 channels hear of an alert at once (``opened``); tier *n* after ``(n − 1)
× tier_delay`` without an acknowledgement (``escalated``). Every channel
reached so far gets a ``reminder`` every ``reminder`` until someone
acknowledges, a word when the condition ends (``resolved``: by itself, it
still needs an acknowledgement) and when the severity of the alert changes
while it lasts (``changed``, e.g. a warning that becomes an alarm). Once
acknowledged, reminders and escalation stop: the channels that were told of
the alert hear of the acknowledgement (``acknowledged``), and later of its
end and of a change of severity. ``mqtt`` channels, which publish the
fridge's retained alert *state*, follow every change.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable
from datetime import datetime, timedelta

OPENED, ESCALATED, REMINDER = "opened", "escalated", "reminder"
ACKNOWLEDGED, RESOLVED, CHANGED = "acknowledged", "resolved", "changed"
EVENTS = (OPENED, ESCALATED, REMINDER, ACKNOWLEDGED, RESOLVED, CHANGED)
FIRST = frozenset({OPENED, ESCALATED})  # the first message a channel gets about an alert
STATE_CHANNELS = frozenset({"mqtt"})  # publish state, not messages to people


@dataclasses.dataclass(frozen=True, slots=True)
class Policy:
    tier_delay: timedelta = timedelta(minutes=15)
    reminder: timedelta = timedelta(minutes=30)  # zero: no reminders
    max_attempts: int = 8


@dataclasses.dataclass(frozen=True, slots=True)
class Target:
    """A channel as the planner sees it."""

    name: str
    type: str
    tier: int


@dataclasses.dataclass(frozen=True, slots=True)
class AlertTimes:
    created_at: datetime
    ended_at: datetime | None
    acknowledged_at: datetime | None


# (channel name, event, sequence): one planned message; reminders count from 1.
Planned = tuple[str, str, int]


def reached_at(alert: AlertTimes, target: Target, policy: Policy) -> datetime:
    """When a channel's tier is due to hear of the alert."""
    return alert.created_at + (target.tier - 1) * policy.tier_delay


def first_event(alert: AlertTimes, target: Target, policy: Policy) -> str:
    """``opened`` for a channel told at once, ``escalated`` for one told because nobody acknowledged in time."""
    return ESCALATED if reached_at(alert, target, policy) > alert.created_at else OPENED


def due(alert: AlertTimes, targets: Iterable[Target], policy: Policy, planned: Collection[Planned],
        now: datetime, *, told: Collection[str] = frozenset(), severity_changed: bool = False) -> list[Planned]:
    """The messages to send now that are not in ``planned`` already.

    ``told``: the channels that have received a message about this alert (an acknowledgement is told to
    those only). ``severity_changed``: the alert's severity changed just now, while its condition lasts.

    A missed reminder is not caught up: only the latest one due is sent.
    A tier reached only after the acknowledgement is never told.
    """
    out: list[Planned] = []
    acked = alert.acknowledged_at
    for target in targets:
        reach = reached_at(alert, target, policy)
        if now < reach or (acked is not None and acked <= reach):
            continue
        heard = any((target.name, event, 0) in planned for event in FIRST)
        wanted: list[Planned] = [] if heard else [(target.name, first_event(alert, target, policy), 0)]
        if target.type in STATE_CHANNELS or acked is None or target.name in told:
            if acked is not None:
                wanted.append((target.name, ACKNOWLEDGED, 0))
            if alert.ended_at is not None:
                wanted.append((target.name, RESOLVED, 0))
            if severity_changed and heard:
                changes = [seq for name, event, seq in planned if name == target.name and event == CHANGED]
                wanted.append((target.name, CHANGED, max(changes, default=0) + 1))
        if target.type not in STATE_CHANNELS and acked is None and policy.reminder > timedelta(0):
            count = int((now - reach) / policy.reminder)
            if count >= 1:
                wanted.append((target.name, REMINDER, count))
        out.extend(item for item in wanted if item not in planned)
    return out


def still_wanted(event: str, channel_type: str, acknowledged: bool) -> bool:
    """Whether a planned message should still go out: an acknowledgement cancels escalation and reminders."""
    return channel_type in STATE_CHANNELS or not acknowledged or event in (ACKNOWLEDGED, RESOLVED, CHANGED)
