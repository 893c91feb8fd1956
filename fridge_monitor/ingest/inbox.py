"""What an ingest process holds: messages received from the broker and not yet committed, bounded.

Two parts: the *inbox* (received, waiting to be shipped to the writer) and
the batches *in flight* (shipped, waiting for the writer to say they are
committed, then acknowledged). Together they hold at most ``[ingest]
inbox_max_messages``: when full, :meth:`Inbox.put` makes paho's network
thread wait, so nothing more is read from the socket until the writer has
caught up. The broker keeps the rest for us (QoS 1; under MQTT 5 it also
sends no more than Receive Maximum unacknowledged messages). A wait longer
than 1.5 keepalives makes the broker drop the connection: that costs a
reconnect and a redelivery (stored once, by the idempotent insert), never
a message.
"""

from __future__ import annotations

import collections
import dataclasses
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclasses.dataclass(frozen=True, slots=True)
class Incoming:
    """A copy of one paho message, taken in the network thread."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    received_at: float
    connection: int
    marker: bool = False  # a heartbeat marker, never a reading
    marker_sent_at: float | None = None  # this process's own marker: when it was sent
    retained: bool = False  # handed over from the broker's store on subscribe, however old
    size: int = 0  # the payload's full size: more than len(payload) when an oversized one was cut short


class Inbox(Generic[T]):
    """Received messages (the inbox) and shipped batches (in flight), at most ``limit`` in all."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._waiting: collections.deque[T] = collections.deque()
        self._in_flight: dict[int, list[T]] = {}
        self._in_flight_count = 0
        self._lock = threading.Lock()  # guards the batches in flight
        self._room = threading.Condition()

    def __len__(self) -> int:
        """Messages waiting to be shipped."""
        return len(self._waiting)

    @property
    def batches_in_flight(self) -> int:
        """Batches shipped and not yet committed."""
        return len(self._in_flight)

    @property
    def held(self) -> int:
        """Messages received and not yet committed: waiting and in flight."""
        return len(self._waiting) + self._in_flight_count

    def put(self, message: T, accepting: Callable[[], bool]) -> bool:
        """Add ``message``, first waiting for room while ``accepting()``; False (not added) once it is not."""
        if self.held >= self.limit:
            with self._room:
                while accepting() and self.held >= self.limit:
                    self._room.wait(0.5)
        if not accepting():
            return False
        self._waiting.append(message)
        return True

    def take(self, most: int) -> list[T]:
        """Up to ``most`` waiting messages, oldest first (one thread takes)."""
        return [self._waiting.popleft() for _ in range(min(most, len(self._waiting)))]

    def ship(self, batch_id: int, messages: list[T]) -> None:
        """``messages`` are on their way to the writer as batch ``batch_id``."""
        with self._lock:
            self._in_flight[batch_id] = messages
            self._in_flight_count += len(messages)

    def committed(self, batch_id: int) -> list[T] | None:
        """The writer committed batch ``batch_id``: its messages (None if already answered), room made."""
        with self._lock:
            messages = self._in_flight.pop(batch_id, None)
            self._in_flight_count -= len(messages or ())
        self.wake()
        return messages

    def in_flight(self) -> list[tuple[int, list[T]]]:
        """The batches shipped and not yet committed, in order (to ship again to a new writer)."""
        with self._lock:
            return sorted(self._in_flight.items(), key=lambda item: item[0])

    def wake(self) -> None:
        """Let a waiting :meth:`put` look again (room made, or no longer accepting)."""
        with self._room:
            self._room.notify_all()
