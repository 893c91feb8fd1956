"""indexes for the audit page's filters: who, record type, time (a filter that matches little no longer reads the
whole trail)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_audit_events_actor', 'audit_events', ['actor', 'id'], unique=False)
    op.create_index('ix_audit_events_record_type', 'audit_events', ['record_type', 'id'], unique=False)
    op.create_index('ix_audit_events_at', 'audit_events', ['at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_audit_events_at', table_name='audit_events')
    op.drop_index('ix_audit_events_record_type', table_name='audit_events')
    op.drop_index('ix_audit_events_actor', table_name='audit_events')
