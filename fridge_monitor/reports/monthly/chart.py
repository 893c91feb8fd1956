"""The monthly log's chart: the allowed band, the hourly min-max envelope and mean per sensor, days on x."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from fridge_monitor.reports.monthly.facts import MonthlyLog
from fridge_monitor.reports.monthly.text import celsius, plain


def _nice_step(span: float) -> float:
    raw = span / 6
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def chart(log: MonthlyLog, width: float, height: float) -> Any:
    """The month on one drawing: the allowed band, the hourly min-max envelope and mean per sensor, days on x."""
    from reportlab.graphics.shapes import Drawing, Line, Polygon, PolyLine, Rect, String
    from reportlab.lib import colors

    tz = log.tz
    drawing = Drawing(width, height)
    left, right, bottom, top = 26, 6, 22, 12
    plot_w, plot_h = width - left - right, height - bottom - top
    values = [v for series in log.chart for p in series.points for v in (p.low, p.high, p.mean) if v is not None]
    lo = math.floor(min([log.low_c, *values]) - 1)
    hi = math.ceil(max([log.high_c, *values]) + 1)
    t0, t1 = log.start.timestamp(), log.end.timestamp()

    def x(at: datetime) -> float:
        return left + (at.timestamp() - t0) / (t1 - t0) * plot_w

    def y(celsius: float) -> float:
        return bottom + (celsius - lo) / (hi - lo) * plot_h

    grey = colors.HexColor("#5b6575")
    drawing.add(Rect(left, bottom, plot_w, plot_h, fillColor=colors.white, strokeColor=colors.black, strokeWidth=0.6))
    drawing.add(Rect(left, y(log.low_c), plot_w, y(log.high_c) - y(log.low_c), fillColor=colors.HexColor("#e3f4e8"),
                     strokeColor=None))
    for bound in (log.low_c, log.high_c):
        drawing.add(Line(left, y(bound), left + plot_w, y(bound), strokeColor=colors.HexColor("#1f7a3a"),
                         strokeWidth=0.6, strokeDashArray=[3, 2]))
    step = _nice_step(hi - lo)
    tick = math.ceil(lo / step) * step
    while tick <= hi + 1e-9:
        drawing.add(Line(left - 2, y(tick), left + plot_w, y(tick), strokeColor=colors.HexColor("#d8dde5"),
                         strokeWidth=0.25))
        drawing.add(String(left - 3, y(tick) - 2, f"{tick:g}", fontName="Helvetica", fontSize=6, fillColor=grey,
                           textAnchor="end"))
        tick += step
    drawing.add(String(4, bottom + plot_h / 2, "°C", fontName="Helvetica", fontSize=6.5, fillColor=grey))
    for day in log.days:
        at = datetime.combine(day.day, datetime.min.time(), tz)
        drawing.add(Line(x(at), bottom, x(at), bottom + plot_h, strokeColor=colors.HexColor("#e6e9ee"),
                         strokeWidth=0.25))
        middle = at + timedelta(hours=12)
        drawing.add(String(x(middle), bottom - 8, str(day.day.day), fontName="Helvetica", fontSize=5.5,
                           fillColor=colors.HexColor("#a51d2d") if day.no_data and not day.future else grey,
                           textAnchor="middle"))
    drawing.add(String(left + plot_w / 2, bottom - 17, f"Day of {log.month_name} ({log.timezone})",
                       fontName="Helvetica", fontSize=6.5, fillColor=grey, textAnchor="middle"))

    for e in log.excursions:  # where the temperature was out of range, shaded across the plot
        if e.rule != "out-of-range":
            continue
        lo_x = x(max(e.started_at, log.start))
        hi_x = x(min(e.ended_at or log.end, log.end))
        drawing.add(Rect(lo_x, bottom, max(hi_x - lo_x, 0.8), plot_h, fillColor=colors.HexColor("#f6c6c9"),
                         strokeColor=None, fillOpacity=0.8))
    styles = [("#1a5fb4", "#9ec1ea", None), ("#b35900", None, [2, 1.5]), ("#8a3ffc", None, [4, 2])]
    for index, series in enumerate(log.chart):
        line, envelope, dash = styles[min(index, len(styles) - 1)]
        for run in _runs(series.points, log.chart_gap):
            if envelope and all(p.low is not None and p.high is not None for p in run):
                upper = [c for p in run for c in (x(p.at), y(p.high))]
                lower = [c for p in reversed(run) for c in (x(p.at), y(p.low))]
                drawing.add(Polygon(upper + lower, fillColor=colors.HexColor(envelope), strokeColor=None,
                                    fillOpacity=0.7))
            points = [c for p in run for c in (x(p.at), y(p.mean))]
            if len(run) == 1:
                drawing.add(Rect(points[0] - 0.6, points[1] - 0.6, 1.2, 1.2, fillColor=colors.HexColor(line),
                                 strokeColor=None))
            else:
                drawing.add(PolyLine(points, strokeColor=colors.HexColor(line), strokeWidth=0.7,
                                     strokeDashArray=dash))
    legend = [f"Allowed {celsius(log.low_c)} to {celsius(log.high_c)} (green band)"]
    if any(e.rule == "out-of-range" for e in log.excursions):
        legend.append("excursions shaded red")
    for index, series in enumerate(log.chart[:3]):
        what = "hourly mean, min-max band" if index == 0 else "hourly mean, dashed"
        legend.append(f"{series.label}: {what}")
    drawing.add(String(left, height - 8, plain("; ".join(legend)), fontName="Helvetica", fontSize=6,
                       fillColor=grey))
    return drawing


def _runs(points: Sequence[Any], gap: timedelta) -> list[list[Any]]:
    """Points split where readings are further apart than ``gap``: silence is drawn as silence."""
    runs: list[list[Any]] = []
    for point in sorted(points, key=lambda p: p.at):
        if runs and point.at - runs[-1][-1].at <= gap:
            runs[-1].append(point)
        else:
            runs.append([point])
    return runs
