"""Database tables as typed SQLAlchemy models.

The schema itself is built by the Alembic migrations in ``migrations/``;
these models must agree with them (``fridge-monitor db check``).
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Annotated, Any

import sqlalchemy as sa
import sqlalchemy.orm as so

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

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


UTC = Annotated[datetime, so.mapped_column(UTCDateTime())]
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class Base(so.DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)


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
    battery_pct: so.Mapped[float | None]
    battery_at: so.Mapped[UTC | None]
    online: so.Mapped[bool | None]
    online_changed_at: so.Mapped[UTC | None]
    calibration_certificate: so.Mapped[str | None] = so.mapped_column(sa.String(100))
    calibration_due: so.Mapped[date | None]
    created_at: so.Mapped[UTC]

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
    """One stored temperature: append-only, unique per sensor and measured time."""

    __tablename__ = "readings"

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    sensor_id: so.Mapped[str] = so.mapped_column(sa.ForeignKey("sensors.id"))
    measured_at: so.Mapped[UTC] = so.mapped_column(index=True)
    received_at: so.Mapped[UTC]
    temperature_c: so.Mapped[float]

    __table_args__ = (sa.UniqueConstraint("sensor_id", "measured_at"),)


class RejectedMessage(Base):
    """An MQTT message (or part of one) that could not be accepted, kept as evidence."""

    __tablename__ = "rejected_messages"

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    received_at: so.Mapped[UTC] = so.mapped_column(index=True)
    topic: so.Mapped[str] = so.mapped_column(sa.Text)
    format: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    sensor_id: so.Mapped[str | None] = so.mapped_column(sa.String(300))
    reason: so.Mapped[str] = so.mapped_column(sa.Text)
    payload: so.Mapped[bytes] = so.mapped_column(sa.LargeBinary)
    payload_size: so.Mapped[int]


class HourlyRollup(Base):
    """Min, max, sum and count of one sensor's readings in one UTC hour, for long-range charts.

    Derived data: recomputed from the readings of that hour whenever a batch
    touches it, so late and duplicate readings leave it exact.
    """

    __tablename__ = "hourly_rollups"

    sensor_id: so.Mapped[str] = so.mapped_column(sa.ForeignKey("sensors.id"), primary_key=True)
    hour: so.Mapped[UTC] = so.mapped_column(primary_key=True)
    min_c: so.Mapped[float]
    max_c: so.Mapped[float]
    sum_c: so.Mapped[float]
    count: so.Mapped[int]


class User(Base):
    """A person who signs in. Never deleted (history keeps their name); disabled instead."""

    __tablename__ = "users"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(100), unique=True)
    role: so.Mapped[str] = so.mapped_column(sa.String(10))
    password_hash: so.Mapped[str | None] = so.mapped_column(sa.String(255))
    display_unit: so.Mapped[str] = so.mapped_column(sa.String(1), default="C")
    failed_logins: so.Mapped[int] = so.mapped_column(default=0)
    locked_until: so.Mapped[UTC | None]
    disabled_at: so.Mapped[UTC | None]
    created_at: so.Mapped[UTC]


class ApiToken(Base):
    """A bearer token for the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    created_at: so.Mapped[UTC]
    last_used_at: so.Mapped[UTC | None]
    revoked_at: so.Mapped[UTC | None]


class AuditEvent(Base):
    """One entry of the append-only, hash-chained audit trail (21 CFR 11.10(e)).

    The database refuses UPDATE and DELETE on this table (triggers).
    """

    __tablename__ = "audit_events"

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
