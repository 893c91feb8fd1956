"""A fridge's causes, judged from its stored channels: door open, power lost, compressor stopped.

:func:`cause_findings` reads what the fridge's door contacts and smart plugs
said over the evaluation's window (and, to learn the compressor's normal
off-cycle, the plug's last days) and hands it to :mod:`fridge_monitor.core.causes`.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa

from fridge_monitor.core import causes
from fridge_monitor.core.checks import Finding
from fridge_monitor.core.rules import AlarmProfile
from fridge_monitor.store.channels import ChannelSeries, channel_values
from fridge_monitor.store.series import Readings, segments


def fridge_channels(conn: sa.Connection, fridge_id: int, since: datetime, now: datetime) -> ChannelSeries:
    """What the fridge's door contacts and plugs said from ``since`` (with the state they were in then)."""
    segs = segments(conn, [fridge_id], since, now, roles=None)
    return channel_values(conn, segs, since, now, channels=("door", "power", "switch"))


def door_last_open(values: ChannelSeries) -> datetime | None:
    """When a door of the fridge was last seen open (:func:`fridge_monitor.core.causes.last_open`)."""
    return causes.last_open(points for (_sensor, channel), points in values.items() if channel == "door")


def cause_findings(conn: sa.Connection, fridge_id: int, profile: AlarmProfile, values: ChannelSeries,
                   now: datetime, series: Readings, *, by_time: bool = True) -> list[Finding]:
    """The door, power and compressor findings of the fridge's sensors (``values``: :func:`fridge_channels`),
    each saying the temperature then.

    ``by_time`` False (right after a batch) judges them as of the channels' newest value stored, not ``now``:
    a door open in a backlog's newest report has been open until then, as far as the data says; how long it
    has stayed open since is time passing, the scheduler's to judge.
    """
    if not values:
        return []
    if not by_time:
        now = min(now, max(at for points in values.values() for at, _v in points[-1:]))
    probe_heard_at = series[-1][0] if series else None
    found: list[Finding] = []
    for sensor in sorted({sid for sid, _channel in values}):
        door, power = values.get((sensor, "door"), []), values.get((sensor, "power"), [])
        switch = values.get((sensor, "switch"), [])
        if door:
            found += causes.door_open(sensor, door, now, profile)
        if power or switch:
            found += causes.power_lost(sensor, power, switch, now, profile, probe_heard_at)
        if power and _rests_long(power, profile, now):
            limit = causes.off_cycle_limit(profile, _history(conn, fridge_id, sensor, now) if
                                           profile.off_cycle_max is None else [])
            found += causes.compressor_stopped(sensor, power, now, profile, limit)
    return [causes.with_temperature(f, _at(series, f.start), _at(series, f.end or now)) for f in found]


def _rests_long(power: Sequence[tuple[datetime, float]], profile: AlarmProfile, now: datetime) -> bool:
    """Whether any rest of the compressor in the window is long enough to be worth judging (learning the
    normal off-cycle reads days of power)."""
    shortest = min(causes.MIN_OFF_CYCLE, profile.off_cycle_max or causes.MIN_OFF_CYCLE)
    return any(run.length(now) > shortest for run in causes.runs(
        power, (profile.power_lost_w < value < profile.compressor_on_w for _at, value in power)))


def _history(conn: sa.Connection, fridge_id: int, sensor: str, now: datetime) -> list[tuple[datetime, float]]:
    """The plug's power over the last :data:`causes.LEARN_DAYS` days, while it was in this fridge."""
    since = now - timedelta(days=causes.LEARN_DAYS)
    segs = [s for s in segments(conn, [fridge_id], since, now, roles=None) if s.sensor_id == sensor]
    return channel_values(conn, segs, since, now, channels=("power",), with_state_before=False).get(
        (sensor, "power"), [])


def _at(series: Readings, moment: datetime) -> float | None:
    """The fridge's temperature at ``moment``: its last reading then (None before the first)."""
    i = bisect.bisect_right(series, (moment, float("inf")))
    return series[i - 1][1] if i else None


def name_causes(findings: Sequence[Finding]) -> list[Finding]:
    """The findings, each excursion naming the cause that began within the hour before it."""
    found = [f for f in findings if f.kind in causes.KINDS]
    return [causes.name_cause(f, found) if f.kind == "excursion" else f for f in findings]
