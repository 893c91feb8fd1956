"""Security headers on every response: what a browser may load, frame, sniff, refer and cache.

A small ``after_request`` hook rather than Flask-Talisman: Talisman sends HSTS only when the request itself
looks secure (``request.is_secure`` or ``X-Forwarded-Proto``), while here ``[web] https`` is the operator's
statement that users arrive over HTTPS through a TLS-terminating proxy; its ``force_https`` redirect would
loop behind such a proxy, it adds the deprecated ``X-XSS-Protection``, and ``no-store`` per route would still
need a hook of our own.
"""

from __future__ import annotations

from flask import Flask, Response, request

# The pages load only this app's own script and stylesheet; charts are inline SVG with presentation
# attributes, and no template carries inline <script>, style="" or on*= handlers.
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
# Swagger UI's stylesheet draws its icons as data: SVG images (images cannot run script); that page alone
# allows them.
DATA_IMAGES = frozenset({"api_page.page"})
HSTS = "max-age=31536000; includeSubDomains"
CACHEABLE = frozenset({"static", "api_page.swagger_ui"})  # versioned files, the same for everyone


def init_app(app: Flask, *, https: bool) -> None:
    @app.after_request
    def _security_headers(response: Response) -> Response:
        headers = response.headers
        headers["Content-Security-Policy"] = (
            CONTENT_SECURITY_POLICY.replace("img-src 'self'", "img-src 'self' data:")
            if request.endpoint in DATA_IMAGES else CONTENT_SECURITY_POLICY)
        headers["X-Content-Type-Options"] = "nosniff"
        headers["X-Frame-Options"] = "DENY"
        headers["Referrer-Policy"] = "same-origin"
        if https:
            headers["Strict-Transport-Security"] = HSTS
        # Records of a medical fridge stay off shared caches and disks: only the versioned static files may
        # be cached. That covers pages, the API, CSV and PDF exports and bundle downloads alike.
        if request.endpoint not in CACHEABLE:
            headers["Cache-Control"] = "no-store"
            headers.pop("Expires", None)
        return response
