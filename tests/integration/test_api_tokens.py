"""API tokens that expire and can be revoked from the command line, each step audited (issue 12, item 14).

On SQLite and PostgreSQL: ``users token create NAME --expires-days N``,
``users token list NAME`` and ``users token revoke NAME [--id ID | --all]``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.store import accounts
from fridge_monitor.store import models as m

from support import add_users, cli, web_app

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.fixture
def setup(database_url, engine_for):
    engine = engine_for(database_url)
    add_users(engine, {"olga": "auditor"}, NOW)
    app = web_app(engine, database_url)
    return app, engine, {"FRIDGE_MONITOR_DATABASE_URL": database_url}


def call(app, token: str):
    return app.test_client().get("/api/v1/fridges", headers={"Authorization": f"Bearer {token}"})


def token_events(engine) -> list[tuple[str, str, str | None, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(m.AuditEvent.action, m.AuditEvent.record_id, m.AuditEvent.field,
                                      m.AuditEvent.new_value)
                            .where(m.AuditEvent.record_type == "api_token").order_by(m.AuditEvent.id)).all()
    return [tuple(row) for row in rows]


def test_an_expired_token_is_refused_with_401(setup):
    app, engine, _ = setup
    now = datetime.now(UTC)
    with so.Session(engine) as session, session.begin():
        olga = accounts.find_user(session, "olga")
        current = accounts.new_token(session, olga, actor="test", now=now, expires_at=now + timedelta(hours=1))
        stale = accounts.new_token(session, olga, actor="test", now=now - timedelta(days=2),
                                   expires_at=now - timedelta(seconds=1))
    assert call(app, current).status_code == 200
    response = call(app, stale)
    assert response.status_code == 401
    assert response.get_json()["error"]["message"] == (
        "the API token is not valid (unknown, expired, revoked, or its user is disabled)")


def test_create_with_an_expiry_from_the_command_line(setup):
    app, engine, env = setup
    before = datetime.now(UTC)
    result = cli("users", "token", "create", "olga", "--expires-days", "30", env=env)
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"API token for olga \(auditor\), valid until \d{4}-\d\d-\d\d \d\d:\d\d UTC; "
                        r"send it as 'Authorization: Bearer <token>':", result.stderr.strip())
    assert call(app, token).status_code == 200
    with engine.connect() as conn:
        row = conn.execute(sa.select(m.ApiToken.id, m.ApiToken.expires_at)).one()
    assert timedelta(days=30) <= row.expires_at - before <= timedelta(days=30, minutes=5)
    assert token_events(engine) == [("create", f"olga #{row.id}", "expires_at", row.expires_at.isoformat())]
    assert cli("users", "token", "create", "olga", "--expires-days", "0", env=env).returncode == 2


def test_the_older_spelling_still_creates_a_token_valid_until_revoked(setup):
    app, engine, env = setup
    result = cli("users", "token", "olga", env=env)
    assert result.returncode == 0, result.stderr
    assert "valid until revoked" in result.stderr
    assert call(app, result.stdout.strip().splitlines()[-1]).status_code == 200
    assert token_events(engine)[0][2:] == ("expires_at", "never")


def test_revoke_one_by_id_then_all_each_audited(setup):
    app, engine, env = setup
    tokens = [cli("users", "token", "create", "olga", env=env).stdout.strip().splitlines()[-1] for _ in range(3)]
    with engine.connect() as conn:
        ids = conn.scalars(sa.select(m.ApiToken.id).order_by(m.ApiToken.id)).all()
    listing = cli("users", "token", "list", "olga", env=env)
    assert [line.split()[0] for line in listing.stdout.splitlines()] == [f"#{i}" for i in ids]

    ambiguous = cli("users", "token", "revoke", "olga", env=env)
    assert ambiguous.returncode == 2
    assert ambiguous.stderr.strip() == (
        "fridge-monitor: error: 'olga' has 3 live API tokens: name one with --id "
        "(see 'fridge-monitor users token list olga') or revoke them all with --all")

    result = cli("users", "token", "revoke", "olga", "--id", str(ids[1]), "--reason", "laptop lost", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"revoked 1 API token(s) of olga: #{ids[1]}"
    assert [call(app, token).status_code for token in tokens] == [200, 401, 200]
    again = cli("users", "token", "revoke", "olga", "--id", str(ids[1]), env=env)
    assert again.stderr.strip() == f"fridge-monitor: error: 'olga' has no live API token #{ids[1]}"

    result = cli("users", "token", "revoke", "olga", "--all", env=env)
    assert result.stdout.strip() == f"revoked 2 API token(s) of olga: #{ids[0]}, #{ids[2]}"
    assert [call(app, token).status_code for token in tokens] == [401, 401, 401]
    nothing = cli("users", "token", "revoke", "olga", env=env)
    assert nothing.stdout.strip() == "olga had no live API token; nothing revoked"

    with engine.connect() as conn:
        revokes = conn.execute(sa.select(m.AuditEvent.actor, m.AuditEvent.record_id, m.AuditEvent.reason)
                               .where(m.AuditEvent.action == "revoke").order_by(m.AuditEvent.id)).all()
    assert [tuple(r) for r in revokes] == [
        ("cli", f"olga #{ids[1]}", "laptop lost"),
        ("cli", f"olga #{ids[0]}", "revoked with fridge-monitor users token revoke"),
        ("cli", f"olga #{ids[2]}", "revoked with fridge-monitor users token revoke"),
    ]


def test_revoke_without_an_id_takes_the_only_token(setup):
    app, _, env = setup
    token = cli("users", "token", "create", "OLGA", env=env).stdout.strip().splitlines()[-1]  # any case finds olga
    assert cli("users", "token", "revoke", "olga", env=env).returncode == 0
    assert call(app, token).status_code == 401
