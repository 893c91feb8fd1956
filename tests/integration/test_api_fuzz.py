"""The JSON API fuzzed from its own openapi.json: schemathesis, every check on every operation, against
``fridge-monitor web`` on a free port with an admin's token, a fixed seed and few examples (schemathesis.toml);
zero failures. Fridges A1 and B2, the seeded products and lot 1 are there for the fuzzer to name (tests/api_fuzz.py).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so
from openapi_spec_validator import validate

from fridge_monitor.inventory import catalog
from fridge_monitor.inventory import ledger as inventory
from fridge_monitor.store import models as m
from fridge_monitor.store.sync import sync_declarations

from support import REPO, clinic_config, reachable, start_cli, user_with_token, wait_until

pytestmark = pytest.mark.slow
FRIDGES = [{"name": "A1", "site": "Clinic A", "sensors": ["native:a1"]}, {"name": "B2", "site": "Clinic A"}]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seed(engine: sa.Engine, url: str, now: datetime) -> str:
    """The fridges, the catalogue, lot 1 (C3709C3 of the first product) with units in A1; an admin's token."""
    sync_declarations(engine, clinic_config(FRIDGES, url), now - timedelta(days=1))
    token = user_with_token(engine, "boss", "admin", now, "correct horse battery")
    with so.Session(engine) as session, session.begin():
        product = session.scalar(sa.select(m.Product.id).order_by(m.Product.id).limit(1))
        fridge = session.scalar(sa.select(m.Fridge.id).where(m.Fridge.name == "A1"))
        assert product == 1 and fridge is not None
        lot = catalog.lot_for(session, product_id=product, lot_number="C3709C3",
                              expiry=now.date() + timedelta(days=900), actor="boss", now=now)
        assert lot.id == 1
        inventory.receive(session, lot_id=lot.id, fridge_id=fridge, quantity=50, actor="boss", now=now)
    return token


def test_schemathesis_finds_no_failure_in_any_operation(sqlite_url, engine_for, tmp_path: Path) -> None:
    token = seed(engine_for(sqlite_url), sqlite_url, datetime.now(UTC))
    port = free_port()
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "{sqlite_url}"\n[web]\nhost = "127.0.0.1"\nport = {port}\n'
                      f'secret_key = "{"k" * 40}"\n[[sites]]\nname = "Clinic A"\ntimezone = "Europe/Berlin"\n'
                      + "".join(f'[[fridges]]\nname = "{f["name"]}"\nsite = "Clinic A"\n' for f in FRIDGES))
    web = start_cli("--config", str(config), "web", log_path=tmp_path / "web.log")
    try:
        wait_until(lambda: reachable("127.0.0.1", port), timeout=60, what="the web role")
        base = f"http://127.0.0.1:{port}/api/v1/openapi.json"
        request = urllib.request.Request(base, headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            document = json.load(answer)
        validate(document)  # a valid OpenAPI 3.1 document
        fuzzed = subprocess.run(
            [str(Path(sys.executable).parent / "schemathesis"), "run", base, "-H", f"Authorization: Bearer {token}",
             "--checks", "all"],
            cwd=REPO, capture_output=True, text=True, timeout=240,
            env={**os.environ, "SCHEMATHESIS_HOOKS": "tests/api_fuzz.py", "NO_COLOR": "1"})
    finally:
        web.terminate()
        web.wait(30)
    summary = fuzzed.stdout[-6000:]
    assert fuzzed.returncode == 0, summary + fuzzed.stderr[-3000:]
    selected = re.search(r"Selected: (\d+)/(\d+)", summary)
    assert selected and selected[1] == selected[2] and f"Tested: {selected[1]}" in summary, summary  # all of them
    assert "failure" not in summary.splitlines()[-1], summary
