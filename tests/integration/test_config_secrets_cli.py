"""The command line never prints a database or MQTT password: not in a config error, not when the database
or the broker is out of reach (issue 12, item 13)."""

from __future__ import annotations

import signal

from fridge_monitor.mqtt.broker import free_port

from support import cli, start_cli, wait_until

SECRET = "s3cr3t-Pa55"


def test_a_bad_setting_beside_password_bearing_urls_shows_no_password():
    result = cli("db", "upgrade", env={
        "FRIDGE_MONITOR_DATABASE_URL": f"postgresql://clinic:{SECRET}@127.0.0.1:1/fridges",
        "FRIDGE_MONITOR_MQTT_URL": f"mqtt://ingest:{SECRET}@127.0.0.1:port",
        "FRIDGE_MONITOR_MQTT_PASSWORD": SECRET,
    })
    assert result.returncode == 2
    assert SECRET not in result.stdout + result.stderr
    assert "mqtt://ingest:***@127.0.0.1:port" in result.stderr


def test_an_unreachable_database_is_named_without_its_password():
    result = cli("db", "upgrade", env={
        "FRIDGE_MONITOR_DATABASE_URL": f"postgresql://clinic:{SECRET}@127.0.0.1:{free_port()}/fridges",
    })
    assert result.returncode == 2
    assert SECRET not in result.stdout + result.stderr
    assert "clinic:***@127.0.0.1" in result.stderr


def test_ingest_waiting_for_database_and_broker_logs_no_password(tmp_path):
    log = tmp_path / "ingest.log"
    proc = start_cli("ingest", log_path=log, env={
        "FRIDGE_MONITOR_DATABASE_URL": f"postgresql://clinic:{SECRET}@127.0.0.1:{free_port()}/nowhere",
        "FRIDGE_MONITOR_DATABASE_RETRY_MAX_S": "1",
        "FRIDGE_MONITOR_MQTT_URL": f"mqtt://ingest:{SECRET}@127.0.0.1:{free_port()}",
        "FRIDGE_MONITOR_MQTT_PASSWORD": SECRET,
    })
    try:
        wait_until(lambda: "database unavailable at start" in log.read_text(), 30, what="the writer to wait")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)
    assert SECRET not in log.read_text()
