"""held figures in the hourly rollups: period statistics (mean, MKT, time out of range, coverage) from whole
hours without their raw readings

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

import fridge_monitor.store.models

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

STALE = sa.text("held_s IS NULL")


def upgrade() -> None:
    # Plain ADD COLUMNs on both databases: the rollups table is not rebuilt on SQLite. Every existing row starts
    # stale (held_s NULL).
    utc = fridge_monitor.store.models.UTCDateTime(timezone=True)
    for name, kind in (('held_s', sa.Double()), ('held_c_s', sa.Double()), ('arrhenius_s', sa.Double()),
                       ('held_min_c', sa.Double()), ('held_min_at', utc), ('held_max_c', sa.Double()),
                       ('held_max_at', utc), ('longest_step_s', sa.Double())):
        op.add_column('hourly_rollups', sa.Column(name, kind, nullable=True))
    op.add_column('hourly_rollups', sa.Column('revision', sa.Integer(), server_default='0', nullable=False))
    op.create_index('ix_hourly_rollups_stale', 'hourly_rollups', ['sensor_id', 'hour'], unique=False,
                    sqlite_where=STALE, postgresql_where=STALE)
    # Derived data, built from the readings with the application's own code (unlike a stored fact, whose
    # meaning a migration freezes): the same code that keeps them up to date afterwards.
    from fridge_monitor.store import rollups

    rollups.refresh_all(op.get_bind())


def downgrade() -> None:
    op.drop_index('ix_hourly_rollups_stale', table_name='hourly_rollups', sqlite_where=STALE, postgresql_where=STALE)
    with op.batch_alter_table('hourly_rollups', schema=None) as batch_op:
        for name in ('revision', 'longest_step_s', 'held_max_at', 'held_max_c', 'held_min_at', 'held_min_c',
                     'arrhenius_s', 'held_c_s', 'held_s'):
            batch_op.drop_column(name)
