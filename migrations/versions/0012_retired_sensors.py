"""retired sensors: an admin can retire a sensor (e.g. an id a broken or hostile publisher invented), so it no longer counts against [ingest] max_unassigned_sensors

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

import fridge_monitor.store.models

revision = '0012'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN on both databases: the sensors table is not rebuilt on SQLite.
    op.add_column('sensors', sa.Column('retired_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('sensors', schema=None) as batch_op:
        batch_op.drop_column('retired_at')
