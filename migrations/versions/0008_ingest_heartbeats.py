"""ingest heartbeats: each ingest process says it is alive and how far it has caught up with the broker

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

import fridge_monitor.store.models

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ingest_heartbeats',
    sa.Column('client_id', sa.String(length=200), nullable=False),
    sa.Column('started_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('beat_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('connected', sa.Boolean(), nullable=False),
    sa.Column('backlog', sa.Integer(), nullable=False),
    sa.Column('caught_up_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('stored_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('interval_s', sa.Double(), nullable=False),
    sa.Column('max_drain_s', sa.Double(), nullable=False),
    sa.PrimaryKeyConstraint('client_id', name=op.f('pk_ingest_heartbeats'))
    )


def downgrade() -> None:
    op.drop_table('ingest_heartbeats')
