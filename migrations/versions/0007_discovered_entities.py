"""entities learnt from Home Assistant discovery (ESPHome): which states are temperatures, in which unit;
counts of ignored MQTT messages by format

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

import fridge_monitor.store.models

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('discovered_entities',
    sa.Column('state_topic', sa.String(length=300), nullable=False),
    sa.Column('fmt', sa.String(length=20), nullable=False),
    sa.Column('node', sa.String(length=200), nullable=False),
    sa.Column('entity', sa.String(length=200), nullable=False),
    sa.Column('device_class', sa.String(length=50), nullable=True),
    sa.Column('unit', sa.String(length=20), nullable=True),
    sa.Column('config_topic', sa.String(length=300), nullable=False),
    sa.Column('updated_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('state_topic', name=op.f('pk_discovered_entities'))
    )
    op.create_table('ignored_message_counts',
    sa.Column('fmt', sa.String(length=20), nullable=False),
    sa.Column('count', sa.BigInteger(), nullable=False),
    sa.Column('last_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_topic', sa.Text(), nullable=False),
    sa.Column('last_reason', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('fmt', name=op.f('pk_ignored_message_counts'))
    )


def downgrade() -> None:
    op.drop_table('ignored_message_counts')
    op.drop_table('discovered_entities')
