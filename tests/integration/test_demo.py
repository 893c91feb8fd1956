"""`fridge-monitor demo` on a machine with nothing but Python: it runs, shows fridges, stops cleanly."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import sqlalchemy as sa

from fridge_monitor.mqtt.broker import free_port

from support import REPO


def test_demo_shows_fridge_states_and_stops_cleanly_on_ctrl_c(tmp_path):
    data = tmp_path / "demo"
    proc = subprocess.Popen(
        [sys.executable, "-m", "fridge_monitor", "demo", "--data-dir", str(data), "--mqtt-port", str(free_port()),
         "--status-every", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO,
    )
    output: list[str] = []
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            output.append(line)
            if sum("ingest:" in text for text in output) >= 4:
                break
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=30)
        output.append(rest)
    finally:
        if proc.poll() is None:
            proc.kill()
    text = "".join(output)
    assert proc.returncode == 0, text
    assert "Fridge Monitor demo" in text
    for fridge in ("Vaccines A", "Botox B", "Insulin C", "Dysport D", "Xeomin E", "Vaccines F"):
        assert fridge in text
    assert "stopped cleanly" in text
    assert "Traceback" not in text

    engine = sa.create_engine(f"sqlite:///{data / 'fridge-monitor.db'}")
    with engine.connect() as conn:
        per_fridge = dict(conn.execute(sa.text(
            "SELECT f.name, count(r.id) FROM fridges f JOIN sensors s ON s.fridge_id = f.id "
            "LEFT JOIN readings r ON r.sensor_id = s.id GROUP BY f.name")).all())
        stock = dict(conn.execute(sa.text(
            "SELECT f.name, sum(e.delta) FROM stock_entries e JOIN fridges f ON f.id = e.fridge_id "
            "GROUP BY f.name")).all())
        full_names = dict(conn.execute(sa.text("SELECT name, full_name FROM users")).all())
        uncertified = conn.execute(sa.text(
            "SELECT s.id FROM sensors s WHERE s.fridge_id IS NOT NULL AND s.role != 'aux' AND NOT EXISTS "
            "(SELECT 1 FROM calibration_certificates c WHERE c.sensor_id = s.id)")).all()
    engine.dispose()
    # Every demo temperature probe has a certificate of calibration, with its file (door contacts and plugs
    # measure no temperature).
    assert uncertified == []
    # The demo's people can sign (a signature prints the full name).
    assert full_names == {"admin": "Ada Admin", "nurse": "Nina Nurse", "supervisor": "Sam Supervisor",
                          "auditor": "Aldo Auditor"}
    # Every demo fridge holds stock received before the simulation began, so lots meet its excursions.
    assert stock == {"Vaccines A": 38, "Botox B": 9, "Insulin C": 15, "Dysport D": 4, "Xeomin E": 5,
                     "Vaccines F": 10}
    assert "(01)09506000134352(17)" in text
    # The six simulated over MQTT, and the one watched by a data logger whose download was imported at start.
    assert set(per_fridge) == {"Vaccines A", "Botox B", "Insulin C", "Dysport D", "Xeomin E", "Vaccines F",
                               "Outreach G"}
    assert "data logger   Outreach G is watched by a Fridge-tag only" in text
    assert len(list((data / "loggers").glob("130500109088_*.txt"))) == 1
    assert all(count > 0 for count in per_fridge.values()), per_fridge
    assert (data / "fridge-monitor.toml").is_file()
