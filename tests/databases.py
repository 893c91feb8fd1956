"""PostgreSQL databases for the tests: copied from a migrated template, emptied and reused between tests.

Copying a database costs the server about a third of a CPU-second (its catalogue is 7 MB, written to the
WAL on every copy), and the suite asks for hundreds. A worker therefore keeps the databases it has copied:
after a test, the server's other connections to one are ended, every table is emptied, the rows the
migrations seed are put back and the sequences are set back to where the template has them (0.03 s). A test
that changed the schema itself (dropped or disabled a trigger, downgraded, granted) leaves a database whose
shape no longer matches the template's; that one is dropped instead, so no test sees another's leftovers.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

# Everything a test could change about a database besides its rows: relations and their privileges, columns,
# constraints, triggers and whether they fire, functions, the schema version and the database's own settings.
# Not the schemas of temporary tables (pg_temp_N): the server makes one the first time a session uses a
# temporary table (ingest's COPY path does) and keeps it, empty, for later sessions.
SHAPE = """
SELECT md5(string_agg(x, ',' ORDER BY x)) FROM (
    SELECT c.relname || ':' || c.relkind::text || ':' || coalesce(c.relacl::text, '')
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'
    UNION ALL
    SELECT c.relname || '.' || a.attname || ':' || a.atttypid::text || ':' || a.attnotnull::text
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND a.attnum > 0 AND NOT a.attisdropped
    UNION ALL
    SELECT conname || ':' || contype::text FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
     WHERE n.nspname = 'public'
    UNION ALL
    SELECT t.tgname || ':' || t.tgenabled::text FROM pg_trigger t
    UNION ALL
    SELECT p.proname || ':' || md5(p.prosrc) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname = 'public'
    UNION ALL
    SELECT nspname || ':' || coalesce(nspacl::text, '') FROM pg_namespace
     WHERE nspname !~ '^pg_(toast_)?temp_[0-9]+$'
    UNION ALL
    SELECT 'version:' || version_num FROM alembic_version
    UNION ALL
    SELECT 'setting:' || array_to_string(setconfig, ';') FROM pg_db_role_setting s
      JOIN pg_database d ON d.oid = s.setdatabase WHERE d.datname = current_database()
) shape(x)
"""


class PostgresDatabases:
    """One worker's databases: :meth:`take` one for a test, :meth:`give_back` it after."""

    def __init__(self, admin: sa.Engine, template: str) -> None:
        self.admin = admin
        self.template = template
        self.free: list[str] = []
        self.made: set[str] = set()
        engine = sa.create_engine(self.url(template), poolclass=sa.NullPool)
        with engine.connect() as conn:
            self.shape = conn.exec_driver_sql(SHAPE).scalar_one()
            self.tables = [name for (name,) in conn.exec_driver_sql(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version' "
                "ORDER BY tablename")]
            rows = {table: [dict(row) for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')).mappings()]
                    for table in self.tables}
            self.seeds = {table: seeded for table, seeded in rows.items() if seeded}  # the catalogue
            self.sequences = conn.exec_driver_sql(
                "SELECT sequencename, coalesce(last_value, start_value), last_value IS NOT NULL "
                "FROM pg_sequences WHERE schemaname = 'public'").all()
        engine.dispose()
        self.engines: dict[str, sa.Engine] = {}

    def url(self, name: str) -> str:
        return self.admin.url.set(database=name).render_as_string(hide_password=False)

    def take(self) -> str:
        if self.free:
            return self.free.pop()
        name = f"fm_test_{uuid.uuid4().hex[:8]}"
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        self.made.add(name)
        return name

    def give_back(self, name: str) -> None:
        """Empty the database for the next test, or drop it if the test changed its shape."""
        with self.admin.connect() as conn:  # a test's stray connection must not hold a lock on a table
            conn.exec_driver_sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
        try:
            if self._empty(name):
                self.free.append(name)
                return
        except sa.exc.DBAPIError:
            pass
        self.drop(name)

    def _empty(self, name: str) -> bool:
        engine = self.engines.get(name)
        if engine is None:
            engine = self.engines[name] = sa.create_engine(self.url(name), poolclass=sa.NullPool)
        with engine.begin() as conn:
            if conn.exec_driver_sql(SHAPE).scalar_one() != self.shape:
                return False
            # Replica mode: the append-only and foreign-key triggers do not fire, so any order empties.
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            for table in self.tables:
                conn.exec_driver_sql(f'DELETE FROM "{table}"')
            for table, rows in self.seeds.items():
                conn.execute(sa.table(table, *(sa.column(key) for key in rows[0])).insert(), rows)
            for sequence, value, called in self.sequences:
                conn.exec_driver_sql("SELECT setval(%s, %s, %s)", (f'"{sequence}"', value, called))
        return True

    def drop(self, name: str) -> None:
        engine = self.engines.pop(name, None)
        if engine is not None:
            engine.dispose()
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.made.discard(name)

    def close(self, *_: Any) -> None:
        for name in list(self.made):
            self.drop(name)
