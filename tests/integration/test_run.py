"""`fridge-monitor run`: the single-box roles from the config, stopped by SIGTERM."""

from __future__ import annotations

import json
import signal
from datetime import UTC, datetime

import sqlalchemy as sa

from fridge_monitor.mqtt.broker import free_port

from support import Publisher, cli, start_cli, wait_until


def test_run_with_embedded_broker_stores_readings_and_stops_on_sigterm(tmp_path, sqlite_url):
    port = free_port()
    config = tmp_path / "fm.toml"
    config.write_text(
        f'[database]\nurl = "{sqlite_url}"\n'
        f'[mqtt]\nurl = "mqtt://127.0.0.1:{port}"\nembedded = true\nclient_id = "run-test"\n'
        f'[web]\nport = {free_port()}\n'
        '[[sites]]\nname = "Clinic A"\ntimezone = "Europe/Berlin"\n'
        '[[fridges]]\nname = "A1"\nsite = "Clinic A"\nsensors = ["native:a1-probe"]\n'
    )
    log = tmp_path / "run.log"
    proc = start_cli("--config", str(config), "run", log_path=log)
    try:
        wait_until(lambda: "subscribing to" in log.read_text(), 30, what="run to connect to its embedded broker")
        publisher = Publisher(f"mqtt://127.0.0.1:{port}", "run-test-pub")
        ts = datetime.now(UTC).replace(microsecond=0).isoformat()
        publisher.publish([("fridge-monitor/readings/a1-probe", json.dumps({"temperature_c": 4.4, "ts": ts}))])
        publisher.close()
        engine = sa.create_engine(sqlite_url)

        def stored() -> bool:
            with engine.connect() as conn:
                return conn.execute(sa.text("SELECT count(*) FROM readings")).scalar() == 1

        wait_until(stored, 20, what="the reading to be stored")
        engine.dispose()
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)
    assert code == 0, log.read_text()
    assert "ingest stopped" in log.read_text()
    assert "dashboard on http://127.0.0.1:" in log.read_text()
    day = ts[:10]
    result = cli("--config", str(config), "export", "readings", "--from", day, "--to", day)
    assert result.stdout.splitlines()[1].split(",")[1:4] == ["A1", "native:a1-probe", "4.4"]


def test_ingest_waiting_for_an_unreachable_database_stops_on_sigterm(tmp_path):
    from fridge_monitor.mqtt.broker import free_port as port

    log = tmp_path / "ingest.log"
    proc = start_cli("ingest", log_path=log, env={
        "FRIDGE_MONITOR_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{port()}/nowhere",
        "FRIDGE_MONITOR_DATABASE_RETRY_MAX_S": "1",
    })
    try:
        wait_until(lambda: "database unavailable at start" in log.read_text(), 30, what="the writer to wait")
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(15)
    assert code == 0, log.read_text()
