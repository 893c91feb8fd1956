"""Database tables as typed SQLAlchemy models.

The schema itself is built by the Alembic migrations in ``migrations/``;
these models must agree with them (``fridge-monitor db check``).
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Annotated, ClassVar

import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.core import names

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every database.

    PostgreSQL stores ``timestamptz``; SQLite stores naive UTC text.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given; times must be timezone-aware")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


UTC = Annotated[datetime, so.mapped_column(UTCDateTime())]
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class Base(so.DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)
    if TYPE_CHECKING:
        # Every model here maps one Table (SQLAlchemy types it as any FromClause, which Core's
        # insert/update/delete do not take).
        __table__: ClassVar[sa.Table]


class Site(Base):
    """A clinic location; its time zone rules daily logs and displays."""

    __tablename__ = "sites"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(200), unique=True)
    timezone: so.Mapped[str] = so.mapped_column(sa.String(64))
    created_at: so.Mapped[UTC]

    fridges: so.WriteOnlyMapped[Fridge] = so.relationship(back_populates="site")


class Fridge(Base):
    """A refrigerator, freezer or room that holds medicines."""

    __tablename__ = "fridges"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(200), unique=True)
    site_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("sites.id"), index=True)
    kind: so.Mapped[str] = so.mapped_column(sa.String(20))
    low_c: so.Mapped[float]
    high_c: so.Mapped[float]
    alarm_profile: so.Mapped[str] = so.mapped_column(sa.String(100))
    created_at: so.Mapped[UTC]
    retired_at: so.Mapped[UTC | None]

    site: so.Mapped[Site] = so.relationship(back_populates="fridges")


class Sensor(Base):
    """A temperature probe as seen on MQTT, id ``<format>:<device>[:<channel>]``."""

    __tablename__ = "sensors"

    id: so.Mapped[str] = so.mapped_column(sa.String(300), primary_key=True)
    format: so.Mapped[str] = so.mapped_column(sa.String(20))
    device: so.Mapped[str] = so.mapped_column(sa.String(250))
    fridge_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("fridges.id"), index=True)
    role: so.Mapped[str | None] = so.mapped_column(sa.String(10))
    first_seen_at: so.Mapped[UTC | None]
    last_seen_at: so.Mapped[UTC | None]
    last_measured_at: so.Mapped[UTC | None]
    # The stored reading at last_measured_at, kept beside it (store.sensors.reading_at_last): a dashboard of
    # thousands of fridges reads each sensor's value with the sensor, not by one lookup into readings each.
    last_temperature_c: so.Mapped[float | None]
    battery_pct: so.Mapped[float | None]
    battery_at: so.Mapped[UTC | None]
    online: so.Mapped[bool | None]
    online_changed_at: so.Mapped[UTC | None]
    calibration_certificate: so.Mapped[str | None] = so.mapped_column(sa.String(100))
    calibration_due: so.Mapped[date | None]
    created_at: so.Mapped[UTC]
    # Retired by an admin (e.g. an id a broken or hostile publisher invented): no longer counted
    # against [ingest] max_unassigned_sensors, nor listed as waiting for one. Its readings stay.
    retired_at: so.Mapped[UTC | None]

    __table_args__ = (sa.Index("ix_sensors_format_device", "format", "device"),)


class SensorAssignment(Base):
    """Which fridge a sensor was in, and when: readings belong to a fridge by time.

    ``since`` is NULL for a sensor's first assignment (it covers everything the
    sensor measured before, e.g. a buffer uploaded late); ``until`` is NULL
    while the assignment holds.
    """

    __tablename__ = "sensor_assignments"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    sensor_id: so.Mapped[str] = so.mapped_column(sa.ForeignKey("sensors.id"), index=True)
    fridge_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("fridges.id"), index=True)
    role: so.Mapped[str] = so.mapped_column(sa.String(10))
    since: so.Mapped[UTC | None]
    until: so.Mapped[UTC | None]
    created_at: so.Mapped[UTC]


class Reading(Base):
    """One stored temperature: unique per sensor and measured time.

    The database refuses UPDATE and DELETE on this table (triggers). On PostgreSQL the table is partitioned
    by UTC month of ``measured_at`` (migration 0025, :mod:`fridge_monitor.store.partitions`), so its primary
    key there is (id, measured_at); ids still come from one sequence, and nothing refers to them.
    """

    __tablename__ = "readings"

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    sensor_id: so.Mapped[str] = so.mapped_column(sa.ForeignKey("sensors.id"))
    measured_at: so.Mapped[UTC] = so.mapped_column(index=True)
    received_at: so.Mapped[UTC]
    temperature_c: so.Mapped[float]

    __table_args__ = (sa.UniqueConstraint("sensor_id", "measured_at"),)


class ChannelReading(Base):
    """One value of a fridge's other channels: a door contact, a smart plug's power or switch, humidity.

    ``channel`` is ``door`` (1 open, 0 closed), ``power`` (W), ``switch`` (1 on, 0 off) or ``humidity``
    (% RH): typed apart from the temperatures, which stay in :class:`Reading` in °C. Unique per sensor,
    channel and measured time (a message delivered twice is stored once). The database refuses UPDATE
    and DELETE on this table (triggers).
    """

    __tablename__ = "channel_readings"

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    sensor_id: so.Mapped[str] = so.mapped_column(sa.ForeignKey("sensors.id"))
    channel: so.Mapped[str] = so.mapped_column(sa.String(10))
    measured_at: so.Mapped[UTC] = so.mapped_column(index=True)
    received_at: so.Mapped[UTC]
    value: so.Mapped[float]

    __table_args__ = (sa.UniqueConstraint("sensor_id", "channel", "measured_at"),)


class RejectedMessage(Base):
    """An MQTT message (or part of one) that could not be accepted, kept as evidence.

    The database refuses UPDATE and DELETE on this table (triggers).
    """

    __tablename__ = "rejected_messages"

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    received_at: so.Mapped[UTC] = so.mapped_column(index=True)
    topic: so.Mapped[str] = so.mapped_column(sa.Text)
    format: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    sensor_id: so.Mapped[str | None] = so.mapped_column(sa.String(300))
    reason: so.Mapped[str] = so.mapped_column(sa.Text)
    payload: so.Mapped[bytes] = so.mapped_column(sa.LargeBinary)
    payload_size: so.Mapped[int]


class IgnoredMessageCount(Base):
    """How many MQTT messages of a format carried nothing to record (an ESPHome power state, a
    humidity-only update), with the last one's topic and why: counted for /metrics, not kept."""

    __tablename__ = "ignored_message_counts"

    fmt: so.Mapped[str] = so.mapped_column(sa.String(20), primary_key=True)
    count: so.Mapped[int] = so.mapped_column(sa.BigInteger)
    last_at: so.Mapped[UTC]
    last_topic: so.Mapped[str] = so.mapped_column(sa.Text)
    last_reason: so.Mapped[str] = so.mapped_column(sa.Text)


class HourlyRollup(Base):
    """One sensor's readings in one UTC hour (:mod:`fridge_monitor.core.rollups`): min, max, sum and count of
    the readings taken in it, for long-range charts; and the *held* figures, for period statistics.

    Derived data. Ingest recomputes the taken figures from the hour's readings
    whenever a batch touches it, so late and duplicate readings leave them
    exact; and it marks the held figures stale (``held_s`` NULL, ``revision``
    moved on) in this hour and in the neighbouring hours whose steps a reading
    may change. The scheduler recomputes stale hours (:mod:`fridge_monitor.store.rollups`),
    writing only where ``revision`` has not moved meanwhile; readers use the
    held figures of hours that are not stale, and raw readings elsewhere.
    """

    __tablename__ = "hourly_rollups"
    __table_args__ = (
        sa.Index("ix_hourly_rollups_stale", "sensor_id", "hour", sqlite_where=sa.text("held_s IS NULL"),
                 postgresql_where=sa.text("held_s IS NULL")),
    )

    sensor_id: so.Mapped[str] = so.mapped_column(sa.ForeignKey("sensors.id"), primary_key=True)
    hour: so.Mapped[UTC] = so.mapped_column(primary_key=True)
    min_c: so.Mapped[float]
    max_c: so.Mapped[float]
    sum_c: so.Mapped[float]
    count: so.Mapped[int]
    held_s: so.Mapped[float | None]
    held_c_s: so.Mapped[float | None]
    arrhenius_s: so.Mapped[float | None]
    held_min_c: so.Mapped[float | None]
    held_min_at: so.Mapped[UTC | None]
    held_max_c: so.Mapped[float | None]
    held_max_at: so.Mapped[UTC | None]
    longest_step_s: so.Mapped[float | None]
    revision: so.Mapped[int] = so.mapped_column(server_default="0")


class User(Base):
    """A person who signs in. Never deleted (history keeps their name); disabled instead."""

    __tablename__ = "users"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(100), unique=True)
    # names.name_key(name), kept by the validator below: unique, so ``Admin`` cannot sit beside ``admin``
    # even when two admins create them at the same moment. NFKC can lengthen a name, hence the width.
    name_key: so.Mapped[str] = so.mapped_column(sa.String(400), unique=True)
    role: so.Mapped[str] = so.mapped_column(sa.String(10))
    # The person's printed name, as a signature shows it (21 CFR 11.50); None until an admin records it.
    full_name: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    password_hash: so.Mapped[str | None] = so.mapped_column(sa.String(255))
    display_unit: so.Mapped[str] = so.mapped_column(sa.String(1), default="C")
    failed_logins: so.Mapped[int] = so.mapped_column(default=0)
    locked_until: so.Mapped[UTC | None]
    disabled_at: so.Mapped[UTC | None]
    created_at: so.Mapped[UTC]
    # Copied into the session cookie at sign-in and compared on every request; raising it (sign-out,
    # password reset, disabling) ends every session the user has, copied cookies included.
    session_version: so.Mapped[int] = so.mapped_column(default=0, server_default="0")

    @so.validates("name")
    def _keep_name_key(self, _key: str, name: str) -> str:
        self.name_key = names.name_key(name)
        return name


class UserSite(Base):
    """A site a user works at. A nurse, supervisor or auditor with none is not limited to sites (a one-site
    clinic never lists them); with some, they see and change only those sites' fridges, lots, alerts and
    exports. Admins are never limited."""

    __tablename__ = "user_sites"

    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    site_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("sites.id"), primary_key=True, index=True)


class ApiToken(Base):
    """A bearer token for the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    created_at: so.Mapped[UTC]
    last_used_at: so.Mapped[UTC | None]
    revoked_at: so.Mapped[UTC | None]
    expires_at: so.Mapped[UTC | None]  # None: valid until revoked


class AuditEvent(Base):
    """One entry of the append-only, hash-chained audit trail (21 CFR 11.10(e)).

    The database refuses UPDATE and DELETE on this table (triggers).
    """

    __tablename__ = "audit_events"
    # The audit page filters by who, by record type and by time, newest first.
    __table_args__ = (
        sa.Index("ix_audit_events_actor", "actor", "id"),
        sa.Index("ix_audit_events_record_type", "record_type", "id"),
        sa.Index("ix_audit_events_at", "at"),
    )

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    at: so.Mapped[UTC]
    actor: so.Mapped[str] = so.mapped_column(sa.String(100))
    action: so.Mapped[str] = so.mapped_column(sa.String(30))
    record_type: so.Mapped[str] = so.mapped_column(sa.String(50))
    record_id: so.Mapped[str] = so.mapped_column(sa.String(300))
    field: so.Mapped[str | None] = so.mapped_column(sa.String(100))
    old_value: so.Mapped[str | None] = so.mapped_column(sa.Text)
    new_value: so.Mapped[str | None] = so.mapped_column(sa.Text)
    reason: so.Mapped[str | None] = so.mapped_column(sa.Text)
    # Unique: two events can never claim the same predecessor, so the chain cannot fork.
    prev_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)


class Setting(Base):
    """Values the application keeps for itself, e.g. the session signing key shared by web processes."""

    __tablename__ = "settings"

    key: so.Mapped[str] = so.mapped_column(sa.String(100), primary_key=True)
    value: so.Mapped[str] = so.mapped_column(sa.Text)


class Excursion(Base):
    """One episode of a fridge's storage going wrong: out of its range, or beyond an alarm rule.

    Derived data, like the rollups: re-evaluation from the readings updates it
    (a late reading can move its start, end or peak), so the same readings
    always give the same records. ``rule`` is ``out-of-range`` for the range
    itself, else the alarm rule's name (``heat``, ``freeze``, ...).
    """

    __tablename__ = "excursions"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    fridge_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("fridges.id"), index=True)
    rule: so.Mapped[str] = so.mapped_column(sa.String(100))
    severity: so.Mapped[str] = so.mapped_column(sa.String(10))
    started_at: so.Mapped[UTC]
    ended_at: so.Mapped[UTC | None]
    alarm_at: so.Mapped[UTC | None]
    peak_c: so.Mapped[float]
    low_c: so.Mapped[float]
    mkt_c: so.Mapped[float | None]
    time_beyond_s: so.Mapped[float]
    # Of the duration, how much fell in holes in the data (counted as beyond: missing data is not recovery).
    unknown_s: so.Mapped[float] = so.mapped_column(default=0.0, server_default="0")
    readings_count: so.Mapped[int]
    updated_at: so.Mapped[UTC]

    __table_args__ = (sa.Index("ix_excursions_fridge_started", "fridge_id", "started_at"),)


class Alert(Base):
    """Something staff must know and answer: one per episode of a condition.

    ``state`` is ``open`` until acknowledged, ``acknowledged`` while the
    condition lasts, ``resolved`` once it has ended (an alert that resolved
    by itself still needs ``acknowledged_at``). ``subject`` tells episodes of
    the same kind apart: the sensor for sensor checks, else empty.
    """

    __tablename__ = "alerts"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    fridge_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("fridges.id"), index=True)
    kind: so.Mapped[str] = so.mapped_column(sa.String(30))
    rule: so.Mapped[str] = so.mapped_column(sa.String(100))
    subject: so.Mapped[str] = so.mapped_column(sa.String(300), default="")
    severity: so.Mapped[str] = so.mapped_column(sa.String(10))
    state: so.Mapped[str] = so.mapped_column(sa.String(20), index=True)
    excursion_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("excursions.id"))
    title: so.Mapped[str] = so.mapped_column(sa.String(300))
    detail: so.Mapped[str] = so.mapped_column(sa.Text)
    started_at: so.Mapped[UTC]
    ended_at: so.Mapped[UTC | None]
    peak_c: so.Mapped[float | None]
    low_c: so.Mapped[float | None]
    created_at: so.Mapped[UTC]
    updated_at: so.Mapped[UTC]
    acknowledged_by: so.Mapped[str | None] = so.mapped_column(sa.String(100))
    acknowledged_at: so.Mapped[UTC | None]
    action: so.Mapped[str | None] = so.mapped_column(sa.Text)
    # A no-data alert that is part of a site or gateway outage: the outage's alert, which is the one notified.
    group_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("alerts.id"), index=True)

    __table_args__ = (sa.Index("ix_alerts_fridge_kind_started", "fridge_id", "kind", "started_at"),)


class Notification(Base):
    """One planned or attempted delivery of an alert on one channel: the delivery log and its outbox.

    A row is due at ``due_at``; a sender claims it (``claimed_until``) so that
    two processes never send it both; ``sent_at``/``ok``/``detail`` record the
    attempt. A failed attempt is followed by a new row with the next
    ``attempt`` number.
    """

    __tablename__ = "notifications"

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    alert_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("alerts.id"), index=True)
    channel: so.Mapped[str] = so.mapped_column(sa.String(100))
    channel_type: so.Mapped[str] = so.mapped_column(sa.String(20))
    tier: so.Mapped[int]
    event: so.Mapped[str] = so.mapped_column(sa.String(20))
    sequence: so.Mapped[int] = so.mapped_column(default=0)
    attempt: so.Mapped[int] = so.mapped_column(default=1)
    due_at: so.Mapped[UTC] = so.mapped_column(index=True)
    claimed_until: so.Mapped[UTC | None]
    sent_at: so.Mapped[UTC | None]
    ok: so.Mapped[bool | None]
    detail: so.Mapped[str | None] = so.mapped_column(sa.Text)

    __table_args__ = (sa.UniqueConstraint("alert_id", "channel", "event", "sequence", "attempt"),)


class FridgeEvaluation(Base):
    """Which fridges have readings the rules have not judged yet, and from when.

    Ingest marks a fridge in the same transaction as its readings, so a crash
    between storing and judging leaves the mark for the next evaluation.
    """

    __tablename__ = "fridge_evaluations"

    fridge_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("fridges.id"), primary_key=True)
    dirty_since: so.Mapped[UTC | None]
    # From when the daily time out of range needs recomputing (left to the scheduler: not urgent).
    days_since: so.Mapped[UTC | None]
    evaluated_at: so.Mapped[UTC | None]


class FridgeDay(Base):
    """Per fridge and site-local day (23 or 25 hours on DST days): known time out of range, alarm or not."""

    __tablename__ = "fridge_days"

    fridge_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("fridges.id"), primary_key=True)
    day: so.Mapped[date] = so.mapped_column(primary_key=True)
    out_of_range_s: so.Mapped[float]
    updated_at: so.Mapped[UTC]


class SchedulerLease(Base):
    """The lock that keeps one scheduler active: held while renewed before ``expires_at``."""

    __tablename__ = "scheduler_leases"

    name: so.Mapped[str] = so.mapped_column(sa.String(50), primary_key=True)
    holder: so.Mapped[str] = so.mapped_column(sa.String(200))
    acquired_at: so.Mapped[UTC]
    expires_at: so.Mapped[UTC]


class StoredAlarmProfile(Base):
    """A custom alarm profile made in the admin pages; ``definition`` is JSON shaped like ``[[alarm_profiles]]``."""

    __tablename__ = "alarm_profiles"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(100), unique=True)
    definition: so.Mapped[str] = so.mapped_column(sa.Text)
    created_at: so.Mapped[UTC]
    updated_at: so.Mapped[UTC]


# -- inventory: products, lots, the stock ledger, lot reviews ------------------------------------


class Product(Base):
    """A medicine as the clinic stocks it, and how it must be kept (see :mod:`fridge_monitor.core.products`).

    ``catalogue_key`` marks a row seeded from the built-in catalogue; a later
    catalogue update changes such a row only while ``edited_at`` is NULL, so an
    admin's edit is never overwritten. Never deleted (lots refer to it); retired instead.
    """

    __tablename__ = "products"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(200), unique=True)
    form: so.Mapped[str] = so.mapped_column(sa.String(200))
    unit: so.Mapped[str] = so.mapped_column(sa.String(30))
    freezing_allowed: so.Mapped[bool]
    protect_from_light: so.Mapped[bool]
    beyond_use_hours: so.Mapped[float | None]
    opened_low_c: so.Mapped[float | None]
    opened_high_c: so.Mapped[float | None]
    # USP <659>-style permitted excursions: within [excursion_low_c, excursion_high_c] while the lot's MKT
    # stays at or below excursion_mkt_max_c (e.g. controlled room temperature: 15..30 °C, MKT <= 25 °C).
    excursion_low_c: so.Mapped[float | None]
    excursion_high_c: so.Mapped[float | None]
    excursion_mkt_max_c: so.Mapped[float | None]
    notes: so.Mapped[str | None] = so.mapped_column(sa.Text)
    catalogue_key: so.Mapped[str | None] = so.mapped_column(sa.String(50), unique=True)
    created_at: so.Mapped[UTC]
    edited_at: so.Mapped[UTC | None]
    edited_by: so.Mapped[str | None] = so.mapped_column(sa.String(100))
    retired_at: so.Mapped[UTC | None]

    ranges: so.Mapped[list[ProductRange]] = so.relationship(
        back_populates="product", order_by="ProductRange.id", cascade="all, delete-orphan")
    gtins: so.Mapped[list[ProductGtin]] = so.relationship(back_populates="product", order_by="ProductGtin.gtin")


class ProductRange(Base):
    """One allowed storage range of a product, bounds included; a product may have several."""

    __tablename__ = "product_ranges"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    product_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("products.id"), index=True)
    low_c: so.Mapped[float]
    high_c: so.Mapped[float]

    product: so.Mapped[Product] = so.relationship(back_populates="ranges")

    __table_args__ = (sa.CheckConstraint("low_c <= high_c", name="low_not_above_high"),)


class ProductGtin(Base):
    """A GTIN-14 linked to its product, once, by a person (audited)."""

    __tablename__ = "product_gtins"

    gtin: so.Mapped[str] = so.mapped_column(sa.String(14), primary_key=True)
    product_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("products.id"), index=True)
    linked_at: so.Mapped[UTC]
    linked_by: so.Mapped[str] = so.mapped_column(sa.String(100))

    product: so.Mapped[Product] = so.relationship(back_populates="gtins")


class Lot(Base):
    """A manufacturer's lot of a product: one lot number, one expiry date."""

    __tablename__ = "lots"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    product_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("products.id"))
    lot_number: so.Mapped[str] = so.mapped_column(sa.String(50))
    expiry: so.Mapped[date] = so.mapped_column(index=True)
    gtin: so.Mapped[str | None] = so.mapped_column(sa.String(14))
    created_at: so.Mapped[UTC]
    created_by: so.Mapped[str] = so.mapped_column(sa.String(100))
    # Who paid for it: "public" (a programme's stock, e.g. VFC) or "private"; None until someone says.
    funding: so.Mapped[str | None] = so.mapped_column(sa.String(10))

    product: so.Mapped[Product] = so.relationship()

    __table_args__ = (sa.UniqueConstraint("product_id", "lot_number"),)


class StockMovement(Base):
    """One stock change as staff made it — who, when, what, why. Append-only (database triggers).

    ``kind`` is ``receive``, ``use``, ``transfer``, ``reconstitute``, ``discard``
    or ``correct``; ``quantity`` is how many units it moved (its
    :class:`StockEntry` rows carry the signed changes per fridge). A count
    correction stores what was ``counted``, and may point at the movement it
    corrects; it never edits an old one.
    """

    __tablename__ = "stock_movements"

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    kind: so.Mapped[str] = so.mapped_column(sa.String(20))
    lot_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("lots.id"), index=True)
    quantity: so.Mapped[int]
    at: so.Mapped[UTC] = so.mapped_column(index=True)
    actor: so.Mapped[str] = so.mapped_column(sa.String(100))
    reason_code: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    reason: so.Mapped[str | None] = so.mapped_column(sa.Text)
    counted: so.Mapped[int | None]
    corrects_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("stock_movements.id"))

    entries: so.Mapped[list[StockEntry]] = so.relationship(back_populates="movement", order_by="StockEntry.id")
    opened_vial: so.Mapped[OpenedVial | None] = so.relationship(viewonly=True)
    lot: so.Mapped[Lot] = so.relationship(viewonly=True)

    __table_args__ = (
        sa.CheckConstraint("kind IN ('receive', 'use', 'transfer', 'reconstitute', 'discard', 'correct')",
                           name="kind"),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
    )


class OpenedVial(Base):
    """Vials of a lot reconstituted or opened together: usable until ``beyond_use_at`` (fixed when opened)."""

    __tablename__ = "opened_vials"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    lot_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("lots.id"), index=True)
    movement_id: so.Mapped[int] = so.mapped_column(BigId, sa.ForeignKey("stock_movements.id"), unique=True)
    opened_at: so.Mapped[UTC]
    opened_by: so.Mapped[str] = so.mapped_column(sa.String(100))
    beyond_use_at: so.Mapped[UTC | None]


class StockEntry(Base):
    """A signed change of one lot's units in one fridge, sealed or of one opened vial group; the
    quantity held is the sum of these (append-only)."""

    __tablename__ = "stock_entries"

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    movement_id: so.Mapped[int] = so.mapped_column(BigId, sa.ForeignKey("stock_movements.id"), index=True)
    lot_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("lots.id"))
    fridge_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("fridges.id"), index=True)
    opened_vial_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("opened_vials.id"))
    delta: so.Mapped[int]

    movement: so.Mapped[StockMovement] = so.relationship(back_populates="entries")

    __table_args__ = (
        sa.Index("ix_stock_entries_lot_fridge", "lot_id", "fridge_id"),
        sa.CheckConstraint("delta <> 0", name="delta_not_zero"),
    )


class LotSerial(Base):
    """A pack serial number (AI 21) received into a lot: scanning the same pack twice is refused."""

    __tablename__ = "lot_serials"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    lot_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("lots.id"))
    serial: so.Mapped[str] = so.mapped_column(sa.String(50))
    movement_id: so.Mapped[int] = so.mapped_column(BigId, sa.ForeignKey("stock_movements.id"), index=True)

    __table_args__ = (sa.UniqueConstraint("lot_id", "serial"),)


class LotReview(Base):
    """A lot put under review (quarantine) because it was in ``fridge_id`` during an exposure.

    One per lot and excursion episode (unique ``lot_id`` + ``excursion_id``), so
    writing it again updates the exposure figures instead of adding a review.
    The exposure is derived data — time out of the product's range, peak, low
    and MKT over ``started_at``..``ended_at`` (NULL while ongoing) — and may be
    refreshed; the decision lives apart, in :class:`LotDisposition`.
    ``excursion_id`` is NULL for a review opened by hand.
    """

    __tablename__ = "lot_reviews"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    lot_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("lots.id"))
    fridge_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("fridges.id"), index=True)
    excursion_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("excursions.id"), index=True)
    started_at: so.Mapped[UTC]
    ended_at: so.Mapped[UTC | None]
    exposure_s: so.Mapped[float]
    peak_c: so.Mapped[float | None]
    low_c: so.Mapped[float | None]
    mkt_c: so.Mapped[float | None]
    reason: so.Mapped[str] = so.mapped_column(sa.Text)
    created_at: so.Mapped[UTC]
    created_by: so.Mapped[str] = so.mapped_column(sa.String(100))
    updated_at: so.Mapped[UTC]

    __table_args__ = (
        sa.UniqueConstraint("lot_id", "excursion_id"),
        sa.Index("ix_lot_reviews_lot_fridge_started", "lot_id", "fridge_id", "started_at"),
    )


class LotDisposition(Base):
    """The answer to a review: ``released`` (with the manufacturer's ``reference``) or ``discarded``.

    Append-only (database triggers): a wrong disposition is followed by a new one
    that ``supersedes`` it; the newest of a review is its current decision.
    """

    __tablename__ = "lot_dispositions"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    review_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("lot_reviews.id"), index=True)
    decision: so.Mapped[str] = so.mapped_column(sa.String(10))
    reference: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    note: so.Mapped[str | None] = so.mapped_column(sa.Text)
    decided_at: so.Mapped[UTC]
    decided_by: so.Mapped[str] = so.mapped_column(sa.String(100))
    supersedes_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("lot_dispositions.id"))

    __table_args__ = (
        sa.CheckConstraint("decision IN ('released', 'discarded')", name="decision"),
        sa.CheckConstraint("decision <> 'released' OR reference IS NOT NULL", name="release_has_reference"),
    )


class ExportJob(Base):
    """An export bundle asked for in the web pages: made in the background, downloaded when done.

    ``state`` is ``queued``, ``running``, ``done`` or ``failed``; ``progress``
    (0..1) and ``step`` say how far it is. The file lies in ``[exports] dir``
    under ``file_name``; its SHA-256 is kept to notice a file changed on disk.
    """

    __tablename__ = "export_jobs"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    requested_by: so.Mapped[str] = so.mapped_column(sa.String(100), index=True)
    requested_at: so.Mapped[UTC]
    period_from: so.Mapped[UTC]
    period_to: so.Mapped[UTC]
    fridges: so.Mapped[str | None] = so.mapped_column(sa.Text)  # JSON list of names; NULL: every fridge
    state: so.Mapped[str] = so.mapped_column(sa.String(10))
    progress: so.Mapped[float] = so.mapped_column(default=0.0)
    step: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    updated_at: so.Mapped[UTC]
    finished_at: so.Mapped[UTC | None]
    file_name: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    bytes: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    sha256: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    error: so.Mapped[str | None] = so.mapped_column(sa.Text)

    __table_args__ = (sa.CheckConstraint("state IN ('queued', 'running', 'done', 'failed')", name="state"),)


class DiscoveredEntity(Base):
    """An entity a device announced by Home Assistant discovery (ESPHome): what its state topic measures.

    Kept so that every ingest process (and a restarted one) knows which plain-number
    states are temperatures, and in which unit, without waiting for the retained config again.
    """

    __tablename__ = "discovered_entities"

    state_topic: so.Mapped[str] = so.mapped_column(sa.String(300), primary_key=True)
    fmt: so.Mapped[str] = so.mapped_column(sa.String(20))
    node: so.Mapped[str] = so.mapped_column(sa.String(200))
    entity: so.Mapped[str] = so.mapped_column(sa.String(200))
    device_class: so.Mapped[str | None] = so.mapped_column(sa.String(50))
    unit: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    config_topic: so.Mapped[str] = so.mapped_column(sa.String(300))
    updated_at: so.Mapped[UTC]


class IngestHeartbeat(Base):
    """One ingest process's heartbeat: alive at ``beat_at``; everything the broker held for it at
    ``caught_up_at`` is stored (a backlog still being drained is not silence); it last committed at
    ``stored_at``; its ``[ingest] heartbeat_s`` and ``max_drain_s``. See :mod:`fridge_monitor.core.heartbeat`."""

    __tablename__ = "ingest_heartbeats"

    client_id: so.Mapped[str] = so.mapped_column(sa.String(200), primary_key=True)
    started_at: so.Mapped[UTC]
    beat_at: so.Mapped[UTC]
    connected: so.Mapped[bool]
    backlog: so.Mapped[int]
    caught_up_at: so.Mapped[UTC | None]
    stored_at: so.Mapped[UTC]
    interval_s: so.Mapped[float]
    max_drain_s: so.Mapped[float]


class LoggerFile(Base):
    """A file downloaded from a stand-alone data logger (Fridge-tag, Q-tag, LogTag, CSV), kept unaltered.

    One row per distinct file (its SHA-256): importing the same file again finds
    it here and adds nothing (each import is an audit event all the same).
    ``sensor_id`` is the logger (``<format>:<serial>``), ``fridge_id`` the fridge
    it was imported into; ``new_readings`` counts the readings it added that
    were not stored before. The database refuses UPDATE and DELETE on this table.
    """

    __tablename__ = "logger_files"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    sha256: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    file_name: so.Mapped[str] = so.mapped_column(sa.String(255))
    size: so.Mapped[int] = so.mapped_column(sa.BigInteger)
    content: so.Mapped[bytes] = so.mapped_column(sa.LargeBinary)
    format: so.Mapped[str] = so.mapped_column(sa.String(20))
    model: so.Mapped[str] = so.mapped_column(sa.String(200))
    sensor_id: so.Mapped[str] = so.mapped_column(sa.ForeignKey("sensors.id"), index=True)
    fridge_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("fridges.id"), index=True)
    timezone: so.Mapped[str] = so.mapped_column(sa.String(64))
    first_at: so.Mapped[UTC | None]
    last_at: so.Mapped[UTC | None]
    data_rows: so.Mapped[int]
    new_readings: so.Mapped[int]
    days: so.Mapped[int]
    signature: so.Mapped[str | None] = so.mapped_column(sa.Text)
    notes: so.Mapped[str] = so.mapped_column(sa.Text)
    imported_at: so.Mapped[UTC]
    imported_by: so.Mapped[str] = so.mapped_column(sa.String(100))


class DeviceDay(Base):
    """A logger's own summary of one of its local days (a Fridge-tag ``Hist`` entry), as the device computed it.

    ``alarms`` is a JSON list, one object per configured alarm: its number,
    direction, limit and delay, and the minutes it accumulated that day (with
    the first time and the count). A later download may summarise a day again
    (it was not over at the earlier one): the row of the newest file is the
    day's. The database refuses UPDATE and DELETE on this table.
    """

    __tablename__ = "device_days"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    sensor_id: so.Mapped[str] = so.mapped_column(sa.ForeignKey("sensors.id"))
    file_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("logger_files.id"), index=True)
    day: so.Mapped[date]
    # Whether the day was over when the device wrote the report, and when the summary ends (UTC): the end of the
    # local day, or the report's time.
    complete: so.Mapped[bool]
    ends_at: so.Mapped[UTC]
    min_c: so.Mapped[float | None]
    min_at: so.Mapped[UTC | None]
    max_c: so.Mapped[float | None]
    max_at: so.Mapped[UTC | None]
    mean_c: so.Mapped[float | None]
    alarms: so.Mapped[str] = so.mapped_column(sa.Text)
    events: so.Mapped[int | None]

    __table_args__ = (sa.UniqueConstraint("sensor_id", "day", "file_id"),)


class Signature(Base):
    """An electronic signature (21 CFR 11.50, 11.70) of one record (see :mod:`fridge_monitor.core.signatures`).

    ``record_hash`` binds it to the record's content at signing; its audit event
    records it whole. The database refuses UPDATE and DELETE on this table.
    """

    __tablename__ = "signatures"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    record_type: so.Mapped[str] = so.mapped_column(sa.String(40))
    record_id: so.Mapped[str] = so.mapped_column(sa.String(100))
    record_hash: so.Mapped[str] = so.mapped_column(sa.String(64))
    meaning: so.Mapped[str] = so.mapped_column(sa.String(20))
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"))
    user_name: so.Mapped[str] = so.mapped_column(sa.String(100))
    full_name: so.Mapped[str] = so.mapped_column(sa.String(200))
    signed_at: so.Mapped[UTC]
    timezone: so.Mapped[str] = so.mapped_column(sa.String(64))

    __table_args__ = (sa.Index("ix_signatures_record", "record_type", "record_id"),)


class TemperatureCheck(Base):
    """A staff temperature check of one fridge (a signed record): what the unit's own display read, and the
    monitor's value at the time. ``day`` and ``slot`` name the site's check it answers (``slot`` empty: none).
    The database refuses UPDATE and DELETE on this table."""

    __tablename__ = "temperature_checks"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    fridge_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("fridges.id"))
    day: so.Mapped[date]
    slot: so.Mapped[str] = so.mapped_column(sa.String(5))
    checked_at: so.Mapped[UTC]
    checked_by: so.Mapped[str] = so.mapped_column(sa.String(100))
    current_c: so.Mapped[float | None]
    min_c: so.Mapped[float | None]
    max_c: so.Mapped[float | None]
    monitor_c: so.Mapped[float | None]
    comment: so.Mapped[str | None] = so.mapped_column(sa.Text)

    __table_args__ = (sa.Index("ix_temperature_checks_fridge_day", "fridge_id", "day"),)


class CalibrationCertificate(Base):
    """A certificate of calibration of one sensor, as the laboratory issued it (see
    :mod:`fridge_monitor.core.calibration`): its test points (JSON ``[[reference_c, measured_c], ...]``), its
    uncertainty and result, and the certificate's file kept unaltered with its SHA-256. A sensor keeps every
    certificate it had; the database refuses UPDATE and DELETE on this table."""

    __tablename__ = "calibration_certificates"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    sensor_id: so.Mapped[str] = so.mapped_column(sa.ForeignKey("sensors.id"), index=True)
    number: so.Mapped[str] = so.mapped_column(sa.String(100))
    laboratory: so.Mapped[str] = so.mapped_column(sa.String(200))
    accreditation_body: so.Mapped[str] = so.mapped_column(sa.String(100))
    accreditation_number: so.Mapped[str] = so.mapped_column(sa.String(100))
    calibrated_on: so.Mapped[date]
    due_on: so.Mapped[date]
    model: so.Mapped[str] = so.mapped_column(sa.String(200))
    serial: so.Mapped[str] = so.mapped_column(sa.String(100))
    points: so.Mapped[str] = so.mapped_column(sa.Text)
    uncertainty_c: so.Mapped[float]
    lab_result: so.Mapped[str] = so.mapped_column(sa.String(10))
    file_name: so.Mapped[str] = so.mapped_column(sa.String(255))
    file_type: so.Mapped[str] = so.mapped_column(sa.String(100))
    file_size: so.Mapped[int] = so.mapped_column(sa.BigInteger)
    file_sha256: so.Mapped[str] = so.mapped_column(sa.String(64))
    content: so.Mapped[bytes] = so.mapped_column(sa.LargeBinary)
    recorded_by: so.Mapped[str] = so.mapped_column(sa.String(100))
    recorded_at: so.Mapped[UTC]


class ExcursionRecord(Base):
    """One saved version of an excursion's troubleshooting record (the CDC Vaccine Storage Troubleshooting
    Record): what staff filled in, and the facts Fridge Monitor filled in from its records at that moment
    (``facts``, JSON). The newest version of an excursion is its record; ``complete`` once every required field is
    filled and it is signed, or confirmed by name where records are not signed. Append-only: a change is a new
    version."""

    __tablename__ = "excursion_records"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    excursion_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("excursions.id"), index=True)
    version: so.Mapped[int]
    found_at: so.Mapped[UTC | None]
    found_by: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    room_c: so.Mapped[float | None]
    found_c: so.Mapped[float | None]
    found_min_c: so.Mapped[float | None]
    found_max_c: so.Mapped[float | None]
    other_contents: so.Mapped[str | None] = so.mapped_column(sa.Text)
    earlier_problems: so.Mapped[str | None] = so.mapped_column(sa.Text)
    actions: so.Mapped[str | None] = so.mapped_column(sa.Text)
    contacted: so.Mapped[str | None] = so.mapped_column(sa.Text)
    case_number: so.Mapped[str | None] = so.mapped_column(sa.String(100))
    contact_answer: so.Mapped[str | None] = so.mapped_column(sa.Text)
    lots: so.Mapped[str] = so.mapped_column(sa.Text)  # JSON: [{"lot_id", "funding", "outcome"}]
    outcome: so.Mapped[str | None] = so.mapped_column(sa.Text)
    facts: so.Mapped[str] = so.mapped_column(sa.Text)
    complete: so.Mapped[bool]
    confirmed_by: so.Mapped[str | None] = so.mapped_column(sa.String(100))
    saved_by: so.Mapped[str] = so.mapped_column(sa.String(100))
    saved_at: so.Mapped[UTC]

    __table_args__ = (sa.UniqueConstraint("excursion_id", "version"),)


class MonthlyReview(Base):
    """A supervisor's review of one fridge-month (a signed record): the open items they saw, their comment, and
    the month's PDF log generated once at signing and kept unaltered with its SHA-256. ``starts_at`` and
    ``ends_at`` bound the site-local month in UTC. The database refuses UPDATE and DELETE on this table."""

    __tablename__ = "monthly_reviews"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    fridge_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("fridges.id"))
    month: so.Mapped[str] = so.mapped_column(sa.String(7))  # YYYY-MM
    starts_at: so.Mapped[UTC]
    ends_at: so.Mapped[UTC]
    comment: so.Mapped[str | None] = so.mapped_column(sa.Text)
    open_items: so.Mapped[str] = so.mapped_column(sa.Text)  # JSON list of sentences
    snapshot: so.Mapped[str] = so.mapped_column(sa.Text)  # JSON: what the log said, line by line (for addenda)
    pdf: so.Mapped[bytes] = so.mapped_column(sa.LargeBinary)
    pdf_sha256: so.Mapped[str] = so.mapped_column(sa.String(64))
    reviewed_by: so.Mapped[str] = so.mapped_column(sa.String(100))
    reviewed_at: so.Mapped[UTC]

    __table_args__ = (sa.UniqueConstraint("fridge_id", "month"),)
