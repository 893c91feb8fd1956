"""Helpers shared by the tests: waiting, running the CLI, publishing, test configs."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest

IN_CI = bool(os.environ.get("CI"))
REPO = Path(__file__).resolve().parent.parent


def missing_service(what: str) -> None:
    """Skip on a developer machine without the service; fail in CI."""
    if IN_CI:
        pytest.fail(f"{what} is required in CI but is not available", pytrace=False)
    pytest.skip(f"{what} is not available")


def reachable(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, port)) == 0


def wait_until(predicate: Callable[[], Any], timeout: float = 30.0, interval: float = 0.1, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        time.sleep(interval)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return repr(value)


def render_toml(doc: dict[str, Any]) -> str:
    """Enough TOML for test configs: tables of scalars and arrays of tables."""
    lines: list[str] = []
    for section, body in doc.items():
        if isinstance(body, list):
            continue
        lines.append(f"[{section}]")
        nested = []
        for key, value in body.items():
            if isinstance(value, list) and value and isinstance(value[0], dict):
                nested.append((key, value))
            else:
                lines.append(f"{key} = {toml_value(value)}")
        for key, tables in nested:
            for table in tables:
                lines.append(f"[[{section}.{key}]]")
                lines.extend(f"{k} = {toml_value(v)}" for k, v in table.items())
    for section, body in doc.items():
        if isinstance(body, list):
            for table in body:
                lines.append(f"[[{section}]]")
                lines.extend(f"{k} = {toml_value(v)}" for k, v in table.items())
    return "\n".join(lines) + "\n"



class Publisher:
    """A QoS 1 publisher with a persistent session that waits until the broker has every message."""

    def __init__(self, url: str, client_id: str, protocol: str = "3.1.1") -> None:
        host, port = url.split("://")[1].split(":")
        v5 = protocol == "5"
        self.client = paho.Client(
            paho.CallbackAPIVersion.VERSION2, client_id=client_id,
            protocol=paho.MQTTv5 if v5 else paho.MQTTv311, clean_session=None if v5 else False,
        )
        self.client.max_inflight_messages_set(200)
        self.client.reconnect_delay_set(0.2, 2)
        self.client.connect(host, int(port))
        self.client.loop_start()

    def publish(self, messages: Iterable[tuple[str, bytes | str]], *, pace: float = 0.0, wait: bool = True,
                timeout: float = 120) -> None:
        infos = []
        for topic, payload in messages:
            infos.append(self.client.publish(topic, payload, qos=1))
            if pace:
                time.sleep(pace)
        if wait:
            deadline = time.monotonic() + timeout
            for info in infos:
                info.wait_for_publish(max(0.1, deadline - time.monotonic()))
                assert info.is_published(), "the broker did not acknowledge every published message"

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def native(prefix: str, sensor: str, temperature: float, ts: float | str | None = None, **extra: Any) -> tuple[str, bytes]:
    body: dict[str, Any] = {"temperature_c": temperature, **extra}
    if ts is not None:
        body["ts"] = ts
    return f"{prefix}fridge-monitor/readings/{sensor}", json.dumps(body).encode()


def cli(*args: str, env: dict[str, str] | None = None, input: bytes | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the installed command line as a user would."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("FRIDGE_MONITOR_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "fridge_monitor", *args],
        input=input.decode() if input is not None else None,
        capture_output=True, text=True, env=full_env, timeout=timeout, cwd=REPO,
    )


def start_cli(*args: str, log_path: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("FRIDGE_MONITOR_")}
    full_env.update(env or {})
    log_file = open(log_path, "ab")
    return subprocess.Popen([sys.executable, "-m", "fridge_monitor", *args], stdout=log_file,
                            stderr=subprocess.STDOUT, env=full_env, cwd=REPO)
