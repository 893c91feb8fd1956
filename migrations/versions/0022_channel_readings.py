"""channel readings: door contacts, smart plugs' power and switch, humidity (append-only)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from fridge_monitor.store.migrate import make_append_only
from fridge_monitor.store.models import UTCDateTime

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'channel_readings',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('sensor_id', sa.String(length=300), nullable=False),
        sa.Column('channel', sa.String(length=10), nullable=False),
        sa.Column('measured_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('received_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('value', sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(['sensor_id'], ['sensors.id'], name=op.f('fk_channel_readings_sensor_id_sensors')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_readings')),
        sa.UniqueConstraint('sensor_id', 'channel', 'measured_at',
                            name=op.f('uq_channel_readings_sensor_id_channel_measured_at')),
    )
    op.create_index(op.f('ix_channel_readings_measured_at'), 'channel_readings', ['measured_at'], unique=False)
    make_append_only(op, 'channel_readings')


def downgrade() -> None:
    op.drop_index(op.f('ix_channel_readings_measured_at'), table_name='channel_readings')
    op.drop_table('channel_readings')
