"""data-logger files kept unaltered, and the devices' own daily summaries (both append-only)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from fridge_monitor.store.migrate import make_append_only
from fridge_monitor.store.models import UTCDateTime

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

# Evidence, like readings (0009): the database refuses to change or remove a row.
APPEND_ONLY = ("logger_files", "device_days")


def upgrade() -> None:
    op.create_table(
        'logger_files',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('file_name', sa.String(length=255), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.Column('format', sa.String(length=20), nullable=False),
        sa.Column('model', sa.String(length=200), nullable=False),
        sa.Column('sensor_id', sa.String(length=300), nullable=False),
        sa.Column('fridge_id', sa.Integer(), nullable=False),
        sa.Column('timezone', sa.String(length=64), nullable=False),
        sa.Column('first_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('last_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('data_rows', sa.Integer(), nullable=False),
        sa.Column('new_readings', sa.Integer(), nullable=False),
        sa.Column('days', sa.Integer(), nullable=False),
        sa.Column('signature', sa.Text(), nullable=True),
        sa.Column('notes', sa.Text(), nullable=False),
        sa.Column('imported_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('imported_by', sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(['fridge_id'], ['fridges.id'], name=op.f('fk_logger_files_fridge_id_fridges')),
        sa.ForeignKeyConstraint(['sensor_id'], ['sensors.id'], name=op.f('fk_logger_files_sensor_id_sensors')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_logger_files')),
        sa.UniqueConstraint('sha256', name=op.f('uq_logger_files_sha256')),
    )
    op.create_index(op.f('ix_logger_files_fridge_id'), 'logger_files', ['fridge_id'], unique=False)
    op.create_index(op.f('ix_logger_files_sensor_id'), 'logger_files', ['sensor_id'], unique=False)
    op.create_table(
        'device_days',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('sensor_id', sa.String(length=300), nullable=False),
        sa.Column('file_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('complete', sa.Boolean(), nullable=False),
        sa.Column('ends_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('min_c', sa.Double(), nullable=True),
        sa.Column('min_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('max_c', sa.Double(), nullable=True),
        sa.Column('max_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('mean_c', sa.Double(), nullable=True),
        sa.Column('alarms', sa.Text(), nullable=False),
        sa.Column('events', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['file_id'], ['logger_files.id'], name=op.f('fk_device_days_file_id_logger_files')),
        sa.ForeignKeyConstraint(['sensor_id'], ['sensors.id'], name=op.f('fk_device_days_sensor_id_sensors')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_device_days')),
        sa.UniqueConstraint('sensor_id', 'day', 'file_id', name=op.f('uq_device_days_sensor_id_day_file_id')),
    )
    op.create_index(op.f('ix_device_days_file_id'), 'device_days', ['file_id'], unique=False)
    for table in APPEND_ONLY:
        make_append_only(op, table)


def downgrade() -> None:
    op.drop_index(op.f('ix_device_days_file_id'), table_name='device_days')
    op.drop_table('device_days')
    op.drop_index(op.f('ix_logger_files_sensor_id'), table_name='logger_files')
    op.drop_index(op.f('ix_logger_files_fridge_id'), table_name='logger_files')
    op.drop_table('logger_files')
