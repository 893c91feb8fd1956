"""The domain, pure: what readings, rules, lots and evidence mean, with no I/O and no framework.

Every module here takes values and returns values. Nothing imports flask,
sqlalchemy, paho, alembic or apscheduler (an import contract checks it), so
the rules can be unit-tested with literal values and reused by every role.
"""
