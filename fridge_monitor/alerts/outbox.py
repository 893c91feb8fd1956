"""Alert notifications through the database: planned rows (the outbox) sent by whichever process is free.

:meth:`Outbox.plan` inserts what :mod:`fridge_monitor.core.escalation` says is due,
in the caller's transaction (so an alert and its first notifications commit
together); a unique key makes planning twice harmless. :meth:`Outbox.send_due`
claims due rows, sends each on a thread of its own (a slow or failing channel
holds up no other) and records every attempt with its result; a failure is
followed by a new row for the next attempt, with backoff.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.alerts.notify import AlertMessage, Channel, Delivery, build_channel, retry_delay
from fridge_monitor.config import Config
from fridge_monitor.core import escalation
from fridge_monitor.store import models as m
from fridge_monitor.store.db import dialect_insert, write_lock

log = logging.getLogger(__name__)

CLAIM_MARGIN = timedelta(seconds=30)
SEND_BATCH = 200


def policy_from(config: Config) -> escalation.Policy:
    alerts = config.alerts
    return escalation.Policy(tier_delay=timedelta(minutes=alerts["tier_delay_min"]),
                             reminder=timedelta(minutes=alerts["reminder_min"]),
                             max_attempts=alerts["max_attempts"])


def message_for(alert: m.Alert, event: str, fridge: str, site: str, tz: str, base_url: str) -> AlertMessage:
    return AlertMessage(
        alert_id=alert.id, kind=alert.kind, event=event, state=alert.state, severity=alert.severity, fridge=fridge,
        site=site,
        title=alert.title, detail=alert.detail, started_at=alert.started_at,
        updated_at=alert.ended_at or alert.updated_at, acknowledged_by=alert.acknowledged_by,
        acknowledged_at=alert.acknowledged_at, action=alert.action,
        url=f"{base_url.rstrip('/')}/alerts/{alert.id}" if base_url else None, timezone=tz,
    )


class Outbox:
    """Plans and sends notifications for the channels declared in ``[[alerts.channels]]``."""

    def __init__(self, engine: sa.Engine, config: Config, *, channels: Iterable[Channel] | None = None,
                 workers: int = 16) -> None:
        self.engine = engine
        self.config = config
        self.policy = policy_from(config)
        self.channels = {c.name: c for c in (channels if channels is not None else
                                             (build_channel(d, config.mqtt) for d in config.channels))}
        self.targets = [escalation.Target(c.name, c.type, c.tier) for c in self.channels.values()]
        # A channel scoped to sites (``sites = [...]``) is told of those sites' fridges' alerts only.
        self.sites: dict[str, frozenset[str]] = {d.name: frozenset(d.sites) for d in config.channels}
        self.claim_for = max((getattr(c, "timeout_s", 10.0) for c in self.channels.values()), default=0.0)
        self._pool: ThreadPoolExecutor | None = None
        self._workers = workers
        self._lock = threading.Lock()
        self._in_flight = 0
        self._idle = threading.Condition(self._lock)

    # -- planning ------------------------------------------------------------------

    def plan(self, session: so.Session, alert_ids: Iterable[int], now: datetime, *,
             severity_changed: Collection[int] = ()) -> int:
        """Insert the notifications now due for these alerts; how many were added.

        ``severity_changed``: those of the alerts whose severity changed just now, while their
        condition lasts (the evaluation that changed it says so; nothing else remembers the old one).
        """
        if not self.targets:
            return 0
        ids = sorted(set(alert_ids))
        if not ids:
            return 0
        n = m.Notification
        # A no-data alert grouped under a site's (or gateway's) outage is told by the outage's alert alone.
        alerts = session.execute(sa.select(m.Alert.id, m.Alert.created_at, m.Alert.ended_at,
                                           m.Alert.acknowledged_at, m.Site.name)
                                 .join(m.Fridge, m.Alert.fridge_id == m.Fridge.id)
                                 .join(m.Site, m.Fridge.site_id == m.Site.id)
                                 .where(m.Alert.id.in_(ids), m.Alert.group_id.is_(None))).all()
        planned: dict[int, set[tuple[str, str, int]]] = {i: set() for i in ids}
        for alert_id, channel, event, sequence in session.execute(
                sa.select(n.alert_id, n.channel, n.event, n.sequence).where(n.alert_id.in_(ids), n.attempt == 1)):
            planned[alert_id].add((channel, event, sequence))
        told: dict[int, set[str]] = {i: set() for i in ids}
        for alert_id, channel in session.execute(
                sa.select(n.alert_id, n.channel).where(n.alert_id.in_(ids), n.ok.is_(True)).distinct()):
            told[alert_id].add(channel)
        rows = []
        for alert_id, created, ended, acked, site in alerts:
            times = escalation.AlertTimes(created, ended, acked)
            targets = [t for t in self.targets if not self.sites.get(t.name) or site in self.sites[t.name]]
            for channel, event, sequence in escalation.due(times, targets, self.policy, planned[alert_id], now,
                                                           told=told[alert_id],
                                                           severity_changed=alert_id in severity_changed):
                target = self.channels[channel]
                rows.append({"alert_id": alert_id, "channel": channel, "channel_type": target.type,
                             "tier": target.tier, "event": event, "sequence": sequence, "attempt": 1,
                             "due_at": now})
        if rows:
            insert = dialect_insert(session.get_bind().dialect.name, n.__table__)
            session.execute(insert.on_conflict_do_nothing(), rows)
        return len(rows)

    def plan_pending(self, now: datetime) -> int:
        """Escalations and reminders for every alert still waiting for an acknowledgement, and the
        acknowledgements of the last day, in one transaction."""
        a = m.Alert
        with so.Session(self.engine) as session, session.begin():
            write_lock(session)
            ids = list(session.scalars(sa.select(a.id).where(
                sa.or_(a.acknowledged_at.is_(None), a.updated_at >= now - timedelta(days=1)))))
            return self.plan(session, ids, now)

    # -- sending ---------------------------------------------------------------------

    def send_due(self, now: datetime | None = None, *, wait: bool = False) -> int:
        """Claim the due notifications and start sending them; how many were claimed.

        With ``wait``, return only when every send has finished and is recorded.
        """
        if not self.channels:
            return 0
        now = now or datetime.now(UTC)
        claimed = self._claim(now)
        for row in claimed:
            self._submit(row)
        if wait:
            self.wait_idle()
        return len(claimed)

    def wait_idle(self, timeout: float | None = None) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=False)
            self._pool = None

    def _claim(self, now: datetime) -> list[tuple[int, str, str, int]]:
        n = m.Notification
        until = now + timedelta(seconds=self.claim_for) + CLAIM_MARGIN
        free = sa.or_(n.claimed_until.is_(None), n.claimed_until < now)
        claimed = []
        with so.Session(self.engine) as session, session.begin():
            write_lock(session)
            candidates = session.execute(
                sa.select(n.id, n.alert_id, n.channel, n.event, n.attempt)
                .where(n.sent_at.is_(None), n.due_at <= now, free).order_by(n.due_at, n.id).limit(SEND_BATCH)
            ).all()
            for row_id, _alert_id, channel, event, attempt in candidates:
                result = session.execute(sa.update(n).where(n.id == row_id, n.sent_at.is_(None), free)
                                         .values(claimed_until=until))
                assert isinstance(result, sa.CursorResult)  # what an UPDATE answers, with its rowcount
                if result.rowcount == 1:
                    claimed.append((row_id, channel, event, attempt))
        return claimed

    def _submit(self, row: tuple[int, str, str, int]) -> None:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="notify")
            self._in_flight += 1
        try:
            self._pool.submit(self._deliver, row)
        except RuntimeError:  # shut down meanwhile: the claim lapses and another process sends it
            self._done()

    def _done(self) -> None:
        with self._idle:
            self._in_flight -= 1
            self._idle.notify_all()

    def _deliver(self, row: tuple[int, str, str, int]) -> None:
        row_id, channel_name, event, attempt = row
        try:
            channel = self.channels.get(channel_name)
            message, acked = self._message(row_id, event, fridge_state=channel is not None and channel.type in
                                           escalation.STATE_CHANNELS)
            if channel is None:
                self._record(row_id, None, "not sent: the channel is no longer configured", attempt)
            elif message is None:
                self._record(row_id, None, "not sent: the alert is gone", attempt)
            elif not escalation.still_wanted(event, channel.type, acked):
                self._record(row_id, None, "not sent: acknowledged before it was due", attempt)
            else:
                delivery = channel.send(message)
                self._record(row_id, delivery, delivery.detail, attempt)
        except Exception:  # noqa: BLE001 - the claim lapses and the row is tried again
            log.exception("notification %d could not be sent or recorded", row_id)
        finally:
            self._done()

    def _message(self, row_id: int, event: str, *, fridge_state: bool = False) -> tuple[AlertMessage | None, bool]:
        """The alert's message for this event and whether the alert is acknowledged.

        ``fridge_state``: for a channel that keeps one retained state per fridge, the message is the
        fridge's most pressing alert still in play, so clearing one alert does not hide another; it
        then names that alert's own last event on the channel.
        """
        n, a, f, s = m.Notification, m.Alert, m.Fridge, m.Site
        with so.Session(self.engine) as session:
            found = session.execute(
                sa.select(a, f.name, s.name, s.timezone).join(n, n.alert_id == a.id).join(f, a.fridge_id == f.id)
                .join(s, f.site_id == s.id).where(n.id == row_id)
            ).first()
            if found is None:
                return None, False
            alert, fridge, site, tz = found
            acked = alert.acknowledged_at is not None
            if fridge_state:
                in_play = session.scalars(
                    sa.select(a).where(a.fridge_id == alert.fridge_id,
                                       sa.or_(a.ended_at.is_(None), a.acknowledged_at.is_(None)))
                    .order_by(sa.case((a.severity == "alarm", 0), else_=1), a.started_at.desc(), a.id.desc())
                    .limit(1)
                ).first()
                if in_play is not None and in_play.id != alert.id:
                    alert, event = in_play, self._last_event(session, in_play, row_id)
            return message_for(alert, event, fridge, site, tz, self.config.alerts["base_url"]), acked

    @staticmethod
    def _last_event(session: so.Session, alert: m.Alert, row_id: int) -> str:
        """The event last planned for ``alert`` on the channel of notification ``row_id``."""
        n = m.Notification
        channel = sa.select(n.channel).where(n.id == row_id).scalar_subquery()
        last = session.scalar(sa.select(n.event).where(n.alert_id == alert.id, n.channel == channel, n.attempt == 1)
                              .order_by(n.id.desc()).limit(1))
        if last is not None:
            return last
        if alert.ended_at is not None:
            return escalation.RESOLVED
        return escalation.ACKNOWLEDGED if alert.acknowledged_at is not None else escalation.OPENED

    def _record(self, row_id: int, delivery: Delivery | None, detail: str, attempt: int) -> None:
        n = m.Notification
        now = datetime.now(UTC)
        with so.Session(self.engine) as session, session.begin():
            write_lock(session)
            row = session.get(n, row_id)
            if row is None:
                return
            row.sent_at, row.ok, row.detail, row.claimed_until = now, delivery.ok if delivery else None, detail, None
            if delivery is not None and not delivery.ok and attempt < self.policy.max_attempts:
                session.add(n(alert_id=row.alert_id, channel=row.channel, channel_type=row.channel_type,
                              tier=row.tier, event=row.event, sequence=row.sequence, attempt=attempt + 1,
                              due_at=now + retry_delay(attempt)))
