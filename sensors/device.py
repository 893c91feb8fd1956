"""One simulated sensor device: physics, scenario and wire format, no I/O.

A :class:`Device` is driven slot by slot: every reporting interval of
simulated time it measures its fridge and says what it would put on the
wire — messages to publish, or that it drops off the broker abruptly (power
cut, Wi-Fi loss) or comes back. The :mod:`sensors.simulation` loop decides
*when* in wall time each slot happens and carries the messages to a broker.
"""

from __future__ import annotations

import dataclasses
import random
import re

from sensors.formats import FORMATS, Format, Message, Sample, make_format, payload_time, to_json
from sensors.model import FridgeModel, FridgeParams
from sensors.scenarios import SCENARIOS, Phase, Scenario

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclasses.dataclass(frozen=True, slots=True)
class FridgePlan:
    """One fridge to simulate: its sensor's name and format, and what goes wrong.

    ``name`` is the device name used in topics and sensor ids. ``onset_s``
    and ``outage_s`` (simulated seconds) override the scenario's defaults for
    when its fault starts and how long an outage lasts.
    """

    name: str
    scenario: str = "normal"
    fmt: str = "native"
    set_point_c: float = 5.0
    low_c: float = 2.0
    high_c: float = 8.0
    onset_s: float | None = None
    outage_s: float | None = None
    device_tz: str = "UTC"
    door_contact: bool = False
    """Also a door contact, ``native:<name>-door`` (``door_open``), reporting every interval."""
    plug: bool = False
    """Also a smart plug feeding the fridge, ``native:<name>-plug`` (``power_w``, ``switch_on``)."""

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(
                f"device name {self.name!r} must be letters, digits, '-', '_' or '.' (it becomes an MQTT topic level)"
            )
        if self.scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {self.scenario!r}; choose one of {', '.join(SCENARIOS)}")
        encoder = make_format(self.fmt, device_tz=self.device_tz)
        scenario = SCENARIOS[self.scenario]
        if scenario.needs_list_format and not encoder.carries_list:
            lists = ", ".join(name for name, cls in FORMATS.items() if cls.carries_list)
            raise ValueError(
                f"scenario {self.scenario} uploads a list of readings, "
                f"which format {self.fmt} cannot carry; use {lists}"
            )
        if scenario.needs_battery and not encoder.carries_battery:
            raise ValueError(f"scenario {self.scenario} needs a battery level, which format {self.fmt} does not report")
        if not self.low_c < self.set_point_c < self.high_c:
            raise ValueError(
                f"set point {self.set_point_c} °C must lie between the limits {self.low_c} and {self.high_c} °C"
            )
        for label, value in (("onset", self.onset_s), ("outage", self.outage_s)):
            if value is not None and value < 0:
                raise ValueError(f"{label} must not be negative, not {value} s")

    @property
    def encoder(self) -> Format:
        return make_format(self.fmt, device_tz=self.device_tz)


def plan_sensor_ids(plan: FridgePlan) -> list[str]:
    """The sensor ids the server will see for this plan (one per probe)."""
    return [plan.encoder.sensor_id(plan.name)]


def plan_aux_sensor_ids(plan: FridgePlan) -> list[str]:
    """The plan's door contact and smart plug, as the server will see them (an ``aux_sensors`` list)."""
    return [f"native:{plan.name}-{what}" for what, wanted in (("door", plan.door_contact), ("plug", plan.plug))
            if wanted]


COMPRESSOR_W = 85.0  # a pharmacy fridge's compressor and fans
IDLE_W = 3.0  # its controller and display between runs


def fridge_params(plan: FridgePlan, resolution_c: float) -> FridgeParams:
    """Cabinet physics for a plan; the thermostat band stays well inside its limits."""
    band = min(1.0, (plan.high_c - plan.set_point_c) / 3, (plan.set_point_c - plan.low_c) / 3)
    return FridgeParams(set_point_c=plan.set_point_c, band_c=band, resolution_c=resolution_c)


@dataclasses.dataclass(frozen=True, slots=True)
class Publish:
    """Send this message. ``readings`` valid temperatures are in it."""

    message: Message
    readings: int = 0
    bad_kind: str | None = None
    backlog: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class Drop:
    """Lose the broker connection abruptly, so the broker sends the last will."""


@dataclasses.dataclass(frozen=True, slots=True)
class Rejoin:
    """Connect again (the online birth follows)."""


Action = Publish | Drop | Rejoin


@dataclasses.dataclass(frozen=True, slots=True)
class Slot:
    """What happened in one reporting interval."""

    time_s: float
    actions: tuple[Action, ...]
    sample: Sample | None
    """``None`` when the device was dark."""
    buffered: bool = False


class Device:
    """A sensor device in a fridge; call :meth:`take_slot` once per interval."""

    def __init__(self, plan: FridgePlan, *, seed: int, sim_start_s: float, interval_s: float, prefix: str = "") -> None:
        if interval_s <= 0:
            raise ValueError(f"interval must be positive, not {interval_s} s")
        self.plan = plan
        self.scenario: Scenario = SCENARIOS[plan.scenario]
        self.encoder = plan.encoder
        self.sensor_id = self.encoder.sensor_id(plan.name)
        self.prefix = prefix
        self.sim_start_s = sim_start_s
        self.interval_s = interval_s
        self.onset_s = self.scenario.onset_s if plan.onset_s is None else plan.onset_s
        self.outage_s = self.scenario.outage_s if plan.outage_s is None else plan.outage_s
        self.slots_taken = 0
        self.model = FridgeModel(
            fridge_params(plan, self.encoder.resolution_c), random.Random(f"{seed}:{plan.name}:physics")
        )
        self._rng = random.Random(f"{seed}:{plan.name}:device")
        self._battery_start = self._rng.uniform(*self.scenario.battery_start_pct)
        self._humidity = self._rng.uniform(40.0, 50.0)
        self._linkquality = self._rng.randint(90, 160)
        self._bad_kinds: list[str] = []
        self._buffer: list[Sample] = []
        self._connected = True

    @property
    def next_time_s(self) -> float:
        return self.sim_start_s + self.slots_taken * self.interval_s

    def availability(self, online: bool) -> Message:
        """The retained birth (online) or last will (offline) message."""
        return self._prefixed(self.encoder.availability(self.plan.name, online))

    def phase(self, elapsed_s: float) -> Phase:
        return self.scenario.phase(elapsed_s, onset_s=self.onset_s, outage_s=self.outage_s, high_c=self.plan.high_c)

    def take_slot(self) -> Slot:
        """Advance to the next reporting instant and say what the device does."""
        time_s = self.next_time_s
        elapsed_s = time_s - self.sim_start_s
        self.slots_taken += 1
        self.model.advance_to(elapsed_s, lambda t: self.phase(t).environment)
        phase = self.phase(elapsed_s)
        actions: list[Action] = []
        if not phase.sensor_powered or not phase.uplink_up:
            if self._connected:
                actions.append(Drop())
                self._connected = False
        elif not self._connected:
            actions.append(Rejoin())
            self._connected = True
        if not phase.sensor_powered:
            return Slot(time_s, tuple(actions), None)

        sample = self._sample(time_s, elapsed_s)
        if not phase.uplink_up:
            self._buffer.append(sample)
            return Slot(time_s, tuple(actions), sample, buffered=True)
        if self._buffer:
            self._buffer.append(sample)
            actions.append(self._upload_backlog())
        elif self.scenario.bad_fraction and self._rng.random() < self.scenario.bad_fraction:
            actions.extend(self._malformed(sample))
        else:
            messages = self.encoder.readings(self.plan.name, sample)
            actions.append(Publish(self._prefixed(messages[0]), readings=1))
            actions.extend(Publish(self._prefixed(m)) for m in messages[1:])
        actions.extend(Publish(self._prefixed(m)) for m in self._channels(time_s, phase))
        return Slot(time_s, tuple(actions), sample)

    def _channels(self, time_s: float, phase: Phase) -> list[Message]:
        """The door contact's and the plug's reports (native, timed): the door as the model has it now; the
        plug off and at 0 W while its socket is switched off, else the compressor's power or the idle draw."""
        out = []
        if self.plan.door_contact:
            document = {"door_open": self.model.door_open, "ts": payload_time(time_s)}
            out.append(Message(f"fridge-monitor/readings/{self.plan.name}-door", to_json(document)))
        if self.plan.plug:
            switched_on = phase.environment.mains_power
            power = 0.0
            if switched_on:
                power = (COMPRESSOR_W if self.model.compressor_running else IDLE_W) + self._rng.uniform(-0.5, 0.5)
            document = {"power_w": round(power, 1), "switch_on": switched_on, "ts": payload_time(time_s)}
            out.append(Message(f"fridge-monitor/readings/{self.plan.name}-plug", to_json(document)))
        return out

    def flush(self) -> tuple[Action, ...]:
        """At the end of a run: reconnect and upload any buffered readings."""
        if not self._buffer:
            return ()
        actions: list[Action] = []
        if not self._connected:
            actions.append(Rejoin())
            self._connected = True
        actions.append(self._upload_backlog())
        return tuple(actions)

    @property
    def connected(self) -> bool:
        return self._connected

    def _sample(self, time_s: float, elapsed_s: float) -> Sample:
        self._humidity = min(70.0, max(30.0, self._humidity + self._rng.gauss(0.0, 0.5)))
        self._linkquality = min(255, max(20, self._linkquality + self._rng.randint(-6, 6)))
        battery = None
        if self.encoder.carries_battery:
            battery = self.scenario.battery_pct(self._battery_start, elapsed_s)
        return Sample(
            time_s=time_s,
            temperature_c=self.model.measure(),
            battery_pct=battery,
            humidity_pct=self._humidity,
            linkquality=self._linkquality,
        )

    def _upload_backlog(self) -> Publish:
        samples, self._buffer = self._buffer, []
        self._rng.shuffle(samples)
        message = self.encoder.backlog(self.plan.name, samples)
        return Publish(self._prefixed(message), readings=len(samples), backlog=True)

    def _malformed(self, sample: Sample) -> list[Action]:
        if not self._bad_kinds:
            self._bad_kinds = list(self.encoder.bad_kinds)
            self._rng.shuffle(self._bad_kinds)
        kind = self._bad_kinds.pop()
        bad = self.encoder.malformed(self.plan.name, sample, kind)
        companions = self.encoder.readings(self.plan.name, sample)[1:]
        return [Publish(self._prefixed(bad), bad_kind=kind), *(Publish(self._prefixed(m)) for m in companions)]

    def _prefixed(self, message: Message) -> Message:
        return dataclasses.replace(message, topic=self.prefix + message.topic)
