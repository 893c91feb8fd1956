"""The Content-Security-Policy in a real browser: another origin cannot frame the app, and the app's own pages
(dashboard, fridge page with its SVG chart, alerts, the admin forms) run under it with no violation (issue 12,
item 9)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from fridge_monitor.core.readings import Reading
from fridge_monitor.ingest.batches import Batch, Store

from support import add_users, sign_in_page

NOW = datetime.now(UTC).replace(microsecond=0)

# Collects every CSP violation the page reports; an init script runs before the page's own and is not
# subject to its policy.
WATCH_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


class Framer(ThreadingHTTPServer):
    """Another origin (another port): a page that puts the app in an iframe."""

    daemon_threads = True

    def __init__(self, target: str) -> None:
        page = (f'<!doctype html><title>framer</title><h1>Not the app</h1>'
                f'<iframe id="victim" src="{target}" width="800" height="600"></iframe>').encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *_args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"


def test_another_origin_cannot_frame_the_app_and_its_pages_break_no_policy(artifacts, clinic, serve, open_page):
    config, engine = clinic("Ward 3", "Europe/Berlin", "Vaccines", "native:vac-probe", now=NOW)
    Store(engine).write(Batch(readings=[
        (Reading("native:vac-probe", "native", "vac-probe", NOW - timedelta(minutes=10 * i), 4.0 + (i % 7) / 5), NOW)
        for i in range(24 * 6)
    ]))
    add_users(engine, {"ada": "admin"}, NOW, password="admin-password-1")
    base = serve(config, engine)
    framer = Framer(f"{base}/login")
    threading.Thread(target=framer.serve_forever, daemon=True).start()
    try:
        page = open_page()
        page.add_init_script(WATCH_VIOLATIONS)
        console: list[str] = []
        page.on("console", lambda message: console.append(f"{message.type}: {message.text} on {page.url}"))
        page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))

        # The framing page loads; the app inside it does not.
        page.goto(framer.url)
        page.get_by_text("Not the app").wait_for()
        page.wait_for_timeout(500)
        victim = page.frame_locator("#victim")
        assert victim.locator("#password").count() == 0
        frames = [f for f in page.frames if f is not page.main_frame]
        assert frames and all(f.url.startswith("chrome-error://") or "#password" not in f.content()
                              for f in frames), [f.url for f in frames]
        page.screenshot(path=str(artifacts / "framed-refused.png"))
        refused = [line for line in console if "frame-ancestors" in line]
        assert refused, console
        console.clear()

        # The app's own pages run under the policy without a single violation.
        sign_in_page(page, base, "ada", "admin-password-1")
        page.locator('[data-fridge="Vaccines"]').wait_for()
        visited = ["/"]
        for path in ("/fridges/Vaccines?range=day", "/alerts", "/admin/fridges", "/admin/alarm-profiles/",
                     "/admin/alarm-profiles/new"):
            response = page.goto(f"{base}{path}")
            assert response is not None and response.status == 200, path
            assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
            page.wait_for_load_state("load")
            assert page.evaluate("window.__csp") == [], path
            visited.append(path)
        page.goto(f"{base}/fridges/Vaccines?range=day")
        page.locator("svg").first.wait_for()

        # The fridge form's preset script now comes from app.js and still fills the standard range.
        page.goto(f"{base}/admin/fridges")
        page.get_by_role("link", name="Edit Vaccines").click()
        page.select_option("#kind", "freezer")
        assert page.input_value("#low_c") in ("-50", "-50.0") and page.input_value("#high_c") in ("-15", "-15.0")
        visited.append(page.url)
        assert page.evaluate("window.__csp") == []
        assert [line for line in console if "Content Security Policy" in line or "pageerror" in line] == [], visited
    finally:
        framer.shutdown()
        framer.server_close()
