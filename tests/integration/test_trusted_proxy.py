"""Behind a reverse proxy (``[web] trusted_proxy``), the real web server believes the proxy's X-Forwarded-For
and X-Forwarded-Proto, and only the proxy's: the sign-in throttle counts each client, not the proxy, and a
request that came in over HTTPS is known as such."""

from __future__ import annotations

from datetime import UTC, datetime

import requests

from fridge_monitor.config import build_config
from fridge_monitor.config.errors import ConfigError
from fridge_monitor.mqtt.broker import free_port
from fridge_monitor.store.sync import sync_declarations
from fridge_monitor.web import create_app
from fridge_monitor.web.server import WebServer

from support import add_users, user_with_token

NOW = datetime.now(UTC)


def serve(sqlite_url, engine, trusted_proxy: str) -> tuple[WebServer, str]:
    config = build_config({"database": {"url": sqlite_url},
                           "web": {"login_attempts_per_minute": 2, "trusted_proxy": trusted_proxy, "https": True},
                           "sites": [{"name": "Ward 3", "timezone": "Europe/Berlin"}],
                           "fridges": [{"name": "Vaccines", "site": "Ward 3"}]}, {}, {}, "test")
    sync_declarations(engine, config, NOW)
    app = create_app(config, engine=engine)
    app.config["WTF_CSRF_ENABLED"] = False  # every POST here is a sign-in attempt; CSRF has its own tests
    server = WebServer(app, "127.0.0.1", free_port(), 2, config.web["trusted_proxy"])
    server.start()
    return server, server.url


def attempt(base: str, client: str) -> int:
    return requests.post(f"{base}/login", data={"name": "nina", "password": "wrong-password-x"}, timeout=10,
                         headers={"X-Forwarded-For": client, "X-Forwarded-Proto": "https"},
                         allow_redirects=False).status_code


def sign_check(base: str, engine, proto: str) -> requests.Response:
    token = user_with_token(engine, f"nurse-{proto}-{free_port()}", "nurse", NOW, password="long-enough-pw")
    return requests.post(f"{base}/api/v1/fridges/Vaccines/checks", timeout=10,
                         headers={"Authorization": f"Bearer {token}", "X-Forwarded-Proto": proto},
                         json={"current_c": 4.7, "min_c": 3.9, "max_c": 5.8,
                               "signature": {"password": "long-enough-pw", "meaning": "performed"}})


def test_the_throttle_counts_clients_behind_a_trusted_proxy(sqlite_url, engine_for):
    engine = engine_for(sqlite_url)
    add_users(engine, {"nina": "nurse"}, NOW)
    server, base = serve(sqlite_url, engine, "127.0.0.1")
    try:
        assert [attempt(base, "203.0.113.7") for _ in range(3)][-1] == 429
        assert attempt(base, "203.0.113.8") != 429  # another client behind the same proxy
        # A signed check over the API needs HTTPS ([web] https): the proxy says the request came so.
        assert sign_check(base, engine, "https").status_code == 201
        assert "HTTPS only" in sign_check(base, engine, "http").json()["error"]["message"]
    finally:
        server.stop()


def test_without_a_trusted_proxy_the_headers_are_not_believed(sqlite_url, engine_for):
    engine = engine_for(sqlite_url)
    add_users(engine, {"nina": "nurse"}, NOW)
    server, base = serve(sqlite_url, engine, "")
    try:
        assert [attempt(base, "203.0.113.7") for _ in range(3)][-1] == 429
        # A forged X-Forwarded-For does not buy a fresh allowance: every attempt is 127.0.0.1's.
        assert attempt(base, "203.0.113.8") == 429
        assert "HTTPS only" in sign_check(base, engine, "https").json()["error"]["message"]
    finally:
        server.stop()


def test_a_trusted_proxy_must_be_an_address():
    try:
        build_config({"web": {"trusted_proxy": "nginx.local"}}, {}, {}, "test")
    except ConfigError as exc:
        assert "[web] trusted_proxy must be the reverse proxy's IP address" in str(exc)
    else:
        raise AssertionError("a host name was taken as the trusted proxy")
