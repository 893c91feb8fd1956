"""What should be alerted about one fridge right now: pure findings from its episodes and sensors.

Each :class:`Finding` is one episode of one condition: an excursion (the
range, or an alarm rule), a silent sensor, a weak battery, a calibration
falling due, or two sensors that disagree. :mod:`fridge_monitor.alerts.evaluate`
matches findings with the stored alerts, so the same data always gives the
same alerts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from fridge_monitor.core.rules import EXCURSION, AlarmProfile, Episode, Rule, episodes
from fridge_monitor.core.status import is_silent

RANGE_RULE = "out-of-range"  # the rule name shown for the range itself
# A fridge's lots: their findings come from :mod:`fridge_monitor.inventory.lot_safety` (reviews, expiry, beyond-use).
LOT_KINDS = ("lot-review", "lot-expiring", "lot-expired", "beyond-use")
# What is about to warm the fridge (:mod:`fridge_monitor.core.causes`), and where its temperature is heading.
CAUSE_KINDS = ("door-open", "power-lost", "compressor-stopped")
KINDS = ("excursion", "no-data", "low-battery", "calibration-due", "calibration-expired", "sensor-disagreement",
         "logger-overdue", "check-missed", "record-incomplete", *CAUSE_KINDS, "trend", "site-offline",
         "gateway-offline", *LOT_KINDS)
BATTERY_RECOVERY_PCT = 5.0  # a battery warning clears only this far above the threshold


@dataclasses.dataclass(frozen=True, slots=True)
class Finding:
    """One episode that deserves an alert. ``end`` None: still going on."""

    kind: str
    rule: str
    subject: str
    severity: str
    start: datetime
    end: datetime | None
    title: str
    detail: str
    peak_c: float | None = None
    low_c: float | None = None
    episode: Episode | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return self.kind, self.rule, self.subject


@dataclasses.dataclass(frozen=True, slots=True)
class SensorState:
    """An assigned sensor as the checks see it."""

    id: str
    role: str
    since: datetime  # assigned (or registered) at
    last_measured_at: datetime | None
    battery_pct: float | None
    battery_at: datetime | None
    calibration_due: date | None


def duration_text(span: timedelta) -> str:
    """How a length of time reads in an alert: ``14 min``, ``2 h 5 min`` (hours from two on)."""
    total = max(0, int(span.total_seconds() // 60))
    if total >= 120:
        hours, minutes = divmod(total, 60)
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{total} min"


def describe_rule(rule: Rule) -> str:
    """``above 8.0 °C for 60 min``, ``at or below -0.5 °C for 1 h``, ``below 2.0 °C``."""
    word = {("high", True): "at or above", ("high", False): "above",
            ("low", True): "at or below", ("low", False): "below"}[rule.direction, rule.inclusive]
    text = f"{word} {rule.threshold_c:.1f} °C"
    if rule.duration > timedelta(0):
        text += f" for {duration_text(rule.duration)}"
        if rule.mode == "cumulative" and rule.window is not None:
            text += f" within {duration_text(rule.window)}"
    return text


def excursion_findings(profile: AlarmProfile, found: Sequence[Episode], now: datetime) -> list[Finding]:
    """Every range episode, and every rule episode that reached its alarm."""
    rules = {rule.name: rule for rule in profile.rules}
    out = []
    for episode in found:
        if episode.kind == EXCURSION:
            side = "above" if episode.peak_c > profile.high_c else "below"
            limit = profile.high_c if side == "above" else profile.low_c
            title = f"Out of range: {side} {limit:.1f} °C (allowed {profile.low_c:.1f} to {profile.high_c:.1f} °C)"
            rule_name = RANGE_RULE
        elif episode.fired:
            rule = rules[episode.kind]
            title = f"{episode.kind.capitalize()} {episode.severity}: {describe_rule(rule)}"
            rule_name = episode.kind
        else:
            continue
        lasting = "lasted" if episode.end is not None else "so far"
        beyond, lasted = duration_text(episode.time_beyond), duration_text(episode.duration(now))
        detail = (f"Highest {episode.peak_c:.1f} °C, lowest {episode.low_c:.1f} °C; "
                  f"{beyond} beyond the limit, {lasted} {lasting}.")
        if episode.unknown > timedelta(0):
            detail += (f" Of that, {duration_text(episode.unknown)} had no readings, between readings beyond the "
                       "limit: counted as beyond, since it cannot be shown to have been safe.")
        if episode.mkt_c is not None:
            detail += f" Mean kinetic temperature {episode.mkt_c:.1f} °C."
        out.append(Finding("excursion", rule_name, "", episode.severity, episode.start, episode.end, title, detail,
                           episode.peak_c, episode.low_c, episode))
    return out


def no_data_findings(sensors: Sequence[SensorState], fridge_since: datetime, now: datetime,
                     allowed_gap: timedelta, *, heard_until: datetime | None = None,
                     open_subjects: frozenset[str] = frozenset()) -> list[Finding]:
    """A silent sensor is an alarm; so is a fridge with no sensor at all (it is not monitored).

    While ingest drains a backlog, silence is judged at ``heard_until`` (:func:`status.is_silent`),
    so a drain opens no alarm; an alarm already open (its sensor in ``open_subjects``) is judged at
    ``now``: only a reading ends it.
    """
    if not sensors:
        start = fridge_since + allowed_gap
        if now <= start:
            return []
        return [Finding("no-data", "no-sensor", "", "alarm", start, None, "No sensor assigned: not monitored",
                        "This fridge has no sensor, so its temperature is unknown. Assign a sensor under Admin.")]
    out = []
    for sensor in sensors:
        last = sensor.last_measured_at
        heard_from = last if last is not None else sensor.since
        if not is_silent(heard_from, now, allowed_gap, None if sensor.id in open_subjects else heard_until):
            continue
        start = heard_from + allowed_gap
        if last is None:
            detail = f"Sensor {sensor.id} ({sensor.role}) has never sent a reading."
        else:
            detail = (f"No reading from sensor {sensor.id} ({sensor.role}) since {last.astimezone(UTC):%Y-%m-%d %H:%M} "
                      f"UTC; the allowed gap is {duration_text(allowed_gap)}.")
        out.append(Finding("no-data", "silence", sensor.id, "alarm", start, None,
                           f"No data from {sensor.role} sensor {sensor.id}", detail))
    return out


def battery_findings(sensors: Sequence[SensorState], threshold_pct: float,
                     open_subjects: frozenset[str] = frozenset()) -> list[Finding]:
    """Batteries below the threshold; an open warning holds until the battery is back a margin above it."""
    out = []
    for sensor in sensors:
        pct, at = sensor.battery_pct, sensor.battery_at
        if pct is None or at is None:
            continue
        limit = threshold_pct + BATTERY_RECOVERY_PCT if sensor.id in open_subjects else threshold_pct
        if pct < limit:
            out.append(Finding("low-battery", "battery", sensor.id, "warning", at, None,
                               f"Low battery: sensor {sensor.id} at {pct:.0f} %",
                               f"Battery at {pct:.0f} %, below {threshold_pct:.0f} %. Replace or charge it today."))
    return out


def disagreement_series(primary: Sequence[tuple[datetime, float]], backup: Sequence[tuple[datetime, float]],
                        allowed_gap: timedelta) -> list[tuple[datetime, float]]:
    """|primary − backup| at every reading time where both have a value no older than ``allowed_gap``."""
    events = sorted([(at, 0, c) for at, c in primary] + [(at, 1, c) for at, c in backup], key=lambda e: e[:2])
    last: list[tuple[datetime, float] | None] = [None, None]
    out: list[tuple[datetime, float]] = []
    for at, which, celsius in events:
        last[which] = (at, celsius)
        a, b = last
        if a is not None and b is not None and at - a[0] <= allowed_gap and at - b[0] <= allowed_gap:
            if out and out[-1][0] == at:
                out[-1] = (at, abs(a[1] - b[1]))
            else:
                out.append((at, abs(a[1] - b[1])))
    return out


def disagreement_findings(primary_id: str, backup_id: str, primary: Sequence[tuple[datetime, float]],
                          backup: Sequence[tuple[datetime, float]], now: datetime, allowed_gap: timedelta,
                          limit_c: float, duration: timedelta) -> list[Finding]:
    """Primary and backup differ by more than ``limit_c`` for ``duration`` continuously."""
    series = disagreement_series(primary, backup, allowed_gap)
    if not series:
        return []
    hysteresis = min(0.3, limit_c / 4)
    rule = Rule("disagreement", "high", limit_c, "continuous", duration, severity="warning", inclusive=False)
    profile = AlarmProfile("disagreement", -limit_c, limit_c, (rule,), hysteresis_c=hysteresis,
                           allowed_gap=allowed_gap)
    out = []
    for episode in episodes(profile, series, now=now):
        if episode.kind != "disagreement" or not episode.fired:
            continue
        out.append(Finding(
            "sensor-disagreement", "disagreement", backup_id, "warning", episode.start, episode.end,
            f"Sensors disagree: {primary_id} and {backup_id}",
            f"The primary and backup sensors differed by up to {episode.peak_c:.1f} °C, more than {limit_c:.1f} °C "
            f"for {duration_text(episode.time_beyond)}.",
            None, None, None,
        ))
    return out
