"""Credentials never reach a message or a log line: the one place that hides them."""

from __future__ import annotations

import logging
import re
from typing import Any

# scheme://user:password@host…: everything from the colon after the user name to the last "@" before
# whitespace is the password (an unencoded "@" or "/" in it still stays hidden).
_URL_PASSWORD = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/?#@]*:)\S*@")

# Settings whose value is itself a secret: never shown, not even when it is of the wrong type.
SECRET_SETTINGS = frozenset({("mqtt", "password"), ("web", "secret_key")})


def redact(text: str) -> str:
    """``text`` with the password of every URL in it shown as ``***`` (``postgresql://u:***@h/db``)."""
    return _URL_PASSWORD.sub(r"\1***@", text)


def shown(value: Any, secret: bool = False) -> str:
    """How a setting's value may appear in a message: a secret never, a URL without its password."""
    return "a hidden value" if secret else redact(repr(value))


class RedactingFilter(logging.Filter):
    """Passes every record on with URL passwords hidden in its message and traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True


def redact_log_handlers(logger: logging.Logger | None = None) -> None:
    """Hide URL passwords in whatever the handlers of ``logger`` (the root logger by default) write."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
