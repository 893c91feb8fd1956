"""The scheduler role: checks that become true by time passing, escalation, reminders and retries.

Only one scheduler is active at a time. It holds a lease in the database
(:class:`~fridge_monitor.store.models.SchedulerLease`) and renews it every third of
``[scheduler] lease_s``; a second scheduler waits as a hot standby and takes
the lease over once it has not been renewed for ``lease_s`` (the first one
died or lost the database). Every job checks the lease before it works.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from functools import partial

import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler

from fridge_monitor.alerts.evaluate import Evaluator
from fridge_monitor.alerts.outbox import Outbox
from fridge_monitor.alerts.reconcile import Outcome
from fridge_monitor.config import Config
from fridge_monitor.store import anchors, audit_trail, partitions, rollups
from fridge_monitor.store import models as m
from fridge_monitor.store.db import first_line

log = logging.getLogger(__name__)

LEASE = "scheduler"
SEND_EVERY_S = 5.0
ANCHOR_POLL_S = 5.0  # how often the anchor job looks whether an anchor is due
ROLLUPS_EVERY_S = 5.0  # how often stale hours of the rollups are recomputed
AUDIT_CHECK_EVERY_S = 60.0  # how often the audit trail is checked from its checkpoint (the audit page's work)
PARTITIONS_EVERY_S = 6 * 3600.0  # how often the coming months' readings partitions are made (PostgreSQL)


def run_checks(engine: sa.Engine, config: Config, outbox: Outbox, now: datetime | None = None) -> Outcome:
    """Every scheduled check once: judge every fridge, plan escalations and reminders, send what is due."""
    clock = (lambda: now) if now is not None else partial(datetime.now, UTC)
    evaluator = Evaluator(engine, config, outbox, clock=clock)
    outcome = evaluator.everything()
    moment = now or datetime.now(UTC)
    outbox.plan_pending(moment)
    outbox.send_due(moment, wait=True)
    return outcome


class Lease:
    """A named lock in the database, held while renewed (works the same on SQLite and PostgreSQL)."""

    def __init__(self, engine: sa.Engine, duration: timedelta, holder: str | None = None) -> None:
        self.engine, self.duration = engine, duration
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"

    def acquire(self, now: datetime) -> bool:
        """Take or renew the lease; whether this process holds it now."""
        lease = m.SchedulerLease
        expires = now + self.duration
        try:
            with self.engine.begin() as conn:
                result = conn.execute(
                    sa.update(lease).where(lease.name == LEASE,
                                           sa.or_(lease.holder == self.holder, lease.expires_at < now))
                    .values(holder=self.holder, expires_at=expires,
                            acquired_at=sa.case((lease.holder == self.holder, lease.acquired_at), else_=now))
                )
                if result.rowcount == 1:
                    return True
                if conn.scalar(sa.select(sa.func.count()).select_from(lease).where(lease.name == LEASE)):
                    return False
                conn.execute(sa.insert(lease).values(name=LEASE, holder=self.holder, acquired_at=now,
                                                     expires_at=expires))
                return True
        except sa.exc.IntegrityError:
            return False  # another scheduler inserted it first

    def release(self) -> None:
        lease = m.SchedulerLease
        with self.engine.begin() as conn:
            conn.execute(sa.update(lease).where(lease.name == LEASE, lease.holder == self.holder)
                         .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))

    def current_holder(self) -> str | None:
        lease = m.SchedulerLease
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(lease.holder, lease.expires_at).where(lease.name == LEASE)).first()
        return row.holder if row is not None and row.expires_at >= datetime.now(UTC) else None


class Scheduler:
    """Runs the jobs while holding the lease; waits as a standby otherwise."""

    def __init__(self, config: Config, engine: sa.Engine, *, holder: str | None = None) -> None:
        self.config, self.engine = config, engine
        self.lease = Lease(engine, timedelta(seconds=config.scheduler["lease_s"]), holder)
        self.outbox = Outbox(engine, config)
        self.active = False
        self.fatal_error: str | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()  # ends an anchor's wait for a broker that does not answer
        self._last_anchor: float | None = None  # monotonic time of this scheduler's last anchor
        # A late run (a busy machine) is run late rather than skipped with a warning; runs missed
        # meanwhile collapse into one.
        self._scheduler = BackgroundScheduler(
            timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None})

    @property
    def started(self) -> bool:
        running: bool = self._scheduler.running
        return running

    def start(self) -> None:
        settings, now = self.config.scheduler, datetime.now(UTC)
        self._scheduler.add_job(self._renew, "interval", seconds=settings["lease_s"] / 3, id="lease", next_run_time=now)
        self._scheduler.add_job(self._checks, "interval", seconds=settings["interval_s"], id="checks",
                                next_run_time=now + timedelta(seconds=0.5))
        self._scheduler.add_job(self._send, "interval", seconds=SEND_EVERY_S, id="send",
                                next_run_time=now + timedelta(seconds=1))
        # Polled: anchors when this scheduler gets the lease, then every anchor_interval_min.
        self._scheduler.add_job(self._anchor, "interval", seconds=ANCHOR_POLL_S, id="anchor",
                                next_run_time=now + timedelta(seconds=1))
        self._scheduler.add_job(self._rollups, "interval", seconds=ROLLUPS_EVERY_S, id="rollups",
                                next_run_time=now + timedelta(seconds=2))
        self._scheduler.add_job(self._audit_check, "interval", seconds=AUDIT_CHECK_EVERY_S, id="audit-check",
                                next_run_time=now + timedelta(seconds=3))
        self._scheduler.add_job(self._partitions, "interval", seconds=PARTITIONS_EVERY_S, id="partitions",
                                next_run_time=now + timedelta(seconds=4))
        self._scheduler.start()
        log.info("scheduler %s started; waiting for the lease", self.lease.holder)

    def stop(self) -> None:
        self._stopping.set()
        self._scheduler.shutdown(wait=True)
        self.outbox.wait_idle(15)
        self.outbox.close()
        if self.active:
            try:
                self.lease.release()  # the standby takes over at once
            except sa.exc.SQLAlchemyError:
                pass
        log.info("scheduler %s stopped", self.lease.holder)

    def _holding(self) -> bool:
        """Renew before working, so a scheduler that lost the lease stops at once."""
        try:
            held = self.lease.acquire(datetime.now(UTC))
        except sa.exc.SQLAlchemyError as exc:
            log.warning("cannot reach the database to renew the scheduler lease (%s)", first_line(exc))
            held = False
        if held != self.active:
            if held:
                log.warning("scheduler %s is now the active scheduler", self.lease.holder)
                self._last_anchor = None  # a standby taking over anchors the chain as it finds it
            else:
                log.warning("scheduler %s is a standby now (lease held by %s)", self.lease.holder,
                            self._holder_text())
            self.active = held
        return held

    def _holder_text(self) -> str:
        try:
            return self.lease.current_holder() or "nobody"
        except sa.exc.SQLAlchemyError:
            return "unknown"

    def _renew(self) -> None:
        with self._lock:
            self._holding()

    def _checks(self) -> None:
        with self._lock:
            if not self._holding():
                return
        try:
            outcome = run_checks(self.engine, self.config, self.outbox)
            if outcome.created:
                log.info("scheduled checks opened %d alert(s)", len(outcome.created))
        except Exception:  # noqa: BLE001 - a failed round is logged; the next one tries again
            log.exception("scheduled checks failed")

    def _send(self) -> None:
        with self._lock:
            if not self._holding():
                return
        try:
            now = datetime.now(UTC)
            self.outbox.plan_pending(now)
            self.outbox.send_due(now)
        except Exception:  # noqa: BLE001
            log.exception("sending due notifications failed")

    def _rollups(self) -> None:
        """Recompute the hours whose held figures went stale (:mod:`fridge_monitor.store.rollups`), a few
        thousand per round until none is left."""
        with self._lock:
            if not self._holding():
                return
        try:
            while not self._stopping.is_set() and rollups.refresh(self.engine) == rollups.BATCH_HOURS:
                pass
        except Exception:  # noqa: BLE001 - logged; the next round tries again
            log.exception("recomputing the hourly rollups failed")

    def _audit_check(self) -> None:
        """Check the audit trail from its checkpoint and move it on (:func:`audit_trail.check_since_checkpoint`),
        so that the audit page finds it fresh: after an upgrade the first check reads every event, here rather
        than in a person's page view."""
        with self._lock:
            if not self._holding():
                return
        try:
            found = audit_trail.check_since_checkpoint(self.engine, datetime.now(UTC))
            if found.verdict.problem is not None:
                log.error("the audit trail does not verify: %s", found.verdict.problem)
        except Exception:  # noqa: BLE001 - logged; the next round tries again
            log.exception("checking the audit trail failed")

    def _partitions(self) -> None:
        """Make the readings partitions of this UTC month and the next ones ahead of time, at start and every few
        hours (:func:`partitions.ensure_partitions`; PostgreSQL only). A month without one still takes its
        readings, in the DEFAULT partition."""
        with self._lock:
            if not self._holding():
                return
        try:
            partitions.ensure_partitions(self.engine, datetime.now(UTC))
        except Exception:  # noqa: BLE001 - logged; the next round tries again
            log.exception("making the coming months' readings partitions failed")

    def _anchor(self) -> None:
        """Anchor the audit chain outside the database when due (see :mod:`fridge_monitor.store.anchors`)."""
        with self._lock:
            interval_s = self.config.audit["anchor_interval_min"] * 60
            due = self._last_anchor is None or time.monotonic() - self._last_anchor >= interval_s
            if not due or not self._holding():
                return
            self._last_anchor = time.monotonic()
        try:
            anchors.write(self.engine, self.config, cancel=self._stopping)
        except Exception:  # noqa: BLE001 - logged; the next interval anchors again
            log.exception("anchoring the audit chain failed")
