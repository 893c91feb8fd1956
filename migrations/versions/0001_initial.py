"""sites, fridges, sensors, readings, rejected messages

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

import fridge_monitor.store.models

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('rejected_messages',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('received_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('topic', sa.Text(), nullable=False),
    sa.Column('format', sa.String(length=20), nullable=True),
    sa.Column('sensor_id', sa.String(length=300), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('payload', sa.LargeBinary(), nullable=False),
    sa.Column('payload_size', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rejected_messages'))
    )
    with op.batch_alter_table('rejected_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rejected_messages_received_at'), ['received_at'], unique=False)

    op.create_table('sites',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('created_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sites')),
    sa.UniqueConstraint('name', name=op.f('uq_sites_name'))
    )
    op.create_table('fridges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('low_c', sa.Double(), nullable=False),
    sa.Column('high_c', sa.Double(), nullable=False),
    sa.Column('alarm_profile', sa.String(length=100), nullable=False),
    sa.Column('created_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('retired_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_fridges_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fridges')),
    sa.UniqueConstraint('name', name=op.f('uq_fridges_name'))
    )
    with op.batch_alter_table('fridges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fridges_site_id'), ['site_id'], unique=False)

    op.create_table('sensors',
    sa.Column('id', sa.String(length=300), nullable=False),
    sa.Column('format', sa.String(length=20), nullable=False),
    sa.Column('device', sa.String(length=250), nullable=False),
    sa.Column('fridge_id', sa.Integer(), nullable=True),
    sa.Column('role', sa.String(length=10), nullable=True),
    sa.Column('first_seen_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_seen_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_measured_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('battery_pct', sa.Double(), nullable=True),
    sa.Column('battery_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('online', sa.Boolean(), nullable=True),
    sa.Column('online_changed_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['fridge_id'], ['fridges.id'], name=op.f('fk_sensors_fridge_id_fridges')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sensors'))
    )
    with op.batch_alter_table('sensors', schema=None) as batch_op:
        batch_op.create_index('ix_sensors_format_device', ['format', 'device'], unique=False)
        batch_op.create_index(batch_op.f('ix_sensors_fridge_id'), ['fridge_id'], unique=False)

    op.create_table('readings',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('sensor_id', sa.String(length=300), nullable=False),
    sa.Column('measured_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('received_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('temperature_c', sa.Double(), nullable=False),
    sa.ForeignKeyConstraint(['sensor_id'], ['sensors.id'], name=op.f('fk_readings_sensor_id_sensors')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_readings')),
    sa.UniqueConstraint('sensor_id', 'measured_at', name=op.f('uq_readings_sensor_id_measured_at'))
    )
    with op.batch_alter_table('readings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_readings_measured_at'), ['measured_at'], unique=False)

    op.create_table('sensor_assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sensor_id', sa.String(length=300), nullable=False),
    sa.Column('fridge_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('since', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('until', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['fridge_id'], ['fridges.id'], name=op.f('fk_sensor_assignments_fridge_id_fridges')),
    sa.ForeignKeyConstraint(['sensor_id'], ['sensors.id'], name=op.f('fk_sensor_assignments_sensor_id_sensors')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sensor_assignments'))
    )
    with op.batch_alter_table('sensor_assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sensor_assignments_fridge_id'), ['fridge_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sensor_assignments_sensor_id'), ['sensor_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('sensor_assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sensor_assignments_sensor_id'))
        batch_op.drop_index(batch_op.f('ix_sensor_assignments_fridge_id'))

    op.drop_table('sensor_assignments')
    with op.batch_alter_table('readings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_readings_measured_at'))

    op.drop_table('readings')
    with op.batch_alter_table('sensors', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sensors_fridge_id'))
        batch_op.drop_index('ix_sensors_format_device')

    op.drop_table('sensors')
    with op.batch_alter_table('fridges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fridges_site_id'))

    op.drop_table('fridges')
    op.drop_table('sites')
    with op.batch_alter_table('rejected_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rejected_messages_received_at'))

    op.drop_table('rejected_messages')

