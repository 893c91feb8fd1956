"""The JSON API, /healthz and /metrics, through the Flask test client, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from fridge_monitor.core.readings import Reading
from fridge_monitor.ingest.batches import Batch, Rejected, Store
from fridge_monitor.store.sync import sync_declarations
from fridge_monitor.web import create_app

from support import clinic_config, user_with_token

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def reading(sensor, at, temp, battery=None):
    fmt, device = sensor.split(":")
    return Reading(sensor, fmt, device, at, temp, battery), at


def config_for(url):
    return clinic_config([
        {"name": "A1", "site": "Clinic A", "sensors": ["native:a1", "native:a1-backup"]},
        {"name": "F1", "site": "Clinic A", "kind": "freezer"},
    ], url, web={"secret_key": "k" * 40})


@pytest.fixture
def api(database_url, engine_for):
    """(app, bearer token, now): fridge A1 with an hour of minute readings at T0 and a fresh one now."""
    engine = engine_for(database_url)
    config = config_for(database_url)
    now = datetime.now(UTC)
    sync_declarations(engine, config, T0 - timedelta(days=1))
    token = user_with_token(engine, "audrey", "auditor", now, "correct horse battery")
    store = Store(engine)
    store.write(Batch(readings=[reading("native:a1", T0 + timedelta(minutes=k), 4.0 + (k % 10) / 10)
                                for k in range(60)]))
    store.write(Batch(
        readings=[reading("native:a1", now - timedelta(minutes=1), 5.5, 77), reading("native:spare", now, 20.0)],
        rejected=[Rejected(now, "fridge-monitor/readings/x", "native", None, "not JSON", b"{")],
    ))
    return create_app(config, engine=engine, testing=True), token, now


def get(app, path, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return app.test_client().get(path, headers=headers)


def test_without_credentials_the_api_answers_401_json(api):
    app, _token, _ = api
    for path in ("/api/v1/fridges", "/api/v1/sensors", "/api/v1/fridges/A1/readings", "/api/v1/openapi.json"):
        response = get(app, path)
        assert response.status_code == 401, path
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert response.get_json() == {"error": {"code": 401, "message": "sign in or send Authorization: Bearer TOKEN"}}
    bad = get(app, "/api/v1/fridges", "fm_not-a-token")
    assert bad.status_code == 401 and "not valid" in bad.get_json()["error"]["message"]


def test_fridges_with_status_today_and_sensors(api):
    app, token, now = api
    response = get(app, "/api/v1/fridges", token)
    assert response.status_code == 200
    body = response.get_json()
    by_name = {f["name"]: f for f in body["fridges"]}
    assert list(by_name) == ["A1", "F1"]
    a1 = by_name["A1"]
    assert a1["site"] == "Clinic A" and a1["timezone"] == "Europe/Berlin" and a1["kind"] == "refrigerator"
    assert a1["range"] == {"low_c": 2.0, "high_c": 8.0}
    assert a1["status"] == "OK" and a1["temperature_c"] == 5.5
    assert a1["last_reading_at"].endswith("Z")
    assert datetime.fromisoformat(a1["last_reading_at"]) == (now - timedelta(minutes=1))
    assert a1["today"]["min_c"] == 5.5 and a1["today"]["max_c"] == 5.5
    assert [(s["id"], s["role"], s["battery_pct"]) for s in a1["sensors"]] == [
        ("native:a1", "primary", 77.0), ("native:a1-backup", "backup", None)]
    assert by_name["F1"]["status"] == "NO SENSOR" and by_name["F1"]["temperature_c"] is None
    assert get(app, "/api/v1/fridges/A1", token).get_json() == a1
    missing = get(app, "/api/v1/fridges/nope", token)
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == 404


def test_sensors_include_unassigned(api):
    app, token, _ = api
    sensors = {s["id"]: s for s in get(app, "/api/v1/sensors", token).get_json()["sensors"]}
    assert sensors["native:spare"]["fridge"] is None and sensors["native:spare"]["temperature_c"] == 20.0
    assert sensors["native:a1"]["fridge"] == "A1" and sensors["native:a1-backup"]["last_seen_at"] is None


def test_readings_raw_and_downsampled(api):
    app, token, _ = api
    raw = get(app, "/api/v1/fridges/A1/readings?from=2026-11-20T09:00:00Z&to=2026-11-20T09:05:00Z", token)
    assert raw.status_code == 200
    body = raw.get_json()
    assert body["every"] is None and body["from"] == "2026-11-20T09:00:00Z" and body["to"] == "2026-11-20T09:05:00Z"
    assert body["readings"] == [
        {"at": f"2026-11-20T09:0{k}:00Z", "sensor": "native:a1", "temperature_c": 4.0 + k / 10} for k in range(5)]
    buckets = get(app, "/api/v1/fridges/A1/readings?from=2026-11-20&to=2026-11-20&every=1800", token).get_json()
    assert buckets["from"] == "2026-11-19T23:00:00Z"  # local midnight in Berlin
    assert buckets["buckets"] == [
        {"start": "2026-11-20T09:00:00Z", "sensor": "native:a1", "min_c": 4.0, "max_c": 4.9, "mean_c": 4.45,
         "count": 30},
        {"start": "2026-11-20T09:30:00Z", "sensor": "native:a1", "min_c": 4.0, "max_c": 4.9, "mean_c": 4.45,
         "count": 30},
    ]
    hours = get(app, "/api/v1/fridges/A1/readings?from=2026-11-20T08:00:00Z&to=2026-11-20T12:00:00Z&every=3600",
                token).get_json()  # whole hours: from the hourly rollups
    half = get(app, "/api/v1/fridges/A1/readings?from=2026-11-20T09:30:00Z&to=2026-11-20T12:00:00Z&every=3600",
               token).get_json()  # a ragged start: the rest of its hour from the readings
    assert [b | {"mean_c": round(b["mean_c"], 2)} for b in hours["buckets"] + half["buckets"]] == [
        {"start": "2026-11-20T09:00:00Z", "sensor": "native:a1", "min_c": 4.0, "max_c": 4.9, "mean_c": 4.45,
         "count": count} for count in (60, 30)]


@pytest.mark.parametrize(("query", "param"), [
    ("from=yesterday", "from"),
    ("to=2026-13-01", "to"),
    ("from=2026-11-21&to=2026-11-20", "to"),
    ("every=ten", "every"),
    ("every=0", "every"),
    ("from=2026-01-01&to=2026-11-20&every=1", "every"),
])
def test_bad_reading_parameters_are_400_naming_the_parameter(api, query, param):
    app, token, _ = api
    response = get(app, f"/api/v1/fridges/A1/readings?{query}", token)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == 400 and error["message"].startswith(f"parameter '{param}'")


def test_openapi_describes_every_api_route(api):
    app, token, _ = api
    doc = get(app, "/api/v1/openapi.json", token).get_json()
    assert doc["openapi"].startswith("3.1")
    assert doc["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer",
        "description": doc["components"]["securitySchemes"]["bearer"]["description"]}
    schemas = doc["components"]["schemas"]
    detail = schemas["Error"]["properties"]["error"]["$ref"].rsplit("/", 1)[1]
    assert set(schemas[detail]["required"]) == {"code", "message"}
    routes = {
        re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1/")
    }
    assert routes and routes <= set(doc["paths"]), f"undescribed: {routes - set(doc['paths'])}"
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert method.lower() in doc["paths"][path], f"{method} {path} is not described"


def test_openapi_describes_the_webhook_body_field_by_field(api):
    from fridge_monitor.alerts.notify.message import AlertMessage, mqtt_payload
    from fridge_monitor.core.escalation import EVENTS

    app, token, _ = api
    doc = get(app, "/api/v1/openapi.json", token).get_json()
    schema = doc["components"]["schemas"]["AlertNotification"]
    post = doc["webhooks"]["alertNotification"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/AlertNotification")
    message = AlertMessage(alert_id=1, kind="excursion", event="reminder", state="open", severity="alarm",
                           fridge="A1", site="Clinic A", title="t", detail="d",
                           started_at=datetime(2026, 1, 1, tzinfo=UTC),
                           updated_at=datetime(2026, 1, 1, tzinfo=UTC))
    body = json.loads(mqtt_payload(message))
    assert set(schema["properties"]) == set(body)
    assert set(schema["required"]) <= set(body)
    assert schema["properties"]["event"]["enum"] == list(EVENTS)
    assert schema["properties"]["version"]["const"] == body["version"]


def test_healthz_is_public_and_reports_ingest_from_the_database(api):
    app, token, now = api
    assert get(app, "/healthz").get_json() == {"status": "ok"}  # anyone gets the verdict
    response = get(app, "/healthz", token)
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert "broker" in body
    assert datetime.fromisoformat(body["ingest"]["last_received_at"]) == now
    assert 0 <= body["ingest"]["age_s"] < 60


def test_healthz_degraded_when_the_database_is_unreachable(tmp_path, engine_for):
    url = f"sqlite:///{tmp_path / 'missing' / 'dir' / 'x.db'}"
    app = create_app(config_for(url), engine=engine_for(url), testing=True)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    # Nobody can be recognised without the database, so the error's text goes only to the log.
    assert response.get_json() == {"status": "degraded"}


def test_metrics_need_credentials_and_read_the_database(api):
    app, token, _ = api
    assert get(app, "/metrics").status_code == 302  # to the sign-in page
    response = get(app, "/metrics", token)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    metrics = response.get_data(as_text=True)
    assert "fridge_monitor_readings_stored_total 62.0" in metrics
    assert "fridge_monitor_rejected_messages_total 1.0" in metrics
    lag = float(re.search(r"^fridge_monitor_ingest_lag_seconds ([0-9.e+-]+)$", metrics, re.M).group(1))
    assert 0 <= lag < 60
    assert "fridge_monitor_sensors_silent 1.0" in metrics  # the backup never reported
    assert 'fridge_monitor_fridges{status="OK"} 1.0' in metrics
    assert 'fridge_monitor_fridges{status="NO SENSOR"} 1.0' in metrics
    assert "fridge_monitor_alerts_ongoing 0.0" in metrics  # nothing judged in this fixture
    assert "fridge_monitor_scheduler_active 0.0" in metrics
