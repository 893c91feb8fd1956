"""One error shape: JSON ``{"error": {"code", "message"}}`` for the API, a page otherwise."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, render_template
from werkzeug.exceptions import HTTPException

from fridge_monitor.web.access import is_api


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)


def _http_error(exc: HTTPException) -> Any:
    code = exc.code or 500
    message = exc.description or exc.name
    # The exception's own headers say what to do next (a 405's Allow: POST); only its body is replaced.
    headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
    if is_api():
        response = jsonify({"error": {"code": code, "message": message}})
        response.status_code = code
        response.headers.extend(headers)
        if code == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="fridge-monitor"'
        return response
    return render_template("error.html", code=code, name=exc.name, message=message), code, headers
