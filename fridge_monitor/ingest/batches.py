"""Writes what ingest understood: one transaction per batch, idempotent.

Readings are inserted with ON CONFLICT DO NOTHING on (sensor, measured time),
so a message delivered twice (after a crash before its acknowledgement, or a
broker redelivery) is stored once. Unknown sensors are registered unassigned,
at most ``[ingest] max_unassigned_sensors`` of them at a time: one publisher
inventing ids must not flood the sensor list, the audit trail and the
dashboard. Beyond that, a new id's message is kept as a rejected message.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.core.readings import Availability, BatteryLevel, ChannelReading, Entity, Reading
from fridge_monitor.store import audit_trail, rollups
from fridge_monitor.store import models as m
from fridge_monitor.store.db import dialect_insert
from fridge_monitor.store.many import ManyRows
from fridge_monitor.store.marks import fridge_marks
from fridge_monitor.store.readings_insert import ReadingsInsert
from fridge_monitor.store.sensors import reading_at_last, too_many_unassigned, unassigned_in_service

REJECTED_PAYLOAD_KEEP = 64 * 1024


@dataclasses.dataclass(frozen=True, slots=True)
class Source:
    """The MQTT message a reading came from, kept whole should its sensor be refused."""

    topic: str
    fmt: str
    payload: bytes


@dataclasses.dataclass(frozen=True, slots=True)
class Rejected:
    """A message (or part of one) to keep as a rejected message."""

    received_at: datetime
    topic: str
    fmt: str | None
    sensor_id: str | None
    reason: str
    payload: bytes  # what is kept of it (at most REJECTED_PAYLOAD_KEEP bytes are stored)
    size: int | None = None  # its full size, when ``payload`` was already cut short (an oversized message)


@dataclasses.dataclass(frozen=True, slots=True)
class Ignored:
    """A message that carried nothing to record (e.g. an ESPHome power state): counted, not kept."""

    fmt: str
    received_at: datetime
    topic: str
    reason: str


@dataclasses.dataclass(slots=True)
class Batch:
    """What one batch of MQTT messages amounts to, ready to be written."""

    readings: list[tuple[Reading, datetime]] = dataclasses.field(default_factory=list)
    # The message each reading came from, index for index (optional: readings written directly have none).
    sources: list[Source | None] = dataclasses.field(default_factory=list)
    rejected: list[Rejected] = dataclasses.field(default_factory=list)
    availability: list[tuple[Availability, datetime]] = dataclasses.field(default_factory=list)
    batteries: list[BatteryLevel] = dataclasses.field(default_factory=list)
    entities: list[Entity] = dataclasses.field(default_factory=list)
    ignored: list[Ignored] = dataclasses.field(default_factory=list)
    # Door, power, switch and humidity values, with when they arrived and the message they came in.
    channels: list[tuple[ChannelReading, datetime, Source | None]] = dataclasses.field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.readings or self.rejected or self.availability or self.batteries or self.entities
                    or self.ignored or self.channels)


_CONTROL = {i: f"\\x{i:02x}" for i in (*range(32), 127) if chr(i) not in "\t\n"}


def printable(text: str) -> str:
    """Text with control characters escaped (PostgreSQL refuses NUL in text columns)."""
    return text.translate(_CONTROL)


def _later(column: sa.ColumnElement[datetime], value: sa.ColumnElement[datetime]) -> sa.Case[datetime]:
    return sa.case((column.is_(None), value), (column < value, value), else_=column)


def _newer_battery(at: sa.ColumnElement[datetime]) -> sa.ColumnElement[bool]:
    """A battery level measured at ``at`` is news: the sensor's last one is older (or there is none)."""
    sensors = m.Sensor.__table__
    return sa.or_(sensors.c.battery_at.is_(None), sensors.c.battery_at <= at)


class Store:
    """The ingest side of the database."""

    def __init__(self, engine: sa.Engine, *, max_unassigned_sensors: int | None = None) -> None:
        """``max_unassigned_sensors``: at most this many unassigned sensors in service (None: no cap)."""
        self.engine = engine
        self._cap = max_unassigned_sensors
        name = engine.dialect.name
        self._known_sensors: set[str] = set()
        self._insert_readings = ReadingsInsert(name)
        insert_sensor = dialect_insert(name, m.Sensor.__table__)
        # A sensor declared in the config before it ever reported gets its
        # device name and first-seen time from its first reading.
        self._insert_sensor = insert_sensor.on_conflict_do_update(
            index_elements=["id"],
            set_={
                "device": insert_sensor.excluded.device,
                "first_seen_at": sa.func.coalesce(
                    m.Sensor.__table__.c.first_seen_at, insert_sensor.excluded.first_seen_at
                ),
            },
        )
        sensors = m.Sensor.__table__
        moment = m.UTCDateTime()
        # Late data must not move "last seen" backwards: keep the later time. One statement per batch on PostgreSQL.
        self._touch_sensor = ManyRows(name, lambda row, _multirow: sa.update(sensors).where(sensors.c.id == row.sid)
                                      .values(last_seen_at=_later(sensors.c.last_seen_at, row.seen),
                                              last_measured_at=_later(sensors.c.last_measured_at, row.measured),
                                              last_temperature_c=reading_at_last(
                                                  sensors.c.id, _later(sensors.c.last_measured_at, row.measured))),
                                      sid=sa.String(300), seen=moment, measured=moment)
        self._seen_sensor = ManyRows(name, lambda row, _multirow: sa.update(sensors).where(sensors.c.id == row.sid)
                                     .values(last_seen_at=_later(sensors.c.last_seen_at, row.seen)),
                                     sid=sa.String(300), seen=moment)
        self._insert_channels = dialect_insert(name, m.ChannelReading.__table__).on_conflict_do_nothing(
            index_elements=["sensor_id", "channel", "measured_at"])
        self._battery_by_sensor = ManyRows(
            name, lambda row, _multirow: sa.update(sensors).where(sensors.c.id == row.sid, _newer_battery(row.at))
            .values(battery_pct=row.pct, battery_at=row.at),
            sid=sa.String(300), at=moment, pct=sa.Float())
        at = sa.bindparam("at", type_=m.UTCDateTime())
        self._battery_by_device = (
            sa.update(sensors)
            .where(sensors.c.format == sa.bindparam("fmt"), sensors.c.device == sa.bindparam("dev"),
                   _newer_battery(at))
            .values(battery_pct=sa.bindparam("pct"), battery_at=at)
        )
        self._mark = fridge_marks(name)
        self._rollups = rollups.Keeper(name)
        self._availability = (
            sa.update(sensors)
            .where(sensors.c.format == sa.bindparam("fmt"), sensors.c.device == sa.bindparam("dev"))
            .values(online=sa.bindparam("online"), online_changed_at=at)
        )
        # A zigbee2mqtt bridge's state speaks for every zigbee2mqtt device (they reach us only through it).
        self._bridge = (
            sa.update(sensors).where(sensors.c.format == "zigbee2mqtt")
            .values(online=sa.bindparam("online"), online_changed_at=at)
        )
        entities = m.DiscoveredEntity.__table__
        upsert_entity = dialect_insert(name, entities)
        self._upsert_entity = upsert_entity.on_conflict_do_update(
            index_elements=["state_topic"],
            set_={c: upsert_entity.excluded[c] for c in ("fmt", "node", "entity", "device_class", "unit",
                                                         "config_topic", "updated_at")},
        )
        # A config withdrawn (empty), or moved to another state topic, forgets what it said before.
        self._forget_entity = sa.delete(entities).where(
            entities.c.config_topic == sa.bindparam("config_topic"),
            entities.c.state_topic != sa.bindparam("keep"),
        )
        counts = m.IgnoredMessageCount.__table__
        count_ignored = dialect_insert(name, counts)
        self._count_ignored = count_ignored.on_conflict_do_update(
            index_elements=["fmt"],
            set_={"count": counts.c.count + count_ignored.excluded.count,
                  **{c: count_ignored.excluded[c] for c in ("last_at", "last_topic", "last_reason")}},
        )

    def write(self, batch: Batch) -> int:
        """Commit the whole batch or nothing (raises; the caller retries).

        Returns how many messages were kept as rejected because their sensor
        could not be registered (the cap on unassigned sensors).
        """
        with self.engine.begin() as conn:
            # The batch itself is left as it is: a retry after a database error starts over from it.
            readings, channels, refused = self._register_sensors(conn, batch)
            rejected = [*batch.rejected, *refused]
            if readings:
                self._insert_readings.execute(
                    conn, ((r.sensor_id, r.measured_at, received, r.temperature_c) for r, received in readings))
                self._update_sensor_state(conn, readings)
                self._rollups.readings_stored(conn, [(r.sensor_id, r.measured_at) for r, _ in readings])
            if channels:
                self._write_channels(conn, channels)
            if readings or channels:
                self._mark_fridges(conn, [(r.sensor_id, r.measured_at) for r, _ in readings]
                                   + [(c.sensor_id, c.measured_at) for c, _ in channels])
            if rejected:
                conn.execute(
                    sa.insert(m.RejectedMessage),
                    [
                        {
                            "received_at": rej.received_at,
                            "topic": printable(rej.topic),
                            "format": rej.fmt,
                            "sensor_id": printable(rej.sensor_id)[:300] if rej.sensor_id else None,
                            "reason": printable(rej.reason),
                            "payload": rej.payload[:REJECTED_PAYLOAD_KEEP],
                            "payload_size": len(rej.payload) if rej.size is None else rej.size,
                        }
                        for rej in rejected
                    ],
                )
            if batch.batteries:
                conn.execute(
                    self._battery_by_device,
                    [{"fmt": b.fmt, "dev": b.device, "pct": b.battery_pct, "at": b.at} for b in batch.batteries],
                )
            # In the order they came: a device's own availability after its bridge's has the last word.
            for a, at in batch.availability:
                bridge = a.fmt == "zigbee2mqtt" and a.device == ""
                conn.execute(self._bridge if bridge else self._availability,
                             {"fmt": a.fmt, "dev": a.device, "online": a.online, "at": at})
            if batch.entities:
                self._write_entities(conn, batch.entities)
            if batch.ignored:
                self._count(conn, batch.ignored)
        self._known_sensors.update(r.sensor_id for r, _ in readings)
        self._known_sensors.update(c.sensor_id for c, _ in channels)
        return len(refused)

    def _write_channels(self, conn: sa.Connection, channels: list[tuple[ChannelReading, datetime]]) -> None:
        """Store door, power, switch and humidity values (once each) and note their sensors were heard."""
        conn.execute(self._insert_channels, [
            {"sensor_id": c.sensor_id, "channel": c.channel, "measured_at": c.measured_at, "received_at": received,
             "value": c.value} for c, received in channels])
        seen: dict[str, datetime] = {}
        for _c, received in channels:
            seen[_c.sensor_id] = max(received, seen.get(_c.sensor_id, received))
        self._seen_sensor.execute(conn, sorted(seen.items()))

    def _write_entities(self, conn: sa.Connection, entities: list[Entity]) -> None:
        """Keep what discovery configs say, in the order they came, so every ingest process knows it."""
        now = datetime.now(UTC)
        for e in entities:
            conn.execute(self._forget_entity,
                         {"config_topic": printable(e.config_topic), "keep": printable(e.state_topic)})
            if not e.removed:
                conn.execute(self._upsert_entity, {
                    "state_topic": printable(e.state_topic), "fmt": "esphome", "node": printable(e.node),
                    "entity": printable(e.name), "device_class": e.device_class and printable(e.device_class),
                    "unit": e.unit and printable(e.unit), "config_topic": printable(e.config_topic),
                    "updated_at": now,
                })

    def _count(self, conn: sa.Connection, ignored: list[Ignored]) -> None:
        """Add the batch's ignored messages to the counts by format (the last one's topic and reason shown)."""
        by_format: dict[str, tuple[int, Ignored]] = {}
        for item in ignored:
            count, _last = by_format.get(item.fmt, (0, item))
            by_format[item.fmt] = (count + 1, item)
        conn.execute(self._count_ignored, [
            {"fmt": fmt, "count": count, "last_at": last.received_at, "last_topic": printable(last.topic),
             "last_reason": printable(last.reason)}
            for fmt, (count, last) in sorted(by_format.items())
        ])

    def _register_sensors(self, conn: sa.Connection, batch: Batch) -> tuple[
            list[tuple[Reading, datetime]], list[tuple[ChannelReading, datetime]], list[Rejected]]:
        """Register sensors this process has not seen yet; a truly new one is audited.

        Returns the readings and channel values to store, and the messages to keep as rejected
        because their new sensor would pass the cap on unassigned sensors.
        """
        new: dict[str, tuple[Reading | ChannelReading, datetime]] = {}
        for reading, received in batch.readings:
            if reading.sensor_id not in self._known_sensors:
                new.setdefault(reading.sensor_id, (reading, received))
        for value, received, _source in batch.channels:
            if value.sensor_id not in self._known_sensors:
                new.setdefault(value.sensor_id, (value, received))
        channels = [(c, received) for c, received, _source in batch.channels]
        if not new:
            return batch.readings, channels, []
        existing = set(conn.scalars(sa.select(m.Sensor.id).where(m.Sensor.id.in_(list(new)))))
        unseen = [sid for sid in new if sid not in existing]
        refused: set[str] = set()
        if unseen and self._cap is not None:
            room = max(0, self._cap - self._unassigned(conn))
            refused = set(unseen[room:])
            unseen = unseen[:room]
        register = [(sid, r, received) for sid, (r, received) in new.items() if sid not in refused]
        if register:
            conn.execute(
                self._insert_sensor,
                [
                    {"id": sid, "format": r.fmt, "device": r.device, "first_seen_at": received, "created_at": received}
                    for sid, r, received in register
                ],
            )
        if unseen:
            with so.Session(bind=conn) as session:
                for sid in unseen:
                    audit_trail.record(session, at=new[sid][1], actor="ingest", action="create",
                                       record_type="sensor", record_id=sid, field="fridge", new="unassigned",
                                       reason="first reading from an unknown sensor")
        if not refused:
            return batch.readings, channels, []
        readings, rejected = self._refuse(batch, refused)
        kept = [(c, received) for c, received in channels if c.sensor_id not in refused]
        rejected += self._refuse_channels(batch, refused)
        return readings, kept, rejected

    def _refuse_channels(self, batch: Batch, refused: set[str]) -> list[Rejected]:
        """The messages whose channel values came from a refused new sensor, kept whole as rejected (once each)."""
        assert self._cap is not None
        out: dict[int, Rejected] = {}
        for value, received, source in batch.channels:
            if value.sensor_id in refused and source is not None and id(source) not in out:
                out[id(source)] = Rejected(received, source.topic, source.fmt, value.sensor_id,
                                           too_many_unassigned(self._cap), source.payload)
        return list(out.values())

    def _unassigned(self, conn: sa.Connection) -> int:
        """Unassigned sensors in service: what the cap counts (retired ones make room)."""
        s = m.Sensor
        return conn.scalar(sa.select(sa.func.count()).select_from(s).where(unassigned_in_service())) or 0

    def _refuse(self, batch: Batch, refused: set[str]) -> tuple[list[tuple[Reading, datetime]], list[Rejected]]:
        """The batch's readings but those of ``refused`` sensors, whose messages become rejected ones
        (one per message, whole: a message that also carried accepted readings is kept as well)."""
        assert self._cap is not None
        kept: list[tuple[Reading, datetime]] = []
        messages: dict[int, tuple[Source | None, Reading, datetime, list[str]]] = {}
        for index, (reading, received) in enumerate(batch.readings):
            if reading.sensor_id not in refused:
                kept.append((reading, received))
                continue
            source = batch.sources[index] if index < len(batch.sources) else None
            key = id(source) if source is not None else -1 - index
            ids = messages.setdefault(key, (source, reading, received, []))[3]
            if reading.sensor_id not in ids:
                ids.append(reading.sensor_id)
        reason = too_many_unassigned(self._cap)
        rejected = []
        for source, reading, received, ids in messages.values():
            why = reason if len(ids) == 1 else f"{reason} (new sensors {', '.join(ids)})"
            if source is None:  # written directly, not from MQTT: keep what the reading said
                rejected.append(Rejected(received, "", reading.fmt, ids[0], why, _as_payload(reading)))
            else:
                rejected.append(Rejected(received, source.topic, source.fmt, ids[0], why, source.payload))
        return kept, rejected

    def _mark_fridges(self, conn: sa.Connection, measured: list[tuple[str, datetime]]) -> None:
        """Mark the fridges these (sensor, measured at) values belong to for the rules, in this same transaction."""
        earliest: dict[str, datetime] = {}
        for sid, measured_at in measured:
            at = earliest.get(sid)
            if at is None or measured_at < at:
                earliest[sid] = measured_at
        self._mark.execute(conn, sorted(earliest.items()))

    def _update_sensor_state(self, conn: sa.Connection, readings: list[tuple[Reading, datetime]]) -> None:
        seen: dict[str, tuple[datetime, datetime]] = {}
        battery: dict[str, tuple[datetime, float]] = {}
        for r, received in readings:
            prev = seen.get(r.sensor_id)
            if prev is None:
                seen[r.sensor_id] = (received, r.measured_at)
            else:
                seen[r.sensor_id] = (max(prev[0], received), max(prev[1], r.measured_at))
            if r.battery_pct is not None:
                b = battery.get(r.sensor_id)
                if b is None or b[0] <= r.measured_at:
                    battery[r.sensor_id] = (r.measured_at, r.battery_pct)
        self._touch_sensor.execute(conn, [(sid, s, mt) for sid, (s, mt) in sorted(seen.items())])
        self._battery_by_sensor.execute(conn, [(sid, at, pct) for sid, (at, pct) in sorted(battery.items())])


def _as_payload(reading: Reading) -> bytes:
    """A reading as the native JSON payload it could have come in."""
    return json.dumps({"temperature_c": reading.temperature_c, "ts": reading.measured_at.isoformat()}).encode()
