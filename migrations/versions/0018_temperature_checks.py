"""staff temperature checks (signed, append-only)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

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
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER temperature_checks_no_{verb.lower()} BEFORE {verb} ON temperature_checks "
                       f"BEGIN SELECT RAISE(ABORT, 'temperature_checks rows are append-only: {verb} refused'); END")
        return
    op.execute("CREATE TRIGGER temperature_checks_append_only BEFORE UPDATE OR DELETE ON temperature_checks "
               "FOR EACH ROW EXECUTE FUNCTION evidence_append_only()")
    op.execute("CREATE TRIGGER temperature_checks_no_truncate BEFORE TRUNCATE ON temperature_checks "
               "FOR EACH STATEMENT EXECUTE FUNCTION evidence_append_only()")


def downgrade() -> None:
    op.drop_index('ix_temperature_checks_fridge_day', table_name='temperature_checks')
    op.drop_table('temperature_checks')
