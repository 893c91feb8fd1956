"""Serving the web role with waitress in a background thread, stoppable."""

from __future__ import annotations

import gc
import logging
import threading
from typing import Any

log = logging.getLogger(__name__)


def settle() -> None:
    """Before serving: what the process made at start (the app, its models, its templates) lives as long as it
    does, so the garbage collector's full passes leave it out (``gc.freeze``). Without this, a page that
    reads thousands of rows (the list of 500 sites) set off a full pass over the whole heap every other
    request: 50-70 ms added to one request in two."""
    gc.collect()
    gc.freeze()


class WebServer:
    """waitress on ``host:port``; ``start()`` returns at once, ``stop()`` closes the listener."""

    def __init__(self, app: Any, host: str, port: int, threads: int, trusted_proxy: str = "") -> None:
        from waitress.server import create_server

        # Behind a reverse proxy at ``trusted_proxy`` (its address; ``*``: any), its X-Forwarded-For and
        # -Proto are believed: the client's address (what the sign-in throttle counts) and HTTPS (what signing
        # over the API needs). From anyone else those headers are removed, never believed.
        proxy: dict[str, Any] = {}
        if trusted_proxy:
            proxy = {"trusted_proxy": trusted_proxy, "trusted_proxy_count": 1,
                     "trusted_proxy_headers": {"x-forwarded-for", "x-forwarded-proto"},
                     "clear_untrusted_proxy_headers": True}
        self._server = create_server(app, host=host, port=port, threads=threads, ident="fridge-monitor", **proxy)
        self.url = f"http://{host}:{port}"
        self._thread = threading.Thread(target=self._run, name="web", daemon=True)

    def _run(self) -> None:
        try:
            self._server.run()
        except OSError:  # closed by stop()
            pass

    def start(self) -> None:
        settle()
        self._thread.start()
        log.info("web listening on %s", self.url)

    def stop(self) -> None:
        self._server.close()
        self._thread.join(5)
