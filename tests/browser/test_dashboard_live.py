"""A nurse signs in and watches live fridges: values from a real ingest, and a sensor going silent."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect

from fridge_monitor.core.rules import AlarmProfile
from fridge_monitor.mqtt.broker import free_port

from support import REPO, Publisher, add_users, start_cli, wait_until

NOW = datetime.now(UTC)


def test_nurse_sees_live_values_and_a_fridge_going_silent(page, artifacts, tmp_path, make_config, prefix,
                                                         mqtt_url, mqtt_protocol, sqlite_url, engine_for):
    port = free_port()
    db_url = sqlite_url
    tag = prefix.strip("/")
    config, path = make_config(
        db_url,
        sections={"web": {"port": port}},
        sites=[{"name": "Ward 3", "timezone": "Europe/Berlin"}],
        fridges=[
            {"name": "Vaccines", "site": "Ward 3", "sensors": ["native:sim-fridge-1"]},
            {"name": "Botox", "site": "Ward 3", "sensors": [f"native:{tag}-b"]},
        ],
    )
    add_users(engine_for(db_url), {"nurse-n": "nurse"}, NOW, password="nurse-password-1")

    log = tmp_path / "run.log"
    proc = start_cli("--config", str(path), "run", log_path=log)
    publisher = Publisher(mqtt_url, f"pub-{tag}", mqtt_protocol)
    simulator = None
    try:
        wait_until(lambda: f"http://127.0.0.1:{port}" in log.read_text() and "subscribing to" in log.read_text(),
                   30, what="run to serve the dashboard and subscribe")
        # Botox's sensor last spoke 20 s less than its profile's allowed gap ago (the default profile's 35 min):
        # fresh now, silent in a few seconds.
        silent_from = datetime.now(UTC) - AlarmProfile("range", 2.0, 8.0).allowed_gap + timedelta(seconds=20)
        publisher.publish([
            (f"{prefix}fridge-monitor/readings/{tag}-b",
             json.dumps({"temperature_c": 5.5, "ts": silent_from.timestamp()})),
        ])
        # The Vaccines fridge is a simulated sensor publishing every 2 s through the broker.
        simulator = subprocess.Popen(
            [sys.executable, "-m", "sensors", "--broker", mqtt_url, "--prefix", prefix, "--fridges", "1",
             "--interval", "2", "--format", "native", "--scenario", "normal", "--duration", "120", "-q"],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )

        page.goto(f"http://127.0.0.1:{port}/")
        assert page.url.endswith("/login?next=/")
        assert page.locator('input[name="csrf_token"]').count() == 1
        page.fill("#name", "nurse-n")
        page.fill("#password", "nurse-password-1")
        page.click("button[type=submit]")
        page.wait_for_url(f"http://127.0.0.1:{port}/")

        vaccines = page.locator('[data-fridge="Vaccines"]')
        vaccines.locator(".temp", has_text=re.compile(r"\d\.\d °C")).wait_for(timeout=30_000)
        vaccines.get_by_text("OK", exact=False).first.wait_for(timeout=20_000)
        botox = page.locator('[data-fridge="Botox"]')
        assert "5.5 °C" in botox.inner_text() and "OK" in botox.inner_text()
        page.screenshot(path=str(artifacts / "dashboard.png"), full_page=True)

        # The simulated sensor keeps reporting: the tile's age stays seconds and the page
        # refreshes its tiles in place, without a reload.
        page.evaluate("window.__marker = 'same page'")
        first = page.locator(".refreshed").inner_text()
        expect(page.locator(".refreshed")).not_to_have_text(first, timeout=30_000)
        assert page.evaluate("window.__marker") == "same page"
        assert re.search(r"\d+ s ago", vaccines.inner_text())

        # The Botox sensor says nothing more: within a refresh or two the tile says NO DATA, never OK.
        page.locator('[data-fridge="Botox"]', has_text="NO DATA").wait_for(timeout=40_000)
        assert re.search(r"NO DATA", botox.inner_text())
        assert "5.5" not in botox.locator(".temp").inner_text()
        page.screenshot(path=str(artifacts / "dashboard-no-data.png"), full_page=True)
    finally:
        if simulator is not None:
            simulator.terminate()
            simulator.wait(30)
        publisher.close()
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
