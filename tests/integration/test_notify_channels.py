"""Notification channels against real servers: aiosmtpd, a local HTTP server, Mosquitto, apprise."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import paho.mqtt.client as paho
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from fridge_monitor.alerts.notify import (
    AlertMessage,
    AppriseChannel,
    EmailChannel,
    MqttChannel,
    WebhookChannel,
)
from fridge_monitor.alerts.notify.message import email_body, email_subject, webhook_body
from fridge_monitor.config import build_config
from fridge_monitor.mqtt.broker import free_port
from fridge_monitor.mqtt.client import shut_down

from support import retained

ALERT = AlertMessage(
    alert_id=7,
    kind="excursion",
    event="opened",
    state="open",
    severity="alarm",
    fridge="A1",
    site="Clinic A",
    title="Temperature above 8.0 °C",
    detail="Peak 9.4 °C; above 8.0 °C for 61 minutes.",
    started_at=datetime(2026, 11, 25, 10, 0, tzinfo=UTC),
    updated_at=datetime(2026, 11, 25, 11, 1, tzinfo=UTC),
    url="http://127.0.0.1:8000/alerts/7",
    timezone="Europe/Berlin",
)


# -- SMTP ----------------------------------------------------------------------


class Mailbox:
    def __init__(self) -> None:
        self.envelopes: list[Any] = []
        self.logins: list[tuple[bytes, bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        if isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"fm", b"pw"):
            self.logins.append((auth_data.login, auth_data.password))
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


@pytest.fixture
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port,
                            authenticator=mailbox.authenticate, auth_require_tls=False)
    controller.start()
    yield mailbox, port
    controller.stop()


def test_email_arrives_at_a_real_smtp_server(smtp_server):
    mailbox, port = smtp_server
    channel = EmailChannel("ward-email", ["nurses@clinic.example", "coordinator@clinic.example"],
                           "fridge-monitor@clinic.example", "127.0.0.1", port, timeout_s=5)
    delivery = channel.send(ALERT)
    assert delivery.ok, delivery.detail
    assert delivery.detail == (f"sent to nurses@clinic.example, coordinator@clinic.example via 127.0.0.1:{port}")
    (envelope,) = mailbox.envelopes
    assert envelope.mail_from == "fridge-monitor@clinic.example"
    assert envelope.rcpt_tos == ["nurses@clinic.example", "coordinator@clinic.example"]
    mail = message_from_bytes(envelope.original_content, policy=policy.default)
    assert mail["Subject"] == "[New ALARM] A1 at Clinic A: Temperature above 8.0 °C" == email_subject(ALERT)
    assert mail["To"] == "nurses@clinic.example, coordinator@clinic.example"
    assert mail["X-Fridge-Monitor-Alert"] == "7"
    assert mail.get_content().replace("\r\n", "\n") == email_body(ALERT)  # CRLF on the wire


def test_a_reminder_email_says_it_is_one_in_its_subject(smtp_server):
    mailbox, port = smtp_server
    channel = EmailChannel("ward-email", ["nurses@clinic.example"], "fm@clinic.example", "127.0.0.1", port)
    assert channel.send(dataclasses.replace(ALERT, event="reminder")).ok
    assert channel.send(dataclasses.replace(ALERT, event="resolved", state="resolved")).ok
    subjects = [message_from_bytes(e.original_content, policy=policy.default)["Subject"] for e in mailbox.envelopes]
    assert subjects == ["[Reminder: ALARM, not acknowledged] A1 at Clinic A: Temperature above 8.0 °C",
                        "[Resolved, needs acknowledgement] A1 at Clinic A: Temperature above 8.0 °C"]


def test_email_logs_in_when_a_username_is_set(smtp_server):
    mailbox, port = smtp_server
    good = EmailChannel("e", ["a@b.example"], "fm@b.example", "127.0.0.1", port, username="fm", password="pw")
    assert good.send(ALERT).ok
    assert mailbox.logins == [(b"fm", b"pw")]
    bad = EmailChannel("e", ["a@b.example"], "fm@b.example", "127.0.0.1", port, username="fm", password="wrong")
    delivery = bad.send(ALERT)
    assert not delivery.ok
    assert delivery.detail.startswith(f"SMTP 127.0.0.1:{port}: SMTPAuthenticationError: (535")
    assert len(mailbox.envelopes) == 1


def test_starttls_required_but_not_offered_is_a_failure_not_a_plain_text_send(smtp_server):
    mailbox, port = smtp_server
    delivery = EmailChannel("e", ["a@b.example"], "fm@b.example", "127.0.0.1", port, starttls=True).send(ALERT)
    assert not delivery.ok
    assert "STARTTLS extension not supported by server" in delivery.detail
    assert mailbox.envelopes == []


def test_unreachable_smtp_server_fails_quickly_without_raising():
    port = free_port()
    started = time.monotonic()
    delivery = EmailChannel("e", ["a@b.example"], "fm@b.example", "127.0.0.1", port, timeout_s=5).send(ALERT)
    assert time.monotonic() - started < 2
    assert not delivery.ok
    assert delivery.detail.startswith(f"SMTP 127.0.0.1:{port}: ConnectionRefusedError")


# -- HTTP ----------------------------------------------------------------------


class HookServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), HookHandler)
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.status = 204
        self.release = threading.Event()  # a handler waits for it when hold is set
        self.hold = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class HookHandler(BaseHTTPRequestHandler):
    server: HookServer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.requests.append((self.path, dict(self.headers), body))
        if self.server.hold:
            self.server.release.wait(10)
        self.send_response(self.server.status)
        text = b"boom" if self.server.status >= 400 else b""
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def hook_server() -> Iterator[HookServer]:
    server = HookServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_webhook_receives_the_signed_json(hook_server):
    secret = "hook-secret"
    delivery = WebhookChannel("hook", hook_server.url + "/hook", secret=secret, timeout_s=5).send(ALERT)
    assert delivery == (delivery.__class__(True, f"{hook_server.url} answered HTTP 204"))  # never the path
    ((path, headers, body),) = hook_server.requests
    assert path == "/hook"
    assert headers["Content-Type"] == "application/json"
    assert body == webhook_body(ALERT)
    assert json.loads(body)["started_at"] == "2026-11-25T10:00:00Z"
    assert json.loads(body)["event"] == "opened"
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Fridge-Monitor-Signature"], expected)


def test_webhook_without_a_secret_sends_no_signature(hook_server):
    assert WebhookChannel("hook", hook_server.url).send(ALERT).ok
    ((_, headers, _),) = hook_server.requests
    assert "X-Fridge-Monitor-Signature" not in headers


@pytest.mark.parametrize("status", [500, 404, 302])
def test_webhook_answering_other_than_2xx_is_a_failure_naming_the_status(hook_server, status):
    hook_server.status = status
    delivery = WebhookChannel("hook", hook_server.url + "/hook").send(ALERT)
    assert not delivery.ok
    assert f"answered HTTP {status}" in delivery.detail
    if status == 500:
        assert delivery.detail == f"{hook_server.url} answered HTTP 500 Internal Server Error: boom"


def test_unreachable_webhook_fails_quickly_without_raising():
    origin = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    delivery = WebhookChannel("hook", origin + "/hook", timeout_s=5).send(ALERT)
    assert time.monotonic() - started < 2
    assert not delivery.ok
    assert delivery.detail.startswith(f"cannot reach {origin}: ")
    assert "Connection refused" in delivery.detail


def test_webhook_that_does_not_answer_times_out(hook_server):
    hook_server.hold = True
    started = time.monotonic()
    delivery = WebhookChannel("hook", hook_server.url, timeout_s=0.5).send(ALERT)
    assert time.monotonic() - started < 3
    assert not delivery.ok
    assert "timed out" in delivery.detail


# -- apprise -------------------------------------------------------------------


def test_apprise_posts_to_a_json_endpoint(hook_server):
    url = f"json://127.0.0.1:{hook_server.server_address[1]}/chat"
    delivery = AppriseChannel("chat", [url], timeout_s=5).send(ALERT)
    assert delivery.ok, delivery.detail
    ((path, _, body),) = hook_server.requests
    payload = json.loads(body)
    assert path == "/chat"
    assert payload["title"] == "[New ALARM] A1 at Clinic A: Temperature above 8.0 °C"
    assert payload["message"].startswith(
        "[New ALARM] A1 (Clinic A): Temperature above 8.0 °C. Since 2026-11-25 11:00 CET.")
    assert payload["type"] == "failure"


def test_apprise_title_names_the_event(hook_server):
    channel = AppriseChannel("chat", [f"json://127.0.0.1:{hook_server.server_address[1]}/chat"], timeout_s=5)
    assert channel.send(dataclasses.replace(ALERT, event="escalated")).ok
    acknowledged = dataclasses.replace(ALERT, event="acknowledged", state="acknowledged", acknowledged_by="nurse.kim",
                                       acknowledged_at=datetime(2026, 11, 25, 11, 10, tzinfo=UTC), action="Moved lots.")
    assert channel.send(acknowledged).ok
    titles = [json.loads(body)["title"] for _, _, body in hook_server.requests]
    assert titles == ["[Escalated ALARM, not acknowledged] A1 at Clinic A: Temperature above 8.0 °C",
                      "[Acknowledged] A1 at Clinic A: Temperature above 8.0 °C"]


def test_apprise_failure_and_unknown_urls_are_reported(hook_server):
    hook_server.status = 500
    failed = AppriseChannel("chat", [f"json://127.0.0.1:{hook_server.server_address[1]}/chat"]).send(ALERT)
    assert not failed.ok
    assert failed.detail.startswith("apprise could not notify every service")
    unknown = AppriseChannel("chat", ["nosuchservice://token@x"]).send(ALERT)
    assert unknown == unknown.__class__(False, "apprise does not understand URL #1")


# -- MQTT ----------------------------------------------------------------------


@pytest.fixture
def mqtt_settings(mqtt_url: str, mqtt_protocol: str) -> dict[str, Any]:
    return dict(build_config({"mqtt": {"url": mqtt_url, "protocol": mqtt_protocol}}, {}, {}, "test").mqtt)


@pytest.fixture
def alert_prefix(prefix: str, mqtt_settings: dict[str, Any]) -> Iterator[str]:
    """A topic prefix of this test's own; its retained messages are removed afterwards."""
    topic_prefix = prefix + "alerts"
    yield topic_prefix
    host, port = mqtt_settings["url"].split("://")[1].split(":")
    client = paho.Client(paho.CallbackAPIVersion.VERSION2)
    client.connect(host, int(port))
    client.loop_start()
    client.publish(f"{topic_prefix}/A1", b"", qos=1, retain=True).wait_for_publish(5)
    shut_down(client)


def test_mqtt_publishes_the_retained_alert_state(mqtt_url, mqtt_settings, alert_prefix):
    channel = MqttChannel("state", mqtt_settings, topic_prefix=alert_prefix, timeout_s=5)
    delivery = channel.send(ALERT)
    assert delivery.ok, delivery.detail
    assert delivery.detail == f"published to {alert_prefix}/A1 (retained)"
    state = json.loads(retained(mqtt_url, f"{alert_prefix}/A1"))
    assert state == {**json.loads(webhook_body(ALERT)), "active": True}


def test_mqtt_resolved_and_acknowledged_alert_clears_the_fridge(mqtt_url, mqtt_settings, alert_prefix):
    channel = MqttChannel("state", mqtt_settings, topic_prefix=alert_prefix, timeout_s=5)
    assert channel.send(ALERT).ok
    cleared = dataclasses.replace(ALERT, event="acknowledged", state="resolved", acknowledged_by="nurse.kim",
                                  acknowledged_at=datetime(2026, 11, 25, 11, 10, tzinfo=UTC), action="Moved lots.")
    assert channel.send(cleared).ok
    state = json.loads(retained(mqtt_url, f"{alert_prefix}/A1"))
    assert (state["active"], state["state"], state["event"], state["acknowledged_by"]) == (
        False, "resolved", "acknowledged", "nurse.kim")


def test_unreachable_mqtt_broker_fails_without_raising(mqtt_settings):
    settings = {**mqtt_settings, "url": f"mqtt://127.0.0.1:{free_port()}"}
    started = time.monotonic()
    delivery = MqttChannel("state", settings, timeout_s=3).send(ALERT)
    assert time.monotonic() - started < 4
    assert not delivery.ok
    assert delivery.detail.startswith(f"cannot connect to MQTT broker {settings['url']}")
