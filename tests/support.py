"""Helpers shared by the tests: waiting, running the CLI, publishing, test configs, users and signed-in clients."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import paho.mqtt.client as paho
import pytest
import sqlalchemy.orm as so

from fridge_monitor.mqtt.client import shut_down

IN_CI = bool(os.environ.get("CI"))
# The cost the application hashes passwords at; conftest lowers it for the users the suite makes itself and
# notes the application's here, so the command line run in-process keeps it.
APPLICATION_PASSWORD_METHOD = ""
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
        shut_down(self.client)


def retained(mqtt_url: str, topic: str, timeout: float = 10) -> bytes:
    """The retained message on ``topic`` as a new subscriber receives it."""
    host, port = mqtt_url.split("://")[1].split(":")
    got: list[bytes] = []
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"fm-test-{uuid.uuid4().hex[:8]}")
    client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
    client.on_message = lambda c, u, msg: got.append(msg.payload) if msg.retain else None
    client.connect(host, int(port))
    client.loop_start()
    try:
        wait_until(lambda: got, timeout, what=f"the retained message on {topic}")
    finally:
        shut_down(client)
    return got[0]


def native(prefix: str, sensor: str, temperature: float, ts: float | str | None = None,
           **extra: Any) -> tuple[str, bytes]:
    body: dict[str, Any] = {"temperature_c": temperature, **extra}
    if ts is not None:
        body["ts"] = ts
    return f"{prefix}fridge-monitor/readings/{sensor}", json.dumps(body).encode()


# Commands that run a role until stopped; they get a process of their own, as a user starts them.
ROLE_COMMANDS = frozenset({"ingest", "web", "scheduler", "run", "demo"})


def cli(*args: str, env: dict[str, str] | None = None, input: bytes | None = None,
        timeout: float = 120, process: bool = False) -> subprocess.CompletedProcess[str]:
    """Run the command line as a user would: the same arguments, environment, stdin, output and exit status.

    One-shot commands run in this process through click's runner (starting Python and importing the
    application costs about a second of CPU per command); roles, and calls that ask for ``process=True``,
    run ``python -m fridge_monitor`` in a process of their own. An unexpected exception fails the test
    with its traceback instead of becoming exit status 1."""
    if process or ROLE_COMMANDS.intersection(args):
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("FRIDGE_MONITOR_")}
        full_env.update(env or {})
        return subprocess.run(
            [sys.executable, "-m", "fridge_monitor", *args],
            input=input.decode() if input is not None else None,
            capture_output=True, text=True, env=full_env, timeout=timeout, cwd=REPO,
        )
    return _cli_in_process(list(args), env or {}, input)


def _cli_in_process(args: list[str], env: dict[str, str], input: bytes | None) -> subprocess.CompletedProcess[str]:
    from click.testing import CliRunner

    from fridge_monitor.cli import main
    from fridge_monitor.cli.common import NOISY_LOGGERS
    from fridge_monitor.store import accounts

    overrides: dict[str, str | None] = {k: None for k in os.environ if k.startswith("FRIDGE_MONITOR_")}
    overrides.update(env)
    # The command sets up logging on stderr as in its own process: pytest's capture handlers step aside
    # for the call, and whatever the command added is taken down after it.
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    saved_levels = {name: logging.getLogger(name).level for name in NOISY_LOGGERS}
    saved_method, accounts.PASSWORD_METHOD = accounts.PASSWORD_METHOD, APPLICATION_PASSWORD_METHOD
    root.handlers = []
    try:
        result = CliRunner().invoke(main, args, input=input, env=overrides, catch_exceptions=False)
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers, root.level = saved_handlers, saved_level
        for name, level in saved_levels.items():
            logging.getLogger(name).setLevel(level)
        accounts.PASSWORD_METHOD = saved_method
    return subprocess.CompletedProcess(["fridge-monitor", *args], result.exit_code, result.stdout, result.stderr)


def start_cli(*args: str, log_path: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("FRIDGE_MONITOR_")}
    full_env.update(env or {})
    with open(log_path, "ab") as log_file:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([sys.executable, "-m", "fridge_monitor", *args], stdout=log_file,
                                stderr=subprocess.STDOUT, env=full_env, cwd=REPO)


def broker_log(broker: Any) -> str:
    """The private Mosquitto's log (see the ``durable_mosquitto`` fixture)."""
    try:
        return (Path(broker.workdir) / "mosquitto.log").read_text(errors="replace")
    except OSError:
        return ""


def wait_subscribed(broker: Any, client_id: str, filters: int, since: int = 0, timeout: float = 30) -> None:
    """Wait until the broker logged ``filters`` subscriptions of ``client_id`` after log offset ``since``.

    Mosquitto logs each subscription (log_type subscribe) once it has added it,
    so after this the broker routes matching messages to that session.
    """
    def done() -> bool:
        # "<time>: <client id> <qos> <topic filter>"
        lines = (line.split(" ") for line in broker_log(broker)[since:].splitlines())
        return sum(1 for w in lines if len(w) == 4 and w[1] == client_id and w[2] in ("0", "1", "2")) >= filters

    wait_until(done, timeout, what=f"{client_id} to subscribe to {filters} topic filters")


def client_for(app: Any, engine: Any, name: str) -> Any:
    """A Flask test client signed in as the user called ``name``."""
    import sqlalchemy as sa

    from fridge_monitor.store import models as m

    client = app.test_client()
    with engine.connect() as conn:
        user_id = conn.scalar(sa.select(m.User.id).where(m.User.name == name))
    with client.session_transaction() as session:
        session["user_id"] = user_id
    return client


# -- a test clinic's users, its app, and clients signed in to it ---------------------------------------


def add_users(engine: Any, users: Mapping[str, str] | Iterable[tuple[str, str]], now: datetime, *,
              password: str | None = None) -> dict[str, int]:
    """Create each user (name and role), with the password ``<name>-password-1`` unless ``password`` is given
    and the full name ``<Name> Tester`` (what their signatures print), in one transaction; their ids by name."""
    from fridge_monitor.store import accounts

    pairs = users.items() if isinstance(users, Mapping) else users
    with so.Session(engine) as session, session.begin():
        made = [accounts.create_user(session, name, role, password or f"{name}-password-1", actor="test", now=now,
                                     full_name=f"{name.title()} Tester")
                for name, role in pairs]
        session.flush()
        return {user.name: user.id for user in made}


CLINIC_ZONE = ZoneInfo("Europe/Berlin")  # the test clinic's site


def clinic_today(now: datetime) -> date:
    """The date at the test clinic at ``now``: what its pages count days from (an hour ahead of UTC's in winter,
    so a test that took UTC's date would fail between 23:00 and midnight UTC)."""
    return now.astimezone(CLINIC_ZONE).date()


def clinic_config(fridges: list[dict[str, Any]], database_url: str | None = None, *, source: str = "test",
                  **sections: Any) -> Any:
    """The test clinic's config: site Clinic A (Europe/Berlin) with ``fridges``, the database (if given) and
    ``sections`` (TOML tables), as build_config reads them from the file ``source``."""
    from fridge_monitor.config import build_config

    doc: dict[str, Any] = {"database": {"url": database_url}} if database_url else {}
    doc.update(sections)
    doc["sites"] = [{"name": "Clinic A", "timezone": CLINIC_ZONE.key}]
    doc["fridges"] = fridges
    return build_config(doc, {}, {}, source)


def clinic_app(engine: Any, config: Any, users: Mapping[str, str], now: datetime, declared_at: datetime) -> Any:
    """The config's sites and fridges synced as of ``declared_at``, ``users`` added as of ``now``, and the app
    in testing mode on ``engine``."""
    from fridge_monitor.store.sync import sync_declarations
    from fridge_monitor.web import create_app

    sync_declarations(engine, config, declared_at)
    add_users(engine, users, now)
    return create_app(config, engine=engine, testing=True)


def csrf(client: Any) -> str:
    """The CSRF token of a signed-in client's session, read from its preferences page."""
    return csrf_from(client.get("/preferences").get_data(as_text=True))


def signed_acknowledgement(client: Any, alert_id: int, name: str, action: str, *, steps: Sequence[str] = (),
                           meaning: str = "performed", password: str | None = None) -> Any:
    """Acknowledge an alert on its page and sign (user name, password ``<name>-password-1``, meaning), as a nurse
    does the first time in a session."""
    if not hasattr(client, "csrf_token"):
        client.csrf_token = csrf(client)
    return client.post(f"/alerts/{alert_id}/acknowledge", data={
        "csrf_token": client.csrf_token, "action": action, "steps": list(steps), "meaning": meaning,
        "sign_name": name, "sign_password": password or f"{name}-password-1"})


def post(client: Any, url: str, data: dict[str, str]) -> Any:
    """POST a form as the browser would, with the session's CSRF token (read once per client)."""
    if not hasattr(client, "csrf_token"):
        client.csrf_token = csrf(client)
    return client.post(url, data={"csrf_token": client.csrf_token, **data})


STAFF = {"nina": "nurse", "aldo": "auditor", "ada": "admin"}


def staffed_clinic(engine: Any, now: datetime) -> Any:
    """Clinic A with fridge A1 (sensor native:a1-probe), declared in fridges.toml, and a nurse (nina), an
    auditor (aldo) and an admin (ada), all as of ``now``; the engine."""
    from fridge_monitor.store.sync import sync_declarations

    declared = clinic_config([{"name": "A1", "site": "Clinic A", "sensors": ["native:a1-probe"]}],
                             source="fridges.toml")
    sync_declarations(engine, declared, now)
    add_users(engine, STAFF, now)
    return engine


def user_with_token(engine: Any, name: str, role: str, now: datetime, password: str | None = None) -> str:
    """A user, made as :func:`add_users` makes one, and an API token of theirs: the token."""
    from fridge_monitor.store import accounts

    add_users(engine, {name: role}, now, password=password)
    with so.Session(engine) as session, session.begin():
        user = accounts.find_user(session, name)
        assert user is not None
        return accounts.new_token(session, user, actor="test", now=now)


def web_app(engine: Any, database_url: str, **sections: Any) -> Any:
    """The app in testing mode on ``engine``, configured with the database URL and ``sections`` (TOML tables)."""
    from fridge_monitor.config import build_config
    from fridge_monitor.web import create_app

    config = build_config({"database": {"url": database_url}, **sections}, {}, {}, "test")
    return create_app(config, engine=engine, testing=True)


def csrf_from(html: str) -> str:
    """The CSRF token of the first form in a page."""
    found = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def sign_in(client: Any, name: str, password: str) -> Any:
    """Post the sign-in form as a browser would (its CSRF token first); the response."""
    token = csrf_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"csrf_token": token, "name": name, "password": password})


def signed_in(app: Any, name: str, password: str | None = None) -> Any:
    """A test client signed in through the sign-in form (password ``<name>-password-1`` unless given)."""
    client = app.test_client()
    response = sign_in(client, name, password or f"{name}-password-1")
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def sign_in_page(page: Any, base: str, name: str, password: str, next: str = "/") -> None:
    """Sign in through the real form in a browser page (Playwright) and wait for the page ``next`` leads to."""
    page.goto(f"{base}/login" if next == "/" else f"{base}/login?next={next}")
    page.fill("#name", name)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{next}")


def drop_triggers(conn: Any) -> None:
    """Let a test tamper with the audit trail, as someone with the database's password could: its
    append-only triggers go."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("DROP TRIGGER audit_events_no_update")
        conn.exec_driver_sql("DROP TRIGGER audit_events_no_delete")
    else:
        conn.exec_driver_sql("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only")


class Hooks(ThreadingHTTPServer):
    """A local HTTP server that keeps every webhook body, in the order they arrive."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _HookHandler)
        self.bodies: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"

    def received(self, kind: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [b for b in self.bodies if kind is None or b["kind"] == kind]

    def events(self, kind: str | None = None) -> list[tuple[int, str, str]]:
        """(alert id, event, state) of each body received."""
        return [(b["alert_id"], b["event"], b["state"]) for b in self.received(kind)]

    def calls(self) -> list[tuple[int, str]]:
        """(alert id, state) of each body received."""
        return [(b["alert_id"], b["state"]) for b in self.received()]


class _HookHandler(BaseHTTPRequestHandler):
    server: Hooks

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.server.lock:
            self.server.bodies.append(body)
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass
