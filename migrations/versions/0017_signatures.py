"""electronic signatures, bound to the records they sign (append-only)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from fridge_monitor.store.migrate import make_append_only
from fridge_monitor.store.models import UTCDateTime

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'signatures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('record_type', sa.String(length=40), nullable=False),
        sa.Column('record_id', sa.String(length=100), nullable=False),
        sa.Column('record_hash', sa.String(length=64), nullable=False),
        sa.Column('meaning', sa.String(length=20), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('user_name', sa.String(length=100), nullable=False),
        sa.Column('full_name', sa.String(length=200), nullable=False),
        sa.Column('signed_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('timezone', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_signatures_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_signatures')),
    )
    op.create_index('ix_signatures_record', 'signatures', ['record_type', 'record_id'], unique=False)
    # Evidence, like readings (0009): the database refuses to change or remove a signature.
    make_append_only(op, 'signatures')


def downgrade() -> None:
    op.drop_index('ix_signatures_record', table_name='signatures')
    op.drop_table('signatures')
