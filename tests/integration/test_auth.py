"""Signing in, lockout, sessions, CSRF and API tokens, as users meet them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.store import accounts
from fridge_monitor.store import models as m

from support import add_users, cli, csrf_from, sign_in, web_app

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.fixture
def app(database_url, engine_for):
    engine = engine_for(database_url)
    add_users(engine, {"nina": "nurse", "aldo": "auditor", "ada": "admin"}, NOW)
    return web_app(engine, database_url, web={"max_failed_logins": 3})


def test_pages_need_a_login_and_the_api_says_401(app):
    client = app.test_client()
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    response = client.get("/api/v1/fridges")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == 401


def test_sign_in_sets_a_hardened_cookie_and_shows_the_dashboard(app):
    client = app.test_client()
    response = sign_in(client, "nina", "nina-password-1")
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = client.get("/").get_data(as_text=True)
    assert "nina" in page and "nurse" in page


def test_wrong_passwords_lock_the_account(app, engine_for, database_url):
    client = app.test_client()
    for _ in range(3):
        response = sign_in(client, "nina", "wrong-password-x")
        assert "wrong user name or password" in response.get_data(as_text=True)
    response = sign_in(client, "nina", "nina-password-1")  # right password, but locked now
    assert response.status_code == 401
    # The same words as a wrong password: a locked account is not told apart (tests/integration/test_login_throttle.py).
    assert "wrong user name or password (after 3 wrong passwords in a row an account is locked for 15 minutes" \
        in response.get_data(as_text=True)
    with engine_for(database_url).connect() as conn:
        actions = conn.scalars(sa.select(m.AuditEvent.action).where(m.AuditEvent.record_id == "nina")).all()
    assert "lock" in actions


def test_an_unknown_user_gets_the_same_answer_as_a_wrong_password(app):
    response = sign_in(app.test_client(), "nobody", "whatever-password")
    assert response.status_code == 401
    assert "wrong user name or password" in response.get_data(as_text=True)


def test_forms_without_a_csrf_token_are_refused(app):
    client = app.test_client()
    response = client.post("/login", data={"name": "nina", "password": "nina-password-1"})
    assert response.status_code == 400
    sign_in(client, "nina", "nina-password-1")
    assert client.post("/logout").status_code == 400
    page = client.get("/").get_data(as_text=True)
    assert 'name="csrf_token"' in page  # the sign-out form carries one


def test_bearer_tokens_work_without_cookies_and_die_with_the_user(app, engine_for, database_url):
    engine = engine_for(database_url)
    with so.Session(engine) as session, session.begin():
        user = session.scalar(sa.select(m.User).where(m.User.name == "aldo"))
        token = accounts.new_token(session, user, actor="test", now=NOW)
    client = app.test_client()
    assert client.get("/api/v1/fridges", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert client.get("/api/v1/fridges", headers={"Authorization": "Bearer fm_forged"}).status_code == 401
    with so.Session(engine) as session, session.begin():
        user = session.scalar(sa.select(m.User).where(m.User.name == "aldo"))
        accounts.set_disabled(session, user, True, actor="ada", now=NOW, reason="left the clinic")
    response = client.get("/api/v1/fridges", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert "disabled" in response.get_json()["error"]["message"]


def test_users_cli_add_token_disable(tmp_path, sqlite_url):
    env = {"FRIDGE_MONITOR_DATABASE_URL": sqlite_url}
    result = cli("users", "add", "olga", "--role", "auditor", "--password-stdin", env=env,
                 input=b"a-long-password\n")
    assert result.returncode == 0, result.stderr
    again = cli("users", "add", "olga", "--role", "nurse", "--password-stdin", env=env, input=b"another-password\n")
    assert again.stderr.strip() == "fridge-monitor: error: a user named 'olga' already exists"
    short = cli("users", "add", "pia", "--role", "nurse", "--password-stdin", env=env, input=b"short\n")
    assert short.returncode == 2 and "at least 10 characters" in short.stderr
    result = cli("users", "token", "olga", env=env)
    assert result.returncode == 0
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("fm_") and len(token) > 40
    engine = sa.create_engine(sqlite_url)
    with engine.connect() as conn:
        stored = conn.scalar(sa.select(m.ApiToken.token_hash))
        password_hash = conn.scalar(sa.select(m.User.password_hash).where(m.User.name == "olga"))
    engine.dispose()
    assert stored == accounts.token_hash(token) and token not in stored
    # The application hashes at scrypt's full cost (the suite lowers it only for the users it makes itself).
    assert password_hash.startswith("scrypt:32768:8:1$")
    result = cli("users", "disable", "olga", "--reason", "left", env=env)
    assert result.returncode == 0
    assert cli("users", "token", "olga", env=env).stderr.strip() == "fridge-monitor: error: user 'olga' is disabled"


def test_display_unit_preference_shows_fahrenheit_and_is_audited(app, engine_for, database_url):
    client = app.test_client()
    sign_in(client, "nina", "nina-password-1")
    token = csrf_from(client.get("/preferences").get_data(as_text=True))
    response = client.post("/preferences", data={"csrf_token": token, "unit": "F"})
    assert response.status_code == 302
    with engine_for(database_url).connect() as conn:
        row = conn.execute(sa.select(m.AuditEvent.old_value, m.AuditEvent.new_value)
                           .where(m.AuditEvent.field == "display_unit")).one()
    assert tuple(row) == ("C", "F")


def test_users_cli_add_records_the_full_name_a_signature_prints(sqlite_url):
    env = {"FRIDGE_MONITOR_DATABASE_URL": sqlite_url}
    result = cli("users", "add", "uma", "--role", "nurse", "--password-stdin", "--full-name", "Uma Devi Rao",
                 env=env, input=b"a-long-password\n")
    assert result.returncode == 0, result.stderr
    long_name = cli("users", "add", "vic", "--role", "nurse", "--password-stdin", "--full-name", "V" * 201,
                    env=env, input=b"a-long-password\n")
    assert long_name.stderr.strip() == "fridge-monitor: error: a full name may be at most 200 characters"
    engine = sa.create_engine(sqlite_url)
    with engine.connect() as conn:
        names = conn.execute(sa.select(m.User.name, m.User.full_name).order_by(m.User.name)).all()
    engine.dispose()
    assert names == [("uma", "Uma Devi Rao")]
