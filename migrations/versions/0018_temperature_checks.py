"""staff temperature checks (signed, append-only)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from fridge_monitor.store.migrate import make_append_only
from fridge_monitor.store.models import UTCDateTime

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'temperature_checks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('fridge_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('slot', sa.String(length=5), nullable=False),
        sa.Column('checked_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('checked_by', sa.String(length=100), nullable=False),
        sa.Column('current_c', sa.Double(), nullable=True),
        sa.Column('min_c', sa.Double(), nullable=True),
        sa.Column('max_c', sa.Double(), nullable=True),
        sa.Column('monitor_c', sa.Double(), nullable=True),
        sa.Column('comment', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['fridge_id'], ['fridges.id'], name=op.f('fk_temperature_checks_fridge_id_fridges')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_temperature_checks')),
    )
    op.create_index('ix_temperature_checks_fridge_day', 'temperature_checks', ['fridge_id', 'day'], unique=False)
    make_append_only(op, 'temperature_checks')


def downgrade() -> None:
    op.drop_index('ix_temperature_checks_fridge_day', table_name='temperature_checks')
    op.drop_table('temperature_checks')
