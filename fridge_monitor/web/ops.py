"""Operations: ``/healthz`` for load balancers and ``/metrics`` for Prometheus.

The web role has no MQTT connection of its own, so ingest health is judged
from the database: when the newest reading was received, and how long ago.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, jsonify
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from fridge_monitor.core.heartbeat import Heartbeat, draining_until
from fridge_monitor.core.status import State, status
from fridge_monitor.core.times import iso_utc
from fridge_monitor.store import models as m
from fridge_monitor.store.db import first_line
from fridge_monitor.store.ingest_state import ingest_figures
from fridge_monitor.store.overview import fridges_now
from fridge_monitor.store.sensors import DEFAULT_MAX_GAP
from fridge_monitor.store.series import ProfileOf, profiles_of
from fridge_monitor.web import scope
from fridge_monitor.web.access import EVERYONE, PUBLIC, allow, current_user
from fridge_monitor.web.context import db, settings

log = logging.getLogger(__name__)

bp = Blueprint("ops", __name__)


@bp.route("/healthz")
@allow(PUBLIC)
def healthz() -> Any:
    """The verdict for anyone (a load balancer); the details only for a signed-in user or an API token,
    since they name the scheduler's host and process id, ingest's clients and the database's error."""
    body, code = health(datetime.now(UTC))
    if current_user() is None:
        body = {"status": body["status"]}
    return jsonify(body), code


def health(now: datetime) -> tuple[dict[str, Any], int]:
    """The web role's view of the system, and the HTTP status it answers with."""
    body: dict[str, Any] = {
        "status": "ok",
        "database": "ok",
        "broker": "not connected from the web role; see ingest",
        "ingest": {"last_received_at": None, "age_s": None},
    }
    try:
        figures = ingest_figures(db().connection(), now)
    except sa.exc.SQLAlchemyError as exc:
        log.warning("health check: database unreachable: %s", exc)
        db().rollback()
        body["status"] = "degraded"
        driver = getattr(exc, "orig", None) or exc
        body["database"] = f"unreachable: {type(driver).__name__}: {first_line(exc)}"
        return body, 503
    lease = db().execute(sa.select(m.SchedulerLease.holder, m.SchedulerLease.expires_at)).first()
    body["scheduler"] = ({"active": lease.expires_at >= now, "holder": lease.holder,
                          "lease_expires_at": iso_utc(lease.expires_at)} if lease is not None
                         else {"active": False, "holder": None, "lease_expires_at": None})
    if figures.newest_received_at is not None:
        body["ingest"] = {
            "last_received_at": iso_utc(figures.newest_received_at),
            "age_s": round((now - figures.newest_received_at).total_seconds(), 1),
        }
    # Each ingest process's heartbeat; while one drains a backlog, silence is judged as far as it caught up.
    body["ingest"]["processes"] = [heartbeat_json(beat, now) for beat in figures.heartbeats]
    body["ingest"]["silence_judged_at"] = iso_utc(figures.heard_until or now)
    return body, 200


def heartbeat_json(beat: Heartbeat, now: datetime) -> dict[str, Any]:
    def ago(at: datetime | None) -> float | None:
        return None if at is None else round((now - at).total_seconds(), 1)

    return {"client_id": beat.client_id, "connected": beat.connected, "backlog": beat.backlog,
            "heartbeat_age_s": ago(beat.beat_at),
            "caught_up_at": iso_utc(beat.caught_up_at) if beat.caught_up_at is not None else None,
            "caught_up_lag_s": ago(beat.caught_up_at), "draining": draining_until(beat, now) is not None}


class DatabaseCollector:
    """Reads the figures from the database at each scrape, so every web process reports the same."""

    def __init__(self, conn: sa.Connection, now: datetime, profile_of: ProfileOf) -> None:
        self.conn = conn
        self.now = now
        self.profile_of = profile_of  # each fridge's state is judged by its profile, as its alarms are

    def collect(self) -> Iterator[Any]:
        figures = ingest_figures(self.conn, self.now)
        yield CounterMetricFamily("fridge_monitor_readings_stored", "Readings stored in the database.",
                                  value=figures.readings)
        yield CounterMetricFamily("fridge_monitor_rejected_messages", "MQTT messages (or parts) rejected and kept.",
                                  value=figures.rejected)
        yield CounterMetricFamily("fridge_monitor_rejected_new_sensors",
                                  "MQTT messages from a new sensor id kept as rejected because [ingest] "
                                  "max_unassigned_sensors unassigned sensors were waiting (part of the rejected).",
                                  value=figures.refused_new_sensors)
        ignored = CounterMetricFamily("fridge_monitor_ignored_messages",
                                      "MQTT messages that carried nothing to record (e.g. an ESPHome power or "
                                      "counter state), by format; counted, not kept.", labels=["format"])
        counts = m.IgnoredMessageCount
        for fmt, count in self.conn.execute(sa.select(counts.fmt, counts.count).order_by(counts.fmt)):
            ignored.add_metric([fmt], count)
        yield ignored
        lag = GaugeMetricFamily("fridge_monitor_ingest_lag_seconds",
                                "Seconds since the newest reading was received (absent before the first).")
        if figures.newest_received_at is not None:
            lag.add_metric([], max(0.0, (self.now - figures.newest_received_at).total_seconds()))
        yield lag
        yield from heartbeat_metrics(figures.heartbeats, self.now)
        yield GaugeMetricFamily("fridge_monitor_sensors_assigned", "Sensors assigned to a fridge.",
                                value=figures.sensors)
        yield GaugeMetricFamily("fridge_monitor_sensors_unassigned", "Sensors neither assigned nor retired, "
                                "counted against [ingest] max_unassigned_sensors.", value=figures.unassigned_sensors)
        yield GaugeMetricFamily(
            "fridge_monitor_sensors_silent",
            f"Assigned sensors without a reading in the last {int(DEFAULT_MAX_GAP.total_seconds() // 60)} minutes.",
            value=figures.silent_sensors,
        )
        states = Counter(status(f.latest, self.now, f.max_gap, f.low_battery_pct) for f in
                         fridges_now(self.conn, self.now, profile_of=self.profile_of, history=timedelta(0)))
        by_status = GaugeMetricFamily("fridge_monitor_fridges", "Fridges in service by status.", labels=["status"])
        for state in State:
            by_status.add_metric([state.value], states.get(state, 0))
        yield by_status
        yield from alert_metrics(self.conn, self.now)


def heartbeat_metrics(beats: tuple[Heartbeat, ...], now: datetime) -> Iterator[Any]:
    """Per ingest process: how old its heartbeat is, and how far behind the broker it is."""
    age = GaugeMetricFamily("fridge_monitor_ingest_heartbeat_age_seconds",
                            "Seconds since each ingest process's last heartbeat.", labels=["client_id"])
    behind = GaugeMetricFamily("fridge_monitor_ingest_caught_up_lag_seconds",
                               "Seconds since the moment up to which each ingest process has stored everything the "
                               "broker held for it (absent before its first marker came back).", labels=["client_id"])
    backlog = GaugeMetricFamily("fridge_monitor_ingest_backlog", "Messages each ingest process has received but not "
                                "yet stored, at its last heartbeat.", labels=["client_id"])
    for beat in beats:
        age.add_metric([beat.client_id], max(0.0, (now - beat.beat_at).total_seconds()))
        if beat.caught_up_at is not None:
            behind.add_metric([beat.client_id], max(0.0, (now - beat.caught_up_at).total_seconds()))
        backlog.add_metric([beat.client_id], beat.backlog)
    yield from (age, behind, backlog)


def alert_metrics(conn: sa.Connection, now: datetime) -> Iterator[Any]:
    """Alerts waiting for people, deliveries that failed, and whether a scheduler holds its lease."""
    a, n, lease = m.Alert, m.Notification, m.SchedulerLease
    waiting = GaugeMetricFamily("fridge_monitor_alerts_unacknowledged",
                                "Alerts waiting for an acknowledgement, by kind and severity.",
                                labels=["kind", "severity"])
    for kind, severity, count in conn.execute(
            sa.select(a.kind, a.severity, sa.func.count()).where(a.acknowledged_at.is_(None))
            .group_by(a.kind, a.severity).order_by(a.kind, a.severity)):
        waiting.add_metric([kind, severity], count)
    yield waiting
    yield GaugeMetricFamily("fridge_monitor_alerts_ongoing", "Alerts whose condition is still going on.",
                            value=conn.scalar(sa.select(sa.func.count()).select_from(a).where(a.ended_at.is_(None))))
    failed = CounterMetricFamily("fridge_monitor_notifications_failed",
                                 "Notification attempts that failed, by channel.", labels=["channel"])
    for channel, count in conn.execute(sa.select(n.channel, sa.func.count()).where(n.ok.is_(False))
                                       .group_by(n.channel).order_by(n.channel)):
        failed.add_metric([channel], count)
    yield failed
    held = conn.scalar(sa.select(sa.func.count()).select_from(lease).where(lease.expires_at >= now))
    yield GaugeMetricFamily("fridge_monitor_scheduler_active", "1 while a scheduler holds its lease.",
                            value=1 if held else 0)


@bp.route("/metrics")
@allow(*EVERYONE)
@scope.every_site("the metrics count every site's fridges and alerts: read them with a token of someone who "
                  "sees every site")
def metrics() -> Any:
    """The installation's figures (every site's fridges and alerts), for a monitoring system."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(db().connection(), datetime.now(UTC), profiles_of(db(), settings())))
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
