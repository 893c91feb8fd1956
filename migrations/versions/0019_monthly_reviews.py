"""monthly reviews: a fridge-month signed by a supervisor, its PDF frozen (append-only)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from fridge_monitor.store.migrate import make_append_only
from fridge_monitor.store.models import UTCDateTime

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'monthly_reviews',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('fridge_id', sa.Integer(), nullable=False),
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('starts_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('ends_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('comment', sa.Text(), nullable=True),
        sa.Column('open_items', sa.Text(), nullable=False),
        sa.Column('snapshot', sa.Text(), nullable=False),
        sa.Column('pdf', sa.LargeBinary(), nullable=False),
        sa.Column('pdf_sha256', sa.String(length=64), nullable=False),
        sa.Column('reviewed_by', sa.String(length=100), nullable=False),
        sa.Column('reviewed_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['fridge_id'], ['fridges.id'], name=op.f('fk_monthly_reviews_fridge_id_fridges')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_monthly_reviews')),
        sa.UniqueConstraint('fridge_id', 'month', name=op.f('uq_monthly_reviews_fridge_id_month')),
    )
    make_append_only(op, 'monthly_reviews')


def downgrade() -> None:
    op.drop_table('monthly_reviews')
