"""readings partitioned by UTC month on PostgreSQL (SQLite unchanged)

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06
"""

from datetime import UTC, datetime

from alembic import op

from fridge_monitor.store import partitions
from fridge_monitor.store.migrate import make_append_only

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None

# Years of readings stay cheap to keep and to archive when each UTC month has a table of its own
# (fridge_monitor/store/partitions.py). A partitioned table's primary key and unique constraints must
# include the partition key: the key becomes (id, measured_at); (sensor_id, measured_at), which every
# insert's ON CONFLICT names, already does. Nothing refers to readings.id.
# The existing table is renamed, the partitioned one made beside it under the same names, every row copied
# with its id, the counts compared, and the old table dropped: all in the upgrade's one transaction.

COLUMNS = "id, sensor_id, measured_at, received_at, temperature_c"
OLD = "readings_old"  # the table being replaced, for the length of the migration


def _create_readings(partitioned: bool) -> None:
    key = "id, measured_at" if partitioned else "id"
    op.execute(
        "CREATE TABLE readings ("
        "id BIGINT NOT NULL DEFAULT nextval('readings_id_seq'::regclass), "
        "sensor_id VARCHAR(300) NOT NULL, "
        "measured_at TIMESTAMP WITH TIME ZONE NOT NULL, "
        "received_at TIMESTAMP WITH TIME ZONE NOT NULL, "
        "temperature_c DOUBLE PRECISION NOT NULL, "
        f"CONSTRAINT pk_readings PRIMARY KEY ({key}), "
        "CONSTRAINT uq_readings_sensor_id_measured_at UNIQUE (sensor_id, measured_at), "
        "CONSTRAINT fk_readings_sensor_id_sensors FOREIGN KEY (sensor_id) REFERENCES sensors (id))"
        + (" PARTITION BY RANGE (measured_at)" if partitioned else ""))
    op.execute("CREATE INDEX ix_readings_measured_at ON readings (measured_at)")
    make_append_only(op, 'readings')


def _set_aside() -> None:
    """Rename ``readings`` and what carries its name, so that the new table can take them."""
    op.execute(f"ALTER TABLE readings RENAME TO {OLD}")
    op.execute(f"ALTER TABLE {OLD} RENAME CONSTRAINT pk_readings TO pk_{OLD}")
    op.execute(f"ALTER TABLE {OLD} RENAME CONSTRAINT uq_readings_sensor_id_measured_at "
               f"TO uq_{OLD}_sensor_id_measured_at")
    op.execute(f"ALTER TABLE {OLD} RENAME CONSTRAINT fk_readings_sensor_id_sensors TO fk_{OLD}_sensor_id_sensors")
    op.execute(f"ALTER INDEX ix_readings_measured_at RENAME TO ix_{OLD}_measured_at")


def _move_rows() -> None:
    """Every row into the new ``readings``, ids kept; the counts must agree before the old table goes."""
    op.execute(f"INSERT INTO readings ({COLUMNS}) SELECT {COLUMNS} FROM {OLD}")
    bind = op.get_bind()
    old, new = (bind.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one() for table in (OLD, "readings"))
    if old != new:
        raise RuntimeError(f"readings: {old} rows before, {new} after the copy; nothing was changed")
    # The sequence stays the one it was, and goes with the new table; ids keep counting from where they were.
    op.execute("ALTER SEQUENCE readings_id_seq OWNED BY readings.id")
    op.execute("SELECT setval('readings_id_seq', max(id)) FROM readings "
               "HAVING max(id) > (SELECT last_value FROM readings_id_seq)")
    op.execute(f"DROP TABLE {OLD}")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        return
    # The refusal names the table a person wrote to, ``readings``, not the partition the row is in.
    op.execute(
        "CREATE OR REPLACE FUNCTION evidence_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "DECLARE root oid := coalesce(pg_partition_root(TG_RELID), TG_RELID); "
        "BEGIN RAISE EXCEPTION '% rows are append-only: % refused', "
        "(SELECT relname FROM pg_class WHERE oid = root), TG_OP; END $$"
    )
    _set_aside()
    _create_readings(partitioned=True)
    months = {partitions.month_of(moment.replace(tzinfo=UTC)) for moment in bind.exec_driver_sql(
        f"SELECT DISTINCT date_trunc('month', measured_at AT TIME ZONE 'UTC') FROM {OLD}").scalars()}
    this_month = partitions.month_of(datetime.now(UTC))
    ahead = [partitions.add_months(this_month, k) for k in range(partitions.MONTHS_AHEAD + 1)]
    partitions.ensure_on(bind, sorted(months | set(ahead)))
    partitions.create_default(bind)
    _move_rows()


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        return
    # Archived months detached by `fridge-monitor archive --confirm` stay the tables they are.
    _set_aside()
    _create_readings(partitioned=False)
    _move_rows()  # the partitions go with the partitioned table
    op.execute(
        "CREATE OR REPLACE FUNCTION evidence_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION '% rows are append-only: % refused', TG_TABLE_NAME, TG_OP; END $$"
    )
