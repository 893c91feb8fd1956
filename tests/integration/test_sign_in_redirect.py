"""After signing in, ``next`` leads only to a path on this site (issue 12, item 6), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

import pytest

from support import add_users, client_for, web_app

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)

HOSTILE = [
    "//evil.example/phish",
    "/\t/evil.example/phish",
    "/\n/evil.example/phish",
    "/\\evil.example/phish",
    "/\\/evil.example/phish",
    "\\\\evil.example/phish",
    "https://evil.example/phish",
    "HTTPS:evil.example",
    "javascript:alert(1)",
    "java\tscript:alert(1)",
    " //evil.example",
    "evil.example/phish",
]


@pytest.fixture
def app(database_url, engine_for):
    engine = engine_for(database_url)
    add_users(engine, {"nina": "nurse"}, NOW)
    app = web_app(engine, database_url)
    app.config["WTF_CSRF_ENABLED"] = False
    app.engine_for_test = engine
    return app


def stays_here(location: str) -> bool:
    parts = urlsplit(location)
    return parts.scheme in ("", "http") and parts.netloc in ("", "localhost") and "evil" not in parts.netloc


@pytest.mark.parametrize("target", HOSTILE)
def test_a_hostile_next_falls_back_to_the_dashboard(app, target):
    response = app.test_client().post(f"/login?next={quote(target, safe='')}",
                                      data={"name": "nina", "password": "nina-password-1"})
    assert response.status_code == 302
    assert stays_here(response.headers["Location"]), response.headers["Location"]
    assert urlsplit(response.headers["Location"]).path == "/"


def test_the_reviewers_exact_url_stays_on_this_host(app):
    response = app.test_client().post("/login?next=/%09/evil.example/phish",
                                      data={"name": "nina", "password": "nina-password-1"})
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("target", HOSTILE)
def test_a_signed_in_user_sent_to_login_is_not_sent_away(app, target):
    client = client_for(app, app.engine_for_test, "nina")
    response = client.get(f"/login?next={quote(target, safe='')}")
    assert response.status_code == 302 and stays_here(response.headers["Location"])


def test_a_path_on_this_site_is_kept(app):
    response = app.test_client().post("/login?next=" + quote("/alerts?fridge=2", safe=""),
                                      data={"name": "nina", "password": "nina-password-1"})
    assert response.headers["Location"] == "/alerts?fridge=2"
