"""Matching an evaluation's findings with the stored excursions and alerts of a fridge.

A finding matches a stored record of the same kind, rule and subject that
overlaps it in time, so judging again (after a restart, or after late readings)
updates what is there and never adds a second alert for the same episode.
"""

from __future__ import annotations

import bisect
import dataclasses
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TypeVar

import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.core import checks
from fridge_monitor.store import models as m

log = logging.getLogger(__name__)

# State-like conditions: while the finding is there the alert is open; when it is gone, resolved now.
STATE_KINDS = ("no-data", "low-battery", "calibration-due", "calibration-expired", "logger-overdue")


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


class Reconciler:
    """Applies one fridge's findings to its stored records in the evaluation's transaction."""

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
