"""user sites: the sites a nurse, supervisor or auditor works at (none: every site)

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'user_sites',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_sites_user_id_users')),
        sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_user_sites_site_id_sites')),
        sa.PrimaryKeyConstraint('user_id', 'site_id', name=op.f('pk_user_sites')),
    )
    op.create_index(op.f('ix_user_sites_site_id'), 'user_sites', ['site_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_user_sites_site_id'), table_name='user_sites')
    op.drop_table('user_sites')
