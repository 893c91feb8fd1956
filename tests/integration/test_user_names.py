"""User names: look-alikes refused, sign-in ignores case and width, hidden characters refused (issue 12, item 14).

On SQLite and PostgreSQL, through the domain, the command line and the admin
page; and migration 0010 keeps existing look-alike users able to sign in.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so
from alembic import command
from werkzeug.security import generate_password_hash

from fridge_monitor.store import accounts, migrate
from fridge_monitor.store import models as m

from support import cli, web_app

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.fixture
def engine(database_url, engine_for):
    engine = engine_for(database_url)
    with so.Session(engine) as session, session.begin():
        accounts.create_user(session, "admin", "admin", "admin-password-1", actor="test", now=NOW)
    return engine


def create(engine, name: str) -> None:
    with so.Session(engine) as session, session.begin():
        accounts.create_user(session, name, "nurse", "a-long-password", actor="test", now=NOW)


@pytest.mark.parametrize("name", ["Admin", "ADMIN", " admin ", "ａｄｍｉｎ", "ＡＤＭＩＮ"])
def test_a_look_alike_of_an_existing_name_is_refused(engine, name):
    with pytest.raises(accounts.AccountError) as caught:
        create(engine, name)
    assert str(caught.value) in (
        "a user named 'admin' already exists",
        (f"{name.strip()!r} is too like the existing user 'admin': user names are compared ignoring case and "
         "character width; choose another name"))
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(m.User)) == 1


def test_the_database_itself_refuses_a_look_alike(engine):
    """Two admins creating ``Admin`` and ``admin`` at once: the unique key, not only the check, stops the second."""
    with pytest.raises(sa.exc.IntegrityError), so.Session(engine) as session, session.begin():
        session.add(m.User(name="Admin", role="nurse", display_unit="C", failed_logins=0, created_at=NOW))


@pytest.mark.parametrize(("name", "code"), [("ad\u202emin", "U+202E"), ("nina\u200b", "U+200B"),
                                            ("ni\u2066na", "U+2066"), ("ni\x07na", "U+0007")])
def test_hidden_characters_in_a_name_are_refused(engine, name, code):
    with pytest.raises(accounts.AccountError) as caught:
        create(engine, name)
    assert str(caught.value) == (
        f"a user name must not contain control, format or bidirectional characters (found {code})")


def test_the_command_line_refuses_look_alikes_and_hidden_characters(engine, database_url):
    env = {"FRIDGE_MONITOR_DATABASE_URL": database_url}
    result = cli("users", "add", "Admin", "--role", "nurse", "--password-stdin", env=env, input=b"a-long-password\n")
    assert result.returncode == 2
    assert result.stderr.strip() == ("fridge-monitor: error: 'Admin' is too like the existing user 'admin': user "
                                     "names are compared ignoring case and character width; choose another name")
    result = cli("users", "add", "nina\u200f", "--role", "nurse", "--password-stdin", env=env,
                 input=b"a-long-password\n")
    assert result.returncode == 2
    assert result.stderr.strip() == ("fridge-monitor: error: a user name must not contain control, format or "
                                     "bidirectional characters (found U+200F)")


def test_the_admin_page_refuses_a_look_alike(engine, database_url):
    app = web_app(engine, database_url)
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    assert client.post("/login", data={"name": "admin", "password": "admin-password-1"}).status_code == 302
    response = client.post("/admin/users/new", data={
        "name": "ADMIN", "role": "nurse", "password": "a-long-password", "confirm": "a-long-password",
        "reason": "new starter"})
    assert response.status_code == 200
    assert ("&#39;ADMIN&#39; is too like the existing user &#39;admin&#39;: user names are compared ignoring case "
            "and character width; choose another name.") in response.get_data(as_text=True)


@pytest.mark.parametrize("typed", ["admin", "ADMIN", "Admin ", "ａｄｍｉｎ"])
def test_sign_in_finds_the_user_whatever_the_case_or_width(engine, database_url, typed):
    app = web_app(engine, database_url)
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    assert client.post("/login", data={"name": typed, "password": "admin-password-1"}).status_code == 302
    assert "admin" in client.get("/").get_data(as_text=True)


# -- migration 0010 over existing look-alikes ----------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request, tmp_path):
    """An empty database (no tables), so the test can stop the migrations at 0009."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    admin = request.getfixturevalue("postgres_admin")
    name = f"fm_names_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield admin.url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_migration_0010_keeps_existing_look_alikes_apart_and_able_to_sign_in(empty_url, engine_for):
    engine = engine_for(empty_url)
    migrate.upgrade(engine, "0009")
    users = sa.table("users", sa.column("id", sa.Integer()), sa.column("name", sa.String()),
                     sa.column("role", sa.String()), sa.column("password_hash", sa.String()),
                     sa.column("display_unit", sa.String()), sa.column("failed_logins", sa.Integer()),
                     sa.column("created_at", m.UTCDateTime()))
    with engine.begin() as conn:
        for name in ("admin", "Admin", "nina"):
            conn.execute(sa.insert(users).values(name=name, role="admin", display_unit="C", failed_logins=0,
                                                 password_hash=generate_password_hash(f"{name}-password-1"),
                                                 created_at=NOW))
    migrate.upgrade(engine, "0010")
    with engine.connect() as conn:
        keys = dict(conn.execute(sa.text("SELECT name, name_key FROM users")).all())
        versions = set(conn.execute(sa.text("SELECT session_version FROM users")).scalars())
    assert keys["admin"] == "admin" and keys["nina"] == "nina"
    assert keys["Admin"] != "admin" and keys["Admin"].startswith("admin\u200b")
    assert versions == {0}
    migrate.upgrade(engine)  # the application's model needs the later columns too (a full name, 0016)
    with so.Session(engine) as session:
        for name in ("admin", "Admin", "nina", "NINA"):
            user = accounts.authenticate(session, name, f"{name.lower() if name == 'NINA' else name}-password-1",
                                         now=NOW, max_failed=5, lockout=timedelta(minutes=15))
            assert isinstance(user, m.User) and user.name == ("nina" if name == "NINA" else name)
        session.rollback()
    with pytest.raises(accounts.AccountError, match="already exists|too like"):
        create(engine, "ADMIN")
    with engine.begin() as conn:  # and the revisions step back down and up again
        command.downgrade(migrate.alembic_config(conn), "0009")
    assert "name_key" not in {c["name"] for c in sa.inspect(engine).get_columns("users")}
    migrate.upgrade(engine, "0010")
    assert "name_key" in {c["name"] for c in sa.inspect(engine).get_columns("users")}
