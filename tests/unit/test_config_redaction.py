"""Config errors and log lines never show a database or MQTT password (issue 12, item 13)."""

from __future__ import annotations

import io
import logging

import pytest

from fridge_monitor.config import ConfigError, build_config, redact, redact_log_handlers

SECRET = "s3cr3t-Pa55"


@pytest.mark.parametrize(("text", "expected"), [
    ("postgresql://u:s3cr3t-Pa55@h/db", "postgresql://u:***@h/db"),
    ("postgresql+psycopg://u:s3cr3t-Pa55@h:5432/db?sslmode=require",
     "postgresql+psycopg://u:***@h:5432/db?sslmode=require"),
    ("mqtt://u:s3cr3t-Pa55@h", "mqtt://u:***@h"),
    ("mqtts://ingest:s3cr3t-Pa55@broker:8883", "mqtts://ingest:***@broker:8883"),
    ("cannot open 'mqtt://u:p@s3cr3t-Pa55@h:1883' now", "cannot open 'mqtt://u:***@h:1883' now"),
    ("mqtt://u:p/s3cr3t-Pa55@h", "mqtt://u:***@h"),
    ("both postgresql://a:s3cr3t-Pa55@h/db and mqtt://b:s3cr3t-Pa55@m",
     "both postgresql://a:***@h/db and mqtt://b:***@m"),
    ("mqtt://127.0.0.1:1883", "mqtt://127.0.0.1:1883"),
    ("mqtt://user@host:1883", "mqtt://user@host:1883"),
    ("sqlite:///data/fridge.db", "sqlite:///data/fridge.db"),
])
def test_redact_hides_only_the_password_of_each_url(text, expected):
    assert redact(text) == expected


def config_error(raw=None, environ=None) -> str:
    with pytest.raises(ConfigError) as info:
        build_config(raw or {}, environ or {}, {}, "fridge.toml")
    return str(info.value)


@pytest.mark.parametrize(("raw", "environ"), [
    ({"database": {"url": f"mysql://u:{SECRET}@h/db"}}, {}),
    ({}, {"FRIDGE_MONITOR_DATABASE_URL": f"mysql://u:{SECRET}@h/db"}),
    ({"mqtt": {"url": f"amqp://u:{SECRET}@h:5672"}}, {}),
    ({"mqtt": {"url": f"mqtt://u:{SECRET}@h:port"}}, {}),
    ({"mqtt": {"url": f"mqtt://u:{SECRET}@:1883"}}, {}),
    ({"mqtt": {"password": 12345678}}, {}),
    ({"database": {"url": f"postgresql://u:{SECRET}@h/db", "busy_timeout_s": f"postgresql://u:{SECRET}@h/db"}}, {}),
    ({"alerts": {"channels": [{"name": "mail", "type": "email", "to": ["a@b.example"], "from": "c@d.example",
                               "smtp_host": "mail", "smtp_password": 12345678}]}}, {}),
])
def test_a_config_error_never_shows_a_password(raw, environ):
    message = config_error(raw, environ)
    assert SECRET not in message and "12345678" not in message
    assert message.count("\n") == 0


def test_the_url_in_a_config_error_still_names_user_and_host():
    message = config_error({"database": {"url": f"mysql://clinic:{SECRET}@db.example/fridges"}})
    assert "mysql://clinic:***@db.example/fridges" in message


def test_log_handlers_hide_passwords_in_messages_and_tracebacks():
    logger = logging.getLogger("test_config_redaction")
    logger.propagate = False
    stream = io.StringIO()
    logger.addHandler(logging.StreamHandler(stream))
    try:
        redact_log_handlers(logger)
        logger.warning("cannot reach MQTT broker %s; retrying", f"mqtt://ingest:{SECRET}@127.0.0.1:1")
        try:
            raise ConnectionError(f"no route to postgresql://u:{SECRET}@db/fridges")
        except ConnectionError:
            logger.exception("database unreachable")
    finally:
        logger.handlers.clear()
    written = stream.getvalue()
    assert SECRET not in written
    assert "mqtt://ingest:***@127.0.0.1:1" in written and "postgresql://u:***@db/fridges" in written
