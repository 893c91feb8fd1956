"""calibration certificates: each sensor's certificates with their test points and files (append-only)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from fridge_monitor.store.migrate import make_append_only
from fridge_monitor.store.models import UTCDateTime

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'calibration_certificates',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('sensor_id', sa.String(length=300), nullable=False),
        sa.Column('number', sa.String(length=100), nullable=False),
        sa.Column('laboratory', sa.String(length=200), nullable=False),
        sa.Column('accreditation_body', sa.String(length=100), nullable=False),
        sa.Column('accreditation_number', sa.String(length=100), nullable=False),
        sa.Column('calibrated_on', sa.Date(), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('model', sa.String(length=200), nullable=False),
        sa.Column('serial', sa.String(length=100), nullable=False),
        sa.Column('points', sa.Text(), nullable=False),
        sa.Column('uncertainty_c', sa.Double(), nullable=False),
        sa.Column('lab_result', sa.String(length=10), nullable=False),
        sa.Column('file_name', sa.String(length=255), nullable=False),
        sa.Column('file_type', sa.String(length=100), nullable=False),
        sa.Column('file_size', sa.BigInteger(), nullable=False),
        sa.Column('file_sha256', sa.String(length=64), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.Column('recorded_by', sa.String(length=100), nullable=False),
        sa.Column('recorded_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['sensor_id'], ['sensors.id'],
                                name=op.f('fk_calibration_certificates_sensor_id_sensors')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_calibration_certificates')),
    )
    op.create_index(op.f('ix_calibration_certificates_sensor_id'), 'calibration_certificates', ['sensor_id'],
                    unique=False)
    make_append_only(op, 'calibration_certificates')


def downgrade() -> None:
    op.drop_index(op.f('ix_calibration_certificates_sensor_id'), table_name='calibration_certificates')
    op.drop_table('calibration_certificates')
