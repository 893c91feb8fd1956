"""The database and the files on disk: models, engine, migrations, the audit trail and what reads them.

Modules here turn rows into the core's values and back. They know SQLAlchemy
and the file system; they know nothing of MQTT sessions, HTTP or the roles
that call them.
"""
