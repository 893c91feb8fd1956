"""What each kind of device puts on the wire: topics, payloads, sensor ids.

One class per vendor format, each pure: given a device name and a
:class:`Sample`, it returns :class:`Message` values. Topics here carry no
prefix; the device adds the run's ``--prefix`` to every one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import UTC, datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sensors.malformed import BAD_KINDS, PLAIN_KINDS, json_payload, plain_payload


@dataclasses.dataclass(frozen=True, slots=True)
class Message:
    """One MQTT publication."""

    topic: str
    payload: bytes
    retain: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class Sample:
    """What a device measured at one simulated instant (epoch seconds, UTC)."""

    time_s: float
    temperature_c: float
    battery_pct: float | None = None
    humidity_pct: float = 45.0
    linkquality: int = 120


def to_json(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def _number(value: float) -> int | float:
    """Whole numbers as ints (``1732530000``), others as floats."""
    return int(value) if float(value).is_integer() else value


def payload_time(time_s: float) -> str:
    """A simulated device's timestamp: ``2026-11-25T10:00:00Z``; milliseconds only when the instant has them."""
    moment = datetime.fromtimestamp(time_s, UTC)
    if float(time_s).is_integer():
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Format:
    """A device family's wire format. Subclasses fill in the details."""

    name: ClassVar[str]
    sensor_format: ClassVar[str]
    """The ``<format>`` part of the sensor id (both Shelly generations say ``shelly``)."""
    carries_list: ClassVar[bool] = False
    carries_battery: ClassVar[bool] = True
    resolution_c: ClassVar[float] = 0.1
    bad_kinds: ClassVar[tuple[str, ...]] = BAD_KINDS

    def sensor_id(self, device: str) -> str:
        return f"{self.sensor_format}:{device}"

    def sensor_id_pattern(self) -> str:
        """The sensor id with a placeholder device, for help texts."""
        return self.sensor_id("<device>")

    def reading_topic(self, device: str) -> str:
        raise NotImplementedError

    def readings(self, device: str, sample: Sample) -> list[Message]:
        """The temperature message first, then any companion (battery) messages."""
        raise NotImplementedError

    def availability(self, device: str, online: bool) -> Message:
        raise NotImplementedError

    def backlog(self, device: str, samples: list[Sample]) -> Message:
        """Several samples in one message, in the order given."""
        raise ValueError(f"format {self.name} cannot carry a list of readings")

    def malformed(self, device: str, sample: Sample, kind: str) -> Message:
        raise NotImplementedError


class JsonFormat(Format):
    """A format whose temperature message is one JSON document."""

    def document(self, device: str, sample: Sample) -> Any:
        raise NotImplementedError

    def temperature_slots(self, document: Any) -> list[tuple[dict[str, Any], str]]:
        """Where the temperature sits: (object, key) pairs, °C first."""
        raise NotImplementedError

    def set_temperature(self, document: Any, value: Any) -> None:
        for holder, key in self.temperature_slots(document):
            holder[key] = value

    def set_time(self, document: Any, time_s: float) -> None:
        raise ValueError(f"format {self.name} carries no timestamp")

    def readings(self, device: str, sample: Sample) -> list[Message]:
        message = Message(self.reading_topic(device), to_json(self.document(device, sample)))
        return [message, *self.companions(device, sample)]

    def companions(self, device: str, sample: Sample) -> list[Message]:
        return []

    def malformed(self, device: str, sample: Sample, kind: str) -> Message:
        if kind not in self.bad_kinds:
            raise ValueError(f"format {self.name} has no bad payload kind {kind!r}")
        return Message(self.reading_topic(device), json_payload(self, device, sample, kind))


class PlainFormat(Format):
    """A format that publishes each value as a bare number on its own topic."""

    bad_kinds = PLAIN_KINDS

    def battery_topic(self, device: str) -> str:
        raise NotImplementedError

    def readings(self, device: str, sample: Sample) -> list[Message]:
        messages = [Message(self.reading_topic(device), f"{sample.temperature_c:.1f}".encode())]
        if sample.battery_pct is not None:
            messages.append(Message(self.battery_topic(device), f"{round(sample.battery_pct)}".encode()))
        return messages

    def malformed(self, device: str, sample: Sample, kind: str) -> Message:
        if kind not in self.bad_kinds:
            raise ValueError(f"format {self.name} has no bad payload kind {kind!r}")
        return Message(self.reading_topic(device), plain_payload(f"{sample.temperature_c:.1f}", kind))


class Native(JsonFormat):
    """Fridge Monitor's own format: one JSON object, or a list of them."""

    name = sensor_format = "native"
    carries_list = True

    def reading_topic(self, device: str) -> str:
        return f"fridge-monitor/readings/{device}"

    def availability(self, device: str, online: bool) -> Message:
        payload = b"online" if online else b"offline"
        return Message(f"fridge-monitor/availability/{device}", payload, retain=True)

    def document(self, device: str, sample: Sample) -> dict[str, Any]:
        document: dict[str, Any] = {"temperature_c": sample.temperature_c, "ts": payload_time(sample.time_s)}
        if sample.battery_pct is not None:
            document["battery_pct"] = round(sample.battery_pct)
        return document

    def temperature_slots(self, document: Any) -> list[tuple[dict[str, Any], str]]:
        return [(document, "temperature_c")]

    def set_time(self, document: Any, time_s: float) -> None:
        document["ts"] = payload_time(time_s)

    def backlog(self, device: str, samples: list[Sample]) -> Message:
        documents = [self.document(device, s) for s in samples]
        return Message(self.reading_topic(device), to_json(documents))


class SenML(JsonFormat):
    """RFC 8428 packs: base name ``<device>:``, base time, records ``temp`` and ``battery``."""

    name = sensor_format = "senml"
    carries_list = True

    def sensor_id(self, device: str) -> str:
        return f"senml:{device}:temp"

    def reading_topic(self, device: str) -> str:
        return f"fridge-monitor/senml/{device}"

    def availability(self, device: str, online: bool) -> Message:
        payload = b"online" if online else b"offline"
        return Message(f"fridge-monitor/senml/{device}/status", payload, retain=True)

    def document(self, device: str, sample: Sample) -> list[dict[str, Any]]:
        pack: list[dict[str, Any]] = [
            {"bn": f"{device}:", "bt": _number(sample.time_s), "bu": "Cel", "n": "temp", "v": sample.temperature_c}
        ]
        if sample.battery_pct is not None:
            pack.append({"n": "battery", "u": "%EL", "v": round(sample.battery_pct)})
        return pack

    def temperature_slots(self, document: Any) -> list[tuple[dict[str, Any], str]]:
        return [(document[0], "v")]

    def set_time(self, document: Any, time_s: float) -> None:
        document[0]["bt"] = _number(time_s)

    def backlog(self, device: str, samples: list[Sample]) -> Message:
        """One pack: base time is the newest sample, each record ``t`` relative to it."""
        base_s = max(s.time_s for s in samples)
        pack: list[dict[str, Any]] = []
        for sample in samples:
            offset = _number(round(sample.time_s - base_s, 3))
            record: dict[str, Any] = {"n": "temp", "v": sample.temperature_c, "t": offset}
            if not pack:
                record = {"bn": f"{device}:", "bt": _number(base_s), "bu": "Cel", **record}
            pack.append(record)
        newest = max(samples, key=lambda s: s.time_s)
        if newest.battery_pct is not None:
            pack.append({"n": "battery", "u": "%EL", "v": round(newest.battery_pct)})
        return Message(self.reading_topic(device), to_json(pack))


class Zigbee2Mqtt(JsonFormat):
    """A battery Zigbee thermometer bridged by zigbee2mqtt."""

    name = sensor_format = "zigbee2mqtt"
    # zigbee2mqtt messages carry no time, and one without "temperature" is
    # legitimately ignored by the server (a humidity-only update), not malformed.
    bad_kinds = tuple(k for k in BAD_KINDS if k not in ("future-timestamp", "missing-field"))

    def reading_topic(self, device: str) -> str:
        return f"zigbee2mqtt/{device}"

    def availability(self, device: str, online: bool) -> Message:
        state = {"state": "online" if online else "offline"}
        return Message(f"zigbee2mqtt/{device}/availability", to_json(state), retain=True)

    def document(self, device: str, sample: Sample) -> dict[str, Any]:
        document: dict[str, Any] = {"temperature": sample.temperature_c, "humidity": round(sample.humidity_pct)}
        if sample.battery_pct is not None:
            document["battery"] = round(sample.battery_pct)
        document["linkquality"] = sample.linkquality
        if sample.battery_pct is not None:
            document["voltage"] = round(2500 + 5 * sample.battery_pct)
        return document

    def temperature_slots(self, document: Any) -> list[tuple[dict[str, Any], str]]:
        return [(document, "temperature")]


class Tasmota(JsonFormat):
    """A mains-powered Tasmota plug with one DS18B20 probe (no battery)."""

    name = sensor_format = "tasmota"
    carries_battery = False
    resolution_c = 0.0625
    # The server reads a Tasmota Time far from its own clock as device clock
    # drift and uses the receipt time, so a future Time is not malformed.
    bad_kinds = tuple(k for k in BAD_KINDS if k != "future-timestamp")

    def __init__(self, device_tz: str = "UTC") -> None:
        self.zone = ZoneInfo(device_tz)

    @staticmethod
    def probe_id(device: str) -> str:
        """A stable 12-hex-digit DS18B20 ROM id derived from the device name."""
        return hashlib.sha1(device.encode()).hexdigest()[:12].upper()

    def sensor_id(self, device: str) -> str:
        return f"tasmota:{device}:{self.probe_id(device)}"

    def sensor_id_pattern(self) -> str:
        return "tasmota:<device>:<DS18B20 id>"

    def reading_topic(self, device: str) -> str:
        return f"tele/{device}/SENSOR"

    def availability(self, device: str, online: bool) -> Message:
        return Message(f"tele/{device}/LWT", b"Online" if online else b"Offline", retain=True)

    def local_time(self, time_s: float) -> str:
        """The device's local wall time with no offset, as Tasmota prints it."""
        return datetime.fromtimestamp(int(time_s), self.zone).strftime("%Y-%m-%dT%H:%M:%S")

    def document(self, device: str, sample: Sample) -> dict[str, Any]:
        # Tasmota prints temperatures with TempRes 1 (one decimal) by default.
        probe = {"Id": self.probe_id(device), "Temperature": round(sample.temperature_c, 1)}
        return {"Time": self.local_time(sample.time_s), "DS18B20": probe, "TempUnit": "C"}

    def temperature_slots(self, document: Any) -> list[tuple[dict[str, Any], str]]:
        return [(document["DS18B20"], "Temperature")]

    def set_time(self, document: Any, time_s: float) -> None:
        document["Time"] = self.local_time(time_s)


class ESPHome(PlainFormat):
    """An ESPHome node with a ``temperature`` and a ``battery`` sensor."""

    name = sensor_format = "esphome"

    def sensor_id(self, device: str) -> str:
        return f"esphome:{device}:temperature"

    def reading_topic(self, device: str) -> str:
        return f"{device}/sensor/temperature/state"

    def battery_topic(self, device: str) -> str:
        return f"{device}/sensor/battery/state"

    def availability(self, device: str, online: bool) -> Message:
        return Message(f"{device}/status", b"online" if online else b"offline", retain=True)


class ShellyGen2(JsonFormat):
    """A Shelly Plus H&T style device: ``temperature:0`` and ``devicepower:0`` status."""

    name = "shelly"
    sensor_format = "shelly"
    bad_kinds = tuple(k for k in BAD_KINDS if k != "future-timestamp")

    def sensor_id(self, device: str) -> str:
        return f"shelly:{device}:0"

    def reading_topic(self, device: str) -> str:
        return f"{device}/status/temperature:0"

    def availability(self, device: str, online: bool) -> Message:
        return Message(f"{device}/online", b"true" if online else b"false", retain=True)

    def document(self, device: str, sample: Sample) -> dict[str, Any]:
        celsius = sample.temperature_c
        return {"id": 0, "tC": celsius, "tF": round(celsius * 9 / 5 + 32, 1)}

    def temperature_slots(self, document: Any) -> list[tuple[dict[str, Any], str]]:
        return [(document, "tC"), (document, "tF")]

    def companions(self, device: str, sample: Sample) -> list[Message]:
        if sample.battery_pct is None:
            return []
        status = {
            "id": 0,
            "battery": {"V": round(2.5 + 0.005 * sample.battery_pct, 2), "percent": round(sample.battery_pct)},
            "external": {"present": False},
        }
        return [Message(f"{device}/status/devicepower:0", to_json(status))]


class ShellyGen1(PlainFormat):
    """A first-generation Shelly H&T: plain values under ``shellies/<id>/sensor/``."""

    name = "shelly-gen1"
    sensor_format = "shelly"

    def reading_topic(self, device: str) -> str:
        return f"shellies/{device}/sensor/temperature"

    def battery_topic(self, device: str) -> str:
        return f"shellies/{device}/sensor/battery"

    def availability(self, device: str, online: bool) -> Message:
        return Message(f"shellies/{device}/online", b"true" if online else b"false", retain=True)


FORMATS: dict[str, type[Format]] = {
    f.name: f for f in (Native, SenML, Zigbee2Mqtt, Tasmota, ESPHome, ShellyGen2, ShellyGen1)
}


def make_format(name: str, *, device_tz: str = "UTC") -> Format:
    """The encoder for a format name; ``device_tz`` is Tasmota's local zone."""
    try:
        cls = FORMATS[name]
    except KeyError:
        raise ValueError(f"unknown format {name!r}; choose one of {', '.join(FORMATS)}") from None
    if cls is not Tasmota:
        return cls()
    try:
        return Tasmota(device_tz)
    except (ValueError, ZoneInfoNotFoundError):
        raise ValueError(f"unknown time zone {device_tz!r}; use an IANA name such as Europe/Berlin") from None
