"""An MQTT broker inside the process (amqtt), for the demo and single-box setups
that have no Mosquitto. Production should use a real broker (see README)."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from amqtt.broker import Broker

log = logging.getLogger(__name__)


class EmbeddedBroker:
    """amqtt running on its own event loop in a background thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 1883) -> None:
        self.host = host
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._broker: Broker | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        self._thread = threading.Thread(target=self._run, name="embedded-broker", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError(f"embedded MQTT broker did not start on {self.host}:{self.port} within {timeout} s")
        if self._error is not None:
            raise RuntimeError(f"embedded MQTT broker cannot listen on {self.host}:{self.port}: {self._error}")
        log.info("embedded MQTT broker listening on %s", self.url)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._start())
        except BaseException as exc:  # reported to the thread that called start()
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        loop.run_forever()
        loop.run_until_complete(self._shutdown())
        # Connections amqtt still serves (a client that vanished without a DISCONNECT) end with the loop:
        # their tasks are cancelled and run to the end, which closes their sockets.
        loop.set_exception_handler(_quiet_cancellation)
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        _close_connections(loop)
        loop.run_until_complete(loop.shutdown_asyncgens())
        self._broker = None
        loop.close()

    async def _start(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            from amqtt.broker import Broker

        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        }
        self._broker = broker = Broker(config)
        await broker.start()

    async def _shutdown(self) -> None:
        if self._broker is not None:
            try:
                await self._broker.shutdown()
            except Exception:  # shutting down anyway; nothing to recover
                log.debug("embedded broker shutdown error", exc_info=True)

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)


def _quiet_cancellation(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """At shutdown, a connection cancelled before its CONNECT is not an error (Python 3.11's stream callback
    reports the cancellation as one); anything else goes to the default handler."""
    if isinstance(context.get("exception"), asyncio.CancelledError):
        return
    loop.default_exception_handler(context)


def _close_connections(loop: asyncio.AbstractEventLoop) -> None:
    """Close every socket the loop still holds: amqtt leaves a connection's transport open when its handler
    is cancelled (a client that never sent CONNECT, or one still connected at shutdown). Left open, the
    socket is only closed by the garbage collector, after the loop, with a ResourceWarning."""
    transports = getattr(loop, "_transports", None)  # the selector loop's fd -> transport map
    if not transports:
        return
    for transport in list(transports.values()):
        if transport is not None and not transport.is_closing():
            transport.close()
    # Let each transport's connection_lost run, which closes its socket.
    loop.run_until_complete(asyncio.sleep(0))


def free_port(host: str = "127.0.0.1") -> int:
    """An unused TCP port (for tests and a demo that must not clash)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_in_use(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0
