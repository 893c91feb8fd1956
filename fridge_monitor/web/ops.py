"""Operations: ``/healthz`` for load balancers and ``/metrics`` for Prometheus.

The web role has no MQTT connection of its own, so ingest health is judged
from the database: when the newest reading was received, and how long ago.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, jsonify
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from fridge_monitor.export import iso_utc
from fridge_monitor.overview import DEFAULT_MAX_GAP, fridges_now, ingest_figures
from fridge_monitor.status import State, status
from fridge_monitor.web import db
from fridge_monitor.web.access import EVERYONE, PUBLIC, allow

log = logging.getLogger(__name__)

bp = Blueprint("ops", __name__)


@bp.route("/healthz")
@allow(PUBLIC)
def healthz() -> Any:
    now = datetime.now(timezone.utc)
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
        body["database"] = f"unreachable: {type(exc.orig or exc).__name__}: {str(exc.orig or exc).splitlines()[0]}"
        return jsonify(body), 503
    if figures.newest_received_at is not None:
        body["ingest"] = {
            "last_received_at": iso_utc(figures.newest_received_at),
            "age_s": round((now - figures.newest_received_at).total_seconds(), 1),
        }
    return jsonify(body)


class DatabaseCollector:
    """Reads the figures from the database at each scrape, so every web process reports the same."""

    def __init__(self, conn: sa.Connection, now: datetime) -> None:
        self.conn = conn
        self.now = now

    def collect(self) -> Iterator[Any]:
        figures = ingest_figures(self.conn, self.now)
        yield CounterMetricFamily("fridge_monitor_readings_stored", "Readings stored in the database.",
                                  value=figures.readings)
        yield CounterMetricFamily("fridge_monitor_rejected_messages", "MQTT messages (or parts) rejected and kept.",
                                  value=figures.rejected)
        lag = GaugeMetricFamily("fridge_monitor_ingest_lag_seconds",
                                "Seconds since the newest reading was received (absent before the first).")
        if figures.newest_received_at is not None:
            lag.add_metric([], max(0.0, (self.now - figures.newest_received_at).total_seconds()))
        yield lag
        yield GaugeMetricFamily("fridge_monitor_sensors_assigned", "Sensors assigned to a fridge.",
                                value=figures.sensors)
        yield GaugeMetricFamily(
            "fridge_monitor_sensors_silent",
            f"Assigned sensors without a reading in the last {int(DEFAULT_MAX_GAP.total_seconds() // 60)} minutes.",
            value=figures.silent_sensors,
        )
        states = Counter(status(f.latest, self.now, DEFAULT_MAX_GAP) for f in
                         fridges_now(self.conn, self.now, history=timedelta(0)))
        by_status = GaugeMetricFamily("fridge_monitor_fridges", "Fridges in service by status.", labels=["status"])
        for state in State:
            by_status.add_metric([state.value], states.get(state, 0))
        yield by_status


@bp.route("/metrics")
@allow(*EVERYONE)
def metrics() -> Any:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(db().connection(), datetime.now(timezone.utc)))
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
