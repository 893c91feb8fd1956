"""The trend pre-alarm of one fridge, from its stored readings: heading out of its range, and how soon.

Each fridge's usual behaviour (:func:`fridge_monitor.core.trend.learn`) is
learnt from its last :data:`LEARN` of readings, again every :data:`RELEARN`
(kept per process: a restart only learns it once more). The warning holds
while the rise (or fall) it was raised on goes on, and ends when that turns,
or when an excursion opens: the excursion then says it was predicted, and
how early (:func:`predicted`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy.orm as so

from fridge_monitor.core import trend
from fridge_monitor.core.checks import Finding
from fridge_monitor.core.checks import duration_text as minutes
from fridge_monitor.core.rules import AlarmProfile
from fridge_monitor.store import models as m
from fridge_monitor.store.series import Readings, load_series

LEARN = timedelta(days=7)
RELEARN = timedelta(hours=1)
RECENT = timedelta(hours=3)  # the readings a forecast reads back through
PREDICTED_WITHIN = timedelta(hours=2)  # a warning this long (or less) before an excursion predicted it

_learnt: dict[int, tuple[datetime, float, float, trend.Normal]] = {}


def _normal(session: so.Session, fridge_id: int, profile: AlarmProfile, newest: datetime) -> trend.Normal:
    """The fridge's usual behaviour up to its newest reading (a backlog replayed is learnt as it goes);
    relearnt every :data:`RELEARN` of readings, and while too little is known."""
    known = _learnt.get(fridge_id)
    if known is not None and abs(newest - known[0]) < RELEARN and known[1:3] == (profile.low_c, profile.high_c):
        return known[3]
    history = load_series(session, fridge_id, newest - LEARN, newest, profile.allowed_gap)
    normal = trend.learn(history, profile.low_c, profile.high_c)
    if normal.ceiling_c is not None:
        _learnt[fridge_id] = (newest, profile.low_c, profile.high_c, normal)
    return normal


def trend_findings(session: so.Session, fridge_id: int, fridge: str, profile: AlarmProfile, series: Readings,
                   within: timedelta, findings: Sequence[Finding], alerts: Sequence[m.Alert],
                   door_opened: datetime | None = None) -> list[Finding]:
    """A ``trend`` warning while the fridge heads out of its range (none during an excursion). A rise while
    the door was open (``door_opened``: when its contact last saw it open) within the slope's window is the
    door's doing: ``door-open`` speaks for a door left open."""
    if not series or any(f.kind == "excursion" and f.end is None for f in findings):
        return []
    if not profile.low_c <= series[-1][1] <= profile.high_c:
        return []
    recent = [p for p in series if p[0] >= series[-1][0] - RECENT]
    held = next((a for a in alerts if a.kind == trend.KIND and a.ended_at is None), None)
    normal = _normal(session, fridge_id, profile, series[-1][0])
    # Nothing is known yet of this fridge's usual cycles (its first readings): no forecast to make.
    door = door_opened is not None and door_opened >= series[-1][0] - trend.FIT
    found = None if normal.ceiling_c is None or door else trend.forecast(recent, normal, profile.low_c,
                                                                          profile.high_c, within)
    if held is not None and (found is not None and _rule(found.direction) == held.rule or trend.still_heading(
            recent, held.started_at, 1 if held.rule == "rising" else -1)):
        # What was predicted when it was raised stands: the warning holds while that rise goes on.
        return [Finding(trend.KIND, held.rule, "", "warning", held.started_at, None, held.title, held.detail)]
    if found is not None:
        return [Finding(trend.KIND, _rule(found.direction), "", "warning", found.at, None, found.title(),
                        found.detail(fridge))]
    return []


def _rule(direction: int) -> str:
    return "rising" if direction > 0 else "falling"


def predicted(findings: Sequence[Finding], alerts: Sequence[m.Alert]) -> list[Finding]:
    """The findings, each excursion saying whether a trend warning predicted it, and how early."""
    warned = [a.started_at for a in alerts if a.kind == trend.KIND]
    out = []
    for f in findings:
        before = [at for at in warned if f.kind == "excursion" and f.start - PREDICTED_WITHIN <= at <= f.start]
        if before:
            f = dataclasses.replace(f, detail=f"{f.detail} Predicted by the trend warning "
                                              f"{minutes(f.start - min(before))} before it began.")
        out.append(f)
    return out
