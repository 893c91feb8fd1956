"""Walk every registered route without login and as each role: the role matrix holds.

Nothing is readable without login (except sign-in, static files and /healthz),
nothing is writable by an auditor (except signing out, their own display
preference, and POST /api/v1/scan, which only reads a code), and a route that
does not declare its roles is refused to all.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy.orm as so
from werkzeug.routing import IntegerConverter

from fridge_monitor.store import models as m
from fridge_monitor.web.access import PUBLIC, SAFE_METHODS

from support import add_users, web_app

ROLES = ("nurse", "supervisor", "auditor", "admin")
PUBLIC_ENDPOINTS = {"auth.login", "ops.healthz"}
# api.scan: a POST that writes nothing; exports.make_bundle: asking for an export is the auditor's job;
# exports.csv_file and exports.download: downloads, POST only because each writes an audit event
AUDITOR_MAY_POST = {"auth.logout", "auth.preferences", "api.scan", "exports.make_bundle", "exports.csv_file",
                    "exports.download"}
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.fixture
def app_and_users(sqlite_url, engine_for):
    engine = engine_for(sqlite_url)
    by_name = add_users(engine, [(f"{role}-1", role) for role in ROLES], NOW, password="long-enough-pw")
    ids = {role: by_name[f"{role}-1"] for role in ROLES}
    app = web_app(engine, sqlite_url)
    app.config["WTF_CSRF_ENABLED"] = False  # the matrix is about roles; CSRF has its own tests
    return app, ids


def session_version(app, user_id: int) -> int:
    with so.Session(app.extensions["fridge_monitor"]["engine"]) as session:
        return session.get(m.User, user_id).session_version


def routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        values = {arg: 0 if isinstance(rule._converters[arg], IntegerConverter) else "no-such-thing"
                  for arg in rule.arguments}
        url = rule.build(values, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, url, method


def test_every_route_declares_roles_and_public_ones_are_few(app_and_users):
    app, _ = app_and_users
    declared = {}
    for endpoint, view in app.view_functions.items():
        if endpoint == "static":
            continue
        assert hasattr(view, "allowed_roles"), f"{endpoint} declares no roles"
        declared[endpoint] = view.allowed_roles
    assert {e for e, roles in declared.items() if PUBLIC in roles} <= PUBLIC_ENDPOINTS
    for endpoint, roles in declared.items():
        view = app.view_functions[endpoint]
        methods = {m for rule in app.url_map.iter_rules(endpoint) for m in rule.methods}
        if methods - SAFE_METHODS and endpoint not in AUDITOR_MAY_POST:
            assert "auditor" not in roles, f"{endpoint} lets an auditor write"


def test_walk_every_route_without_login_and_as_each_role(app_and_users):
    app, ids = app_and_users
    walked = 0
    for endpoint, url, method in routes(app):
        roles = app.view_functions[endpoint].allowed_roles
        anonymous = app.test_client().open(url, method=method)
        if PUBLIC not in roles:
            if url.startswith("/api/"):
                assert anonymous.status_code == 401, (endpoint, method)
                assert anonymous.get_json()["error"]["code"] == 401
            else:
                assert anonymous.status_code == 302, (endpoint, method, anonymous.status_code)
                assert anonymous.headers["Location"].startswith("/login")
        for role in ROLES:
            client = app.test_client()
            with client.session_transaction() as session:
                session["user_id"] = ids[role]
                # POST /logout, walked like any route, ends the user's sessions: sign in at the current version.
                session["session_version"] = session_version(app, ids[role])
            response = client.open(url, method=method)
            if role in roles or PUBLIC in roles:
                assert response.status_code not in (401, 403), (endpoint, method, role, response.status_code)
            else:
                assert response.status_code == 403, (endpoint, method, role, response.status_code)
        walked += 1
    assert walked >= 6
