"""Judging stored readings: a fridge's excursions, alerts and daily time out of range, from the database.

:func:`evaluate_fridge` reads the fridge's readings over a window, finds the
episodes (:mod:`fridge_monitor.core.rules`, :mod:`fridge_monitor.core.checks`) and
matches them with the stored excursions and alerts: same kind, rule and
subject, overlapping in time. So evaluating again — after a restart, or after
late readings — updates what is there and never adds a second alert for the
same episode. One fridge is evaluated by one process at a time: the first
statement takes a lock on its :class:`~fridge_monitor.store.models.FridgeEvaluation`
row (on SQLite, the database's write lock).

Ingest marks the fridges a batch touched (:func:`mark_statement`) in the
batch's own transaction; :func:`evaluate_marked` judges them right after, and
the scheduler judges every fridge as time passes.
"""

from __future__ import annotations

import bisect
import dataclasses
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, TypeVar
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.config import Config
from fridge_monitor.core import checks
from fridge_monitor.core.rules import PRESETS, AlarmProfile, ProfileError, daily_time_out_of_range, episodes
from fridge_monitor.inventory import lot_safety
from fridge_monitor.store import models as m
from fridge_monitor.store import profiles
from fridge_monitor.store.db import dialect_insert
from fridge_monitor.store.overview import Segment, ingest_heard_until, local_days, segments

if TYPE_CHECKING:
    from fridge_monitor.alerts.outbox import Outbox

log = logging.getLogger(__name__)

HOUR = timedelta(hours=1)
# State-like conditions: while the finding is there the alert is open; when it is gone, resolved now.
STATE_KINDS = ("no-data", "low-battery", "calibration-due")

Series = list[tuple[datetime, float]]


def profile_for(config: Config, name: str, low_c: float, high_c: float,
                stored: Mapping[str, AlarmProfile] | None = None) -> AlarmProfile:
    """The fridge's alarm profile, its range narrowed to the fridge's own (the stricter of the two wins).

    ``stored``: the profiles made in the admin pages (:func:`fridge_monitor.store.profiles.stored`).
    """
    base = (PRESETS.get(name) or next((p for p in config.alarm_profiles if p.name == name), None)
            or (stored or {}).get(name))
    if base is None:
        if name:
            log.warning("alarm profile %r is not known (any more); judging by the fridge's range only", name)
        return AlarmProfile(name or "range", low_c, high_c)
    low, high = max(base.low_c, low_c), min(base.high_c, high_c)
    if low >= high:
        low, high = low_c, high_c
    try:
        return dataclasses.replace(base, low_c=low, high_c=high)
    except ProfileError:  # a range too narrow for the hysteresis margin
        return dataclasses.replace(base, low_c=low, high_c=high, hysteresis_c=0.0)


def lookback(profile: AlarmProfile, config: Config) -> timedelta:
    """How far before the period of interest readings are needed to judge it."""
    longest = max([timedelta(0), *(max(r.duration, r.window or timedelta(0)) for r in profile.rules)])
    longest = max(longest, timedelta(minutes=config.alerts["disagreement_min"]))
    return longest + max(profile.clear_delay, profile.settle_time) + profile.allowed_gap + HOUR


# -- marks ------------------------------------------------------------------------


def mark_statement(dialect: str) -> sa.Insert:
    """INSERT … SELECT marking the fridges a sensor was in since ``:since`` as needing judgement from then.

    Parameters ``sid`` and ``since``, one row per sensor of a batch (its earliest reading).
    """
    a, fe = m.SensorAssignment, m.FridgeEvaluation.__table__
    since = sa.bindparam("since", type_=m.UTCDateTime())
    select = (
        sa.select(a.fridge_id, since)
        .where(a.sensor_id == sa.bindparam("sid"), sa.or_(a.until.is_(None), a.until > since))
        .distinct()
    )
    stmt = dialect_insert(dialect, fe).from_select(["fridge_id", "dirty_since"], select)
    current, new = fe.c.dirty_since, stmt.excluded.dirty_since
    return stmt.on_conflict_do_update(
        index_elements=["fridge_id"],
        set_={"dirty_since": sa.case((current.is_(None), new), (new < current, new), else_=current)},
    )


# -- reading the fridge -------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class FridgeFacts:
    id: int
    name: str
    site: str
    timezone: str
    low_c: float
    high_c: float
    profile_name: str
    created_at: datetime


def fridge_facts(session: so.Session, fridge_id: int) -> FridgeFacts | None:
    f, s = m.Fridge, m.Site
    row = session.execute(
        sa.select(f.id, f.name, s.name, s.timezone, f.low_c, f.high_c, f.alarm_profile, f.created_at)
        .join(s, f.site_id == s.id).where(f.id == fridge_id)
    ).first()
    return FridgeFacts(*row) if row else None


def readings_by_segment(session: so.Session, segs: Sequence[Segment], lo: datetime,
                        hi: datetime) -> list[tuple[Segment, Series]]:
    r = m.Reading
    out = []
    for seg in segs:
        clipped = seg.clip(lo, hi + timedelta(microseconds=1))
        if clipped is None:
            continue
        start, end = clipped
        query = sa.select(r.measured_at, r.temperature_c).where(r.sensor_id == seg.sensor_id, r.measured_at >= start)
        if end is not None:
            query = query.where(r.measured_at < end)
        out.append((seg, [tuple(row) for row in session.execute(query.order_by(r.measured_at))]))
    return out


def fridge_series(pieces: Sequence[tuple[Segment, Series]], allowed_gap: timedelta) -> Series:
    """What the rules judge: the primary sensor's readings, with backups standing in where it is silent."""
    primary = sorted(x for seg, series in pieces if seg.role == "primary" for x in series)
    backups = sorted(x for seg, series in pieces if seg.role != "primary" for x in series)
    if not primary:
        return backups
    times = [at for at, _ in primary]
    merged = list(primary)
    for at, celsius in backups:
        i = bisect.bisect_right(times, at)
        if i == 0 or at - times[i - 1] > allowed_gap:
            merged.append((at, celsius))
    merged.sort()
    return merged


# -- matching findings with stored records -------------------------------------------


def _overlaps(start_a: datetime, end_a: datetime | None, start_b: datetime, end_b: datetime | None) -> bool:
    return (end_b is None or start_a <= end_b) and (end_a is None or start_b <= end_a)


def state_of(ended_at: datetime | None, acknowledged_at: datetime | None) -> str:
    if ended_at is not None:
        return "resolved"
    return "acknowledged" if acknowledged_at is not None else "open"


def _set(obj: object, changed: list[bool], **values: object) -> None:
    for key, value in values.items():
        if getattr(obj, key) != value:
            setattr(obj, key, value)
            changed.append(True)


@dataclasses.dataclass(slots=True)
class Outcome:
    """What one evaluation changed: alerts to (re)plan notifications for."""

    created: list[int] = dataclasses.field(default_factory=list)
    changed: list[int] = dataclasses.field(default_factory=list)
    severity_changed: list[int] = dataclasses.field(default_factory=list)  # of ``changed``, while ongoing

    @property
    def alert_ids(self) -> list[int]:
        return [*self.created, *self.changed]


_Record = TypeVar("_Record", m.Alert, m.Excursion)


class _Reconciler:
    def __init__(self, session: so.Session, fridge_id: int, window_start: datetime, now: datetime) -> None:
        self.session, self.fridge_id, self.window_start, self.now = session, fridge_id, window_start, now
        self.outcome = Outcome()
        a = m.Alert
        self.alerts: list[m.Alert] = list(session.scalars(
            sa.select(a).where(a.fridge_id == fridge_id, sa.or_(a.ended_at.is_(None), a.ended_at >= window_start))
            .order_by(a.started_at, a.id)
        ))
        e = m.Excursion
        self.excursions: list[m.Excursion] = list(session.scalars(
            sa.select(e).where(e.fridge_id == fridge_id, sa.or_(e.ended_at.is_(None), e.ended_at >= window_start))
            .order_by(e.started_at, e.id)
        ))
        self._used_alerts: set[int] = set()
        self._used_excursions: set[int] = set()
        # Indexes, so that a window holding many episodes is not matched finding by record.
        self._by_excursion = {alert.excursion_id: alert for alert in self.alerts if alert.excursion_id is not None}
        self._alerts_by_key: dict[tuple[str, str, str], list[m.Alert]] = defaultdict(list)
        for alert in self.alerts:
            self._alerts_by_key[alert.kind, alert.rule, alert.subject].append(alert)
        self._excursions_by_rule: dict[str, list[m.Excursion]] = defaultdict(list)
        for excursion in self.excursions:
            self._excursions_by_rule[excursion.rule].append(excursion)

    @staticmethod
    def _overlapping(records: Sequence[_Record], used: set[int], finding: checks.Finding) -> _Record | None:
        """The earliest unused record (sorted by start) that overlaps the finding."""
        starts = [r.started_at for r in records]
        hi = len(records) if finding.end is None else bisect.bisect_right(starts, finding.end)
        found = None
        for record in reversed(records[:hi]):
            if record.ended_at is not None and record.ended_at < finding.start:
                break  # episodes of one kind do not overlap each other: the earlier ones end earlier still
            if record.id not in used:
                found = record
        return found

    def _match_alert(self, finding: checks.Finding, excursion: m.Excursion | None) -> m.Alert | None:
        if excursion is not None:
            alert = self._by_excursion.get(excursion.id)
            if alert is not None and alert.id not in self._used_alerts:
                return alert
        return self._overlapping(self._alerts_by_key.get(finding.key, []), self._used_alerts, finding)

    def _excursion(self, finding: checks.Finding) -> m.Excursion:
        episode = finding.episode
        assert episode is not None
        found = self._overlapping(self._excursions_by_rule.get(finding.rule, []), self._used_excursions, finding)
        values = dict(severity=episode.severity, started_at=episode.start, ended_at=episode.end,
                      alarm_at=episode.alarm_at, peak_c=episode.peak_c, low_c=episode.low_c, mkt_c=episode.mkt_c,
                      time_beyond_s=episode.time_beyond.total_seconds(), unknown_s=episode.unknown.total_seconds(),
                      readings_count=episode.readings_count)
        if found is None:
            found = m.Excursion(fridge_id=self.fridge_id, rule=finding.rule, updated_at=self.now, **values)
            self.session.add(found)
            self.session.flush()
            self._excursions_by_rule[finding.rule].append(found)
        else:
            changed: list[bool] = []
            _set(found, changed, **values)
            if changed:
                found.updated_at = self.now
        self._used_excursions.add(found.id)
        return found

    def apply(self, finding: checks.Finding) -> None:
        excursion = self._excursion(finding) if finding.episode is not None else None
        alert = self._match_alert(finding, excursion)
        values = dict(severity=finding.severity, title=finding.title[:300], detail=finding.detail,
                      started_at=finding.start, ended_at=finding.end, peak_c=finding.peak_c, low_c=finding.low_c,
                      excursion_id=excursion.id if excursion is not None else None)
        if alert is None:
            alert = m.Alert(fridge_id=self.fridge_id, kind=finding.kind, rule=finding.rule, subject=finding.subject,
                            state=state_of(finding.end, None), created_at=self.now, updated_at=self.now, **values)
            self.session.add(alert)
            self.session.flush()
            self.alerts.append(alert)
            self._alerts_by_key[finding.key].append(alert)
            if alert.excursion_id is not None:
                self._by_excursion[alert.excursion_id] = alert
            self.outcome.created.append(alert.id)
            log.warning("alert %d opened: fridge id %d, %s (%s, %s)", alert.id, self.fridge_id, finding.title,
                        finding.kind, finding.severity)
        else:
            if finding.kind in STATE_KINDS:  # noticed then: later readings that are still old do not move it
                values["started_at"] = min(alert.started_at, finding.start)
            if alert.severity != finding.severity and alert.ended_at is None and finding.end is None:
                self.outcome.severity_changed.append(alert.id)  # told as "changed"; only known here
            changed: list[bool] = []
            _set(alert, changed, **values, state=state_of(finding.end, alert.acknowledged_at))
            if changed:
                alert.updated_at = self.now
                self.outcome.changed.append(alert.id)
        self._used_alerts.add(alert.id)

    def resolve_unmatched(self, kinds: Iterable[str]) -> None:
        """Open alerts of these kinds whose condition is no longer found have ended (now)."""
        kinds = set(kinds)
        for alert in self.alerts:
            if alert.id in self._used_alerts or alert.kind not in kinds or alert.ended_at is not None:
                continue
            alert.ended_at = max(self.now, alert.started_at)
            alert.state = state_of(alert.ended_at, alert.acknowledged_at)
            alert.updated_at = self.now
            self.outcome.changed.append(alert.id)
            log.info("alert %d resolved: %s no longer holds", alert.id, alert.title)


# -- evaluation ------------------------------------------------------------------------


def _lock(session: so.Session, fridge_id: int, now: datetime) -> tuple[datetime | None, datetime | None]:
    """Take the fridge's evaluation lock (a write, so it comes first); its mark's ``dirty_since`` and ``days_since``."""
    dialect = session.get_bind().dialect.name
    fe = m.FridgeEvaluation
    stmt = dialect_insert(dialect, fe.__table__).values(fridge_id=fridge_id, dirty_since=None, evaluated_at=now)
    session.execute(stmt.on_conflict_do_update(index_elements=["fridge_id"], set_={"evaluated_at": now}))
    row = session.execute(sa.select(fe.dirty_since, fe.days_since).where(fe.fridge_id == fridge_id)).one()
    return row.dirty_since, row.days_since


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
        earlier = [_aware(x) for x in earlier if x is not None]
        if not earlier:
            return start
        start = min(earlier) - reach
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
    states = []
    for sid, last, pct, battery_at, due, created in rows:
        seg = current[sid]
        states.append(checks.SensorState(sid, seg.role, seg.since or created, last, pct, battery_at, due))
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
    dirty_since, days_since = _lock(session, fridge_id, now)
    facts = fridge_facts(session, fridge_id)
    if facts is None:
        return Outcome()
    tz = ZoneInfo(facts.timezone)
    profile = profile_for(config, facts.profile_name, facts.low_c, facts.high_c, profiles.stored(session))
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
    rec = _Reconciler(session, fridge_id, start, now)
    # A backlog ingest still drains from the broker is not silence: by time, silence is judged as far as
    # ingest has caught up; an alarm already open stays until a reading comes.
    already = {(a.kind, a.rule, a.subject) for a in rec.alerts if a.kind == "no-data" and a.ended_at is None}
    silent = checks.no_data_findings(
        sensors, facts.created_at, now, profile.allowed_gap,
        heard_until=ingest_heard_until(session.connection(), now) if by_time else None,
        open_subjects=frozenset(subject for kind, rule, subject in already if rule == "silence"))
    if not by_time:
        silent = [f for f in silent if f.key in already]
    findings += silent
    open_battery = frozenset(a.subject for a in rec.alerts if a.kind == "low-battery" and a.ended_at is None)
    findings += checks.battery_findings(sensors, profile.low_battery_pct, open_battery)
    findings += checks.calibration_findings(sensors, now.astimezone(tz).date(), tz,
                                            config.alerts["calibration_warning_days"])
    findings += _disagreements(pieces, sensors, until, profile.allowed_gap, config, start)
    for finding in sorted(findings, key=lambda f: f.start):
        rec.apply(finding)
    # The lots held here, judged against their products' ranges over the same window (after the
    # fridge's excursions are stored, so a review can name the one it overlaps).
    judge = lot_safety.LotJudge(session, lot_safety.Window(
        fridge_id, facts.name, facts.timezone, start, now, profile.allowed_gap, profile.clear_delay,
        profile.settle_time, profile.hysteresis_c))

    def load_series(since: datetime) -> Series:
        more = segments(session.connection(), [fridge_id], since, now)
        return fridge_series(readings_by_segment(session, more, since, now), profile.allowed_gap)

    judge.reviews(series, load_from, load_series, by_time=by_time)
    for finding in sorted(judge.findings(by_time=by_time, horizons=config.inventory["expiry_warning_days"]),
                          key=lambda f: f.start):
        rec.apply(finding)
    rec.resolve_unmatched(lot_safety.kinds_judged(by_time))
    # Nor does a batch resolve an alarm it does not show (yet): the scheduler may have found it by
    # time passing, and judges it again within its interval.
    rec.resolve_unmatched(["excursion", "sensor-disagreement", *STATE_KINDS] if by_time else STATE_KINDS)
    if first_day is not None:
        _store_days(session, fridge_id, profile, series, tz, first_day, now)
        days_since = None
    session.execute(sa.update(m.FridgeEvaluation).where(m.FridgeEvaluation.fridge_id == fridge_id)
                    .values(dirty_since=None, days_since=days_since))
    judge.audit()  # last: the audit trail's lock after the alert rows, as acknowledging takes them
    return rec.outcome


def _has_open_excursion(session: so.Session, fridge_id: int) -> bool:
    e = m.Excursion
    return session.scalar(sa.select(e.id).where(e.fridge_id == fridge_id, e.ended_at.is_(None)).limit(1)) is not None


def _disagreements(pieces: Sequence[tuple[Segment, Series]], sensors: Sequence[checks.SensorState], now: datetime,
                   allowed_gap: timedelta, config: Config, start: datetime) -> list[checks.Finding]:
    by_sensor: dict[str, Series] = defaultdict(list)
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


def _store_days(session: so.Session, fridge_id: int, profile: AlarmProfile, series: Series, tz: ZoneInfo,
                first_day: date, now: datetime) -> None:
    dialect = session.get_bind().dialect.name
    rows = []
    for day, _lo, _hi in local_days(first_day, now.astimezone(tz).date(), tz):
        spent = daily_time_out_of_range(profile, series, tz, day, profile.allowed_gap, now=now) if series else None
        rows.append({"fridge_id": fridge_id, "day": day,
                     "out_of_range_s": spent.total_seconds() if spent is not None else 0.0, "updated_at": now})
    if not rows:
        return
    stmt = dialect_insert(dialect, m.FridgeDay.__table__)
    session.execute(stmt.on_conflict_do_update(
        index_elements=["fridge_id", "day"],
        set_={"out_of_range_s": stmt.excluded.out_of_range_s, "updated_at": stmt.excluded.updated_at}), rows)


def marked_fridges(engine: sa.Engine) -> list[int]:
    fe = m.FridgeEvaluation
    with engine.connect() as conn:
        return list(conn.scalars(sa.select(fe.fridge_id).where(fe.dirty_since.is_not(None)).order_by(fe.fridge_id)))


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
                        fridge_id, str(getattr(exc, "orig", exc)).strip().splitlines()[0])
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
