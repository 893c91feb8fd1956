"""The ingest role: MQTT messages in, committed readings out, then acknowledged.

Two threads. paho's network thread runs :meth:`Ingest._on_message`, which only
copies the message into an in-memory inbox (it never touches the database and
never raises). The writer thread drains the inbox in batches, parses, commits
one transaction per batch, and only then acknowledges each message (paho
``manual_ack``). A crash at any point before the acknowledgement makes the
broker deliver the message again; the idempotent insert keeps it single.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import paho.mqtt.client as paho
import sqlalchemy as sa
from paho.mqtt.subscribeoptions import SubscribeOptions

from fridge_monitor import models as m
from fridge_monitor.config import Config, Subscription
from fridge_monitor.mqtt import connect, is_v5, make_client
from fridge_monitor.parsers import parse
from fridge_monitor.readings import ParseContext
from fridge_monitor.store import Batch, Rejected, Store

log = logging.getLogger(__name__)

TZ_REFRESH_S = 60.0
MAX_REASONS_SHOWN = 5


@dataclasses.dataclass(frozen=True, slots=True)
class Incoming:
    """A copy of one paho message, taken in the network thread."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    received_at: float
    connection: int


@dataclasses.dataclass(slots=True)
class IngestStats:
    """Counters since start, read by status lines and /metrics."""

    messages_received: int = 0
    messages_acked: int = 0
    readings_written: int = 0
    rejected_messages: int = 0
    ignored_messages: int = 0
    batches: int = 0
    database_errors: int = 0
    last_commit_at: float | None = None
    last_lag_s: float = 0.0


class Router:
    """Which payload format a topic is in: the first configured filter that matches."""

    def __init__(self, subscriptions: Sequence[Subscription]) -> None:
        self._subscriptions = tuple(subscriptions)
        self._cache: dict[str, str | None] = {}

    def format_for(self, topic: str) -> str | None:
        try:
            return self._cache[topic]
        except KeyError:
            pass
        fmt = next((s.fmt for s in self._subscriptions if paho.topic_matches_sub(s.topic, topic)), None)
        if len(self._cache) > 50_000:  # a flood of distinct topics must not grow memory forever
            self._cache.clear()
        self._cache[topic] = fmt
        return fmt


def subscription_topics(subscriptions: Sequence[Subscription], shared_group: str) -> list[str]:
    if shared_group:
        return [f"$share/{shared_group}/{s.topic}" for s in subscriptions]
    return [s.topic for s in subscriptions]


def _first_line(exc: sa.exc.SQLAlchemyError) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _is_transient(exc: sa.exc.SQLAlchemyError) -> bool:
    """Errors that go away by waiting: server down, network, locks."""
    if isinstance(exc, (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.DisconnectionError, sa.exc.TimeoutError)):
        return True
    return isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated


class Ingest:
    """Subscribes, stores and acknowledges. ``start()`` returns at once; ``stop()`` flushes."""

    def __init__(
        self,
        config: Config,
        engine: sa.Engine,
        *,
        clock: Callable[[], float] = time.time,
        on_commit: Callable[[Batch], None] | None = None,
    ) -> None:
        self.config = config
        self.stats = IngestStats()
        self._engine = engine
        self._store = Store(engine)
        self._clock = clock
        self._on_commit = on_commit
        self._router = Router(config.subscriptions)
        self._topics = subscription_topics(config.subscriptions, config.ingest["shared_group"])
        self._inbox: collections.deque[Incoming] = collections.deque()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._accepting = True
        self._connection = 0
        self._connected = threading.Event()
        self._default_tz: tzinfo = ZoneInfo(config.ingest["default_timezone"])
        self._sensor_tz: dict[str, tzinfo] = {}
        self._tz_loaded_at = float("-inf")
        ingest = config.ingest
        self._context_args = dict(
            shelly_gen1_unit=ingest["shelly_gen1_unit"],
            min_temperature_c=ingest["min_temperature_c"],
            max_temperature_c=ingest["max_temperature_c"],
            future_tolerance=timedelta(seconds=ingest["future_tolerance_s"]),
            device_clock_tolerance=timedelta(seconds=ingest["device_clock_tolerance_s"]),
            max_payload_bytes=ingest["max_payload_bytes"],
        )
        self._client = make_client(config.mqtt, config.mqtt["client_id"], persistent=True, manual_ack=True)
        self._client.on_connect = self._on_connect
        self._client.on_connect_fail = self._on_connect_fail
        self._client.on_disconnect = self._on_disconnect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message
        self._writer = threading.Thread(target=self._write_loop, name="ingest-writer", daemon=True)

    # -- lifecycle -------------------------------------------------------

    def start(self) -> None:
        self._writer.start()
        connect(self._client, self.config.mqtt, persistent=True)
        self._client.loop_start()

    def wait_connected(self, timeout: float | None = None) -> bool:
        return self._connected.wait(timeout)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def backlog(self) -> int:
        """Messages received but not yet committed and acknowledged."""
        return len(self._inbox)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop taking messages, commit and acknowledge what was taken, disconnect.

        Messages that arrive after this call are not acknowledged, so the broker
        keeps them for the next start.
        """
        self._accepting = False
        self._stopping.set()
        self._wake.set()
        self._writer.join(timeout)
        deadline = time.monotonic() + 2.0
        while self._client.want_write() and time.monotonic() < deadline:
            time.sleep(0.01)  # let paho send the last acknowledgements
        self._client.disconnect()
        self._client.loop_stop()
        log.info("ingest stopped: %s", self.stats)

    # -- paho callbacks (network thread: copy and return, never raise) ----

    def _on_connect(self, client: paho.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.error("MQTT broker %s refused the connection: %s", self.config.mqtt["url"], reason)
            return
        self._connection += 1
        if is_v5(self.config.mqtt):
            client.subscribe([(t, SubscribeOptions(qos=1)) for t in self._topics])
        else:
            client.subscribe([(t, 1) for t in self._topics])
        self._connected.set()
        log.info("connected to MQTT broker %s; subscribed to %d topic filters", self.config.mqtt["url"], len(self._topics))

    def _on_connect_fail(self, _client: paho.Client, _u: Any) -> None:
        log.warning("cannot reach MQTT broker %s; retrying", self.config.mqtt["url"])

    def _on_disconnect(self, _client: paho.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self._connected.clear()
        if not self._stopping.is_set():
            log.warning("lost connection to MQTT broker (%s); reconnecting", reason)

    def _on_subscribe(self, _client: paho.Client, _u: Any, _mid: int, reasons: list[Any], _p: Any) -> None:
        for topic, code in zip(self._topics, reasons):
            if code.is_failure:
                log.error("broker refused subscription to %s: %s", topic, code)

    def _on_message(self, _client: paho.Client, _u: Any, msg: paho.MQTTMessage) -> None:
        if not self._accepting:
            return
        try:
            topic = msg.topic
        except UnicodeDecodeError:
            topic = msg._topic.decode("utf-8", "backslashreplace")  # kept, then rejected
        self._inbox.append(Incoming(topic, msg.payload, msg.mid, msg.qos, self._clock(), self._connection))
        if not self._wake.is_set():
            self._wake.set()

    # -- writer thread ----------------------------------------------------

    def _write_loop(self) -> None:
        batch_size = self.config.ingest["batch_size"]
        while True:
            self._wake.wait(0.5)
            self._wake.clear()
            while self._inbox:
                messages = [self._inbox.popleft() for _ in range(min(batch_size, len(self._inbox)))]
                try:
                    self._process(messages)
                except Exception:
                    # A bug must not kill the writer. The messages stay
                    # unacknowledged, so the broker delivers them again.
                    log.exception("unexpected error while storing %d messages", len(messages))
            if self._stopping.is_set():
                return

    def _process(self, messages: list[Incoming]) -> None:
        self.stats.messages_received += len(messages)
        self._refresh_time_zones()
        batch = self.understand(messages)
        if not self._commit(batch, messages):
            return
        self._acknowledge(messages)
        if self._on_commit is not None:
            self._on_commit(batch)

    def understand(self, messages: Sequence[Incoming]) -> Batch:
        """Parse a batch of messages into what is to be stored (no I/O)."""
        batch = Batch()
        args = self._context_args
        for msg in messages:
            received = datetime.fromtimestamp(msg.received_at, timezone.utc)
            fmt = self._router.format_for(msg.topic)
            if fmt is None:
                batch.rejected.append(
                    Rejected(received, msg.topic, None, None, "no configured subscription matches this topic", msg.payload)
                )
                continue
            result = parse(fmt, msg.topic, msg.payload, ParseContext(received, self._tz_for, **args))
            for reading in result.readings:
                batch.readings.append((reading, received))
            if result.rejections:
                reasons = [r.reason for r in result.rejections]
                shown = "; ".join(reasons[:MAX_REASONS_SHOWN])
                if len(reasons) > MAX_REASONS_SHOWN:
                    shown += f"; and {len(reasons) - MAX_REASONS_SHOWN} more"
                sensor = next((r.sensor_id for r in result.rejections if r.sensor_id), None)
                batch.rejected.append(Rejected(received, msg.topic, fmt, sensor, shown, msg.payload))
            if result.availability is not None:
                batch.availability.append((result.availability, received))
            batch.batteries.extend(result.batteries)
            if result.ignored is not None and not result.readings:
                self.stats.ignored_messages += 1
        return batch

    def _commit(self, batch: Batch, messages: list[Incoming]) -> bool:
        """Write the batch, waiting out database outages. False if stopped while down."""
        delay = 0.5
        retry_max = self.config.database["retry_max_s"]
        while True:
            try:
                if batch:
                    self._store.write(batch)
                break
            except sa.exc.SQLAlchemyError as exc:
                self.stats.database_errors += 1
                if not _is_transient(exc):
                    log.exception("batch of %d messages could not be stored; storing them one by one", len(messages))
                    self._commit_one_by_one(messages)
                    break
                if self._stopping.is_set() and delay > 2:
                    log.error("stopping while the database is unavailable: %d messages left unacknowledged "
                              "for the broker to deliver again", len(messages) + len(self._inbox))
                    self._inbox.clear()
                    return False
                log.warning("database unavailable (%s); %d messages waiting, none acknowledged; retrying in %.0f s",
                            _first_line(exc), len(messages), delay)
                time.sleep(delay)
                delay = min(delay * 2, retry_max)
        now = self._clock()
        self.stats.batches += 1
        self.stats.readings_written += len(batch.readings)
        self.stats.rejected_messages += len(batch.rejected)
        self.stats.last_commit_at = now
        self.stats.last_lag_s = now - messages[0].received_at
        return True

    def _commit_one_by_one(self, messages: list[Incoming]) -> None:
        """Isolate a message the database refuses so it cannot block the stream.

        It is kept as a rejected message with the database's reason.
        """
        for msg in messages:
            batch = self.understand([msg])
            try:
                self._store.write(batch)
            except sa.exc.SQLAlchemyError as exc:
                received = datetime.fromtimestamp(msg.received_at, timezone.utc)
                reason = f"could not be stored: {_first_line(exc)}"
                self._store.write(Batch(rejected=[Rejected(received, msg.topic, None, None, reason, msg.payload)]))

    def _acknowledge(self, messages: list[Incoming]) -> None:
        current = self._connection
        client = self._client
        acked = 0
        for msg in messages:
            # A message from an earlier connection is redelivered by the broker
            # with the same packet id; acknowledging the old copy could confirm
            # a different message that reuses that id.
            if msg.qos and msg.connection == current:
                client.ack(msg.mid, msg.qos)
                acked += 1
        self.stats.messages_acked += acked

    def _refresh_time_zones(self) -> None:
        """Sensor → site time zone, for devices that send local clock time."""
        if self._clock() - self._tz_loaded_at < TZ_REFRESH_S:
            return
        self._tz_loaded_at = self._clock()
        try:
            with self._engine.connect() as conn:
                rows = conn.execute(
                    sa.select(m.Sensor.id, m.Site.timezone)
                    .join(m.Fridge, m.Sensor.fridge_id == m.Fridge.id)
                    .join(m.Site, m.Fridge.site_id == m.Site.id)
                ).all()
        except sa.exc.SQLAlchemyError:
            return  # keep the last known map; the commit below will report the outage
        self._sensor_tz = {sid: ZoneInfo(tz) for sid, tz in rows}

    def _tz_for(self, sensor_id: str) -> tzinfo:
        return self._sensor_tz.get(sensor_id, self._default_tz)
