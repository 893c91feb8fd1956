"""Files as stand-alone data loggers write them, from a simulated trace: for the demo, tests and benchmarks.

:func:`fridge_tag_report` writes what a Berlinger Fridge-tag 2 L puts on USB:
the device samples every minute, keeps each day's extremes, mean and minutes
beyond each alarm limit (its ``Hist``), and logs one value every logging
interval (its ``Data``). :func:`logtag_csv` writes a LogTag Analyzer export.
The files carry no signature trailer: a simulation cannot sign as the maker.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

FRIDGE_TAG_ALARMS = (("0", "low", -0.5, 60), ("1", "high", 8.0, 600))


def _signed(value: float) -> str:
    return f"{value:+.1f}"


def _beyond(direction: str, limit: float, value: float) -> bool:
    return value > limit if direction == "high" else value < limit


def fridge_tag_report(serial: str, start: datetime, minutes: Sequence[float], *, interval_min: int = 5,
                      alarms: Sequence[tuple[str, str, float, int]] = FRIDGE_TAG_ALARMS,
                      model: str = "Q-tag Fridge-tag 2 L", data: bool = True) -> bytes:
    """A Fridge-tag report of a trace: ``minutes[i]`` is the temperature (°C) at local time ``start`` + i minutes.

    The report is written at the end of the trace; its last day is not over
    unless the trace ends at midnight. Each day's alarm minutes are that day's
    own (a cumulative daily alarm), triggering when they reach the alarm's delay.
    """
    created = start + timedelta(minutes=len(minutes))
    days: dict[object, list[tuple[datetime, float]]] = {}
    for i, value in enumerate(minutes):
        at = start + timedelta(minutes=i)
        days.setdefault(at.date(), []).append((at, value))
    lines = [f"Device: {model}", "Vers: 0.5", "Fw Vers: 4.0p0o", "Sensor: 1", "Conf:", f" Serial: {serial}",
             " Temp unit: C", f" Logging Interval: {interval_min}", " Alarm:"]
    for number, _direction, limit, delay in alarms:
        lines += [f"  {number}:", f"   T AL: {_signed(limit)}, t AL: {delay}"]
    lines += [" Report history length: 60", "Hist:", f" TS Actv: {start:%Y-%m-%d %H:%M}",
              f" TS Report Creation: {created:%Y-%m-%d %H:%M}"]
    for index, (_day, samples) in enumerate(sorted(days.items(), reverse=True), start=1):
        low = min(samples, key=lambda s: s[1])
        high = max(samples, key=lambda s: s[1])
        mean = sum(v for _, v in samples) / len(samples)
        lines += [f" {index}:", f"  Date: {samples[0][0]:%Y-%m-%d}",
                  f"  Min T: {_signed(low[1])}, TS Min T: {low[0]:%H:%M}",
                  f"  Max T: {_signed(high[1])}, TS Max T: {high[0]:%H:%M}", f"  Avrg T: {_signed(mean)}", "  Alarm:"]
        for number, direction, limit, delay in alarms:
            count, fired = 0, None
            for at, value in samples:
                if _beyond(direction, limit, value):
                    count += 1
                    if count == max(delay, 1) and fired is None:
                        fired = at + timedelta(minutes=1)  # the minute it completes the delay
            line = f"    t Acc: {count}"
            if fired is not None:
                line += f", TS A: {fired:%H:%M}, C A: 1"
            lines += [f"   {number}:", line]
        lines += ["  Int Sensor timeout:", "   t AccST: 0", "  Events: 0"]
    if data:
        lines += ["Data:", "\tyyyy-MM-dd hh:mm\tT\tOut of limits"]
        for i in range(0, len(minutes), interval_min):
            at, value = start + timedelta(minutes=i), minutes[i]
            out = any(_beyond(direction, limit, value) for _n, direction, limit, _d in alarms)
            lines.append(f"\t{at:%Y-%m-%d %H:%M}\t{value:.1f}" + ("\tx" if out else ""))
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


def logtag_csv(serial: str, start: datetime, values: Sequence[float], *, interval_min: int = 5,
               day_first: bool = True) -> bytes:
    """A LogTag Analyzer CSV export: ``values[i]`` is the reading at local time ``start`` + i × the interval."""
    date_format = "%d/%m/%Y" if day_first else "%Y-%m-%d"
    last = start + timedelta(minutes=interval_min * (len(values) - 1))
    lines = [f"Serial #,{serial}", "Product,UTRED30-16", "Description,Backup logger",
             f"Reading interval,{interval_min} minutes", "Non alert range,2.0  to  8.0 °C",
             f"Last reading,{last:{date_format} %H:%M:%S}", "", "Reading,Date,Time,Temperature (°C)"]
    for i, value in enumerate(values, start=1):
        at = start + timedelta(minutes=interval_min * (i - 1))
        lines.append(f"{i},{at:{date_format}},{at:%H:%M:%S},{value:.1f}")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")
