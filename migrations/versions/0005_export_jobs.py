"""export jobs: bundles asked for in the web pages, made in the background

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

import fridge_monitor.store.models

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('export_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('requested_by', sa.String(length=100), nullable=False),
    sa.Column('requested_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('period_from', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('period_to', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('fridges', sa.Text(), nullable=True),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('progress', sa.Double(), nullable=False),
    sa.Column('step', sa.String(length=200), nullable=False),
    sa.Column('updated_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('file_name', sa.String(length=200), nullable=True),
    sa.Column('bytes', sa.BigInteger(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.CheckConstraint("state IN ('queued', 'running', 'done', 'failed')", name=op.f('ck_export_jobs_state')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_jobs'))
    )
    with op.batch_alter_table('export_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_export_jobs_requested_by'), ['requested_by'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('export_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_export_jobs_requested_by'))

    op.drop_table('export_jobs')
