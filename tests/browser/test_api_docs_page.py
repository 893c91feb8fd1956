"""The API page (/api-docs) in a real browser: Swagger UI, served by the app itself, draws every operation of
openapi.json under the app's Content-Security-Policy, with no request leaving the app's own host."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

from fridge_monitor.mqtt.broker import free_port

from support import add_users, sign_in_page

NOW = datetime.now(UTC).replace(microsecond=0)


def test_the_api_page_draws_every_operation_under_the_csp(sqlite_url, make_config, engine_for, serve, open_page):
    config, _ = make_config(sqlite_url, sections={"web": {"port": free_port()}})
    engine = engine_for(sqlite_url)
    add_users(engine, {"ada": "admin"}, NOW, password="long-enough-pw")
    base = serve(config, engine)
    page = open_page()
    refused: list[str] = []
    elsewhere: list[str] = []
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text else None)
    page.on("request", lambda request: elsewhere.append(request.url)
            if urlsplit(request.url).netloc not in (urlsplit(base).netloc, "") and not request.url.startswith("data:")
            else None)
    sign_in_page(page, base, "ada", "long-enough-pw")
    page.goto(f"{base}/admin/")
    page.click("a[href='/api-docs']")
    page.wait_for_selector(".swagger-ui .opblock", timeout=20000)
    operations = page.locator(".swagger-ui .opblock").count()
    assert operations >= 20
    assert page.locator(".swagger-ui .opblock-summary-path", has_text="/api/v1/alerts/{alert_id}/acknowledge").count()
    assert not refused, refused[:5]
    assert not elsewhere, elsewhere[:5]
