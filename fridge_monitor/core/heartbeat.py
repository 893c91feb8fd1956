"""Ingest's heartbeat and the moment silence is judged at: pure, with an explicit ``now`` (but :class:`Beater`,
the thread that sends the beats, given what to call).

A sensor whose readings still wait in the broker's queue for ingest is not
silent (DOMAIN.md: "A backlog still being drained from the broker is not
silence"). So every ``[ingest] heartbeat_s`` each ingest process publishes a
small QoS 1 *marker* carrying its send time to a topic of its own
(:func:`marker_topic`). The broker queues it for ingest's session behind
everything it already holds for it, so once the marker has come back and
been committed, everything the broker held when it was sent is stored: the
send time becomes that process's ``caught_up_at``. Its heartbeat row says so,
along with whether it is connected and storing at all. (Mosquitto keeps one
queue per session, whatever the subscription, and delivers it in order; a
broker that let the marker overtake would only make ``caught_up_at`` too
recent, that is, silence judged as before, never later.)

:func:`heard_until` turns the heartbeats into the moment silence is judged
at: ``now``, or, while a live ingest still drains a backlog, how far it has
caught up. Gone, stuck (storing nothing, e.g. cut off from the broker) or too
far behind, an ingest promises nothing, and silence is judged at ``now`` as
always: silence stays an alarm. The few beats of grace let a restart or a
reconnect pass without false alarms.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import overload

MARKER_PREFIX = "fridge-monitor/ingest/"
MARKER_SUFFIX = "/marker"
STALE_BEATS = 4  # no heartbeat for this many intervals: that ingest is gone
BEHIND_BEATS = 2  # its marker not back for this many intervals: that ingest is catching up
# Behind and nothing stored for this many intervals (a minute at the default 5 s): stuck. Longer than a
# heartbeat's grace, as one judgement of many fridges between two batches may take a while.
STUCK_BEATS = 12


@dataclasses.dataclass(frozen=True, slots=True)
class Heartbeat:
    """What one ingest process last said about itself.

    ``caught_up_at``: everything the broker held for it then is stored (None
    until its first marker ever came back). ``stored_at``: when it last
    committed anything (its start, before the first commit).
    ``interval_s`` and ``max_drain_s`` are its ``[ingest]`` settings, so
    every process judging silence applies the same ones.
    """

    client_id: str
    started_at: datetime
    beat_at: datetime
    connected: bool
    backlog: int
    caught_up_at: datetime | None
    stored_at: datetime
    interval_s: float
    max_drain_s: float


@overload
def utc(ts: float) -> datetime: ...


@overload
def utc(ts: None) -> None: ...


@overload
def utc(ts: float | None) -> datetime | None: ...


def utc(ts: float | None) -> datetime | None:
    """Epoch seconds (as ingest's clock gives them) as an aware UTC datetime."""
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


class Beater:
    """Ingest's heartbeat thread: every ``interval_s``, and at once when :meth:`soon` asks (after a
    (re)connect), a marker to the broker while connected, then a heartbeat to store.

    A thread of its own, so a shipper waiting on a busy writer never stops the beats. It is handed
    what to call, and knows no MQTT client and no database; it ends once ``stopping`` is set.
    """

    def __init__(self, interval_s: float, stopping: threading.Event, *, clock: Callable[[], float],
                 connected: Callable[[], bool], send_marker: Callable[[float], object],
                 send_beat: Callable[[float, bool], None]) -> None:
        self._every = interval_s
        self._stopping = stopping
        self._clock, self._connected, self._send_marker, self._send_beat = clock, connected, send_marker, send_beat
        self._now = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ingest-heartbeat", daemon=True)

    def start(self) -> None:
        self._now.set()  # the first heartbeat at once
        self._thread.start()

    def soon(self) -> None:
        self._now.set()

    def join(self, timeout: float) -> None:
        """Wait for the thread to end (call once ``stopping`` is set)."""
        self._now.set()
        if self._thread.ident is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            self._now.wait(self._every)
            self._now.clear()
            if self._stopping.is_set():
                return
            now = self._clock()
            connected = self._connected()
            if connected:
                self._send_marker(now)
            self._send_beat(now, connected)


def marker_topic(client_id: str) -> str:
    """The topic an ingest process sends its markers to (never under a shared subscription)."""
    safe = "".join("_" if ch in "+#/\0" else ch for ch in client_id)
    return f"{MARKER_PREFIX}{safe}{MARKER_SUFFIX}"


def is_marker_topic(topic: str) -> bool:
    """Any ingest process's marker topic: never a reading, whoever receives it."""
    return topic.startswith(MARKER_PREFIX) and topic.endswith(MARKER_SUFFIX)


def draining_until(beat: Heartbeat, now: datetime) -> datetime | None:
    """How far this ingest has caught up while it still drains a backlog; None when it is caught up
    or promises nothing: gone, never caught up, further behind than its ``max_drain_s``, or stuck
    (behind, yet nothing stored for a few beats: stopped, cut off from the broker, or hung)."""
    every = timedelta(seconds=beat.interval_s)
    if now - beat.beat_at > STALE_BEATS * every or beat.caught_up_at is None:
        return None
    if beat.beat_at - beat.caught_up_at <= BEHIND_BEATS * every:
        return None  # its markers come back: nothing held up
    if now - beat.caught_up_at > timedelta(seconds=beat.max_drain_s):
        return None
    if now - beat.stored_at > STUCK_BEATS * every:
        return None
    return beat.caught_up_at


def heard_until(now: datetime, beats: Iterable[Heartbeat]) -> datetime:
    """The moment silence is judged at: ``now``, or the earliest time up to which a live ingest that
    is still draining a backlog has stored everything the broker held for it (after that, a sensor's
    readings may still be queued)."""
    return min([now, *(at for at in (draining_until(beat, now) for beat in beats) if at is not None)])
