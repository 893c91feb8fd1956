"""revocable sessions, one key per user name, API tokens that expire

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

import unicodedata

import sqlalchemy as sa
from alembic import op

import fridge_monitor.store.models

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def _name_key(text: str) -> str:
    # A frozen copy of fridge_monitor.core.names.name_key as of this revision: a migration must not change
    # meaning when the application's rule later does.
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text.strip()).casefold())


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('name_key', sa.String(length=400), nullable=True))
    users = sa.table('users', sa.column('id', sa.Integer()), sa.column('name', sa.String()),
                     sa.column('name_key', sa.String()))
    conn = op.get_bind()
    taken: set[str] = set()
    for user_id, name in conn.execute(sa.select(users.c.id, users.c.name).order_by(users.c.id)).all():
        key = _name_key(name)
        if key in taken:
            # Two existing users whose names differ only in case or width (``Admin`` and ``admin``): both
            # keep their names and sign in by their exact name; the later one's key gets a suffix no new
            # name can produce (U+200B is refused in names), so the unique key holds from now on.
            key = f"{key}\u200b{user_id}"
        taken.add(key)
        conn.execute(sa.update(users).where(users.c.id == user_id).values(name_key=key))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('name_key', existing_type=sa.String(length=400), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_users_name_key'), ['name_key'])
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', fridge_monitor.store.models.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_users_name_key'), type_='unique')
        batch_op.drop_column('name_key')
        batch_op.drop_column('session_version')
