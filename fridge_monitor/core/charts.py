"""Temperature charts as inline SVG: pure functions of plain values (no Flask, no database).

A chart shows one or more series of points against time, the allowed range
as a band, and, for aggregated points, the min/max envelope. A gap between
two points longer than ``max_gap`` breaks the line: silence is drawn as
silence, never bridged. Times are labelled in the site's time zone.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from html import escape

# Colour is never the only carrier: the band is labelled in <desc>, series differ by dash pattern too.
BAND_FILL = "#e3f4e8"
ENVELOPE_FILL = "#9ec1ea"
BAND_EDGE = "#1f7a3a"
LINE_STYLES = (("#1a5fb4", ""), ("#8a3ffc", "6 3"), ("#b35900", "2 3"), ("#2e7d6b", "8 3 2 3"))
GRID = "#d8dde5"
SPAN_FILL = "#f6d9b3"  # a door open: shaded, and labelled in the span's own <title>
TEXT = "#5b6575"


@dataclasses.dataclass(frozen=True, slots=True)
class Point:
    """One reading (``low``/``high`` None) or one aggregated bucket with its min and max."""

    at: datetime
    mean: float
    low: float | None = None
    high: float | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Series:
    label: str
    points: Sequence[Point]


@dataclasses.dataclass(frozen=True)
class Frame:
    """Where things go: pixel size, the time window and the value axis."""

    width: int
    height: int
    start: datetime
    end: datetime
    y_min: float
    y_max: float
    left: int
    right: int
    top: int
    bottom: int
    # Derived in __post_init__: the start in epoch seconds and the pixels per second and per unit.
    _t0: float = dataclasses.field(init=False, repr=False, compare=False)
    _sx: float = dataclasses.field(init=False, repr=False, compare=False)
    _sy: float = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Charts place thousands of points per page: work in epoch seconds, scale factors computed once.
        span = (self.end - self.start).total_seconds() or 1.0
        object.__setattr__(self, "_t0", self.start.timestamp())
        object.__setattr__(self, "_sx", (self.width - self.left - self.right) / span)
        object.__setattr__(self, "_sy", (self.height - self.top - self.bottom) / ((self.y_max - self.y_min) or 1.0))

    def x(self, at: datetime) -> float:
        return self.left + (at.timestamp() - self._t0) * self._sx

    def y(self, value: float) -> float:
        return self.height - self.bottom - (value - self.y_min) * self._sy


def unbroken_runs(points: Sequence[Point], max_gap: timedelta) -> list[list[Point]]:
    """Split time-ordered points wherever two neighbours are more than ``max_gap`` apart."""
    runs: list[list[Point]] = []
    for point in points:
        if runs and point.at - runs[-1][-1].at <= max_gap:
            runs[-1].append(point)
        else:
            runs.append([point])
    return runs


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round values (steps of 1, 2, 2.5 or 5 × 10ⁿ) spanning [low, high], about ``count`` of them."""
    if high <= low:
        high = low + 1.0
    raw = (high - low) / max(1, count)
    power = 10 ** math.floor(math.log10(raw))
    step = next(s * power for s in (1, 2, 2.5, 5, 10) if s * power >= raw)
    first = math.floor(low / step + 1e-9)
    last = math.ceil(high / step - 1e-9)
    ticks = [round(k * step, 10) for k in range(first, last + 1)]
    return ticks


_HOUR_STEPS = (1, 2, 3, 6, 12)
_DAY_STEPS = (1, 2, 7, 14)


@functools.lru_cache(maxsize=256)  # every tile of a site shares its window
def time_ticks(start: datetime, end: datetime, tz: tzinfo, most: int = 8) -> list[tuple[datetime, str]]:
    """Tick times at round local times (hours, midnights or first of month) with their labels."""
    span_h = (end - start).total_seconds() / 3600
    for step in _HOUR_STEPS:
        if span_h <= 48 and span_h / step <= most:
            ticks = []
            at = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
            while at <= end:
                local = at.astimezone(tz)
                if at >= start and local.minute == 0 and local.hour % step == 0:
                    ticks.append((at, local.strftime("%H:%M") if local.hour else local.strftime("%d %b")))
                at += timedelta(hours=1)
            return ticks
    days = _local_midnights(start, end, tz)
    for step in _DAY_STEPS:
        if len(days) / step <= most:
            picked = days[::step] if step < 7 else [d for d in days if d[1].weekday() == 0][:: step // 7]
            return [(at, day.strftime("%d %b")) for at, day in picked]
    firsts = [(at, day) for at, day in days if day.day == 1]
    step = max(1, math.ceil(len(firsts) / most))
    return [(at, day.strftime("%b %Y")) for at, day in firsts[::step]]


def _local_midnights(start: datetime, end: datetime, tz: tzinfo) -> list[tuple[datetime, date]]:
    found: list[tuple[datetime, date]] = []
    day = start.astimezone(tz).date()
    while True:
        at = datetime.combine(day, time(0), tz).astimezone(UTC)
        if at > end:
            return found
        if at >= start:
            found.append((at, day))
        day += timedelta(days=1)


def _fmt(value: float) -> str:
    return f"{value:.1f}" if abs(value - round(value)) > 1e-9 else f"{value:.0f}"


def _path(points: Sequence[tuple[float, float]]) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in points)


def render(
    series: Sequence[Series],
    *,
    start: datetime,
    end: datetime,
    tz: tzinfo,
    band: tuple[float, float] | None,
    max_gap: timedelta,
    title: str,
    description: str,
    unit: str = "°C",
    width: int = 720,
    height: int = 260,
    chart_id: str = "chart",
    compact: bool = False,
    spans: Sequence[tuple[datetime, datetime, str]] = (),
    floor: float | None = None,
) -> str:
    """The chart as an ``<svg>`` element (values and band already in the display unit); ``spans`` are
    periods shaded behind the lines (a door open), each with its label; ``floor``: the axis goes no lower
    (a power is never negative)."""
    values = [v for s in series for p in s.points for v in (p.mean, p.low, p.high) if v is not None]
    if band is not None:
        values.extend(band)
    low, high = (min(values), max(values)) if values else (0.0, 10.0)
    pad = max((high - low) * 0.08, 0.5)
    bottom = low - pad if floor is None else max(floor, low - pad)
    ticks = nice_ticks(bottom, high + pad, 3 if compact else 5)
    frame = Frame(
        width=width, height=height, start=start, end=end, y_min=ticks[0], y_max=ticks[-1],
        left=30 if compact else 46, right=6 if compact else 12, top=6 if compact else 10, bottom=16 if compact else 24,
    )
    ident = escape(chart_id, quote=True)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart{" chart-compact" if compact else ""}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(description)}</desc>',
    ]
    plot_right = width - frame.right
    plot_bottom = height - frame.bottom
    if band is not None:
        top_y, bottom_y = frame.y(max(band)), frame.y(min(band))
        out.append(
            f'<rect class="band" x="{frame.left}" y="{top_y:.1f}" width="{plot_right - frame.left}" '
            f'height="{max(0.0, bottom_y - top_y):.1f}" fill="{BAND_FILL}"><title>allowed '
            f'{escape(_fmt(min(band)))} to {escape(_fmt(max(band)))} {escape(unit)}</title></rect>'
        )
    for since, until, label in spans:
        x0, x1 = frame.x(max(since, start)), frame.x(min(until, end))
        if x1 > x0:
            out.append(f'<rect class="span" x="{x0:.1f}" y="{frame.top}" width="{max(1.0, x1 - x0):.1f}" '
                       f'height="{plot_bottom - frame.top}" fill="{SPAN_FILL}" fill-opacity="0.7">'
                       f'<title>{escape(label)}</title></rect>')
    for tick in ticks:
        y = frame.y(tick)
        out.append(f'<line class="grid" x1="{frame.left}" x2="{plot_right}" y1="{y:.1f}" y2="{y:.1f}" '
                   f'stroke="{GRID}"/>')
        out.append(f'<text x="{frame.left - 4}" y="{y + 4:.1f}" text-anchor="end" fill="{TEXT}">'
                   f'{escape(_fmt(tick))}</text>')
    for at, label in time_ticks(start, end, tz, 4 if compact else 8):
        x = frame.x(at)
        out.append(f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{frame.top}" y2="{plot_bottom}" '
                   f'stroke="{GRID}"/>')
        out.append(f'<text x="{x:.1f}" y="{height - 4}" text-anchor="middle" fill="{TEXT}">{escape(label)}</text>')
    if band is not None:
        for edge in band:
            y = frame.y(edge)
            out.append(f'<line class="band-edge" x1="{frame.left}" x2="{plot_right}" y1="{y:.1f}" y2="{y:.1f}" '
                       f'stroke="{BAND_EDGE}" stroke-dasharray="4 3"/>')
    drawn = 0
    for index, one in enumerate(series):
        colour, dash = LINE_STYLES[index % len(LINE_STYLES)]
        label = escape(one.label, quote=True)
        for run in unbroken_runs(one.points, max_gap):
            if any(p.low is not None and p.high is not None for p in run):
                upper = [(frame.x(p.at), frame.y(p.high if p.high is not None else p.mean)) for p in run]
                lower = [(frame.x(p.at), frame.y(p.low if p.low is not None else p.mean)) for p in reversed(run)]
                if len(run) == 1:
                    x = upper[0][0]
                    upper = [(x - 1, upper[0][1]), (x + 1, upper[0][1])]
                    lower = [(x + 1, lower[0][1]), (x - 1, lower[0][1])]
                out.append(f'<polygon class="envelope" data-series="{label}" points="{_path(upper + lower)}" '
                           f'fill="{ENVELOPE_FILL}" fill-opacity="0.55"/>')
            line = [(frame.x(p.at), frame.y(p.mean)) for p in run]
            if len(line) == 1:
                out.append(f'<circle class="line" data-series="{label}" cx="{line[0][0]:.1f}" cy="{line[0][1]:.1f}" '
                           f'r="2" fill="{colour}"/>')
            else:
                dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
                out.append(f'<polyline class="line" data-series="{label}" points="{_path(line)}" fill="none" '
                           f'stroke="{colour}" stroke-width="{1.5 if compact else 2}"{dash_attr}/>')
            drawn += 1
    if not drawn:
        middle_x, middle_y = (frame.left + plot_right) / 2, (frame.top + plot_bottom) / 2
        out.append(f'<text class="empty" x="{middle_x:.1f}" y="{middle_y:.1f}" '
                   f'text-anchor="middle" fill="{TEXT}">No readings in this period</text>')
    out.append("</svg>")
    return "".join(out)


def convert(series: Sequence[Series], fn: Callable[[float], float] | None) -> list[Series]:
    """The same series with every value passed through ``fn`` (e.g. °C to °F)."""
    if fn is None:
        return list(series)
    return [
        Series(one.label, [
            Point(p.at, fn(p.mean), None if p.low is None else fn(p.low), None if p.high is None else fn(p.high))
            for p in one.points
        ])
        for one in series
    ]
