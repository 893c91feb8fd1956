"""sensors.last_temperature_c: the stored reading at last_measured_at, kept beside it

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('sensors') as batch:
        batch.add_column(sa.Column('last_temperature_c', sa.Double(), nullable=True))
    op.execute("UPDATE sensors SET last_temperature_c = (SELECT r.temperature_c FROM readings r "
               "WHERE r.sensor_id = sensors.id AND r.measured_at = sensors.last_measured_at) "
               "WHERE last_measured_at IS NOT NULL")


def downgrade() -> None:
    # Not a batch: SQLite would copy the table, which the sensors' foreign keys refuse while rows point at it.
    op.execute("ALTER TABLE sensors DROP COLUMN last_temperature_c")
