"""A logger's own alarms, from its daily history, as alert findings (pure).

A Fridge-tag counts, per day and per alarm, the minutes spent beyond the
alarm's limit (``t Acc``); the alarm triggers when they reach its delay
(``t AL``), and the day then names the moment (``TS A``). An alarm that goes on
past midnight shows on the next day from 00:00: consecutive days of one
alarm are one episode, so one alert. The episode ends with its last day, or
when the report was written if that day was not over.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from fridge_monitor.core.checks import Finding
from fridge_monitor.core.exposure import Exposure
from fridge_monitor.core.loggers.download import AlarmDay, AlarmSetting, Download, reached
from fridge_monitor.core.lots import Holding
from fridge_monitor.core.products import Product

DayAlarm = tuple[AlarmSetting, AlarmDay]


def alarms_json(download: Download, alarms: Sequence[AlarmDay]) -> str:
    """A device day's alarms as stored: each configured alarm with what it accumulated that day."""
    rows = []
    for alarm in alarms:
        setting = download.alarm(alarm.number)
        if setting is None:
            continue  # an accumulator for an alarm the device has switched off
        rows.append({"number": setting.number, "direction": setting.direction, "limit_c": setting.limit_c,
                     "delay_min": setting.delay_min, "cumulative": setting.cumulative, "minutes": alarm.minutes,
                     "first": alarm.first.isoformat(timespec="minutes") if alarm.first else None,
                     "count": alarm.count})
    return json.dumps(rows, sort_keys=True)


def alarms_from_json(text: str) -> tuple[DayAlarm, ...]:
    """What :func:`alarms_json` stored, back as values."""
    out = []
    for row in json.loads(text):
        setting = AlarmSetting(row["number"], row["direction"], row["limit_c"], row["delay_min"], row["cumulative"])
        first = time.fromisoformat(row["first"]) if row["first"] else None
        out.append((setting, AlarmDay(row["number"], row["minutes"], first, row["count"])))
    return tuple(out)


def triggered(setting: AlarmSetting, alarm: AlarmDay) -> bool:
    """The device says it alarmed that day (``TS A``), or its minutes reached the delay."""
    return alarm.first is not None or reached(setting, alarm.minutes)


@dataclasses.dataclass(frozen=True, slots=True)
class LoggedDay:
    """A device day as stored: the newest file's summary of one local day of one logger."""

    sensor_id: str
    day: date
    complete: bool  # the day was over when the device wrote the report
    ends_at: datetime  # UTC: the end of the local day, or when the report was written if the day was not over
    min_c: float | None
    min_at: datetime | None
    max_c: float | None
    max_at: datetime | None
    mean_c: float | None
    alarms: tuple[DayAlarm, ...]
    events: int | None
    file_id: int


def _limit(setting: AlarmSetting) -> str:
    side = "above" if setting.direction == "high" else "below"
    return f"{side} {setting.limit_c:.1f} °C"


@dataclasses.dataclass(frozen=True, slots=True)
class LoggerEpisode:
    """One episode of a device alarm: the days it triggered on, consecutive ones carried over midnight."""

    sensor_id: str
    setting: AlarmSetting
    first_day: date
    last_day: date
    start: datetime  # UTC: when it triggered (``TS A``), or the first day's start
    end: datetime  # UTC: the last day's end, or when the report was written
    minutes: int  # beyond the limit, over those days
    trigger: time
    max_c: float | None  # the device's extremes over those days
    min_c: float | None

    @property
    def extreme_c(self) -> float | None:
        """The device's reading furthest beyond the alarm's side: highest for heat, lowest for cold."""
        return self.max_c if self.setting.direction == "high" else self.min_c


def logger_episodes(days: Sequence[LoggedDay], tz: tzinfo) -> list[LoggerEpisode]:
    """The device alarms' episodes in these stored days, per sensor and alarm, in time order."""
    runs: dict[tuple[str, str], list[tuple[LoggedDay, AlarmSetting, AlarmDay]]] = {}
    out: list[LoggerEpisode] = []

    def close(key: tuple[str, str]) -> None:
        run = runs.pop(key, None)
        if run:
            out.append(_episode(run, tz))

    for logged in sorted(days, key=lambda d: (d.sensor_id, d.day)):
        for setting, alarm in logged.alarms:
            key = (logged.sensor_id, setting.number)
            run = runs.get(key)
            if not triggered(setting, alarm):
                close(key)
                continue
            if run and (run[-1][0].day + timedelta(days=1) != logged.day or alarm.first not in (None, time(0))):
                close(key)  # not the same episode carried over midnight
            runs.setdefault(key, []).append((logged, setting, alarm))
    for key in list(runs):
        close(key)
    return sorted(out, key=lambda e: (e.start, e.sensor_id))


def _episode(run: list[tuple[LoggedDay, AlarmSetting, AlarmDay]], tz: tzinfo) -> LoggerEpisode:
    first_day, setting, first_alarm = run[0]
    last_day = run[-1][0]
    clock = first_alarm.first or time(0)
    start = datetime.combine(first_day.day, clock).replace(tzinfo=tz).astimezone(UTC)
    highs = [d.max_c for d, _s, _a in run if d.max_c is not None]
    lows = [d.min_c for d, _s, _a in run if d.min_c is not None]
    return LoggerEpisode(first_day.sensor_id, setting, first_day.day, last_day.day, start,
                         max(last_day.ends_at, start), sum(alarm.minutes for _d, _s, alarm in run), clock,
                         max(highs) if highs else None, min(lows) if lows else None)


def alarm_findings(episodes: Sequence[LoggerEpisode]) -> list[Finding]:
    """One excursion finding per episode of a device alarm (consecutive days it triggered on), per sensor."""
    return [_finding(episode) for episode in episodes]


def _finding(episode: LoggerEpisode) -> Finding:
    setting, device = episode.setting, episode.sensor_id
    days = (f"on {episode.first_day:%Y-%m-%d}" if episode.first_day == episode.last_day
            else f"from {episode.first_day:%Y-%m-%d} to {episode.last_day:%Y-%m-%d}")
    title = f"Logger alarm: {_limit(setting)} for {setting.delay_min} min ({device})"
    detail = (f"The logger {device} counted {episode.minutes} min {_limit(setting)} {days}; its alarm "
              f"{setting.number} triggers after {setting.delay_min} min and triggered at {episode.trigger:%H:%M} "
              f"on {episode.first_day:%Y-%m-%d} (device time).")
    high = setting.direction == "high"
    if episode.extreme_c is not None:
        detail += f" The device's {'highest' if high else 'lowest'} reading those days: {episode.extreme_c:.1f} °C."
    return Finding("excursion", setting.rule, device, "alarm", episode.start, episode.end, title, detail,
                   episode.max_c if high else None, None if high else episode.min_c)


def device_exposures(episodes: Sequence[LoggerEpisode], holdings: Iterable[Holding],
                     product: Product) -> list[Exposure]:
    """A lot's exposures by the alarms of loggers that keep a daily history only (no readings to judge): each
    episode while the lot was in the fridge whose device extreme lies outside every one of the product's ranges.
    The time counted is the device's own minutes beyond its limit (at least as long as beyond the product's)."""
    out = []
    held = list(holdings)
    for episode in episodes:
        extreme = episode.extreme_c
        if extreme is None or any(extreme in r for r in product.ranges):
            continue
        for holding in held:
            start = max(episode.start, holding.since)
            end = episode.end if holding.until is None else min(episode.end, holding.until)
            if end <= start:
                continue
            beyond = min(timedelta(minutes=episode.minutes), end - start)
            out.append(Exposure(start, end, beyond, episode.max_c if episode.max_c is not None else extreme,
                                episode.min_c if episode.min_c is not None else extreme, None, 0))
    return sorted(out, key=lambda e: e.start)


def overdue_finding(last_download: datetime | None, since: datetime, now: datetime, every: timedelta,
                    tz: tzinfo) -> Finding | None:
    """A fridge watched by data loggers alone must have their file downloaded and reviewed every ``every``
    (CDC: weekly): past that, a warning; past twice that, an alarm. ``since``: when it came under loggers."""
    last = last_download or since
    due = last + every
    if now < due:
        return None
    severity = "alarm" if now >= last + 2 * every else "warning"
    days = every.days
    if last_download is None:
        title = "Logger download overdue: no file imported yet"
        detail = f"This fridge is watched by data loggers only, and no file has been imported since {since:%Y-%m-%d}."
    else:
        title = f"Logger download overdue: last on {last_download.astimezone(tz):%Y-%m-%d}"
        detail = (f"This fridge is watched by data loggers only; its last file was imported on "
                  f"{last_download.astimezone(tz):%Y-%m-%d %H:%M}.")
    detail += (f" Download the logger and import its file at least every {days} days, and review it: "
               "until then, nothing shows whether the fridge stayed in range.")
    return Finding("logger-overdue", "review", "", severity, due, None, title, detail)


DISAGREEMENT_C = 0.5  # a device day and the day computed from readings further apart than this are flagged


def disagrees(device: tuple[float | None, float | None], computed: tuple[float | None, float | None],
              tolerance: float = DISAGREEMENT_C) -> bool:
    """Whether a device's own minimum or maximum of a day differs from the one computed from readings by more
    than ``tolerance`` °C (a day with no computed values is not compared)."""
    pairs = [(d, c) for d, c in zip(device, computed, strict=True) if d is not None and c is not None]
    return any(abs(d - c) > tolerance + 1e-9 for d, c in pairs)
