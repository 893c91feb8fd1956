"""/healthz tells anyone only its verdict; the scheduler's host and process id, ingest's heartbeats and the
database's error need a login or an API token (issue 12, item 12). On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from fridge_monitor.alerts.scheduler import Lease
from fridge_monitor.core.heartbeat import Heartbeat
from fridge_monitor.store.ingest_state import record_heartbeat

from support import client_for, user_with_token, web_app


def test_anonymous_healthz_shows_only_the_status_a_signed_in_one_the_details(database_url, engine_for):
    engine = engine_for(database_url)
    now = datetime.now(UTC)
    token = user_with_token(engine, "nina", "nurse", now)
    Lease(engine, timedelta(seconds=30), holder="box-7:4242").acquire(now)
    record_heartbeat(engine, Heartbeat("ingest-secret-client", now - timedelta(minutes=5), now, True, 17,
                                       now, now, 5.0, 3600.0))
    app = web_app(engine, database_url)

    anonymous = app.test_client().get("/healthz")
    assert anonymous.status_code == 200 and anonymous.get_json() == {"status": "ok"}
    text = anonymous.get_data(as_text=True)
    for detail in ("box-7", "4242", "ingest-secret-client", "holder", "processes", "database", "scheduler"):
        assert detail not in text

    for client, headers in ((client_for(app, engine, "nina"), {}),
                            (app.test_client(), {"Authorization": f"Bearer {token}"})):
        response = client.get("/healthz", headers=headers)
        body = response.get_json()
        assert response.status_code == 200 and body["status"] == "ok"
        assert body["scheduler"]["holder"] == "box-7:4242"
        assert [p["client_id"] for p in body["ingest"]["processes"]] == ["ingest-secret-client"]
        assert "ingest-secret-client" in json.dumps(body)


def test_anonymous_healthz_of_an_unreachable_database_carries_no_error_text(tmp_path, engine_for):
    url = f"sqlite:///{tmp_path / 'missing' / 'dir' / 'x.db'}"
    app = web_app(engine_for(url), url, web={"secret_key": "k" * 40})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "degraded"}
    assert "unable to open" not in response.get_data(as_text=True)
