"""A fridge's other channels on its page: door open periods shaded on the temperature chart, and the plug's
power (and any humidity) charted below it."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, tzinfo

import sqlalchemy as sa

from fridge_monitor.core import charts
from fridge_monitor.core.causes import open_runs
from fridge_monitor.core.checks import duration_text as minutes
from fridge_monitor.store.channels import ChannelSeries, channel_values
from fridge_monitor.store.series import segments

MOST_POINTS = 1500  # more than this in a range are averaged into buckets (the line stays readable)
UNITS = {"power": ("Power", "W"), "humidity": ("Humidity", "%")}


@dataclasses.dataclass(frozen=True, slots=True)
class ChannelCharts:
    door_spans: list[tuple[datetime, datetime, str]]
    charts: list[tuple[str, str]]  # (heading, svg)


def channel_charts(conn: sa.Connection, fridge_id: int, fridge: str, start: datetime, end: datetime, tz: tzinfo,
                   now: datetime) -> ChannelCharts:
    """What the fridge's door contacts, plugs and hygrometers said between ``start`` and ``end``."""
    values = channel_values(conn, segments(conn, [fridge_id], start, end, roles=None), start, min(end, now))
    return ChannelCharts(_door_spans(values, min(end, now), tz), [
        chart for channel in UNITS if (chart := _chart(values, channel, fridge, start, end, tz)) is not None])


def _door_spans(values: ChannelSeries, end: datetime, tz: tzinfo) -> list[tuple[datetime, datetime, str]]:
    out = []
    for (sensor, channel), points in sorted(values.items()):
        if channel != "door":
            continue
        for run in open_runs(points):
            until = run.end or end
            span = until - run.start
            took = minutes(span) if span >= timedelta(minutes=1) else f"{int(span.total_seconds())} s"
            out.append((run.start, until, f"door open {run.start.astimezone(tz):%H:%M}, {took}"
                                          f"{'' if run.end else ' so far'} ({sensor})"))
    return out


def _chart(values: ChannelSeries, channel: str, fridge: str, start: datetime, end: datetime,
           tz: tzinfo) -> tuple[str, str] | None:
    series = [charts.Series(sensor, _thinned(points, start, end))
              for (sensor, kind), points in sorted(values.items()) if kind == channel and points]
    if not series:
        return None
    heading, unit = UNITS[channel]
    svg = charts.render(series, start=start, end=end, tz=tz, band=None, max_gap=timedelta(hours=1),
                        title=f"{fridge}: {heading.lower()} ({unit})",
                        description=f"{heading} of {fridge} in {unit}, per sensor, over the chosen range.",
                        unit=unit, width=960, height=160, chart_id=f"fridge-{channel}-chart", compact=True,
                        floor=0.0)
    return heading, svg


def _thinned(points: list[tuple[datetime, float]], start: datetime, end: datetime) -> list[charts.Point]:
    """The points, or bucket means with their min and max when there are too many to draw."""
    inside = [(at, v) for at, v in points if start <= at <= end]
    if len(inside) <= MOST_POINTS:
        return [charts.Point(at, v) for at, v in inside]
    width = (end - start) / MOST_POINTS
    buckets: dict[int, list[float]] = {}
    for at, v in inside:
        buckets.setdefault(int((at - start) / width), []).append(v)
    return [charts.Point(start + width * (k + 0.5), sum(vs) / len(vs), min(vs), max(vs))
            for k, vs in sorted(buckets.items())]
