"""What a monthly log says, line by line, and what changed between two of its generations.

A signed review keeps the snapshot of the log it froze. The next generation of
that month compares its own snapshot with it; each line added, gone or
different is a change for the addendum (the signed copy itself never changes).
"""

from __future__ import annotations

from collections.abc import Mapping

from fridge_monitor.reports.monthly.facts import MonthlyLog
from fridge_monitor.reports.monthly.text import celsius, duration


def snapshot(log: MonthlyLog) -> dict[str, str]:
    """Every fact the page shows, keyed by what it is about (a day, an excursion, a lot, a check...)."""
    tz = log.tz

    def local(at: object) -> str:
        return at.astimezone(tz).strftime("%Y-%m-%d %H:%M") if at is not None else "ongoing"  # type: ignore[attr-defined]

    s = log.summary
    out = {
        "allowed range": f"{celsius(log.low_c)} to {celsius(log.high_c)}, alarm profile {log.alarm_profile}",
        "month summary": (f"min {celsius(s.min_c)}, max {celsius(s.max_c)}, mean {celsius(s.mean_c)}, "
                          f"MKT {celsius(s.mkt_c)}, {s.readings} readings, "
                          f"{duration(s.out_of_range_s) or '0 min'} out of range"),
    }
    for d in log.days:
        if d.future:
            continue
        if d.no_data:
            out[f"day {d.day}"] = "no data"
            continue
        text = (f"min {celsius(d.min_c)}, max {celsius(d.max_c)}, {d.readings} readings, "
                f"{duration(d.out_of_range_s) or '0 min'} out of range, {d.excursions} excursion(s)")
        out[f"day {d.day}"] = text + (f", acknowledged by {', '.join(d.acknowledged_by)}" if d.acknowledged_by else "")
    for e in log.excursions:
        ack = (f"acknowledged by {e.acknowledged_by} at {local(e.acknowledged_at)}, action: {e.action or '-'}"
               if e.acknowledged_by else "not acknowledged")
        out[f"excursion {e.rule} from {local(e.started_at)}"] = (
            f"to {local(e.ended_at)}, highest {celsius(e.peak_c)}, lowest {celsius(e.low_c)}, {ack}")
    for lot in log.lots:
        decided = (f"{lot.decision}" + (f" (manufacturer's ref. {lot.reference})" if lot.reference else "")
                   + f" by {lot.decided_by}" if lot.decision else "awaiting disposition")
        out[f"lot {lot.product} {lot.lot_number} exposed from {local(lot.started_at)}"] = (
            f"to {local(lot.ended_at)}, {duration(lot.exposure_s)} out of range, {decided}")
    for x in log.sensors:
        out[f"sensor {x.id}"] = f"{x.role}, calibration {x.certificate or 'not recorded'}, {x.status}"
    for dd in log.device_days:
        out[f"logger day {dd.day} {dd.sensor}"] = (f"min {celsius(dd.min_c)}, max {celsius(dd.max_c)}, "
                                                   f"mean {celsius(dd.mean_c)}, alarms {dd.alarms or '-'}")
    for c in log.checks:
        key = f"check {c.day} {c.slot or local(c.checked_at)[-5:]}"
        if c.missed:
            out[key] = "MISSED"
        else:
            out[key] = (f"current {celsius(c.current_c)}, min {celsius(c.min_c)}, max {celsius(c.max_c)}, "
                        f"by {c.initials}")
    return out


def changes(signed: Mapping[str, str], now: Mapping[str, str]) -> list[str]:
    """Each line that differs between the signed snapshot and today's, in today's order, then the lines gone."""
    out = []
    for key, text in now.items():
        before = signed.get(key)
        if before is None:
            out.append(f"{key}: added: {text}")
        elif before != text:
            out.append(f"{key}: was {before}; now {text}")
    out += [f"{key}: no longer shown (was {text})" for key, text in signed.items() if key not in now]
    return out
