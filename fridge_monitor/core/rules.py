"""Excursions and alarm rules over one fridge's readings: pure, with an explicit ``now``.

Everything here is derived from the readings alone, in reading-time order, so
evaluating the same series twice gives the same episodes (a restart neither
loses nor duplicates one) and a late reading changes exactly what it should.

Time is measured between readings: each reading holds until the next one, but
at most ``allowed_gap``; past that the temperature is *unknown* — neither in
range nor out of range. Unknown time is never recovery: between two readings
beyond a limit it belongs to the episode and counts toward its alarms (the
safe assumption), and the episode says how much of it was unknown. When an
episode starts and ends is decided by the one scanner in
:mod:`fridge_monitor.core.episodes`, which lot exposures use too; the stretches
of known and unknown time come from :mod:`fridge_monitor.core.intervals`. A
profile's definition table (config file, admin page) is read by
:mod:`fridge_monitor.core.profile_definitions`.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from fridge_monitor.core.episodes import Found, Span, Zone, scan, unknown
from fridge_monitor.core.intervals import Step, intervals, is_number, steps
from fridge_monitor.core.mkt import mean_kinetic_temperature

DIRECTIONS = ("high", "low")
MODES = ("continuous", "cumulative")
SEVERITIES = ("warning", "alarm")
EXCURSION = "excursion"  # the kind of an out-of-range episode; no rule may take this name
RESERVED_RULE_NAMES = (EXCURSION, "out-of-range")  # the second is how alerts name the range itself
ZERO = timedelta(0)
MINUTE = timedelta(minutes=1)


class ProfileError(ValueError):
    """An alarm profile or rule that cannot work; the message names the field."""


@dataclasses.dataclass(frozen=True, slots=True)
class Rule:
    """An alarm condition: beyond ``threshold_c`` in ``direction`` for ``duration``.

    ``inclusive`` decides whether the threshold itself is beyond (heat:
    ``t >= threshold`` vs ``t > threshold``). *continuous* needs one
    uninterrupted stretch beyond for ``duration``; *cumulative* needs that
    much time beyond within any sliding ``window``. A zero duration fires on
    the first reading beyond.
    """

    name: str
    direction: str
    threshold_c: float
    mode: str = "continuous"
    duration: timedelta = ZERO
    window: timedelta | None = None
    severity: str = "alarm"
    inclusive: bool = True

    def __post_init__(self) -> None:
        where = f"rule {self.name!r}"
        if not isinstance(self.name, str) or not self.name.strip():
            raise ProfileError("a rule needs a name, such as 'heat' or 'freeze'")
        if self.name in RESERVED_RULE_NAMES:
            raise ProfileError(f"{where}: the name {self.name!r} is reserved for out-of-range episodes")
        if self.direction not in DIRECTIONS:
            raise ProfileError(f"{where}: direction must be 'high' or 'low', not {self.direction!r}")
        if not is_number(self.threshold_c):
            raise ProfileError(f"{where}: threshold_c must be a finite number of °C, not {self.threshold_c!r}")
        if self.mode not in MODES:
            raise ProfileError(f"{where}: mode must be 'continuous' or 'cumulative', not {self.mode!r}")
        if self.severity not in SEVERITIES:
            raise ProfileError(f"{where}: severity must be 'warning' or 'alarm', not {self.severity!r}")
        if not isinstance(self.duration, timedelta) or self.duration < ZERO:
            raise ProfileError(f"{where}: duration must be a length of time of at least zero, not {self.duration!r}")
        if self.mode == "continuous" and self.window is not None:
            raise ProfileError(f"{where}: window applies only to a cumulative rule; remove it or set mode 'cumulative'")
        if self.mode == "cumulative":
            if self.duration <= ZERO:
                raise ProfileError(f"{where}: a cumulative rule needs a duration longer than zero")
            if not isinstance(self.window, timedelta) or self.window < self.duration:
                raise ProfileError(f"{where}: a cumulative rule needs a window at least as long as its duration "
                                   f"({self.duration}), not {self.window!r}")

    def beyond(self, celsius: float) -> bool:
        """Whether a temperature is beyond the threshold (the alarm condition holds)."""
        if self.direction == "high":
            return celsius >= self.threshold_c if self.inclusive else celsius > self.threshold_c
        return celsius <= self.threshold_c if self.inclusive else celsius < self.threshold_c

    def recovered(self, celsius: float, hysteresis_c: float) -> bool:
        """Whether a temperature is back inside by the hysteresis margin (e.g. ≤ 8.0 − 0.3 for heat)."""
        if self.beyond(celsius):
            return False
        if self.direction == "high":
            return celsius <= self.threshold_c - hysteresis_c
        return celsius >= self.threshold_c + hysteresis_c


@dataclasses.dataclass(frozen=True, slots=True)
class AlarmProfile:
    """The fridge's allowed range ``[low_c, high_c]`` (inclusive) plus its alarm rules and anti-flapping settings.

    Any reading outside the range opens an ``excursion`` episode (a warning);
    the rules decide when it becomes an alarm.
    """

    name: str
    low_c: float
    high_c: float
    rules: tuple[Rule, ...] = ()
    hysteresis_c: float = 0.3
    clear_delay: timedelta = timedelta(minutes=10)
    allowed_gap: timedelta = timedelta(minutes=35)
    low_battery_pct: float = 20.0
    # Back inside the range this long ends an episode even short of the hysteresis margin (a fridge
    # hovering at 7.9 °C is in range).
    settle_time: timedelta = timedelta(minutes=30)
    # The causes (:mod:`fridge_monitor.core.causes`): a door open longer than this; a plug measuring at most
    # ``power_lost_w`` (no power at all); the compressor running above ``compressor_on_w``, resting below it
    # for at most ``off_cycle_max`` (None: learnt from the plug's last days).
    door_open_max: timedelta = timedelta(minutes=3)
    power_lost_w: float = 0.5
    compressor_on_w: float = 20.0
    off_cycle_max: timedelta | None = None

    def __post_init__(self) -> None:
        where = f"alarm profile {self.name!r}"
        if not isinstance(self.name, str) or not self.name.strip():
            raise ProfileError("an alarm profile needs a name")
        for field in ("low_c", "high_c", "hysteresis_c", "low_battery_pct"):
            if not is_number(getattr(self, field)):
                raise ProfileError(f"{where}: {field} must be a finite number, not {getattr(self, field)!r}")
        if self.low_c >= self.high_c:
            raise ProfileError(f"{where}: low_c ({self.low_c}) must be below high_c ({self.high_c})")
        if self.hysteresis_c < 0 or self.low_c + self.hysteresis_c > self.high_c - self.hysteresis_c:
            raise ProfileError(f"{where}: hysteresis_c must be at least 0 and at most half the range "
                               f"({(self.high_c - self.low_c) / 2:g} °C), not {self.hysteresis_c}")
        if not isinstance(self.clear_delay, timedelta) or self.clear_delay < ZERO:
            raise ProfileError(f"{where}: clear_delay must be a length of time of at least zero")
        if not isinstance(self.settle_time, timedelta) or self.settle_time < ZERO:
            raise ProfileError(f"{where}: settle_time must be a length of time of at least zero")
        if not isinstance(self.allowed_gap, timedelta) or self.allowed_gap <= ZERO:
            raise ProfileError(f"{where}: allowed_gap must be a length of time longer than zero")
        if not isinstance(self.door_open_max, timedelta) or self.door_open_max <= ZERO:
            raise ProfileError(f"{where}: door_open_max must be a length of time longer than zero")
        if self.off_cycle_max is not None and (not isinstance(self.off_cycle_max, timedelta)
                                               or self.off_cycle_max <= ZERO):
            raise ProfileError(f"{where}: off_cycle_max must be a length of time longer than zero")
        for field in ("power_lost_w", "compressor_on_w"):
            if not is_number(getattr(self, field)) or getattr(self, field) < 0:
                raise ProfileError(f"{where}: {field} must be a number of watts of at least 0, "
                                   f"not {getattr(self, field)!r}")
        if self.compressor_on_w <= self.power_lost_w:
            raise ProfileError(f"{where}: compressor_on_w ({self.compressor_on_w:g} W) must be above power_lost_w "
                               f"({self.power_lost_w:g} W)")
        if not 0 <= self.low_battery_pct <= 100:
            raise ProfileError(f"{where}: low_battery_pct must be between 0 and 100, not {self.low_battery_pct}")
        if not isinstance(self.rules, tuple) or not all(isinstance(r, Rule) for r in self.rules):
            raise ProfileError(f"{where}: rules must be a tuple of Rule")
        names = [r.name for r in self.rules]
        for name in names:
            if names.count(name) > 1:
                raise ProfileError(f"{where}: rule {name!r} is declared twice")

    def in_range(self, celsius: float) -> bool:
        return self.low_c <= celsius <= self.high_c

    def recovered(self, celsius: float) -> bool:
        """Back inside the range by the hysteresis margin on both sides."""
        return self.low_c + self.hysteresis_c <= celsius <= self.high_c - self.hysteresis_c


PRESETS: Mapping[str, AlarmProfile] = types.MappingProxyType({
    # CDC / state VFC programmes: "reportable" above 8 °C for 60 min, or below 2 °C for any time.
    # 8.0 itself is inside the 2.0–8.0 range, so these thresholds are strict.
    "cdc-refrigerator": AlarmProfile("cdc-refrigerator", 2.0, 8.0, (
        Rule("heat", "high", 8.0, "continuous", timedelta(minutes=60), inclusive=False),
        Rule("freeze", "low", 2.0, "continuous", ZERO, inclusive=False),
    )),
    # "a freezer at or above −15 °C for 60 minutes": inclusive.
    "cdc-freezer": AlarmProfile("cdc-freezer", -50.0, -15.0, (
        Rule("heat", "high", -15.0, "continuous", timedelta(minutes=60), inclusive=True),
    )),
    # WHO PQS E006 30-day temperature recorders: alarm thresholds are inclusive.
    "who-30dtr": AlarmProfile("who-30dtr", 2.0, 8.0, (
        Rule("heat", "high", 8.0, "continuous", timedelta(hours=10), inclusive=True),
        Rule("freeze", "low", -0.5, "continuous", timedelta(minutes=60), inclusive=True),
    )),
})


# --- episodes --------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True, slots=True)
class Episode:
    """One excursion (``kind`` "excursion") or one stretch beyond a rule's threshold (``kind`` the rule's name).

    ``end`` is when the value came back inside for good (see
    :mod:`fridge_monitor.core.episodes`; None: still open). The episode covers the
    readings from ``start`` up to ``end`` (or ``now`` while open):
    ``peak_c``/``low_c`` are their extremes, ``time_beyond`` the time beyond
    the condition (holes in the data between readings beyond included, of
    which ``unknown`` says how much), ``mkt_c`` their mean kinetic
    temperature (None until some time is known). ``alarm_at`` is when the
    condition's duration was reached — the moment to alert; a rule episode
    whose duration was never reached has None (pending, not an alarm). An
    excursion's ``alarm_at`` is its start.
    """

    kind: str
    severity: str
    start: datetime
    end: datetime | None
    peak_c: float
    low_c: float
    time_beyond: timedelta
    alarm_at: datetime | None
    readings_count: int
    mkt_c: float | None = None
    unknown: timedelta = ZERO

    @property
    def fired(self) -> bool:
        return self.alarm_at is not None

    def duration(self, now: datetime) -> timedelta:
        return (self.end if self.end is not None else now) - self.start


@dataclasses.dataclass(frozen=True, slots=True)
class _Condition:
    kind: str
    severity: str
    beyond: Callable[[float], bool]
    recovered: Callable[[float], bool]
    duration: timedelta = ZERO
    window: timedelta | None = None  # set: cumulative

    def zone(self, celsius: float) -> Zone:
        if self.beyond(celsius):
            return Zone.BEYOND
        return Zone.CLEAR if self.recovered(celsius) else Zone.INSIDE


def _conditions(profile: AlarmProfile) -> list[_Condition]:
    out = [_Condition(EXCURSION, "warning", lambda t: not profile.in_range(t), profile.recovered)]
    for rule in profile.rules:
        out.append(_Condition(rule.name, rule.severity, rule.beyond,
                              functools.partial(rule.recovered, hysteresis_c=profile.hysteresis_c),
                              rule.duration, rule.window if rule.mode == "cumulative" else None))
    return out


def _spans(condition: _Condition, steps: Sequence[Step]) -> Iterator[Span]:
    for step in steps:
        yield Span(step.at, step.held_until, condition.zone(step.celsius), step.celsius, step.at)
        if step.gap_after:
            yield unknown(step.held_until, step.until)


def _episode(condition: _Condition, found: Found, alarm_at: datetime | None) -> Episode:
    mkt = mean_kinetic_temperature(found.samples) if found.samples else None
    return Episode(condition.kind, condition.severity, found.start, found.end, found.peak_c, found.low_c,
                   found.beyond, alarm_at, found.readings, mkt, found.unknown)


class _BeyondTime:
    """Known time beyond a condition, as a function of time, for sliding-window totals."""

    def __init__(self, spans: list[tuple[datetime, datetime]]) -> None:
        self.starts = [s for s, _ in spans]
        self.ends = [e for _, e in spans]
        self.before = [ZERO]  # before[i]: total length of spans[:i]
        for s, e in spans:
            self.before.append(self.before[-1] + (e - s))

    def upto(self, x: datetime) -> timedelta:
        k = bisect.bisect_right(self.starts, x)
        if k == 0:
            return ZERO
        return self.before[k - 1] + (min(x, self.ends[k - 1]) - self.starts[k - 1])

    def within(self, x: datetime, window: timedelta) -> timedelta:
        """Time beyond in ``[x − window, x]``."""
        return self.upto(x) - self.upto(x - window)

    def first_reach(self, amount: timedelta, window: timedelta, lo: datetime, hi: datetime) -> datetime | None:
        """The first instant in ``[lo, hi]`` at which the window ending there holds ``amount`` beyond.

        The window total is piecewise linear (slope −1, 0 or 1) between the
        span edges and the edges shifted by ``window``, so it suffices to look
        at those points and solve on the rising segment.
        """
        points = {lo, hi}
        for edges in (self.starts, self.ends):
            for shift in (ZERO, window):
                i = bisect.bisect_left(edges, lo - shift)
                j = bisect.bisect_right(edges, hi - shift)
                points.update(edge + shift for edge in edges[i:j])
        previous: tuple[datetime, timedelta] | None = None
        for x in sorted(points):
            total = self.within(x, window)
            if total >= amount:
                if previous is None:
                    return x
                a, total_a = previous
                return a + (amount - total_a)  # the segment rises at slope 1
            previous = (x, total)
        return None


def episodes(profile: AlarmProfile, readings: Sequence[tuple[datetime, float]], *, now: datetime) -> list[Episode]:
    """All excursion and rule episodes in a series of ``(measured_at, °C)`` readings, as of ``now``.

    Readings may come in any order (they are sorted; of two at the same
    instant the first given wins); readings after ``now`` are not yet
    considered. A cumulative rule looks back one window, so pass readings
    from at least that long before the period of interest. Episodes come in
    start order (excursion before rules at the same instant).
    """
    held = steps(readings, now, profile.allowed_gap)
    found: list[tuple[datetime, int, Episode]] = []
    for order, condition in enumerate(_conditions(profile)):
        scanned = scan(_spans(condition, held), clear_delay=profile.clear_delay, settle=profile.settle_time,
                       duration=condition.duration)
        if condition.window is None:
            found.extend((f.start, order, _episode(condition, f, f.alarm_at)) for f in scanned)
            continue
        beyond = _BeyondTime([span for f in scanned for span in f.beyond_spans])
        for f in scanned:
            alarm_at = beyond.first_reach(condition.duration, condition.window, f.start,
                                          f.end if f.end is not None else now)
            found.append((f.start, order, _episode(condition, f, alarm_at)))
    return [e for _, _, e in sorted(found, key=lambda item: item[:2])]


# --- daily records and silence ---------------------------------------------------------------------

def daily_time_out_of_range(profile: AlarmProfile, readings: Sequence[tuple[datetime, float]], tz: tzinfo,
                            day: date, allowed_gap: timedelta, *, now: datetime | None = None) -> timedelta:
    """Known time outside ``[low_c, high_c]`` during one site-local day (23 h or 25 h on DST days).

    No hysteresis: this is the plain time out of range, recorded whether or
    not an alarm fired. Pass readings from at least ``allowed_gap`` before
    the day (the last one of the previous day holds into it) and, for a past
    day, the first one after it. ``now`` ends a day still in progress;
    without it the last reading holds for up to ``allowed_gap``.
    """
    return days_out_of_range(profile, readings, tz, [day], allowed_gap, now=now)[day]


def days_out_of_range(profile: AlarmProfile, readings: Sequence[tuple[datetime, float]], tz: tzinfo,
                      days: Sequence[date], allowed_gap: timedelta, *,
                      now: datetime | None = None) -> dict[date, timedelta]:
    """:func:`daily_time_out_of_range` of each of ``days``, the series cut into intervals once for them all."""
    bounds = [(day, datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC),
               datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)) for day in days]
    if now is not None:
        series_end = now
    else:  # the last reading holds into the last day, up to the gap
        series_end = max([*(end for _, _, end in bounds), *(at for at, _ in readings)])
    # Out-of-range stretches, in time order and not overlapping (one reading holds at a time).
    spans = [(i.start, i.end) for i in intervals(readings, series_end, allowed_gap)
             if i.temp_c is not None and not profile.in_range(i.temp_c)]
    ends = [end for _, end in spans]
    totals: dict[date, timedelta] = {}
    for day, day_start, day_end in bounds:
        until = min(day_end, series_end)
        total = ZERO
        k = bisect.bisect_right(ends, day_start)  # the first stretch that ends inside the day or later
        while k < len(spans) and spans[k][0] < until:
            overlap = min(spans[k][1], until) - max(spans[k][0], day_start)
            if overlap > ZERO:
                total += overlap
            k += 1
        totals[day] = total
    return totals
