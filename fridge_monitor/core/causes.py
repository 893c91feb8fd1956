"""Why a fridge is about to warm up: its door left open, its power lost, its compressor stopped.

Pure findings from the values of a fridge's other channels (door contacts,
smart plugs: :data:`fridge_monitor.core.readings.CHANNELS`), judged as of
``now``. A channel keeps its last value until the next one: a door contact
reports when it changes, so a door that opened and sent nothing since is
still open. An excursion that begins within :data:`CAUSE_WINDOW` after a
cause began names it (:func:`name_cause`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from fridge_monitor.core.checks import CAUSE_KINDS, Finding
from fridge_monitor.core.checks import duration_text as minutes
from fridge_monitor.core.rules import AlarmProfile

Values = Sequence[tuple[datetime, float]]  # (measured at, value), in time order

KINDS = CAUSE_KINDS
CAUSE_WINDOW = timedelta(hours=1)  # a cause this long (or less) before an excursion's start is named on it
# A plug that stops reporting while the fridge's probe still does has most likely lost its power: plugs
# report every few minutes (Tasmota's TelePeriod is 5 min by default, Shelly every 30 s).
PLUG_SILENCE = timedelta(minutes=15)
LEARN_DAYS = 7  # the normal off-cycle is learnt from this many days of the plug's power
MIN_CYCLES = 10  # ... when they hold at least this many complete off-cycles
MIN_SPAN = timedelta(days=3)  # ... and cover this long: enough defrosts (every 6-8 h) to know how long they run
DEFAULT_OFF_CYCLE = timedelta(minutes=60)  # without enough history, and none configured
MIN_OFF_CYCLE = timedelta(minutes=10)  # a learnt limit never below this (a fridge that rarely rests)
# The 99th percentile is passed by one rest in a hundred, a few times a day: the limit adds the spread of the
# longest rests (99th less 90th percentile: large where defrosts vary), and at least this.
OFF_CYCLE_MARGIN = timedelta(minutes=2)


@dataclasses.dataclass(frozen=True, slots=True)
class Run:
    """A stretch during which a condition held: [start, end), ``end`` None while it still holds."""

    start: datetime
    end: datetime | None

    def length(self, now: datetime) -> timedelta:
        return (self.end or now) - self.start


def runs(values: Values, holds: Iterable[bool]) -> list[Run]:
    """The stretches where ``holds`` (one flag per value) is true; each value holds until the next."""
    out: list[Run] = []
    start: datetime | None = None
    for (at, _value), flag in zip(values, holds, strict=True):
        if flag and start is None:
            start = at
        elif not flag and start is not None:
            out.append(Run(start, at))
            start = None
    if start is not None:
        out.append(Run(start, None))
    return out


def open_runs(door: Values) -> list[Run]:
    """The stretches a door contact reported the door open."""
    return runs(door, (value >= 0.5 for _at, value in door))


def last_open(doors: Iterable[Values]) -> datetime | None:
    """When a door was last seen open (``datetime.max`` while one still is): a rise since is the door's doing."""
    found = None
    for door in doors:
        for run in open_runs(door):
            if run.end is None:
                return datetime.max.replace(tzinfo=run.start.tzinfo)
            found = run.end if found is None else max(found, run.end)
    return found


def door_open(sensor: str, door: Values, now: datetime, profile: AlarmProfile) -> list[Finding]:
    """A door open for longer than the profile's ``door_open_max``, with the time it was open."""
    out = []
    for run in open_runs(door):
        if run.length(now) <= profile.door_open_max:
            continue
        state = f"open {minutes(run.length(now))}" + ("" if run.end else " so far")
        detail = (f"The door contact {sensor} reported the door open at {run.start:%H:%M} UTC"
                  + (f" and closed at {run.end:%H:%M} UTC" if run.end else ", and nothing has closed it since")
                  + f" (allowed: {minutes(profile.door_open_max)}).")
        out.append(Finding("door-open", "door-open", sensor, "warning", run.start, run.end,
                           f"Door {state}", detail))
    return out


def power_lost(sensor: str, power: Values, switch: Values, now: datetime, profile: AlarmProfile,
               probe_heard_at: datetime | None) -> list[Finding]:
    """The plug switched off or measuring no power (at or below ``power_lost_w``), or gone silent while the
    fridge's probe still reports (a plug is mains-powered: its silence is most likely an outage)."""
    events = sorted([(at, "power", v) for at, v in power] + [(at, "switch", v) for at, v in switch])
    state = {"power": math.inf, "switch": 1.0}
    timeline: list[tuple[datetime, float]] = []
    flags: list[bool] = []
    for at, channel, value in events:
        state[channel] = value
        timeline.append((at, value))
        flags.append(state["switch"] < 0.5 or state["power"] <= profile.power_lost_w)
    out = []
    for run in runs(timeline, flags):
        title = "Power lost: the plug switched off" if _switched_off(switch, run.start) else \
            "Power lost: the plug measures no power"
        detail = (f"The smart plug {sensor} reported no power reaching the fridge from {run.start:%H:%M} UTC"
                  + (f" to {run.end:%H:%M} UTC ({minutes(run.length(now))})." if run.end
                     else f" ({minutes(run.length(now))} so far)."))
        out.append(Finding("power-lost", "no-power", sensor, "alarm", run.start, run.end, title, detail))
    last = events[-1][0] if events else None
    if last is not None and probe_heard_at is not None and now - last >= PLUG_SILENCE \
            and probe_heard_at - last >= PLUG_SILENCE and not (out and out[-1].end is None):
        out.append(Finding(
            "power-lost", "plug-silent", sensor, "alarm", last, None,
            f"Power lost? The plug has been silent for {minutes(now - last)}",
            f"The smart plug {sensor} last reported at {last:%H:%M} UTC while the fridge's probe still reports: "
            "the socket has most likely lost power (or the plug its network)."))
    return out


def _switched_off(switch: Values, at: datetime) -> bool:
    """Whether the plug's switch was off at ``at`` (its last state then)."""
    before = [value for when, value in switch if when <= at]
    return bool(before) and before[-1] < 0.5


def off_cycle_limit(profile: AlarmProfile, history: Values) -> tuple[timedelta, str]:
    """How long the compressor may rest: the profile's ``off_cycle_max``, else learnt from the complete
    off-cycles in ``history`` (the plug's power over the last days): their 99th percentile and the spread at
    the top (99th less 90th percentile, at least :data:`OFF_CYCLE_MARGIN`), else the default."""
    if profile.off_cycle_max is not None:
        return profile.off_cycle_max, "set in the alarm profile"
    rests = _resting(history, profile)
    if rests and rests[0].start == history[0][0]:
        rests = rests[1:]  # it began before the history: its length is unknown
    complete = sorted(run.end - run.start for run in rests if run.end is not None)
    if len(complete) < MIN_CYCLES or history[-1][0] - history[0][0] < MIN_SPAN:
        return DEFAULT_OFF_CYCLE, (f"the default: the plug has not measured {MIN_CYCLES} off-cycles over "
                                   f"{MIN_SPAN.days} days yet")
    p99 = complete[max(0, math.ceil(0.99 * len(complete)) - 1)]
    p90 = complete[max(0, math.ceil(0.90 * len(complete)) - 1)]
    spread = max(p99 - p90, OFF_CYCLE_MARGIN)
    learnt = max(p99 + spread, MIN_OFF_CYCLE)
    return learnt, (f"learnt from {len(complete)} off-cycles in the last {LEARN_DAYS} days: their 99th percentile, "
                    f"{minutes(p99)}, and {minutes(spread)} more")


def _resting(power: Values, profile: AlarmProfile) -> list[Run]:
    """Stretches with power above "no power" but under the compressor's: the compressor resting."""
    return runs(power, (profile.power_lost_w < value < profile.compressor_on_w for _at, value in power))


def compressor_stopped(sensor: str, power: Values, now: datetime, profile: AlarmProfile,
                       limit: tuple[timedelta, str]) -> list[Finding]:
    """The plug's power under the compressor's for longer than the fridge's normal off-cycle."""
    most, why = limit
    out = []
    for run in _resting(power, profile):
        if run.length(now) <= most:
            continue
        detail = (f"The smart plug {sensor} measured under {profile.compressor_on_w:g} W from {run.start:%H:%M} UTC"
                  + (f" to {run.end:%H:%M} UTC" if run.end else "")
                  + f": the compressor rested {minutes(run.length(now))}"
                  + ("" if run.end else " so far") + f"; its normal off-cycle is at most {minutes(most)} ({why}).")
        out.append(Finding("compressor-stopped", "compressor", sensor, "alarm", run.start, run.end,
                           f"Compressor stopped for {minutes(run.length(now))}", detail))
    return out


CAUSE_WORDS = {"door-open": "door open", "power-lost": "power lost", "compressor-stopped": "compressor stopped"}


def name_cause(excursion: Finding, causes: Sequence[Finding]) -> Finding:
    """The excursion, its detail naming the latest cause that began within :data:`CAUSE_WINDOW` before it,
    e.g. "Likely cause: door open 14 min before"."""
    before = [c for c in causes if excursion.start - CAUSE_WINDOW <= c.start <= excursion.start]
    if not before:
        return excursion
    cause = max(before, key=lambda c: c.start)
    words = f"{CAUSE_WORDS[cause.kind]} {minutes(excursion.start - cause.start)} before"
    return dataclasses.replace(excursion, detail=f"{excursion.detail} Likely cause: {words} ({cause.title}).")


def with_temperature(finding: Finding, at_start: float | None, latest: float | None) -> Finding:
    """A cause, its detail saying what the fridge's temperature was when it began and is now."""
    if at_start is None and latest is None:
        return finding
    parts = []
    if at_start is not None:
        parts.append(f"{at_start:.1f} °C when it began")
    if latest is not None:
        parts.append(f"{latest:.1f} °C {'now' if finding.end is None else 'when it ended'}")
    return dataclasses.replace(finding, detail=f"{finding.detail} The fridge was at {', '.join(parts)}.")
