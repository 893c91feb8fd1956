"""Sign-in with a hostile ``next`` stays on this host, in a real browser (issue 12, item 6).

A phishing link to the real sign-in page, ``/login?next=...``, must not lead a
nurse, once signed in, to another site that looks like this one. Chromium
follows the redirect as a person would: a tab in the path, a scheme, a
scheme-relative ``//host`` or a backslash that browsers read as a slash. Every
request the browser makes is watched (redirects included): none may go to
evil.example, and after sign-in the page is the dashboard on the app's own
host. A harmless ``next`` still leads where it says.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

from fridge_monitor.mqtt.broker import free_port

from support import add_users

NOW = datetime.now(UTC).replace(microsecond=0)
HOSTILE = ["/\t/evil.example/phish", "https://evil.example/", "//evil.example", "/\\evil.example"]


@pytest.fixture
def app_url(sqlite_url, make_config, engine_for, serve) -> str:
    """The app served by its real web server on a free port, with one nurse."""
    config, _ = make_config(sqlite_url, sections={"web": {"port": free_port()}})
    engine = engine_for(sqlite_url)
    add_users(engine, {"nina": "nurse"}, NOW, password="nurse-password-1")
    return serve(config, engine)


def sign_in(browser: Any, base: str, target: str) -> tuple[str, list[str]]:
    """Sign in through the real form at ``/login?next=<target>``; the page's URL afterwards and every
    request that went to another host (a redirect's target too: it is a request of its own)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    escaped: list[str] = []
    host = urlsplit(base).netloc

    def watch(request: Any) -> None:
        if urlsplit(request.url).netloc != host:
            escaped.append(request.url)

    try:
        context.on("request", watch)
        page = context.new_page()
        # Encoded as a phishing mail would: the tab as %09, the rest as it is.
        page.goto(f"{base}/login?next={quote(target, safe='/:')}")
        page.fill("#name", "nina")
        page.fill("#password", "nurse-password-1")
        page.click("button[type=submit]")
        # Off this host the page would end on Chromium's error page (evil.example does not resolve here).
        page.wait_for_url(lambda url: urlsplit(url).path != "/login")
        page.wait_for_load_state("load")
        return page.url, escaped
    finally:
        context.close()


@pytest.mark.parametrize("target", HOSTILE, ids=["tab", "scheme", "scheme-relative", "backslash"])
def test_sign_in_with_a_hostile_next_stays_on_this_host(browser, app_url, target):
    landed, escaped = sign_in(browser, app_url, target)

    assert escaped == []
    assert urlsplit(landed).netloc == urlsplit(app_url).netloc, landed
    assert urlsplit(landed).path == "/", landed  # the dashboard, signed in


def test_sign_in_with_a_next_on_this_site_still_leads_there(browser, app_url):
    landed, escaped = sign_in(browser, app_url, "/alerts")

    assert escaped == []
    assert landed == f"{app_url}/alerts"
