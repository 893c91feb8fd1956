"""Who is told about an alert, and when: tiers, reminders, retries (pure, with an explicit ``now``).

Tier 1 channels hear of an alert at once; tier *n* after ``(n − 1) ×
tier_delay`` without an acknowledgement. Every channel reached so far gets a
reminder every ``reminder`` until someone acknowledges, and a word when the
condition ends by itself (it still needs an acknowledgement). Once
acknowledged, people are left alone: only ``mqtt`` channels, which publish the
fridge's retained alert *state*, still follow its changes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable
from datetime import datetime, timedelta

OPENED, REMINDER, RESOLVED, ACKNOWLEDGED = "opened", "reminder", "resolved", "acknowledged"
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


def due(alert: AlertTimes, targets: Iterable[Target], policy: Policy, planned: Collection[Planned],
        now: datetime) -> list[Planned]:
    """The messages to send now that are not in ``planned`` already.

    A missed reminder is not caught up: only the latest one due is sent.
    A tier reached only after the acknowledgement is never told.
    """
    out: list[Planned] = []
    acked = alert.acknowledged_at
    for target in targets:
        reach = reached_at(alert, target, policy)
        if now < reach or (acked is not None and acked <= reach):
            continue
        wanted: list[Planned] = [(target.name, OPENED, 0)]
        if target.type in STATE_CHANNELS:
            if alert.ended_at is not None:
                wanted.append((target.name, RESOLVED, 0))
            if acked is not None:
                wanted.append((target.name, ACKNOWLEDGED, 0))
        elif acked is None:
            if alert.ended_at is not None:
                wanted.append((target.name, RESOLVED, 0))
            if policy.reminder > timedelta(0):
                count = int((now - reach) / policy.reminder)
                if count >= 1:
                    wanted.append((target.name, REMINDER, count))
        out.extend(item for item in wanted if item not in planned)
    return out


def still_wanted(event: str, channel_type: str, acknowledged: bool) -> bool:
    """Whether a planned message should still go out (an acknowledgement cancels messages to people)."""
    return channel_type in STATE_CHANNELS or not acknowledged or event == ACKNOWLEDGED
