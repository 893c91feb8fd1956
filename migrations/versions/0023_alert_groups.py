"""alert groups: a fridge's no-data alert filed under its site's (or gateway's) outage alert

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('alerts') as batch:
        batch.add_column(sa.Column('group_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(batch.f('fk_alerts_group_id_alerts'), 'alerts', ['group_id'], ['id'])
        batch.create_index(batch.f('ix_alerts_group_id'), ['group_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('alerts') as batch:
        batch.drop_index(batch.f('ix_alerts_group_id'))
        batch.drop_constraint(batch.f('fk_alerts_group_id_alerts'), type_='foreignkey')
        batch.drop_column('group_id')
