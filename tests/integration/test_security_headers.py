"""Every response carries the security headers: a Content-Security-Policy that refuses framing and inline code,
nosniff, a same-origin referrer, DENY framing, no-store on everything but static files, and HSTS only when
``[web] https`` is on (issue 12, item 9). On SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from fridge_monitor.core.readings import Reading
from fridge_monitor.ingest.batches import Batch, Store
from fridge_monitor.store.sync import sync_declarations
from fridge_monitor.web import create_app

from support import add_users, client_for, clinic_config, user_with_token

DAY = datetime(2026, 11, 10, tzinfo=UTC)


def make_site(database_url, engine_for, tmp_path, *, https: bool):
    engine = engine_for(database_url)
    config = clinic_config([{"name": "A1", "site": "Clinic A", "sensors": ["native:a1"]}], database_url,
                           web={"secret_key": "h" * 40, "https": https},
                           reports={"exports_dir": str(tmp_path / "exports")})
    sync_declarations(engine, config, DAY - timedelta(days=30))
    add_users(engine, {"otto": "auditor"}, DAY)
    token = user_with_token(engine, "nina", "nurse", DAY)
    Store(engine).write(Batch(readings=[
        (Reading("native:a1", "native", "a1", DAY + timedelta(minutes=15 * i), 4.0), DAY) for i in range(8)
    ]))
    return create_app(config, engine=engine, testing=True), engine, token


def responses(app, engine, token):
    """A page, an API call, a streamed CSV export, a PDF download, /healthz, the login page and an error."""
    auditor = client_for(app, engine, "otto")
    anonymous = app.test_client()
    page = auditor.get("/exports/").get_data(as_text=True)
    form_token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    got = {
        "page": auditor.get("/"),
        "fridge page": auditor.get("/fridges/A1"),
        "api": anonymous.get("/api/v1/fridges", headers={"Authorization": f"Bearer {token}"}),
        "csv export": auditor.post("/exports/csv", data={"csrf_token": form_token, "kind": "readings",
                                                         "from": "2026-11-10", "to": "2026-11-10", "fridge": "A1"}),
        "pdf download": auditor.get("/fridges/A1/report.pdf?month=2026-11"),
        "healthz": anonymous.get("/healthz"),
        "login": anonymous.get("/login"),
        "not found": auditor.get("/fridges/Z9"),
    }
    for name, response in got.items():
        response.get_data()  # let streamed bodies finish before the test's engine goes away
        assert response.status_code == (404 if name == "not found" else 200), (name, response.status_code)
    return got


@pytest.mark.parametrize("https", [False, True], ids=["http", "https"])
def test_every_response_carries_the_security_headers(database_url, engine_for, tmp_path, https):
    app, engine, token = make_site(database_url, engine_for, tmp_path, https=https)
    for name, response in responses(app, engine, token).items():
        headers = response.headers
        csp = [part.strip() for part in headers["Content-Security-Policy"].split(";")]
        assert "frame-ancestors 'none'" in csp, name
        assert "script-src 'self'" in csp and "style-src 'self'" in csp and "default-src 'self'" in csp, name
        assert "object-src 'none'" in csp and "base-uri 'none'" in csp, name
        assert "unsafe-inline" not in headers["Content-Security-Policy"], name
        assert headers["X-Content-Type-Options"] == "nosniff", name
        assert headers["X-Frame-Options"] == "DENY", name
        assert headers["Referrer-Policy"] == "same-origin", name
        assert headers["Cache-Control"] == "no-store", name
        if https:
            assert headers["Strict-Transport-Security"].startswith("max-age=31536000"), name
        else:
            assert "Strict-Transport-Security" not in headers, name


def test_static_files_stay_cacheable_but_carry_the_policy(database_url, engine_for, tmp_path):
    app, _engine, _token = make_site(database_url, engine_for, tmp_path, https=False)
    with app.test_client().get("/static/app.js") as response:
        assert response.status_code == 200
        assert response.headers.get("Cache-Control") != "no-store"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_no_template_carries_inline_script_style_or_handlers():
    """The policy refuses inline scripts and styles, so a template that adds some would break in the browser:
    catch it here."""
    import re
    from pathlib import Path

    import fridge_monitor.web

    templates = Path(fridge_monitor.web.__file__).parent / "templates"
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+\s*=|javascript:", re.IGNORECASE)
    offenders = [f"{path.relative_to(templates)}: {match.group(0).strip()}"
                 for path in sorted(templates.rglob("*.html"))
                 for match in inline.finditer(path.read_text(encoding="utf-8"))]
    assert offenders == []
