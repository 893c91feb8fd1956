"""monthly reviews: a fridge-month signed by a supervisor, its PDF frozen (append-only)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

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
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER monthly_reviews_no_{verb.lower()} BEFORE {verb} ON monthly_reviews "
                       f"BEGIN SELECT RAISE(ABORT, 'monthly_reviews rows are append-only: {verb} refused'); END")
        return
    op.execute("CREATE TRIGGER monthly_reviews_append_only BEFORE UPDATE OR DELETE ON monthly_reviews "
               "FOR EACH ROW EXECUTE FUNCTION evidence_append_only()")
    op.execute("CREATE TRIGGER monthly_reviews_no_truncate BEFORE TRUNCATE ON monthly_reviews "
               "FOR EACH STATEMENT EXECUTE FUNCTION evidence_append_only()")


def downgrade() -> None:
    op.drop_table('monthly_reviews')
