"""excursion troubleshooting records (append-only versions) and the funding of lots

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from fridge_monitor.store.migrate import make_append_only
from fridge_monitor.store.models import UTCDateTime

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('lots') as batch:
        batch.add_column(sa.Column('funding', sa.String(length=10), nullable=True))
    op.create_table(
        'excursion_records',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('excursion_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('found_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('found_by', sa.String(length=200), nullable=True),
        sa.Column('room_c', sa.Double(), nullable=True),
        sa.Column('found_c', sa.Double(), nullable=True),
        sa.Column('found_min_c', sa.Double(), nullable=True),
        sa.Column('found_max_c', sa.Double(), nullable=True),
        sa.Column('other_contents', sa.Text(), nullable=True),
        sa.Column('earlier_problems', sa.Text(), nullable=True),
        sa.Column('actions', sa.Text(), nullable=True),
        sa.Column('contacted', sa.Text(), nullable=True),
        sa.Column('case_number', sa.String(length=100), nullable=True),
        sa.Column('contact_answer', sa.Text(), nullable=True),
        sa.Column('lots', sa.Text(), nullable=False),
        sa.Column('outcome', sa.Text(), nullable=True),
        sa.Column('facts', sa.Text(), nullable=False),
        sa.Column('complete', sa.Boolean(), nullable=False),
        sa.Column('confirmed_by', sa.String(length=100), nullable=True),
        sa.Column('saved_by', sa.String(length=100), nullable=False),
        sa.Column('saved_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['excursion_id'], ['excursions.id'],
                                name=op.f('fk_excursion_records_excursion_id_excursions')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_excursion_records')),
        sa.UniqueConstraint('excursion_id', 'version', name=op.f('uq_excursion_records_excursion_id_version')),
    )
    op.create_index(op.f('ix_excursion_records_excursion_id'), 'excursion_records', ['excursion_id'], unique=False)
    make_append_only(op, 'excursion_records')


def downgrade() -> None:
    op.drop_index(op.f('ix_excursion_records_excursion_id'), table_name='excursion_records')
    op.drop_table('excursion_records')
    with op.batch_alter_table('lots') as batch:
        batch.drop_column('funding')
