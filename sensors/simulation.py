"""Run simulated devices against a broker in (scaled) real time.

:class:`Simulation` owns the schedule: each device reports every interval of
simulated time, and the simulated clock (:mod:`sensors.clock`) says when in
wall time that is. It carries each device's messages to a broker through one
:class:`~sensors.mqtt.DeviceLink` per device, and at the end waits until the
broker has acknowledged every message.
"""

from __future__ import annotations

import dataclasses
import heapq
import logging
import math
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import IO, Protocol

from sensors.clock import SimClock
from sensors.device import Device, Drop, FridgePlan, Publish, Rejoin, Slot, plan_sensor_ids
from sensors.formats import Message
from sensors.mqtt import BrokerAddress, DeviceLink

log = logging.getLogger(__name__)


class Link(Protocol):
    """What the simulation needs from a device's connection to the broker."""

    published: int

    def connect(self, timeout_s: float) -> None: ...
    def publish(self, message: Message) -> None: ...
    def drop(self) -> None: ...
    def rejoin(self) -> None: ...
    def say_goodbye(self) -> None: ...
    def wait_acked(self, timeout_s: float) -> int: ...
    def disconnect(self) -> None: ...


Transport = Callable[[FridgePlan, Message, Message], Link]
"""Builds a device's link from its plan, online birth and offline last will."""


@dataclasses.dataclass
class Stats:
    """What a run published, so a test can compare it with what the server stored."""

    readings: int = 0
    """Valid temperature readings sent (each element of a backlog list counts)."""
    messages: int = 0
    """MQTT messages sent, availability and battery messages included."""
    bad_payloads: Counter[str] = dataclasses.field(default_factory=Counter)
    """Malformed messages sent, by kind (see ``sensors.malformed.BAD_KINDS``)."""
    readings_by_sensor: Counter[str] = dataclasses.field(default_factory=Counter)
    backlog_uploads: int = 0
    buffered_readings: int = 0
    """Readings measured while the uplink was down (uploaded later in a backlog)."""
    dark_slots: int = 0
    """Reporting intervals in which a device was without power and sent nothing."""
    drops: int = 0
    """Abrupt disconnections (the broker published the last will)."""
    unacknowledged: int = 0
    """Messages the broker had not acknowledged when the run gave up waiting."""

    @property
    def bad_total(self) -> int:
        return sum(self.bad_payloads.values())

    def summary(self) -> str:
        """One line for the console."""
        parts = [f"{self.readings} readings in {self.messages} messages"]
        if self.bad_payloads:
            kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(self.bad_payloads.items()))
            parts.append(f"{self.bad_total} bad payloads ({kinds})")
        if self.backlog_uploads:
            parts.append(f"{self.backlog_uploads} backlog uploads")
        if self.dark_slots:
            parts.append(f"{self.dark_slots} silent intervals")
        if self.unacknowledged:
            parts.append(f"{self.unacknowledged} NOT acknowledged by the broker")
        return "; ".join(parts)

    def record(self, device: Device, slot: Slot | None, actions: Iterable[object]) -> None:
        if slot is not None:
            self.dark_slots += slot.sample is None
            self.buffered_readings += slot.buffered
        for action in actions:
            if isinstance(action, Publish):
                self.messages += 1
                self.readings += action.readings
                self.readings_by_sensor[device.sensor_id] += action.readings
                self.backlog_uploads += action.backlog
                if action.bad_kind:
                    self.bad_payloads[action.bad_kind] += 1
            elif isinstance(action, Drop):
                self.drops += 1


def _epoch(start: datetime | float | None) -> float | None:
    if start is None or isinstance(start, (int, float)):
        return start
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    return start.timestamp()


class Simulation:
    """Simulated fridges publishing to one broker; :meth:`run` blocks until done.

    ``interval_s`` is the devices' reporting interval in simulated seconds;
    ``speed`` how much faster than the wall the simulated clock runs until it
    catches up with it (see :mod:`sensors.clock`). The run ends after
    ``count`` reporting intervals per fridge, after ``duration`` wall seconds,
    or when ``stop`` is set — whichever comes first; then every device says
    offline and the run waits up to ``ack_timeout_s`` for the broker to
    acknowledge everything. ``transport`` replaces the paho connections (tests
    pass an in-memory one). Run it once; ``stats`` can be read meanwhile.
    """

    def __init__(
        self,
        broker_url: str,
        plans: list[FridgePlan],
        interval_s: float = 60.0,
        speed: float = 1.0,
        seed: int = 1,
        prefix: str = "",
        start: datetime | float | None = None,
        count: int | None = None,
        duration: float | None = None,
        qos: int = 1,
        *,
        client_id: str | None = None,
        username: str | None = None,
        password: str | None = None,
        ack_timeout_s: float = 30.0,
        connect_timeout_s: float = 10.0,
        transport: Transport | None = None,
    ) -> None:
        if not plans:
            raise ValueError("give at least one fridge to simulate")
        names = [p.name for p in plans]
        if len(set(names)) != len(names):
            raise ValueError(f"device names must be unique: {', '.join(sorted(names))}")
        if not interval_s > 0 or not math.isfinite(interval_s):
            raise ValueError(f"interval must be a positive number of seconds, not {interval_s}")
        if not speed > 0 or not math.isfinite(speed):
            raise ValueError(f"speed must be a positive factor, not {speed}")
        if count is not None and count < 1:
            raise ValueError(f"count must be at least 1, not {count}")
        if duration is not None and not duration > 0:
            raise ValueError(f"duration must be positive, not {duration} s")
        if qos not in (0, 1, 2):
            raise ValueError(f"QoS must be 0, 1 or 2, not {qos}")
        if any(c in prefix for c in "+#\0"):
            raise ValueError(f"topic prefix {prefix!r} must not contain '+', '#' or NUL")
        self.broker = BrokerAddress.parse(broker_url, username, password)
        self.plans = list(plans)
        self.interval_s = interval_s
        self.speed = speed
        self.seed = seed
        self.prefix = prefix
        self.start_s = _epoch(start)
        if self.start_s is not None and self.start_s > time.time():
            raise ValueError("the start time is in the future; the server would reject those readings")
        self.count = count
        self.duration = duration
        self.qos = qos
        self.client_id = client_id or f"fridge-sim-{uuid.uuid4().hex[:6]}"
        self.ack_timeout_s = ack_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self._transport = transport or self._paho_link
        self.stats = Stats()
        """Live counters, updated by the running thread; also returned by :meth:`run`."""
        self.clock: SimClock | None = None

    def sensor_ids(self) -> dict[str, list[str]]:
        """Sensor ids per device name."""
        return {plan.name: plan_sensor_ids(plan) for plan in self.plans}

    def _paho_link(self, plan: FridgePlan, birth: Message, will: Message) -> Link:
        return DeviceLink(self.broker, f"{self.client_id}-{plan.name}", birth, will, self.qos)

    def run(self, stop: threading.Event | None = None) -> Stats:
        """Publish until count, duration or ``stop``; raise BrokerUnavailable if unreachable."""
        stop = stop or threading.Event()
        wall_start = time.time()
        self.clock = clock = SimClock.starting(wall_start, self.speed, self.start_s)
        devices = [
            Device(plan, seed=self.seed, sim_start_s=clock.sim_start_s, interval_s=self.interval_s, prefix=self.prefix)
            for plan in self.plans
        ]
        links: list[Link] = []
        try:
            for device in devices:
                link = self._transport(device.plan, device.availability(True), device.availability(False))
                link.connect(self.connect_timeout_s)
                links.append(link)
        except BaseException:
            self._close(links)
            raise
        log.info(
            "%d device(s) connected to %s; simulated clock starts at %s, %gx speed",
            len(links), self.broker, datetime.fromtimestamp(clock.sim_start_s, UTC).isoformat(), self.speed,
        )
        try:
            self._loop(devices, links, clock, stop, wall_start)
        finally:
            for device, link in zip(devices, links, strict=False):
                actions = device.flush()
                self._apply(device, link, actions)
                self.stats.record(device, None, actions)
            self._close(links)
        return self.stats

    def _loop(
        self, devices: list[Device], links: list[Link], clock: SimClock, stop: threading.Event, wall_start: float
    ) -> None:
        deadline = wall_start + self.duration if self.duration else math.inf
        due = [(device.next_time_s, i) for i, device in enumerate(devices)]
        heapq.heapify(due)
        while due and not stop.is_set():
            time_s, i = due[0]
            now = time.time()
            if now >= deadline:
                return
            wait = clock.wall_at(time_s) - now
            if wait > 0:
                stop.wait(min(wait, deadline - now))
                continue
            heapq.heappop(due)
            device = devices[i]
            slot = device.take_slot()
            self._apply(device, links[i], slot.actions)
            self.stats.record(device, slot, slot.actions)
            if self.count is None or device.slots_taken < self.count:
                heapq.heappush(due, (device.next_time_s, i))

    def _apply(self, device: Device, link: Link, actions: Iterable[object]) -> None:
        for action in actions:
            if isinstance(action, Publish):
                link.publish(action.message)
            elif isinstance(action, Drop):
                log.info("%s drops off the broker abruptly (its last will announces it offline)", device.plan.name)
                link.drop()
            elif isinstance(action, Rejoin):
                log.info("%s reconnects", device.plan.name)
                link.rejoin()

    def _close(self, links: list[Link]) -> None:
        """Say offline, wait for every acknowledgement, then disconnect."""
        for link in links:
            link.say_goodbye()
        deadline = time.monotonic() + self.ack_timeout_s
        unacknowledged = 0
        for link in links:
            unacknowledged += link.wait_acked(max(0.0, deadline - time.monotonic()))
        for link in links:
            link.disconnect()
        self.stats.messages = sum(link.published for link in links)
        self.stats.unacknowledged = unacknowledged
        if unacknowledged:
            log.error("the broker has not acknowledged %d message(s) after %g s", unacknowledged, self.ack_timeout_s)


def dry_run(
    plans: list[FridgePlan],
    *,
    interval_s: float,
    count: int,
    seed: int = 1,
    prefix: str = "",
    start_s: float | None = None,
    out: IO[str],
    wall_now_s: float | None = None,
) -> Stats:
    """Print what ``count`` intervals would publish (``topic payload`` lines), without a broker.

    The simulated clock starts early enough that the last reading is not in the future.
    """
    now = time.time() if wall_now_s is None else wall_now_s
    if start_s is None:
        start_s = float(math.floor(now - count * interval_s))
    devices = [Device(p, seed=seed, sim_start_s=start_s, interval_s=interval_s, prefix=prefix) for p in plans]
    stats = Stats()

    def show(device: Device, actions: Iterable[object]) -> None:
        for action in actions:
            if isinstance(action, Publish):
                print(action.message.topic, _printable(action.message.payload), file=out)
            elif isinstance(action, Drop):
                will = device.availability(False)
                print(f"# {device.plan.name} drops off; the broker publishes its last will:", file=out)
                print(will.topic, _printable(will.payload), file=out)
            elif isinstance(action, Rejoin):
                print(f"# {device.plan.name} reconnects", file=out)
                announce(device, True)

    def announce(device: Device, online: bool) -> None:
        show(device, [Publish(device.availability(online))])
        stats.messages += 1

    for device in devices:
        announce(device, True)
    for _ in range(count):
        for device in devices:
            slot = device.take_slot()
            show(device, slot.actions)
            stats.record(device, slot, slot.actions)
    for device in devices:
        actions = device.flush()
        show(device, actions)
        stats.record(device, None, actions)
        if device.connected:
            announce(device, False)
    return stats


def _printable(payload: bytes) -> str:
    text = payload.decode("utf-8", "backslashreplace")
    return text if len(text) <= 200 else f"{text[:80]}... ({len(payload)} bytes)"
