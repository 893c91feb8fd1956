"""Staff temperature checks: when they are due at a site, and which were missed (pure).

A site declares its check times in local time (``[[sites]] checks``). Each
local day has one check slot per time, due at that time and missed once its
tolerance has passed without a check recorded for it. On the day the clocks
go forward a time in the skipped hour falls due just after the gap; on the
day they go back, at its first pass.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from fridge_monitor.core.checks import Finding

KIND = "check-missed"
RULE = "staff-check"
DISAGREEMENT_C = 1.0  # a reading taken by a person this far from the monitor's at the time is a disagreement


@dataclasses.dataclass(frozen=True, slots=True)
class Slot:
    """One check due: the site-local day and time, and the moment (UTC) it is due."""

    day: date
    at: time
    due: datetime

    @property
    def label(self) -> str:
        return f"{self.day.isoformat()} {self.at:%H:%M}"


def slots(checks: Sequence[time], tz: tzinfo, first: date, last: date) -> list[Slot]:
    """Every check slot of the local days ``first`` to ``last``, in time order."""
    out = []
    day = first
    while day <= last:
        for at in checks:
            out.append(Slot(day, at, datetime.combine(day, at).replace(tzinfo=tz).astimezone(UTC)))
        day += timedelta(days=1)
    return sorted(out, key=lambda s: s.due)


def slot_for(checks: Sequence[time], tolerance: timedelta, tz: tzinfo, moment: datetime) -> Slot | None:
    """The slot a check recorded at ``moment`` answers: due at most ``tolerance`` after it, or up to an hour before
    (a nurse a little early); None for a check outside every slot."""
    local_day = moment.astimezone(tz).date()
    near = [s for s in slots(checks, tz, local_day - timedelta(days=1), local_day + timedelta(days=1))
            if s.due - timedelta(hours=1) <= moment <= s.due + tolerance]
    return min(near, key=lambda s: abs(s.due - moment), default=None)


def missed(checks: Sequence[time], tolerance: timedelta, tz: tzinfo, since: datetime, now: datetime,
           done: Collection[tuple[date, time]], fridge: str) -> list[Finding]:
    """One finding per slot due from ``since`` on whose tolerance has passed by ``now`` with no check recorded."""
    out = []
    for slot in slots(checks, tz, since.astimezone(tz).date() - timedelta(days=1), now.astimezone(tz).date()):
        deadline = slot.due + tolerance
        if slot.due < since or deadline > now or (slot.day, slot.at) in done:
            continue
        minutes = int(tolerance.total_seconds() // 60)
        out.append(Finding(
            KIND, RULE, slot.label, "warning", deadline, deadline,
            f"Temperature check missed: {slot.at:%H:%M} on {slot.day:%d %b %Y}",
            f"No staff check of {fridge} was recorded for {slot.at:%H:%M} on {slot.day.isoformat()} within "
            f"{minutes} min. Read the unit's own display now, record the check, and say why it was late."))
    return out


def disagreement(fridge: str, check_id: int, checked_at: datetime, read_c: float, monitor_c: float) -> Finding | None:
    """A reading a person took that differs from the monitor's at the time by more than :data:`DISAGREEMENT_C`."""
    if abs(read_c - monitor_c) <= DISAGREEMENT_C:
        return None
    return Finding("sensor-disagreement", RULE, f"check:{check_id}", "warning", checked_at, checked_at,
                   f"Staff reading differs from the monitor: {read_c:.1f} °C against {monitor_c:.1f} °C",
                   f"At the check of {fridge}, the unit's display read {read_c:.1f} °C and the monitor "
                   f"{monitor_c:.1f} °C, more than {DISAGREEMENT_C:.0f} °C apart. Check the probe's place and the "
                   "display with a reference thermometer.")
