"""Sign-in tells nothing and cannot be hammered (issue 12, item 8), on SQLite and PostgreSQL.

An unknown name, a locked account and a disabled account get the words a
wrong password gets and cost the same password-hashing work, so neither the
page nor the clock tells an attacker which names exist. One client address
gets ``[web] login_attempts_per_minute`` attempts a minute, whatever names
it tries; then a 429 page says how long to wait.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.store import accounts
from fridge_monitor.store import models as m

from support import add_users, web_app

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
REFUSED = accounts.refusal_message(5, timedelta(minutes=15))


def make_app(database_url, engine_for, attempts_per_minute: int):
    engine = engine_for(database_url)
    add_users(engine, {"nina": "nurse", "lena": "nurse", "dora": "nurse"}, NOW)
    with so.Session(engine) as session, session.begin():
        lena = session.scalar(sa.select(m.User).where(m.User.name == "lena"))
        lena.locked_until = datetime.now(UTC) + timedelta(minutes=10)
        dora = session.scalar(sa.select(m.User).where(m.User.name == "dora"))
        accounts.set_disabled(session, dora, True, actor="test", now=NOW, reason="left")
    app = web_app(engine, database_url, web={"login_attempts_per_minute": attempts_per_minute})
    app.config["WTF_CSRF_ENABLED"] = False  # CSRF has its own tests; here every POST is a sign-in attempt
    return app


@pytest.fixture
def app(database_url, engine_for):
    return make_app(database_url, engine_for, attempts_per_minute=100)


def sign_in(client, name: str, password: str, address: str = "192.0.2.1"):
    return client.post("/login", data={"name": name, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def error_of(response) -> str:
    found = re.search(r'<p class="error" role="alert">([^<]*)</p>', response.get_data(as_text=True))
    return found.group(1).replace("&#39;", "'") if found else ""


@pytest.mark.parametrize(("name", "password"), [
    ("nina", "wrong-password-x"),   # wrong password
    ("nobody", "whatever-password"),  # unknown name
    ("lena", "lena-password-1"),    # locked, right password
    ("dora", "dora-password-1"),    # disabled, right password
])
def test_every_refusal_reads_the_same(app, name, password):
    response = sign_in(app.test_client(), name, password)
    assert response.status_code == 401
    assert error_of(response) == REFUSED


@pytest.mark.parametrize("name", ["nobody", "lena", "dora", "nina"])
def test_every_refusal_checks_one_password_hash(app, name, monkeypatch):
    """The hashing work is what takes the time: each kind of refusal does it exactly once."""
    checked: list[str] = []
    real = accounts.check_password_hash

    def counting(pwhash: str, password: str) -> bool:
        checked.append(pwhash)
        return real(pwhash, password)

    monkeypatch.setattr(accounts, "check_password_hash", counting)
    sign_in(app.test_client(), name, "wrong-password-x" if name == "nina" else f"{name}-password-1")
    assert len(checked) == 1
    # ... and with the same method and cost as a real user's hash, so it takes as long.
    real_method = accounts.hash_password("any password").split("$")[0]
    assert checked[0].split("$")[0] == real_method


def test_one_address_gets_its_attempts_per_minute_then_a_429(database_url, engine_for):
    app = make_app(database_url, engine_for, attempts_per_minute=3)
    client = app.test_client()
    for name in ("nobody", "somebody", "anybody"):  # any account: the address is counted
        assert sign_in(client, name, "guess-password-1").status_code == 401
    response = sign_in(client, "nina", "nina-password-1")  # even the right password is not checked now
    assert response.status_code == 429
    wait = int(response.headers["Retry-After"])
    assert 1 <= wait <= 60
    assert error_of(response) == (f"too many sign-in attempts from this address; wait {wait} second(s) "
                                  "and try again (nothing was checked)")
    assert "user_id" not in response.headers.get("Set-Cookie", "")
    # Another address is not held up, and nina signs in from it.
    other = sign_in(app.test_client(), "nina", "nina-password-1", address="192.0.2.2")
    assert other.status_code == 302
    # Looking at the sign-in page is not an attempt.
    assert client.get("/login", environ_base={"REMOTE_ADDR": "192.0.2.1"}).status_code == 200
    with engine_for(database_url).connect() as conn:
        failed = conn.scalar(sa.select(m.User.failed_logins).where(m.User.name == "nina"))
    assert failed == 0
