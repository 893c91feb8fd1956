"""A session cookie dies with sign-out, a password reset and disabling, copies included (issue 12, item 7).

The cookie is signed, not stored: before session versions, a copy taken
before sign-out kept working until it expired. Each test copies the cookie
of a real sign-in into a second client, as a thief would, and shows the copy
refused afterwards -- on SQLite and PostgreSQL -- while other users stay
signed in.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.store import accounts
from fridge_monitor.store import models as m

from support import add_users, cli, csrf_from, signed_in, web_app

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
COOKIE = "fridge_monitor_session"


@pytest.fixture
def app(database_url, engine_for):
    engine = engine_for(database_url)
    add_users(engine, {"nina": "nurse", "ada": "admin"}, NOW)
    app = web_app(engine, database_url)
    app.engine_for_test = engine
    return app


def copy_of(app, client):
    """A second client holding the same session cookie, as someone who copied it would."""
    thief = app.test_client()
    thief.set_cookie(COOKIE, client.get_cookie(COOKIE).value)
    return thief


def assert_refused(client) -> None:
    page = client.get("/")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login")
    api = client.get("/api/v1/fridges")
    assert api.status_code == 401


def assert_accepted(client) -> None:
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/fridges").status_code == 200


def user_id(app, name: str) -> int:
    with app.engine_for_test.connect() as conn:
        return conn.scalar(sa.select(m.User.id).where(m.User.name == name))


def test_a_cookie_copied_before_sign_out_is_refused_after_it(app):
    nina = signed_in(app, "nina")
    ada = signed_in(app, "ada")
    thief = copy_of(app, nina)
    assert_accepted(thief)
    token = csrf_from(nina.get("/").get_data(as_text=True))
    assert nina.post("/logout", data={"csrf_token": token}).status_code == 302
    assert_refused(thief)
    assert_refused(nina)
    assert_accepted(ada)  # another user's session is not touched
    assert_accepted(signed_in(app, "nina"))  # and nina signs in again as before


def test_an_admin_password_reset_ends_the_users_sessions(app):
    nina = signed_in(app, "nina")
    thief = copy_of(app, nina)
    ada = signed_in(app, "ada")
    page = ada.get(f"/admin/users/{user_id(app, 'nina')}").get_data(as_text=True)
    response = ada.post(f"/admin/users/{user_id(app, 'nina')}/password", data={
        "csrf_token": csrf_from(page), "password-password": "a-brand-new-password",
        "password-confirm": "a-brand-new-password", "password-reason": "she thinks it was seen"})
    assert response.status_code == 302
    assert_refused(thief)
    assert_refused(nina)
    assert_accepted(ada)


def test_a_password_set_with_the_command_line_ends_the_users_sessions(app, database_url):
    nina = signed_in(app, "nina")
    ada = signed_in(app, "ada")
    result = cli("users", "password", "NINA", "--password-stdin", env={"FRIDGE_MONITOR_DATABASE_URL": database_url},
                 input=b"a-brand-new-password\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "password of 'nina' set; their sessions are signed out"
    assert_refused(nina)
    assert_accepted(ada)
    with app.engine_for_test.connect() as conn:
        event = conn.execute(sa.select(m.AuditEvent.actor, m.AuditEvent.field, m.AuditEvent.new_value)
                             .where(m.AuditEvent.record_id == "nina", m.AuditEvent.field == "password")).one()
    assert tuple(event) == ("cli", "password", "(reset)")


def test_a_cookie_from_before_disabling_stays_refused_after_enabling_again(app):
    nina = signed_in(app, "nina")
    thief = copy_of(app, nina)
    with so.Session(app.engine_for_test) as session, session.begin():
        user = session.get(m.User, user_id(app, "nina"))
        accounts.set_disabled(session, user, True, actor="ada", now=NOW, reason="on leave")
    with so.Session(app.engine_for_test) as session, session.begin():
        user = session.get(m.User, user_id(app, "nina"))
        accounts.set_disabled(session, user, False, actor="ada", now=NOW, reason="back")
    assert_refused(thief)
    assert_refused(nina)
    assert_accepted(signed_in(app, "nina"))
