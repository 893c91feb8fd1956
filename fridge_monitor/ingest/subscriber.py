"""The ingest role: MQTT messages in, committed readings out, then acknowledged.

paho's network thread runs :meth:`Ingest._on_message`, which only copies the
message into a bounded inbox (:mod:`fridge_monitor.ingest.inbox`; when it is full,
the network thread waits, reading nothing more from the socket) and never
touches the database or raises. A
shipper thread sends the inbox in batches to the writer process
(:mod:`fridge_monitor.ingest.writer_process`), which parses and commits them; when it answers
that a batch is committed, each of its messages is acknowledged to the broker
(paho ``manual_ack``). A crash anywhere before the acknowledgement makes the
broker deliver the message again, and the idempotent insert keeps it single.

Every ``[ingest] heartbeat_s`` a thread of its own sends the writer a heartbeat
to store, and the broker a marker to a topic of this process's own
(:mod:`fridge_monitor.core.heartbeat`): when the marker comes back and its batch
is committed, everything the broker held for this session when it was sent
is stored, so a backlog still being drained is not taken for silence.
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.subscribeoptions import SubscribeOptions

from fridge_monitor.config import Config, Subscription, redact
from fridge_monitor.core.heartbeat import MARKER_PREFIX, Beater, Heartbeat, is_marker_topic, marker_topic, utc
from fridge_monitor.ingest.inbox import Inbox, Incoming
from fridge_monitor.mqtt.client import connect, is_v5, make_client, shut_down

log = logging.getLogger(__name__)

# Maximum Packet Size beyond [ingest] max_payload_bytes: a topic takes up to 64 KiB, the header and properties
# a few bytes more, so every message ingest could keep, even as rejected, still arrives.
PACKET_HEADROOM = 65 * 1024
# Batches the writer may have: one committing, one ready. More are only smaller (MQTT 5 Receive Maximum).
SHIP_AHEAD = 2


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
    writer_restarts: int = 0
    last_commit_at: float | None = None
    last_lag_s: float = 0.0
    markers: int = 0  # heartbeat markers back from the broker (not counted as messages)


def run_writer(conn: Any, beats: Any, config: Config, log_level: int) -> None:
    """The writer process's entry point, imported lazily: this (MQTT) process then
    never loads SQLAlchemy and the parsers, and stays small."""
    from fridge_monitor.ingest.writer_process import writer_main

    writer_main(conn, beats, config, log_level)


class IngestStartError(Exception):
    """The writer cannot run on this database (e.g. an old schema); one line."""


def subscription_topics(subscriptions: Sequence[Subscription], shared_group: str) -> list[str]:
    """The filters to subscribe to. Discovery configs are never shared: every ingest process
    learns every entity, and a shared subscription gets no retained messages (MQTT 5)."""
    if shared_group:
        return [s.topic if s.fmt == "discovery" else f"$share/{shared_group}/{s.topic}" for s in subscriptions]
    return [s.topic for s in subscriptions]


class Ingest:
    """Subscribes, ships to the writer, acknowledges.

    ``start()`` returns once the writer process is ready (database reachable,
    schema current, declared fridges synced) and the MQTT connection is under
    way; ``stop()`` commits and acknowledges what was taken, then disconnects.
    """

    def __init__(self, config: Config, *, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.stats = IngestStats()
        self._clock = clock
        # The marker topic is this process's own, never shared: its markers queue behind its own backlog.
        self._marker_topic = marker_topic(config.mqtt["client_id"])
        self._topics = [*subscription_topics(config.subscriptions, config.ingest["shared_group"]), self._marker_topic]
        self._started_at = clock()
        self._caught_up_at: float | None = None
        self._batch_size = config.ingest["batch_size"]
        self._max_payload = config.ingest["max_payload_bytes"]
        # When it is full, paho's network thread waits in _on_message: nothing more is read from the socket.
        self._inbox: Inbox[Incoming] = Inbox(config.ingest["inbox_max_messages"])
        self._batch_ids = iter(range(1, 1 << 62))
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self.fatal_error: str | None = None
        """Set when ingest cannot go on (the writer cannot be restarted); the process should exit."""
        self._accepting = True
        self._connection = 0
        self._connected = threading.Event()
        self._subscribed = threading.Event()
        self._mp = multiprocessing.get_context("spawn")
        self._pipe: Any = None
        self._beat_pipe: Any = None
        self._beat_lock = threading.Lock()
        self._process: Any = None
        self._writer_lock = threading.Lock()
        self._client = make_client(config.mqtt, config.mqtt["client_id"], persistent=True, manual_ack=True)
        self._client.on_connect = self._on_connect
        self._client.on_connect_fail = self._on_connect_fail
        self._client.on_disconnect = self._on_disconnect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message
        self._shipper = threading.Thread(target=self._ship_loop, name="ingest-shipper", daemon=True)
        # Beats have a thread of their own: a shipper waiting on a busy writer must not stop them.
        self._beats = Beater(config.ingest["heartbeat_s"], self._stopping, clock=clock, send_beat=self._send_beat,
                             connected=lambda: self._connected.is_set() and self._subscribed.is_set(),
                             send_marker=lambda now: self._client.publish(self._marker_topic, f"{now:.6f}", qos=1))
        self._acker: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------

    def start(self, cancel: threading.Event | None = None) -> None:
        """Start the writer (it waits for the database), then connect to the broker.

        Setting ``cancel`` while the writer still waits for the database gives
        up (IngestStartError), so a service stop is not stuck behind an outage.
        """
        with self._writer_lock:
            self._start_writer(cancel)
        self._shipper.start()
        self._beats.start()
        # MQTT 5: the broker drops what is larger than any payload ingest accepts (plus room for the topic
        # and properties) rather than deliver it; with MQTT 3.1.1, the broker's message_size_limit does.
        connect(self._client, self.config.mqtt, persistent=True,
                max_packet_size=self._max_payload + PACKET_HEADROOM)
        self._client.loop_start()

    def wait_connected(self, timeout: float | None = None) -> bool:
        """Wait until connected and the broker has confirmed the subscriptions."""
        return self._connected.wait(timeout) and self._subscribed.wait(timeout)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def backlog(self) -> int:
        """Messages received but not yet committed and acknowledged."""
        return self._inbox.held

    def stop(self, timeout: float = 15.0) -> None:
        """Stop taking messages, commit and acknowledge what was taken, disconnect.

        Messages that arrive after this call are not acknowledged, so the
        broker keeps them for the next start. If the database is down, what
        is still uncommitted after ``timeout`` is left to the broker too.
        """
        self._accepting = False
        self._stopping.set()
        self._wake.set()
        self._inbox.wake()  # a network thread waiting for room takes nothing more
        self._shipper.join(timeout)
        deadline = time.monotonic() + timeout
        while self.backlog and time.monotonic() < deadline and self._process.is_alive():
            time.sleep(0.02)
        if self.backlog:
            log.error("stopping with %d messages not yet stored; the broker will deliver them again", self.backlog)
        self._beats.join(timeout)
        self._send_beat(self._clock(), connected=False)  # no longer draining anything: judge silence as of now
        with self._beat_lock:
            self._beat_pipe.close()  # the writer stores that last beat, then ends
        with self._writer_lock:
            try:
                self._pipe.send(None)
            except OSError:
                pass
            self._process.join(5)
            if self._process.is_alive():
                self._process.kill()
                self._process.join(5)
        while self._client.want_write() and time.monotonic() < deadline + 2:
            time.sleep(0.01)  # let paho send the last acknowledgements
        shut_down(self._client)
        log.info("ingest stopped: %s", self.stats)

    # -- paho callbacks (network thread: copy and return, never raise) ----

    def _on_connect(self, client: paho.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.error("MQTT broker %s refused the connection: %s", redact(self.config.mqtt["url"]), reason)
            return
        self._connection += 1
        if is_v5(self.config.mqtt):
            client.subscribe([(t, SubscribeOptions(qos=1)) for t in self._topics])
        else:
            client.subscribe([(t, 1) for t in self._topics])
        self._connected.set()
        log.info("connected to MQTT broker %s; subscribing to %d topic filters", redact(self.config.mqtt["url"]),
                 len(self._topics))

    def _on_connect_fail(self, _client: paho.Client, _u: Any) -> None:
        log.warning("cannot reach MQTT broker %s; retrying", redact(self.config.mqtt["url"]))

    def _on_disconnect(self, _client: paho.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self._connected.clear()
        self._subscribed.clear()
        self._beats.soon()
        if not self._stopping.is_set():
            log.warning("lost connection to MQTT broker (%s); reconnecting", reason)

    def _on_subscribe(self, _client: paho.Client, _u: Any, _mid: int, reasons: list[Any], _p: Any) -> None:
        for topic, code in zip(self._topics, reasons, strict=False):
            if code.is_failure:
                log.error("broker refused subscription to %s: %s", topic, code)
        self._subscribed.set()
        self._beats.soon()  # the first marker now, behind whatever the broker holds for us

    def _on_message(self, _client: paho.Client, _u: Any, msg: paho.MQTTMessage) -> None:
        if not self._accepting:
            return
        try:
            topic = msg.topic
        except UnicodeDecodeError:
            topic = msg._topic.decode("utf-8", "backslashreplace")  # kept, then rejected
        if topic.startswith(MARKER_PREFIX) and is_marker_topic(topic):
            incoming = Incoming(topic, b"", msg.mid, msg.qos, self._clock(), self._connection, True,
                                self._marker_sent_at(topic, bytes(msg.payload)))
        else:
            payload = bytes(msg.payload)  # paho's bytes already (bytes() then copies nothing)
            # An oversized payload is refused; only the part a rejected message keeps travels on.
            kept = payload if len(payload) <= self._max_payload else payload[:self._max_payload]
            incoming = Incoming(topic, kept, msg.mid, msg.qos, self._clock(), self._connection,
                                retained=msg.retain, size=len(payload))
        if not self._inbox.put(incoming, lambda: self._accepting):
            return  # stopping: not acknowledged, the broker delivers it again
        if not self._wake.is_set():
            self._wake.set()

    def _marker_sent_at(self, topic: str, payload: bytes) -> float | None:
        """When our own marker was sent; None for another process's (received through a wide subscription)."""
        if topic != self._marker_topic:
            return None
        try:
            return float(payload)
        except ValueError:
            return None

    # -- writer process --------------------------------------------------

    def _start_writer(self, cancel: threading.Event | None = None) -> None:
        """Start a writer process and wait until it is ready to commit (call with the writer lock)."""
        ours, theirs = self._mp.Pipe(duplex=True)
        beats_in, beats_out = self._mp.Pipe(duplex=False)
        level = logging.getLogger("fridge_monitor").getEffectiveLevel()
        process = self._mp.Process(
            target=run_writer, args=(theirs, beats_in, self.config, level), name="fridge-monitor-writer", daemon=True
        )
        process.start()
        theirs.close()
        beats_in.close()
        try:
            while not ours.poll(0.2):
                if (cancel is not None and cancel.is_set()) or self._stopping.is_set():
                    process.kill()
                    process.join(5)
                    ours.close()
                    beats_out.close()
                    raise IngestStartError("stopped while waiting for the database")
            state, reason = ours.recv()
        except (EOFError, OSError):
            state, reason = "error", f"the ingest writer process exited at start (code {process.exitcode})"
        if state != "ready":
            process.join(5)
            ours.close()
            beats_out.close()
            raise IngestStartError(reason)
        self._pipe, self._process = ours, process
        with self._beat_lock:
            if self._beat_pipe is not None:
                self._beat_pipe.close()
            self._beat_pipe = beats_out
        self._acker = threading.Thread(target=self._ack_loop, args=(ours, process), name="ingest-acker", daemon=True)
        self._acker.start()

    def _ship_loop(self) -> None:
        """Send the inbox to the writer in batches: a full one at once, others when it has room (SHIP_AHEAD)."""
        inbox, size = self._inbox, self._batch_size
        while True:
            self._wake.wait(0.5)
            self._wake.clear()
            while inbox and (len(inbox) >= size or inbox.batches_in_flight < SHIP_AHEAD or self._stopping.is_set()):
                self._ship(inbox.take(size))
            if self._stopping.is_set():
                return

    def _send_beat(self, now: float, connected: bool) -> None:
        beat = Heartbeat(
            client_id=self.config.mqtt["client_id"], started_at=utc(self._started_at), beat_at=utc(now),
            connected=connected, backlog=self.backlog, caught_up_at=utc(self._caught_up_at),
            stored_at=utc(self.stats.last_commit_at or self._started_at), interval_s=self.config.ingest["heartbeat_s"],
            max_drain_s=self.config.ingest["max_drain_s"],
        )
        with self._beat_lock:
            if self._beat_pipe is None:
                return
            try:
                self._beat_pipe.send(beat)
            except OSError:
                pass  # the writer is being restarted; the next beat goes to the new one

    @staticmethod
    def _data(messages: list[Incoming]) -> list[tuple[str, bytes, float, bool, int]]:
        """What the writer stores: every message but the markers."""
        return [(msg.topic, msg.payload, msg.received_at, msg.retained, msg.size) for msg in messages
                if not msg.marker]

    def _ship(self, messages: list[Incoming]) -> None:
        batch_id = next(self._batch_ids)
        data = self._data(messages)
        self.stats.messages_received += len(data)
        self.stats.markers += len(messages) - len(data)
        # A batch of markers alone is sent too (empty): its answer comes after every earlier batch's.
        payload = (batch_id, data)
        # Registered and sent under one lock: a writer restart re-sends exactly
        # what is registered, so no batch is sent twice or lost in between.
        with self._writer_lock:
            self._inbox.ship(batch_id, messages)
            try:
                self._pipe.send(payload)
            except OSError:
                pass  # the acker notices the dead writer and re-ships everything in flight

    def _ack_loop(self, pipe: Any, process: Any) -> None:
        """Acknowledge each batch the writer has committed; restart a writer that died."""
        while True:
            try:
                batch_id, counts = pipe.recv()
            except (EOFError, OSError):
                break
            messages = self._inbox.committed(batch_id)
            self._wake.set()  # the shipper may send what waits
            if messages is None:
                continue  # answered twice (re-sent around a writer restart): acknowledged already
            self._acknowledge(messages)
            caught_up = max((msg.marker_sent_at for msg in messages if msg.marker_sent_at is not None), default=None)
            if caught_up is not None and (self._caught_up_at is None or caught_up > self._caught_up_at):
                self._caught_up_at = caught_up  # everything the broker held for us when it was sent is stored
            stats = self.stats
            stats.readings_written += counts["readings"]
            stats.rejected_messages += counts["rejected"]
            stats.ignored_messages += counts["ignored"]
            stats.database_errors += counts["database_errors"]
            stats.batches += 1
            now = self._clock()
            stats.last_commit_at = now
            stats.last_lag_s = now - messages[0].received_at
        process.join(5)
        if self._stopping.is_set():
            return
        self.stats.writer_restarts += 1
        pause = min(30.0, 0.5 * 2 ** min(self.stats.writer_restarts, 6))
        log.error("ingest writer process exited (code %s); restarting it in %.1f s", process.exitcode, pause)
        if self._stopping.wait(pause):
            return
        with self._writer_lock:
            try:
                self._start_writer()
            except IngestStartError as exc:
                log.error("cannot restart the ingest writer: %s", exc)
                self.fatal_error = str(exc)
                return
            for batch_id, messages in self._inbox.in_flight():
                self._pipe.send((batch_id, self._data(messages)))

    def _acknowledge(self, messages: list[Incoming]) -> None:
        current = self._connection
        ack = self._client.ack
        acked = 0
        for msg in messages:
            # A message from an earlier connection is redelivered by the broker
            # with the same packet id; acknowledging the old copy could confirm
            # a different message that reuses that id.
            if msg.qos and msg.connection == current:
                ack(msg.mid, msg.qos)
                acked += not msg.marker
        self.stats.messages_acked += acked
