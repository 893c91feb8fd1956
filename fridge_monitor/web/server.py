"""Serving the web role with waitress in a background thread, stoppable."""

from __future__ import annotations

import logging
import threading
from typing import Any

log = logging.getLogger(__name__)


class WebServer:
    """waitress on ``host:port``; ``start()`` returns at once, ``stop()`` closes the listener."""

    def __init__(self, app: Any, host: str, port: int, threads: int) -> None:
        from waitress.server import create_server

        self._server = create_server(app, host=host, port=port, threads=threads, ident="fridge-monitor")
        self.url = f"http://{host}:{port}"
        self._thread = threading.Thread(target=self._run, name="web", daemon=True)

    def _run(self) -> None:
        try:
            self._server.run()
        except OSError:  # closed by stop()
            pass

    def start(self) -> None:
        self._thread.start()
        log.info("web listening on %s", self.url)

    def stop(self) -> None:
        self._server.close()
        self._thread.join(5)
