"""append-only readings and rejected messages: the database refuses UPDATE and DELETE (and TRUNCATE)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


# Readings and rejected messages are evidence: ingest only ever inserts them (a redelivered
# message is skipped by ON CONFLICT DO NOTHING, which fires no UPDATE trigger), and nothing
# else writes them, so the database itself refuses to change or remove one, whoever asks
# (DESIGN.md "Records are append-only"), as for the audit trail and the stock ledger.
# On SQLite a later batch_alter_table that rebuilds one of these tables drops its triggers:
# such a migration must create them again.
APPEND_ONLY = ("readings", "rejected_messages")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in APPEND_ONLY:
            for verb in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} rows are append-only: {verb} refused'); END"
                )
        return
    op.execute(
        "CREATE FUNCTION evidence_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION '% rows are append-only: % refused', TG_TABLE_NAME, TG_OP; END $$"
    )
    for table in APPEND_ONLY:
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION evidence_append_only()")
        op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION evidence_append_only()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in APPEND_ONLY:
            for verb in ("update", "delete"):
                op.execute(f"DROP TRIGGER {table}_no_{verb}")
        return
    for table in APPEND_ONLY:
        op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
        op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
    op.execute("DROP FUNCTION evidence_append_only()")
