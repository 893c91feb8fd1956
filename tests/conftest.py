"""Fixtures for the real services this project is tested against.

Integration tests use the Mosquitto and PostgreSQL running on this machine.
Without them (a laptop), MQTT tests fall back to the embedded broker and
PostgreSQL tests skip — except under CI (env CI set), where a missing service
is a failure, never a skip.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import flask
import jinja2
import jinja2.bccache
import pytest
import sqlalchemy as sa
from databases import PostgresDatabases
from werkzeug.routing import Rule

from fridge_monitor.config import Config, build_config
from fridge_monitor.mqtt.broker import EmbeddedBroker, free_port
from fridge_monitor.store import migrate
from fridge_monitor.store.db import create_engine

import support
from support import IN_CI, Hooks, missing_service, reachable, render_toml, wait_until

MOSQUITTO_URL = os.environ.get("FM_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")
POSTGRES_URL = os.environ.get("FM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REPO = Path(__file__).resolve().parent.parent


# -- MQTT --------------------------------------------------------------------


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashes() -> None:
    """The users the tests make get scrypt hashes at a low cost (N = 2**7, not 2**15): every sign-in checks
    one, and at the full cost each takes 0.1 s of CPU. Accounts made by the command line keep the full cost."""
    from fridge_monitor.store import accounts

    support.APPLICATION_PASSWORD_METHOD = support.APPLICATION_PASSWORD_METHOD or accounts.PASSWORD_METHOD
    accounts.PASSWORD_METHOD = "scrypt:128:8:1"


class _SharedTemplates(jinja2.BytecodeCache):
    """Compiled templates kept for the whole worker: every test builds an app of its own, and each app's
    Jinja environment would otherwise parse and compile every template it renders again."""

    def __init__(self) -> None:
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        code = self.compiled.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


@pytest.fixture(autouse=True, scope="session")
def _templates_compiled_once() -> None:
    # The key is the template's name and a checksum of its source: a changed template compiles again.
    flask.Flask.jinja_options = {**flask.Flask.jinja_options, "bytecode_cache": _SharedTemplates()}


@pytest.fixture(autouse=True, scope="session")
def _url_builders_compiled_once() -> None:
    """Werkzeug compiles a URL builder for each route of each app (an ``ast`` built and compiled, about
    half of what building an app costs). The builder's code depends only on the rule's parsed parts, its
    defaults and whether it appends unknown arguments, and it reads the rule it builds for from its first
    argument; so one compiled builder serves that route in every app the worker builds."""
    compile_builder = Rule._compile_builder
    builders: dict[tuple[Any, ...], Any] = {}

    def cached(self: Rule, append_unknown: bool = True) -> Any:
        key = (self.rule, tuple(self._trace), repr(sorted((self.defaults or {}).items())), append_unknown)
        if key not in builders:
            builders[key] = compile_builder(self, append_unknown)
        return builders[key]

    Rule._compile_builder = cached  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _own_data_dir(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Configs an integration test builds itself default to a data directory of that test's own (PostgreSQL
    ones would otherwise make ./fridge-monitor-data in the checkout); a config that sets data_dir, even to "",
    wins. Unit tests see the real defaults."""
    if "unit" in request.path.parts:
        return
    from fridge_monitor.config import settings

    tmp_path = request.getfixturevalue("tmp_path")

    monkeypatch.setitem(settings.SETTINGS, "storage", {"data_dir": str(tmp_path / "own-data")})


@pytest.fixture(scope="session")
def mqtt_url() -> Iterator[str]:
    """The machine's Mosquitto, or an embedded broker where there is none."""
    host, port = MOSQUITTO_URL.split("://")[1].split(":")
    if reachable(host, int(port)):
        yield MOSQUITTO_URL
        return
    if IN_CI:
        pytest.fail(f"Mosquitto is required in CI but {MOSQUITTO_URL} is not reachable", pytrace=False)
    broker = EmbeddedBroker(port=free_port())
    broker.start()
    yield broker.url
    broker.stop()


@pytest.fixture(scope="session")
def mqtt_protocol(mqtt_url: str) -> str:
    return "5" if mqtt_url == MOSQUITTO_URL else "3.1.1"


class Mosquitto:
    """A private Mosquitto on a free port, for tests that restart or reconfigure the broker."""

    def __init__(self, workdir: Path, extra_conf: str = "") -> None:
        self.port = free_port()
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.conf = workdir / "mosquitto.conf"
        # Started as root, Mosquitto drops to the `mosquitto` user, which cannot
        # write into pytest's private tmp_path: it would then run without its
        # persistence file (a restart loses every session) and without a log.
        run_as = "user root\n" if hasattr(os, "geteuid") and os.geteuid() == 0 else ""
        log_types = "".join(f"log_type {t}\n" for t in ("error", "warning", "notice", "information", "subscribe"))
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            f"{run_as}{log_types}"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {workdir}/\n"
            "autosave_interval 1\n"
            "max_queued_messages 200000\n"
            "max_inflight_messages 0\n"
            f"log_dest file {workdir}/mosquitto.log\n"
            f"{extra_conf}"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(["mosquitto", "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_until(lambda: reachable("127.0.0.1", self.port), 10, what="mosquitto to listen")

    def pause(self) -> None:
        """Freeze the broker (SIGSTOP): clients stay connected and receive nothing until :meth:`resume`."""
        assert self.proc is not None and self.proc.poll() is None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        """A clean stop: Mosquitto writes its persistence file (sessions, queued messages)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)  # a paused broker acts on SIGTERM only once resumed
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


@pytest.fixture
def private_mosquitto(tmp_path: Path) -> Iterator[Callable[..., Mosquitto]]:
    if shutil.which("mosquitto") is None:
        missing_service("the mosquitto binary")
    started: list[Mosquitto] = []

    def factory(extra_conf: str = "") -> Mosquitto:
        broker = Mosquitto(tmp_path / f"mosquitto-{len(started)}", extra_conf)
        broker.start()
        started.append(broker)
        return broker

    yield factory
    for broker in started:
        broker.stop()


# -- databases ---------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[sa.Engine]:
    engine = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError:
        engine.dispose()
        missing_service(f"PostgreSQL at {POSTGRES_URL}")
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def postgres_template(postgres_admin: sa.Engine) -> Iterator[str]:
    """A database migrated once with `db upgrade`, copied for each test."""
    name = f"fm_template_{uuid.uuid4().hex[:8]}"
    with postgres_admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.make_url(POSTGRES_URL).set(database=name)
    engine = create_engine(_db_settings(url.render_as_string(hide_password=False)))
    migrate.upgrade(engine)
    engine.dispose()
    yield name
    with postgres_admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _db_settings(url: str) -> dict[str, Any]:
    return {"url": url, "sqlite_synchronous": "normal", "busy_timeout_s": 30.0, "retry_max_s": 2.0}


@pytest.fixture(scope="session")
def postgres_databases(postgres_admin: sa.Engine, postgres_template: str) -> Iterator[PostgresDatabases]:
    databases = PostgresDatabases(postgres_admin, postgres_template)
    yield databases
    databases.close()


@pytest.fixture
def postgres_url(postgres_databases: PostgresDatabases) -> Iterator[str]:
    """A database of the test's own, as migrated: a fresh copy of the template, or one emptied after a test."""
    name = postgres_databases.take()
    yield postgres_databases.url(name)
    postgres_databases.give_back(name)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated once with `db upgrade` (per xdist worker), copied for each test."""
    path = tmp_path_factory.mktemp("sqlite-template") / "fridge-monitor.db"
    engine = create_engine(_db_settings(f"sqlite:///{path}"))
    migrate.upgrade(engine)
    with engine.connect() as conn:  # everything into the main file: the copy needs no -wal beside it
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    path = tmp_path / "fridge-monitor.db"
    shutil.copy(sqlite_template, path)  # keeps the template's mode 0600
    return f"sqlite:///{path}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs once on SQLite and once on PostgreSQL."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
def engine_for() -> Iterator[Callable[[str], sa.Engine]]:
    engines: list[sa.Engine] = []

    def factory(url: str) -> sa.Engine:
        engine = create_engine(_db_settings(url))
        engines.append(engine)
        return engine

    yield factory
    for engine in engines:
        engine.dispose()


# -- configuration -----------------------------------------------------------


@pytest.fixture
def prefix() -> str:
    """A topic prefix of this test's own, so tests on the shared broker never mix."""
    return f"t{uuid.uuid4().hex[:10]}/"


def test_subscriptions(prefix: str) -> list[dict[str, str]]:
    from fridge_monitor.config import DEFAULT_SUBSCRIPTIONS

    return [{"topic": prefix + topic, "format": fmt} for topic, fmt in DEFAULT_SUBSCRIPTIONS]


test_subscriptions.__test__ = False  # type: ignore[attr-defined]


@pytest.fixture
def make_config(tmp_path: Path, prefix: str, mqtt_url: str, mqtt_protocol: str) -> Callable[..., tuple[Config, Path]]:
    """A validated Config and the same settings as a TOML file (for subprocesses)."""

    def factory(database_url: str, *, broker_url: str | None = None, protocol: str | None = None,
                client_id: str | None = None, sections: dict[str, Any] | None = None,
                sites: list[dict[str, Any]] | None = None,
                fridges: list[dict[str, Any]] | None = None) -> tuple[Config, Path]:
        doc: dict[str, Any] = {
            "database": {"url": database_url, "retry_max_s": 2.0},
            "mqtt": {
                "url": broker_url or mqtt_url,
                "protocol": protocol or ("5" if broker_url else mqtt_protocol),
                "client_id": client_id or f"fm-test-{prefix.strip('/')}",
                "session_expiry_s": 600,
                "subscriptions": test_subscriptions(prefix),
            },
            "ingest": {},
            "logging": {"level": "INFO"},
            # The test's own files and anchor topic: nothing lands in the checkout or on a topic other tests read.
            "storage": {"data_dir": str(tmp_path / "data")},
            "audit": {"anchor_topic": f"{prefix.strip('/')}/audit/anchor"},
        }
        for section, values in (sections or {}).items():
            doc.setdefault(section, {}).update(values)
        if sites:
            doc["sites"] = sites
        if fridges:
            doc["fridges"] = fridges
        path = tmp_path / f"config-{uuid.uuid4().hex[:6]}.toml"
        path.write_text(render_toml(doc))
        import tomllib

        config = build_config(tomllib.loads(path.read_text()), {}, {}, str(path))
        return config, path

    return factory


# -- ingest processes, always cleaned up --


@pytest.fixture
def ingest_processes(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """Factory for :class:`guarantees.IngestProcess`; ends them all (and their children) afterwards
    and prints their logs, which pytest shows when the test failed."""
    from guarantees import IngestProcess

    made: list[IngestProcess] = []

    def factory(config_path: Path, *args: str, name: str = "ingest") -> IngestProcess:
        proc = IngestProcess(config_path, tmp_path / f"{name}-{len(made)}.log", *args)
        made.append(proc)
        return proc

    yield factory
    for proc in made:
        proc.cleanup()
        print(f"----- {proc.log_path.name} (last 80 lines) -----")
        print(proc.log_tail(80))


class IngestRig:
    """A private broker, a config file pointing at it, and an ingest process of this test's own."""

    def __init__(self, broker: Mosquitto, client_id: str, config_path: Path, engine: sa.Engine,
                 ingest: Any) -> None:
        self.broker, self.client_id, self.config_path, self.engine, self.ingest = (
            broker, client_id, config_path, engine, ingest)

    def start(self, ingest: Any = None, client_id: str | None = None) -> None:
        """Start an ingest process and wait until the broker has its subscriptions (the SUBACK side)."""
        from fridge_monitor.config import DEFAULT_SUBSCRIPTIONS

        from support import broker_log, wait_subscribed

        mark = len(broker_log(self.broker))
        (ingest or self.ingest).start()
        wait_subscribed(self.broker, client_id or self.client_id, len(DEFAULT_SUBSCRIPTIONS), since=mark)

    def context(self, *ingests: Any) -> str:
        """The ingest and broker logs, for an assertion message."""
        from support import broker_log

        parts = [f"--- {i.log_path.name} ---\n{i.log_tail(40)}" for i in (ingests or (self.ingest,))]
        parts.append("--- mosquitto.log ---\n" + "\n".join(broker_log(self.broker).splitlines()[-30:]))
        return "\n".join(parts)


@pytest.fixture
def ingest_rig(private_mosquitto: Callable[..., Mosquitto], make_config: Callable[..., Any],
               engine_for: Callable[[str], sa.Engine], ingest_processes: Callable[..., Any],
               prefix: str) -> Callable[..., IngestRig]:
    def factory(database_url: str, *, start: bool = True) -> IngestRig:
        broker = private_mosquitto()
        client_id = f"fm-ingest-{prefix.strip('/')}"
        _, path = make_config(database_url, broker_url=broker.url, protocol="5", client_id=client_id)
        rig = IngestRig(broker, client_id, path, engine_for(database_url), ingest_processes(path))
        if start:
            rig.start()
        return rig

    return factory


@pytest.fixture
def hooks() -> Iterator[Hooks]:
    """A local webhook receiver (``hooks.url``) that keeps every body it is sent."""
    server = Hooks()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)

