"""Starting the roles of one process (embedded broker, ingest, web, scheduler) and stopping them in reverse.

``fridge-monitor run`` and the one-role commands start them from the
settings; ``fridge-monitor demo`` starts the same roles around its simulated
fridges. Both go through :class:`Roles`, so the roles are wired in one place.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from fridge_monitor.config import Config, ConfigError

if TYPE_CHECKING:
    import sqlalchemy as sa

    from fridge_monitor.alerts.scheduler import Scheduler
    from fridge_monitor.ingest.subscriber import Ingest
    from fridge_monitor.web.server import WebServer


class RoleError(RuntimeError):
    """A role cannot start or has failed: one sentence for the user."""


class _Role(Protocol):
    def stop(self) -> None: ...


class Roles:
    """The roles running in this process; :meth:`stop` stops them in the reverse order of starting."""

    def __init__(self) -> None:
        self.running: list[_Role] = []

    def start_broker(self, config: Config) -> Config:
        """Start the embedded broker at ``[mqtt] url``; the settings to use with it (it speaks MQTT 3.1.1 only)."""
        from fridge_monitor.mqtt.broker import EmbeddedBroker
        from fridge_monitor.mqtt.client import broker_address

        address = broker_address(config.mqtt["url"])
        broker = EmbeddedBroker(address.host, address.port)
        try:
            broker.start()
        except RuntimeError as exc:
            raise RoleError(str(exc)) from None
        self.running.append(broker)
        return config if config.mqtt["protocol"] == "3.1.1" else config.replace("mqtt", protocol="3.1.1")

    def start_ingest(self, config: Config, cancel: threading.Event) -> Ingest | None:
        """Start ingest; its writer process checks the schema and syncs the declared sites and fridges before
        anything is received. None when ``cancel`` was set while the database was still down."""
        from fridge_monitor.ingest.subscriber import Ingest, IngestStartError

        role = Ingest(config)
        try:
            role.start(cancel=cancel)
        except IngestStartError as exc:
            if cancel.is_set():
                return None
            raise RoleError(str(exc)) from None
        self.running.append(role)
        return role

    def start_web(self, config: Config, engine: sa.Engine) -> WebServer:
        from fridge_monitor.web import create_app
        from fridge_monitor.web.server import WebServer

        try:
            server = WebServer(create_app(config, engine=engine), config.web["host"], config.web["port"],
                               config.web["threads"], config.web["trusted_proxy"])
        except ConfigError as exc:  # e.g. a session key file others can read
            raise RoleError(str(exc)) from None
        except OSError as exc:
            raise RoleError(f"cannot listen on {config.web['host']}:{config.web['port']}: {exc.strerror}") from None
        server.start()
        self.running.append(server)
        return server

    def start_scheduler(self, config: Config, engine: sa.Engine) -> Scheduler:
        from fridge_monitor.alerts.scheduler import Scheduler
        from fridge_monitor.store.sync import sync_declarations

        sync_declarations(engine, config, datetime.now(UTC))  # it may run before any ingest
        role = Scheduler(config, engine)
        role.start()
        self.running.append(role)
        return role

    def check(self) -> None:
        """Raise :class:`RoleError` when a role has failed for good (its ``fatal_error``)."""
        for role in self.running:
            fatal = getattr(role, "fatal_error", None)
            if fatal:
                raise RoleError(fatal)

    def stop(self) -> None:
        while self.running:
            self.running.pop().stop()
