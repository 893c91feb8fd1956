"""The ingest writer: parses shipped MQTT messages and commits them, waiting out database outages.

It runs in the writer process (:mod:`fridge_monitor.ingest.writer_process`),
which parses each batch (:meth:`Writer.prepare`) while the one before it
commits (:meth:`Writer.commit`), and answers each batch once committed.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from fridge_monitor.config import Config
from fridge_monitor.core.parsers import parse
from fridge_monitor.core.parsers.common import too_large
from fridge_monitor.core.parsers.esphome import entity_kind
from fridge_monitor.core.readings import Entity, EntityKind, ParseContext, filter_base
from fridge_monitor.ingest.batches import Batch, Ignored, Rejected, Source, Store
from fridge_monitor.store import models as m
from fridge_monitor.store.db import first_line

log = logging.getLogger(__name__)

TZ_REFRESH_S = 60.0
MAX_REASONS_SHOWN = 5

# (topic, payload, received_at as epoch seconds, retained: handed over from the broker's store on subscribe,
#  size: the payload's full size; more than len(payload) when ingest cut an oversized one short)
RawMessage = tuple[str, bytes, float, bool, int]
# (format, base topic: the fixed part of the filter that matched)
Route = tuple[str, str]


@dataclasses.dataclass(frozen=True, slots=True)
class Prepared:
    """A batch parsed and ready to commit: the messages, what they amount to, and how many were ignored."""

    messages: Sequence[RawMessage]
    batch: Batch
    ignored: int


class Router:
    """Which payload format a topic is in, and its base topic: the first configured filter that matches."""

    def __init__(self, subscriptions: Sequence[Any]) -> None:
        from paho.mqtt.client import topic_matches_sub

        self._match = topic_matches_sub
        self._subscriptions = tuple((s.topic, (s.fmt, filter_base(s.topic))) for s in subscriptions)
        self._cache: dict[str, Route | None] = {}

    def route(self, topic: str) -> Route | None:
        try:
            return self._cache[topic]
        except KeyError:
            pass
        found = next((route for filter_, route in self._subscriptions if self._match(filter_, topic)), None)
        if len(self._cache) > 50_000:  # a flood of distinct topics must not grow memory forever
            self._cache.clear()
        self._cache[topic] = found
        return found


def _is_transient(exc: sa.exc.SQLAlchemyError) -> bool:
    """Errors that go away by waiting: server down, network, locks."""
    if isinstance(exc, (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.DisconnectionError,
                        sa.exc.TimeoutError)):
        return True
    return isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated


class Writer:
    """Parse and commit batches; wait out database outages; never lose a message."""

    def __init__(self, config: Config, engine: sa.Engine, *, should_stop: Callable[[], bool] = lambda: False) -> None:
        self.config = config
        self._engine = engine
        self._store = Store(engine, max_unassigned_sensors=config.ingest["max_unassigned_sensors"])
        self._router = Router(config.subscriptions)
        self._should_stop = should_stop
        self._refused = 0  # messages of the last batch kept as rejected for want of room for a new sensor
        self._parsing = threading.Lock()  # what parsing learns (time zones, discovered entities) is one thread's
        self._default_tz: tzinfo = ZoneInfo(config.ingest["default_timezone"])
        self._sensor_tz: dict[str, tzinfo] = {}
        self._tz_loaded_at = float("-inf")
        # What ESPHome entities measure: declared in the config (by sensor id), and learnt from
        # discovery configs (by state topic, kept in discovered_entities and reloaded with the time zones).
        self._declared: Mapping[str, EntityKind] = config.esphome_entities
        self._discovered: dict[str, EntityKind] = {}
        self._config_topics: dict[str, str] = {}  # discovery config topic -> its state topic
        ingest = config.ingest
        self._max_payload = ingest["max_payload_bytes"]
        self._context_args: dict[str, Any] = dict(
            shelly_gen1_unit=ingest["shelly_gen1_unit"],
            min_temperature_c=ingest["min_temperature_c"],
            max_temperature_c=ingest["max_temperature_c"],
            future_tolerance=timedelta(seconds=ingest["future_tolerance_s"]),
            device_clock_tolerance=timedelta(seconds=ingest["device_clock_tolerance_s"]),
            max_payload_bytes=ingest["max_payload_bytes"],
        )

    def understand(self, messages: Sequence[RawMessage]) -> tuple[Batch, int]:
        """Parse messages into what is to be stored (no I/O); also count ignored ones."""
        batch = Batch()
        ignored = 0
        args = self._context_args
        tz_for = self._tz_for
        declared, discovered = self._declared, self._discovered
        for topic, payload, received_ts, retained, size in messages:
            received = datetime.fromtimestamp(received_ts, UTC)
            route = self._router.route(topic)
            if route is None:
                batch.rejected.append(
                    Rejected(received, topic, None, None, "no configured subscription matches this topic", payload,
                             size)
                )
                continue
            fmt, base = route
            if size > len(payload):  # over max_payload_bytes: ingest kept only the part that is stored
                batch.rejected.append(Rejected(received, topic, fmt, None, too_large(size, self._max_payload),
                                               payload, size))
                continue
            ctx = ParseContext(received, tz_for, **args, retained=retained, base_topic=base,
                               declared_entities=declared, discovered_entities=discovered)
            result = parse(fmt, topic, payload, ctx)
            if result.readings or result.channels:
                source = Source(topic, fmt, payload)  # kept whole if a new sensor of it is refused
                for reading in result.readings:
                    batch.readings.append((reading, received))
                    batch.sources.append(source)
                batch.channels.extend((value, received, source) for value in result.channels)
            if result.rejections:
                reasons = [r.reason for r in result.rejections]
                shown = "; ".join(reasons[:MAX_REASONS_SHOWN])
                if len(reasons) > MAX_REASONS_SHOWN:
                    shown += f"; and {len(reasons) - MAX_REASONS_SHOWN} more"
                sensor = next((r.sensor_id for r in result.rejections if r.sensor_id), None)
                batch.rejected.append(Rejected(received, topic, fmt, sensor, shown, payload))
            if result.availability is not None:
                batch.availability.append((result.availability, received))
            batch.batteries.extend(result.batteries)
            if result.entity is not None and self._learn(result.entity):
                batch.entities.append(result.entity)  # learnt at once: the next state in this batch is read by it
            if result.ignored is not None and not (result.readings or result.channels):
                ignored += 1
                batch.ignored.append(Ignored(fmt, received, topic, result.ignored))
        return batch, ignored

    def _learn(self, entity: Entity) -> bool:
        """Take in what a discovery config says; True when that is news to store."""
        old_state_topic = self._config_topics.pop(entity.config_topic, None)
        if entity.removed:
            if old_state_topic is not None:
                self._discovered.pop(old_state_topic, None)
            return old_state_topic is not None
        kind = entity_kind(entity.device_class, entity.unit)
        if old_state_topic is not None and old_state_topic != entity.state_topic:
            self._discovered.pop(old_state_topic, None)
        self._config_topics[entity.config_topic] = entity.state_topic
        news = old_state_topic != entity.state_topic or self._discovered.get(entity.state_topic) != kind
        self._discovered[entity.state_topic] = kind
        return news

    def process(self, messages: Sequence[RawMessage]) -> dict[str, int] | None:
        """Commit the messages; counts of what was stored, or None if told to stop first."""
        return self.commit(self.prepare(messages))

    def prepare(self, messages: Sequence[RawMessage]) -> Prepared:
        """Parse a batch (no writes): the first half of :meth:`process`, which may run ahead of commits."""
        with self._parsing:
            self._refresh_time_zones()
            batch, ignored = self.understand(messages)
        return Prepared(messages, batch, ignored)

    def commit(self, prepared: Prepared) -> dict[str, int] | None:
        """Commit a prepared batch; counts of what was stored, or None if told to stop first."""
        batch = prepared.batch
        self._refused = 0
        errors = self._commit(batch, prepared.messages)
        if errors is None:
            return None
        return {
            "readings": len(batch.readings),  # as parsed (a refused sensor's are kept in its rejected message)
            "channels": len(batch.channels),
            "rejected": len(batch.rejected) + self._refused,
            "ignored": prepared.ignored,
            "database_errors": errors,
        }

    def _commit(self, batch: Batch, messages: Sequence[RawMessage]) -> int | None:
        delay = 0.5
        retry_max = self.config.database["retry_max_s"]
        errors = 0
        while True:
            try:
                if batch:
                    self._refused = self._store.write(batch)
                return errors
            except sa.exc.SQLAlchemyError as exc:
                errors += 1
                if not _is_transient(exc):
                    log.exception("batch of %d messages could not be stored; storing them one by one", len(messages))
                    self._commit_one_by_one(messages)
                    return errors
                if self._should_stop():
                    log.error("stopping while the database is unavailable: %d messages left unacknowledged "
                              "for the broker to deliver again", len(messages))
                    return None
                log.warning("database unavailable (%s); %d messages waiting, none acknowledged; retrying in %.1f s",
                            first_line(exc), len(messages), delay)
                time.sleep(delay)
                delay = min(delay * 2, retry_max)

    def _commit_one_by_one(self, messages: Sequence[RawMessage]) -> None:
        """Isolate a message the database refuses, keeping it as a rejected message."""
        for message in messages:
            with self._parsing:
                batch, _ = self.understand([message])
            try:
                self._store.write(batch)
            except sa.exc.SQLAlchemyError as exc:
                topic, payload, received_ts, _retained, size = message
                received = datetime.fromtimestamp(received_ts, UTC)
                reason = f"could not be stored: {first_line(exc)}"
                self._store.write(Batch(rejected=[Rejected(received, topic, None, None, reason, payload, size)]))

    def _refresh_time_zones(self) -> None:
        """Sensor → site time zone, for devices that send local clock time; and the discovered
        entities, which other ingest processes may have learnt (a restarted one starts from them)."""
        now = time.monotonic()
        if now - self._tz_loaded_at < TZ_REFRESH_S:
            return
        self._tz_loaded_at = now
        e = m.DiscoveredEntity
        try:
            with self._engine.connect() as conn:
                rows = conn.execute(
                    sa.select(m.Sensor.id, m.Site.timezone)
                    .join(m.Fridge, m.Sensor.fridge_id == m.Fridge.id)
                    .join(m.Site, m.Fridge.site_id == m.Site.id)
                ).all()
                entities = conn.execute(sa.select(e.state_topic, e.config_topic, e.device_class, e.unit)).all()
        except sa.exc.SQLAlchemyError:
            return  # keep the last known map; the commit will report the outage
        self._sensor_tz = {sid: ZoneInfo(tz) for sid, tz in rows}
        self._discovered.clear()
        self._discovered.update((row.state_topic, entity_kind(row.device_class, row.unit)) for row in entities)
        self._config_topics = {row.config_topic: row.state_topic for row in entities}

    def _tz_for(self, sensor_id: str) -> tzinfo:
        return self._sensor_tz.get(sensor_id, self._default_tz)
