"""excursions, alerts, notifications, evaluation marks, daily time out of range, scheduler lease, alarm profiles

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

import fridge_monitor.store.models

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('alarm_profiles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('definition', sa.Text(), nullable=False),
    sa.Column('created_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alarm_profiles')),
    sa.UniqueConstraint('name', name=op.f('uq_alarm_profiles_name'))
    )
    op.create_table('scheduler_leases',
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('holder', sa.String(length=200), nullable=False),
    sa.Column('acquired_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_scheduler_leases'))
    )
    op.create_table('excursions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fridge_id', sa.Integer(), nullable=False),
    sa.Column('rule', sa.String(length=100), nullable=False),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('started_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('alarm_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('peak_c', sa.Double(), nullable=False),
    sa.Column('low_c', sa.Double(), nullable=False),
    sa.Column('mkt_c', sa.Double(), nullable=True),
    sa.Column('time_beyond_s', sa.Double(), nullable=False),
    sa.Column('readings_count', sa.Integer(), nullable=False),
    sa.Column('updated_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['fridge_id'], ['fridges.id'], name=op.f('fk_excursions_fridge_id_fridges')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_excursions'))
    )
    with op.batch_alter_table('excursions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_excursions_fridge_id'), ['fridge_id'], unique=False)
        batch_op.create_index('ix_excursions_fridge_started', ['fridge_id', 'started_at'], unique=False)

    op.create_table('fridge_days',
    sa.Column('fridge_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('out_of_range_s', sa.Double(), nullable=False),
    sa.Column('updated_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['fridge_id'], ['fridges.id'], name=op.f('fk_fridge_days_fridge_id_fridges')),
    sa.PrimaryKeyConstraint('fridge_id', 'day', name=op.f('pk_fridge_days'))
    )
    op.create_table('fridge_evaluations',
    sa.Column('fridge_id', sa.Integer(), nullable=False),
    sa.Column('dirty_since', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('days_since', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('evaluated_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['fridge_id'], ['fridges.id'], name=op.f('fk_fridge_evaluations_fridge_id_fridges')),
    sa.PrimaryKeyConstraint('fridge_id', name=op.f('pk_fridge_evaluations'))
    )
    op.create_table('alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fridge_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('rule', sa.String(length=100), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('excursion_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('started_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('peak_c', sa.Double(), nullable=True),
    sa.Column('low_c', sa.Double(), nullable=True),
    sa.Column('created_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_by', sa.String(length=100), nullable=True),
    sa.Column('acknowledged_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('action', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['excursion_id'], ['excursions.id'], name=op.f('fk_alerts_excursion_id_excursions')),
    sa.ForeignKeyConstraint(['fridge_id'], ['fridges.id'], name=op.f('fk_alerts_fridge_id_fridges')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alerts'))
    )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alerts_fridge_id'), ['fridge_id'], unique=False)
        batch_op.create_index('ix_alerts_fridge_kind_started', ['fridge_id', 'kind', 'started_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_alerts_state'), ['state'], unique=False)

    op.create_table('notifications',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=100), nullable=False),
    sa.Column('channel_type', sa.String(length=20), nullable=False),
    sa.Column('tier', sa.Integer(), nullable=False),
    sa.Column('event', sa.String(length=20), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('due_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('claimed_until', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sent_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ok', sa.Boolean(), nullable=True),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_notifications_alert_id_alerts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
    sa.UniqueConstraint('alert_id', 'channel', 'event', 'sequence', 'attempt', name=op.f('uq_notifications_alert_id_channel_event_sequence_attempt'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notifications_alert_id'), ['alert_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notifications_due_at'), ['due_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notifications_due_at'))
        batch_op.drop_index(batch_op.f('ix_notifications_alert_id'))

    op.drop_table('notifications')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alerts_state'))
        batch_op.drop_index('ix_alerts_fridge_kind_started')
        batch_op.drop_index(batch_op.f('ix_alerts_fridge_id'))

    op.drop_table('alerts')
    op.drop_table('fridge_evaluations')
    op.drop_table('fridge_days')
    with op.batch_alter_table('excursions', schema=None) as batch_op:
        batch_op.drop_index('ix_excursions_fridge_started')
        batch_op.drop_index(batch_op.f('ix_excursions_fridge_id'))

    op.drop_table('excursions')
    op.drop_table('scheduler_leases')
    op.drop_table('alarm_profiles')
