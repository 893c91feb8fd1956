"""Ingest as operations see it: each ingest process's heartbeat, and the counts /metrics and /healthz show.

An ingest process writes its heartbeat every few seconds (:func:`record_heartbeat`);
:func:`ingest_heard_until` turns them into the moment silence is judged at
(:func:`fridge_monitor.core.heartbeat.heard_until`), so a backlog ingest still
drains is not taken for silence.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from fridge_monitor.core.heartbeat import Heartbeat, heard_until
from fridge_monitor.store import models as m
from fridge_monitor.store.db import dialect_insert
from fridge_monitor.store.sensors import DEFAULT_MAX_GAP, TOO_MANY_UNASSIGNED, unassigned_in_service


def record_heartbeat(engine: sa.Engine, beat: Heartbeat) -> None:
    """Write an ingest process's heartbeat (one small upsert every few seconds).

    ``caught_up_at`` only moves forward, and a process that has not had a
    marker back since it (re)started keeps the one its row holds: until then
    it is still catching up from there.
    """
    table = m.IngestHeartbeat.__table__
    stmt = dialect_insert(engine.dialect.name, table).values(dataclasses.asdict(beat))
    current, new = table.c.caught_up_at, stmt.excluded.caught_up_at
    stmt = stmt.on_conflict_do_update(
        index_elements=["client_id"],
        set_={**{key: stmt.excluded[key] for key in ("started_at", "beat_at", "connected", "backlog", "stored_at",
                                                      "interval_s", "max_drain_s")},
              "caught_up_at": sa.case((new.is_(None), current), (current.is_(None), new), (current < new, new),
                                      else_=current)},
    )
    with engine.begin() as conn:
        conn.execute(stmt)


def heartbeats(conn: sa.Connection) -> list[Heartbeat]:
    """Every ingest process's last heartbeat."""
    h = m.IngestHeartbeat
    rows = conn.execute(sa.select(h.client_id, h.started_at, h.beat_at, h.connected, h.backlog, h.caught_up_at,
                                  h.stored_at, h.interval_s, h.max_drain_s).order_by(h.client_id)).all()
    return [Heartbeat(*row) for row in rows]


def ingest_heard_until(conn: sa.Connection, now: datetime) -> datetime:
    """The moment silence is judged at, from ingest's heartbeats (:func:`fridge_monitor.core.heartbeat.heard_until`)."""
    return heard_until(now, heartbeats(conn))


@dataclasses.dataclass(frozen=True, slots=True)
class IngestFigures:
    readings: int
    rejected: int
    newest_received_at: datetime | None
    sensors: int
    silent_sensors: int
    heartbeats: tuple[Heartbeat, ...] = ()
    heard_until: datetime | None = None
    unassigned_sensors: int = 0  # in service, counted against [ingest] max_unassigned_sensors
    refused_new_sensors: int = 0  # messages kept as rejected because that cap was reached


def ingest_figures(conn: sa.Connection, now: datetime, max_gap: timedelta = DEFAULT_MAX_GAP) -> IngestFigures:
    """Counts for /metrics and /healthz, each one cheap query."""
    s = m.Sensor
    readings = conn.scalar(sa.select(sa.func.count()).select_from(m.Reading)) or 0
    rejected = conn.scalar(sa.select(sa.func.count()).select_from(m.RejectedMessage)) or 0
    newest = conn.scalar(sa.select(sa.func.max(s.last_seen_at)))
    if newest is not None and newest.tzinfo is None:  # max() loses the column type on SQLite
        newest = datetime.fromisoformat(str(newest)).replace(tzinfo=UTC)
    total = conn.scalar(sa.select(sa.func.count()).select_from(s).where(s.fridge_id.is_not(None))) or 0
    beats = heartbeats(conn)
    heard = heard_until(now, beats)
    # status.is_silent's rule, counted by the database: no reading within max_gap of the moment silence is judged at
    silent = conn.scalar(
        sa.select(sa.func.count()).select_from(s).where(
            s.fridge_id.is_not(None), sa.or_(s.last_measured_at.is_(None), s.last_measured_at < heard - max_gap)
        )
    ) or 0
    unassigned = conn.scalar(sa.select(sa.func.count()).select_from(s).where(unassigned_in_service())) or 0
    r = m.RejectedMessage
    refused = conn.scalar(sa.select(sa.func.count()).select_from(r)
                          .where(r.reason.startswith(TOO_MANY_UNASSIGNED, autoescape=True))) or 0
    return IngestFigures(readings, rejected, newest, total, silent, tuple(beats), heard, unassigned, refused)
