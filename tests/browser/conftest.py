"""Headless Chromium (Debian's package) driven by Playwright, against the app served by its real web server:
a clinic's database, the server, and pages signed in through the real form."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from fridge_monitor.config import Config
from fridge_monitor.mqtt.broker import free_port
from fridge_monitor.store.db import create_engine
from fridge_monitor.store.sync import sync_declarations

from support import REPO, missing_service, sign_in_page

CHROMIUM = os.environ.get("FM_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts"
VIEWPORT = {"width": 1280, "height": 900}


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        missing_service("Chromium (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[attr-defined]
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def clinic(make_config: Callable[..., Any], sqlite_url: str) -> Iterator[Callable[..., tuple[Config, sa.Engine]]]:
    """A clinic of one site and one fridge with one sensor, on a free web port: its config and its SQLite
    database (migrated, the declarations synced two days before ``now``); ``sites_extra``: more keys of the site
    (its check times). Engines are disposed afterwards."""
    engines: list[sa.Engine] = []

    def factory(site: str, timezone: str, fridge: str, sensor: str, *, now: datetime,
                sections: dict[str, Any] | None = None,
                sites_extra: dict[str, Any] | None = None) -> tuple[Config, sa.Engine]:
        config, _ = make_config(sqlite_url, sections={"web": {"port": free_port()}, **(sections or {})},
                                sites=[{"name": site, "timezone": timezone, **(sites_extra or {})}],
                                fridges=[{"name": fridge, "site": site, "sensors": [sensor]}])
        engine = create_engine(config.database)
        engines.append(engine)
        sync_declarations(engine, config, now - timedelta(days=2))
        return config, engine

    yield factory
    for engine in engines:
        engine.dispose()


@pytest.fixture
def serve() -> Iterator[Callable[[Config, sa.Engine], str]]:
    """Serve the app with its real web server (4 threads) on the config's port: the base URL. Stopped afterwards."""
    from fridge_monitor.web import create_app
    from fridge_monitor.web.server import WebServer

    servers: list[WebServer] = []

    def start(config: Config, engine: sa.Engine) -> str:
        server = WebServer(create_app(config, engine=engine), "127.0.0.1", config.web["port"], 4)
        server.start()
        servers.append(server)
        return server.url

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def open_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """A page of a new browser context (Playwright's context options as keywords); closed afterwards."""
    contexts: list[Any] = []

    def new_page(**context_options: Any) -> Any:
        context = browser.new_context(**{"viewport": VIEWPORT, **context_options})
        contexts.append(context)
        return context.new_page()

    yield new_page
    for context in contexts:
        context.close()


@pytest.fixture
def signed_in_page(open_page: Callable[..., Any]) -> Callable[[str, str, str], Any]:
    """A page of a new browser context, signed in through the real form as ``name``."""

    def sign_in(base: str, name: str, password: str) -> Any:
        page = open_page()
        sign_in_page(page, base, name, password)
        return page

    return sign_in
