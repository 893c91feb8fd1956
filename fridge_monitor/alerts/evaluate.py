"""Judging stored readings: a fridge's excursions, alerts and daily time out of range, from the database.

:func:`evaluate_fridge` reads the fridge's readings over a window, finds the
episodes (:mod:`fridge_monitor.core.rules`, :mod:`fridge_monitor.core.checks`) and
matches them with the stored excursions and alerts (:mod:`fridge_monitor.alerts.reconcile`):
same kind, rule and subject, overlapping in time. So evaluating again — after a restart, or after
late readings — updates what is there and never adds a second alert for the
same episode. One fridge is evaluated by one process at a time: the first
statement takes a lock on its :class:`~fridge_monitor.store.models.FridgeEvaluation`
row (on SQLite, the database's write lock).

It reads the fridge through :mod:`fridge_monitor.store.series`. Ingest marks
the fridges a batch touched (:mod:`fridge_monitor.store.marks`) in the batch's
own transaction; :meth:`Evaluator.marked` judges them right after, and the
scheduler judges every fridge as time passes (:meth:`Evaluator.everything`).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.alerts.cause_findings import cause_findings, door_last_open, fridge_channels, name_causes
from fridge_monitor.alerts.outages import group_silence, outage_findings, outage_of
from fridge_monitor.alerts.reconcile import STATE_KINDS, Outcome, Reconciler
from fridge_monitor.alerts.trend_findings import predicted, trend_findings
from fridge_monitor.config import Config
from fridge_monitor.core import calibration, causes, checks, outages, trend
from fridge_monitor.core import staff_checks as staff
from fridge_monitor.core.loggers.alarms import LoggerEpisode, alarm_findings, logger_episodes, overdue_finding
from fridge_monitor.core.rules import AlarmProfile, days_out_of_range, episodes
from fridge_monitor.core.troubleshooting import KIND as RECORD_INCOMPLETE
from fridge_monitor.inventory import lot_safety
from fridge_monitor.inventory.lot_evaluation import LotEvaluation, Window
from fridge_monitor.store import calibrations, staff_checks, troubleshooting
from fridge_monitor.store import models as m
from fridge_monitor.store.db import dialect_insert, first_line
from fridge_monitor.store.ingest_state import ingest_heard_until
from fridge_monitor.store.logger_files import device_days, histories_only, is_logger, last_downloads
from fridge_monitor.store.marks import lock_fridge, mark_of, marked_fridges, settle
from fridge_monitor.store.overview import local_days
from fridge_monitor.store.series import (
    FridgeFacts,
    Readings,
    Segment,
    fridge_facts,
    fridge_profile,
    fridge_series,
    load_series,
    readings_by_segment,
    segments,
)

if TYPE_CHECKING:
    from fridge_monitor.alerts.outbox import Outbox

log = logging.getLogger(__name__)

HOUR = timedelta(hours=1)


def lookback(profile: AlarmProfile, config: Config) -> timedelta:
    """How far before the period of interest readings are needed to judge it."""
    longest = max([timedelta(0), *(max(r.duration, r.window or timedelta(0)) for r in profile.rules)])
    longest = max(longest, timedelta(minutes=config.alerts["disagreement_min"]))
    return longest + max(profile.clear_delay, profile.settle_time) + profile.allowed_gap + HOUR


# -- evaluation ------------------------------------------------------------------------


def _window_start(session: so.Session, fridge_id: int, start: datetime, reach: timedelta) -> datetime:
    """Move the start back before any stored episode that overlaps it, so no episode is judged in part."""
    e, a = m.Excursion, m.Alert
    for _ in range(20):
        earlier = [
            session.scalar(sa.select(sa.func.min(e.started_at)).where(
                e.fridge_id == fridge_id, e.started_at < start, sa.or_(e.ended_at.is_(None), e.ended_at >= start))),
            session.scalar(sa.select(sa.func.min(a.started_at)).where(
                a.fridge_id == fridge_id, a.kind == "sensor-disagreement", a.started_at < start,
                sa.or_(a.ended_at.is_(None), a.ended_at >= start))),
        ]
        found = [_aware(x) for x in earlier if x is not None]
        if not found:
            return start
        start = min(found) - reach
    return start


def _aware(value: object) -> datetime:
    """min() over a column loses its type on SQLite: text back to an aware UTC datetime."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def _sensor_states(session: so.Session, segs: Sequence[Segment]) -> list[checks.SensorState]:
    current = {seg.sensor_id: seg for seg in segs if seg.until is None}
    if not current:
        return []
    s = m.Sensor
    rows = session.execute(sa.select(s.id, s.last_measured_at, s.battery_pct, s.battery_at, s.calibration_due,
                                      s.created_at).where(s.id.in_(list(current)))).all()
    due = calibrations.due_dates(session.connection(), [(row.id, row.calibration_due) for row in rows])
    states = []
    for sid, last, pct, battery_at, _legacy, created in rows:
        seg = current[sid]
        states.append(checks.SensorState(sid, seg.role, seg.since or created, last, pct, battery_at, due[sid]))
    return sorted(states, key=lambda st: (st.role != "primary", st.id))


def evaluate_fridge(session: so.Session, config: Config, fridge_id: int, now: datetime, *,
                    by_time: bool = True) -> Outcome:
    """Judge one fridge as of ``now`` in the session's transaction (the caller commits).

    ``by_time`` False is the judgement right after a batch: what the readings
    say, up to the newest one. Silence is for the scheduler to notice (time
    passing), so then a silent sensor only keeps an alert open that is open
    already; its readings arriving resolve it. Likewise an alarm reached only
    by the newest reading holding on since is the scheduler's to raise or drop.
    """
    lock_fridge(session, fridge_id, evaluated_at=now)
    dirty_since, days_since = mark_of(session, fridge_id)
    facts = fridge_facts(session, fridge_id)
    if facts is None:
        return Outcome()
    tz = ZoneInfo(facts.timezone)
    profile = fridge_profile(session, facts, config)
    reach = lookback(profile, config)
    start = now - reach
    if dirty_since is not None:
        start = min(start, dirty_since - reach)
    start = _window_start(session, fridge_id, start, reach)
    # New readings (or an excursion still going on) change the days' time out of range: those days
    # are judged whole, from all of their readings. That is not urgent, so right after a batch it is
    # only noted (days_since) for the scheduler, and the batch judgement reads just the rules' window.
    if dirty_since is not None:
        days_since = dirty_since if days_since is None else min(days_since, dirty_since)
    first_day = None
    load_from = start - profile.allowed_gap
    if by_time and (days_since is not None or _has_open_excursion(session, fridge_id)):
        first_day = min(start, days_since or start).astimezone(tz).date()
        load_from = min(load_from, local_days(first_day, first_day, tz)[0][1] - profile.allowed_gap)
    segs = segments(session.connection(), [fridge_id], load_from, now)
    pieces = readings_by_segment(session, segs, load_from, now)
    series = fridge_series(pieces, profile.allowed_gap)
    # Right after a batch the rules see what the readings show, up to the newest one. Holding that
    # reading on through the time since (up to the allowed gap) is time passing, the scheduler's to
    # judge: a backlog judged in pieces (a buffer uploaded in parts, the queue drained after a
    # restart) would otherwise raise alarms that its next piece disproves.
    newest = max((at for _seg, readings in pieces for at, _c in readings[-1:]), default=now)
    until = now if by_time else min(now, newest)

    findings = [f for f in checks.excursion_findings(profile, episodes(profile, series, now=until), now)
                if f.end is None or f.end >= start]
    sensors = _sensor_states(session, segs)
    rec = Reconciler(session, fridge_id, start, now)
    # A backlog ingest still drains from the broker is not silence: by time, silence is judged as far as
    # ingest has caught up; an alarm already open stays until a reading comes.
    already = {(a.kind, a.rule, a.subject) for a in rec.alerts if a.kind == "no-data" and a.ended_at is None}
    # A data logger is read when its file is imported, not heard from: its silence is no alarm (its review
    # duty is), and a fridge with only loggers has sensors all the same.
    live = [s for s in sensors if not is_logger(s.id)]
    heard = ingest_heard_until(session.connection(), now) if by_time else None
    silent = [] if sensors and not live else checks.no_data_findings(
        live, facts.created_at, now, profile.allowed_gap, heard_until=heard,
        open_subjects=frozenset(subject for kind, rule, subject in already if rule == "silence"))
    if not by_time:
        silent = [f for f in silent if f.key in already]
    findings += silent
    # A whole site (or gateway) gone silent is one alert, under which the fridges' own are grouped.
    outage = outage_of(session, facts, now, profile.allowed_gap, heard) if by_time and silent else None
    findings += outage_findings(fridge_id, outage)
    open_battery = frozenset(a.subject for a in rec.alerts if a.kind == "low-battery" and a.ended_at is None)
    findings += checks.battery_findings(sensors, profile.low_battery_pct, open_battery)
    for sensor in sensors:
        findings += calibration.due_findings(sensor.id, sensor.calibration_due, now.astimezone(tz).date(), tz,
                                             config.alerts["calibration_warning_days"])
    findings += _disagreements(pieces, sensors, until, profile.allowed_gap, config, start)
    channels = fridge_channels(session.connection(), fridge_id, load_from, now)
    findings += [f for f in cause_findings(session.connection(), fridge_id, profile, channels, now, series,
                                           by_time=by_time) if f.end is None or f.end >= start]
    findings += trend_findings(session, fridge_id, facts.name, profile, series,
                               timedelta(minutes=config.alerts["predict_within_min"]), findings, rec.alerts,
                               door_last_open(channels))
    loggers = [s.id for s in sensors if is_logger(s.id)]
    device_alarms = _logger_episodes(session, loggers, tz, start, now)
    findings += alarm_findings(device_alarms)
    if sensors and not live:
        findings += _logger_overdue(session, fridge_id, sensors, tz, now, config)
    if by_time:  # staff checks are judged by the scheduler and right after one is recorded, not per ingest batch
        findings += _staff_checks(session, facts, config, tz, max(start, facts.created_at), now)
        findings += troubleshooting.reminders(session, facts.id, facts.name, now,
                                              timedelta(hours=config.alerts["record_due_hours"]))
    for finding in sorted(predicted(name_causes(findings), rec.alerts), key=lambda f: f.start):
        rec.apply(finding)
    # The lots held here, judged against their products' ranges over the same window (after the
    # fridge's excursions are stored, so a review can name the one it overlaps).
    judge = LotEvaluation(session, Window(
        fridge_id, facts.name, facts.timezone, start, now, profile.allowed_gap, profile.clear_delay,
        profile.settle_time, profile.hysteresis_c))

    def load_since(since: datetime) -> Readings:
        return load_series(session, fridge_id, since, now, profile.allowed_gap)

    history_only = set(histories_only(session.connection(), loggers))
    judge.reviews(series, load_from, load_since, by_time=by_time,
                  device=[e for e in device_alarms if e.sensor_id in history_only])
    for finding in sorted(judge.findings(by_time=by_time, horizons=config.inventory["expiry_warning_days"]),
                          key=lambda f: f.start):
        rec.apply(finding)
    rec.resolve_unmatched(lot_safety.kinds_evaluated(by_time))
    # Nor does a batch resolve an alarm it does not show (yet): the scheduler may have found it by
    # time passing, and judges it again within its interval.
    rec.resolve_unmatched(["excursion", "sensor-disagreement", RECORD_INCOMPLETE, *causes.KINDS, trend.KIND,
                           *outages.KINDS, *STATE_KINDS] if by_time
                          else STATE_KINDS)
    # After resolving: a fridge's no-data alert that ended with its site's outage stays in the outage's group.
    group_silence(session, rec, outage)
    if first_day is not None:
        _store_days(session, fridge_id, profile, series, tz, first_day, now)
        days_since = None
    settle(session, fridge_id, days_since)
    judge.audit()  # last: the audit trail's lock after the alert rows, as acknowledging takes them
    return rec.outcome


def _logger_episodes(session: so.Session, loggers: Sequence[str], tz: ZoneInfo, start: datetime,
                     now: datetime) -> list[LoggerEpisode]:
    """The alarms the fridge's data loggers raised themselves, by their daily history, from ``start`` on."""
    if not loggers:
        return []
    days = device_days(session.connection(), loggers, start.astimezone(tz).date(), now.astimezone(tz).date())
    return [e for e in logger_episodes(days, tz) if e.end >= start]


def _staff_checks(session: so.Session, facts: FridgeFacts, config: Config, tz: ZoneInfo, since: datetime,
                  now: datetime) -> list[checks.Finding]:
    """The site's check times that passed without a check of this fridge, and checks whose reading disagreed
    with the monitor's."""
    conn = session.connection()
    out = [f for check in staff_checks.recent(conn, [facts.id], since)
           if check.current_c is not None and check.monitor_c is not None
           and (f := staff.disagreement(facts.name, check.id, check.checked_at, check.current_c,
                                        check.monitor_c)) is not None]
    site = next((s for s in config.sites if s.name == facts.site), None)
    if site is not None and site.checks:
        done = staff_checks.done(conn, facts.id, since.astimezone(tz).date() - timedelta(days=1),
                                 now.astimezone(tz).date())
        out += staff.missed(site.checks, site.check_tolerance, tz, since, now, done, facts.name)
    return out


def _logger_overdue(session: so.Session, fridge_id: int, sensors: Sequence[checks.SensorState], tz: ZoneInfo,
                    now: datetime, config: Config) -> list[checks.Finding]:
    """A fridge watched by loggers alone whose file is not imported as often as the programme asks."""
    last = last_downloads(session.connection(), [fridge_id]).get(fridge_id)
    since = min(s.since for s in sensors)
    found = overdue_finding(last, since, now, timedelta(days=config.loggers["review_every_days"]), tz)
    return [found] if found is not None else []


def _has_open_excursion(session: so.Session, fridge_id: int) -> bool:
    e = m.Excursion
    return session.scalar(sa.select(e.id).where(e.fridge_id == fridge_id, e.ended_at.is_(None)).limit(1)) is not None


def _disagreements(pieces: Sequence[tuple[Segment, Readings]], sensors: Sequence[checks.SensorState], now: datetime,
                   allowed_gap: timedelta, config: Config, start: datetime) -> list[checks.Finding]:
    by_sensor: dict[str, Readings] = defaultdict(list)
    for seg, series in pieces:
        by_sensor[seg.sensor_id].extend(series)
    primary = next((s.id for s in sensors if s.role == "primary"), None)
    if primary is None:
        return []
    out = []
    for backup in (s.id for s in sensors if s.role != "primary"):
        out += checks.disagreement_findings(
            primary, backup, sorted(by_sensor[primary]), sorted(by_sensor[backup]), now, allowed_gap,
            config.alerts["disagreement_c"], timedelta(minutes=config.alerts["disagreement_min"]))
    return [f for f in out if f.end is None or f.end >= start]


def _store_days(session: so.Session, fridge_id: int, profile: AlarmProfile, series: Readings, tz: ZoneInfo,
                first_day: date, now: datetime) -> None:
    dialect = session.get_bind().dialect.name
    days = [day for day, _lo, _hi in local_days(first_day, now.astimezone(tz).date(), tz)]
    spent = days_out_of_range(profile, series, tz, days, profile.allowed_gap, now=now) if series else {}
    rows = [{"fridge_id": fridge_id, "day": day, "out_of_range_s": spent[day].total_seconds() if spent else 0.0,
             "updated_at": now} for day in days]
    if not rows:
        return
    stmt = dialect_insert(dialect, m.FridgeDay.__table__)
    session.execute(stmt.on_conflict_do_update(
        index_elements=["fridge_id", "day"],
        set_={"out_of_range_s": stmt.excluded.out_of_range_s, "updated_at": stmt.excluded.updated_at}), rows)


def active_fridges(engine: sa.Engine) -> list[int]:
    with engine.connect() as conn:
        return list(conn.scalars(sa.select(m.Fridge.id).where(m.Fridge.retired_at.is_(None)).order_by(m.Fridge.id)))


def evaluate_many(engine: sa.Engine, config: Config, fridge_ids: Iterable[int], now: Callable[[], datetime],
                  after: Callable[[so.Session, Outcome, datetime], None] | None = None, *,
                  by_time: bool = True) -> Outcome:
    """Evaluate each fridge in its own transaction; ``after`` runs in it (to plan notifications).

    A fridge whose evaluation fails is logged and left marked for the next run.
    """
    total = Outcome()
    for fridge_id in fridge_ids:
        try:
            with so.Session(engine, expire_on_commit=False) as session, session.begin():
                moment = now()
                outcome = evaluate_fridge(session, config, fridge_id, moment, by_time=by_time)
                if after is not None and outcome.alert_ids:
                    after(session, outcome, moment)
        except sa.exc.SQLAlchemyError as exc:
            log.warning("could not evaluate fridge id %d (%s); it stays marked for the next evaluation",
                        fridge_id, first_line(exc))
            continue
        total.created += outcome.created
        total.changed += outcome.changed
        total.severity_changed += outcome.severity_changed
    return total


class Evaluator:
    """Evaluates fridges and hands the notifications that became due to the outbox."""

    def __init__(self, engine: sa.Engine, config: Config, outbox: Outbox | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        from fridge_monitor.alerts.outbox import Outbox

        self.engine, self.config, self.clock = engine, config, clock
        self.outbox = outbox if outbox is not None else Outbox(engine, config)

    def _plan(self, session: so.Session, outcome: Outcome, now: datetime) -> None:
        self.outbox.plan(session, outcome.alert_ids, now, severity_changed=outcome.severity_changed)

    def fridges(self, fridge_ids: Iterable[int]) -> Outcome:
        """Judge these fridges as of now, by time (e.g. after a logger file brought in data from the past);
        the notifications that became due are left to the scheduler's outbox round."""
        return evaluate_many(self.engine, self.config, fridge_ids, self.clock, after=self._plan)

    def marked(self) -> Outcome:
        """Judge the fridges ingest marked; send what became due."""
        ids = marked_fridges(self.engine)
        if not ids:
            return Outcome()
        outcome = evaluate_many(self.engine, self.config, ids, self.clock, after=self._plan, by_time=False)
        if outcome.alert_ids:
            self.outbox.send_due(self.clock())
        return outcome

    def everything(self) -> Outcome:
        """Judge every fridge in service as of now (time passing: silence, durations, calibration)."""
        ids = sorted(set(marked_fridges(self.engine)) | set(active_fridges(self.engine)))
        return evaluate_many(self.engine, self.config, ids, self.clock, after=self._plan)
