"""Notification channels: SMTP, webhook, MQTT, apprise and the log, behind one small interface.

:meth:`Channel.send` never raises: whatever goes wrong becomes a
``Delivery(ok=False, detail=...)`` the caller can log, show and retry, so a
failing channel cannot take the others down with it.
"""

from __future__ import annotations

import abc
import dataclasses
import logging
import re
import smtplib
import ssl
import sys
import threading
import urllib.error
import urllib.request
import uuid
import warnings
from collections.abc import Iterable, Mapping
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any
from urllib.parse import unquote, urlsplit

from fridge_monitor.alerts.notify.message import (
    SIGNATURE_HEADER,
    AlertMessage,
    email_body,
    email_subject,
    mqtt_payload,
    mqtt_topic,
    short_text,
    signature,
    webhook_body,
)
from fridge_monitor.config import ChannelDecl

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, slots=True)
class Delivery:
    """The result of one attempt to send one message on one channel."""

    ok: bool
    detail: str


def describe(exc: BaseException) -> str:
    """An exception as one line for a delivery log."""
    text = str(exc).strip().replace("\n", " ")
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# Schemes whose host is a server's name; in every other (apprise's slack://, tgram://, discord://...) the
# "host" is itself a token, so only the scheme is kept.
HOST_SCHEMES = frozenset({"http", "https", "json", "jsons", "xml", "xmls", "form", "forms", "mqtt", "mqtts",
                          "ws", "wss", "smtp", "smtps", "mailto", "mailtos"})
_URL = re.compile(r"\b([A-Za-z][A-Za-z0-9+.\-]*)://([^\s<>\"'`]*)")
_TRAILING = ".,;:!?)]}"
HIDDEN = "…"


def url_origin(url: str) -> str:
    """What of a channel URL may be shown: its scheme and host (and port), never a path, query or credentials."""
    scheme, _, rest = url.partition("://")
    if scheme.lower() not in HOST_SCHEMES:
        return f"{scheme}://{HIDDEN}"
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0].rpartition("@")[2]
    return f"{scheme}://{authority}"


def url_secrets(url: str) -> list[str]:
    """The parts of a channel URL that may be secret, as they could be quoted in an error message."""
    scheme, _, rest = url.partition("://")
    parts = [rest] if scheme.lower() not in HOST_SCHEMES else []
    try:
        split = urlsplit(url)
    except ValueError:
        return [rest]
    userinfo = split.netloc.rpartition("@")[0]
    parts += [userinfo, split.path if split.path != "/" else "", split.query, split.fragment]
    parts += [segment for segment in split.path.split("/") if len(segment) >= 8]
    parts += [unquote(part) for part in parts]
    return [part for part in parts if len(part) >= 4]


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """A delivery detail or log line with every URL cut to its scheme and host, and ``secrets`` hidden.

    The one place a channel's words pass before they are stored or logged: an error from urllib or
    apprise may quote the URL, or part of it, that it failed on.
    """
    def origin(match: re.Match[str]) -> str:
        url = match.group(0)
        kept = len(url.rstrip(_TRAILING))
        return url_origin(url[:kept]) + url[kept:]

    text = _URL.sub(origin, text)
    for secret in sorted(set(secrets), key=len, reverse=True):  # the longest first: one may hold another
        if secret:
            text = text.replace(secret, HIDDEN)
    return text


class Channel(abc.ABC):
    """Somewhere alerts go. Subclasses implement :meth:`_deliver`, which may raise."""

    type = "abstract"

    def __init__(self, name: str, tier: int = 1) -> None:
        self.name = name
        self.tier = tier

    def send(self, message: AlertMessage) -> Delivery:
        try:
            delivery = self._deliver(message)
        except Exception as exc:  # noqa: BLE001 - a channel must never raise into the caller
            delivery = Delivery(False, describe(exc))
        delivery = Delivery(delivery.ok, redact(delivery.detail, self.secrets()))
        if not delivery.ok:
            log.warning("channel %s (%s): alert %s not delivered: %s",
                        self.name, self.type, message.alert_id, delivery.detail)
        return delivery

    @abc.abstractmethod
    def _deliver(self, message: AlertMessage) -> Delivery: ...

    def secrets(self) -> list[str]:
        """Text this channel's delivery details must never show (the secret parts of its URLs)."""
        return []

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} tier {self.tier}>"


class LogChannel(Channel):
    """Writes the alert to the application log: always there, never fails."""

    type = "log"

    def __init__(self, name: str = "log", tier: int = 1, logger: logging.Logger | None = None) -> None:
        super().__init__(name, tier)
        self.logger = logger or log

    def _deliver(self, message: AlertMessage) -> Delivery:
        level = logging.WARNING if message.state == "open" else logging.INFO
        self.logger.log(level, "alert %s: %s", message.alert_id, short_text(message, limit=1000))
        return Delivery(True, "logged")


class EmailChannel(Channel):
    """Plain-text e-mail over SMTP, with optional STARTTLS and login."""

    type = "email"

    def __init__(self, name: str, to: Iterable[str], sender: str, host: str, port: int = 25, *,
                 username: str = "", password: str = "", starttls: bool = False, timeout_s: float = 10.0,
                 tier: int = 1) -> None:
        super().__init__(name, tier)
        self.to = list(to)
        self.sender, self.host, self.port = sender, host, port
        self.username, self.password, self.starttls, self.timeout_s = username, password, starttls, timeout_s

    def build(self, message: AlertMessage) -> EmailMessage:
        mail = EmailMessage()
        mail["Subject"] = email_subject(message)
        mail["From"] = self.sender
        mail["To"] = ", ".join(self.to)
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        mail["X-Fridge-Monitor-Alert"] = str(message.alert_id)
        mail.set_content(email_body(message))
        return mail

    def _deliver(self, message: AlertMessage) -> Delivery:
        where = f"{self.host}:{self.port}"
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password)
                refused = smtp.send_message(self.build(message), from_addr=self.sender, to_addrs=self.to)
        except (OSError, smtplib.SMTPException) as exc:
            return Delivery(False, f"SMTP {where}: {describe(exc)}")
        if refused:
            return Delivery(False, f"SMTP {where} refused {', '.join(sorted(refused))}")
        return Delivery(True, f"sent to {', '.join(self.to)} via {where}")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A webhook that redirects is misconfigured; report the status rather than follow it."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class WebhookChannel(Channel):
    """POSTs the alert as JSON; signs the body with HMAC-SHA256 when a secret is set."""

    type = "webhook"

    def __init__(self, name: str, url: str, *, secret: str = "", timeout_s: float = 10.0, tier: int = 1) -> None:
        super().__init__(name, tier)
        self.url, self.secret, self.timeout_s = url, secret, timeout_s
        self.where = url_origin(url)  # what a delivery detail names: the URL's path may be its secret
        self._opener = urllib.request.build_opener(_NoRedirect)

    def secrets(self) -> list[str]:
        return url_secrets(self.url) + ([self.secret] if self.secret else [])

    def request(self, message: AlertMessage) -> urllib.request.Request:
        body = webhook_body(message)
        headers = {"Content-Type": "application/json", "User-Agent": "fridge-monitor"}
        if self.secret:
            headers[SIGNATURE_HEADER] = signature(self.secret, body)
        return urllib.request.Request(self.url, data=body, headers=headers, method="POST")

    def _deliver(self, message: AlertMessage) -> Delivery:
        try:
            with self._opener.open(self.request(message), timeout=self.timeout_s) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            with exc:
                snippet = exc.read(200).decode(errors="replace").strip().replace("\n", " ")
            said = f": {snippet}" if snippet else ""
            return Delivery(False, f"{self.where} answered HTTP {exc.code} {exc.reason}{said}")
        except urllib.error.URLError as exc:
            return Delivery(False, f"cannot reach {self.where}: {exc.reason}")
        except (OSError, TimeoutError) as exc:
            return Delivery(False, f"cannot reach {self.where}: {describe(exc)}")
        if not 200 <= status < 300:
            return Delivery(False, f"{self.where} answered HTTP {status}")
        return Delivery(True, f"{self.where} answered HTTP {status}")


class MqttChannel(Channel):
    """Publishes the fridge's alert state, retained at QoS 1, and waits for the broker's PUBACK.

    A short-lived connection per message: alerts are rare, and nothing is left
    running between them. A cleared alert (resolved and acknowledged) publishes
    ``"active": false``, so a retained subscriber sees the fridge is clear.
    """

    type = "mqtt"

    def __init__(self, name: str, mqtt_settings: Mapping[str, Any], *, topic_prefix: str = "fridge-monitor/alerts",
                 timeout_s: float = 10.0, tier: int = 1) -> None:
        super().__init__(name, tier)
        self.settings, self.topic_prefix, self.timeout_s = mqtt_settings, topic_prefix, timeout_s

    def _deliver(self, message: AlertMessage) -> Delivery:
        # imported here so that paho stays out of the import of this module's users
        from fridge_monitor.mqtt import client as mqtt

        topic = mqtt_topic(self.topic_prefix, message.fridge)
        where = self.settings["url"]
        connected, done = threading.Event(), threading.Event()
        outcome: dict[str, Any] = {}

        def on_connect(client: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
            outcome["connect"] = reason_code
            (done if reason_code.is_failure else connected).set()

        def on_connect_fail(client: Any, userdata: Any) -> None:
            outcome.setdefault("connect", "connection failed")
            done.set()

        def on_publish(client: Any, userdata: Any, mid: int, reason_code: Any, properties: Any) -> None:
            outcome["puback"] = reason_code
            done.set()

        client = mqtt.make_client(self.settings, f"fridge-monitor-notify-{uuid.uuid4().hex[:12]}", persistent=False)
        client.on_connect, client.on_connect_fail, client.on_publish = on_connect, on_connect_fail, on_publish
        try:
            mqtt.connect(client, self.settings, persistent=False)
            client.loop_start()
            # connected or done (a refused or failed connection), whichever comes first
            for _ in range(int(self.timeout_s * 20) + 1):
                if connected.wait(0.05) or done.is_set():
                    break
            if not connected.is_set():
                reason = outcome.get("connect", f"no answer within {self.timeout_s:g} s")
                return Delivery(False, f"cannot connect to MQTT broker {where}: {reason}")
            client.publish(topic, mqtt_payload(message), qos=1, retain=True)
            if not done.wait(self.timeout_s):
                return Delivery(False, f"MQTT broker {where} did not acknowledge {topic} within {self.timeout_s:g} s")
            reason = outcome["puback"]
            if reason.is_failure:
                return Delivery(False, f"MQTT broker {where} refused {topic}: {reason}")
            return Delivery(True, f"published to {topic} (retained)")
        finally:
            mqtt.shut_down(client)


class AppriseChannel(Channel):
    """Chat, SMS and other services through apprise URLs (https://github.com/caronc/apprise)."""

    type = "apprise"

    def __init__(self, name: str, urls: Iterable[str], *, timeout_s: float = 10.0, tier: int = 1) -> None:
        super().__init__(name, tier)
        self.urls, self.timeout_s = list(urls), timeout_s
        try:  # now, while starting up, rather than in a sending thread (see _import_apprise)
            _import_apprise()
        except ImportError:
            pass  # each send will report it

    def secrets(self) -> list[str]:
        return [part for url in self.urls for part in url_secrets(url)]

    def _deliver(self, message: AlertMessage) -> Delivery:
        apprise = _import_apprise()
        notifier = apprise.Apprise()
        rejected = [n for n, url in enumerate(self.urls, 1) if not notifier.add(url)]
        if rejected:  # not the URLs themselves: they may carry tokens
            return Delivery(False, f"apprise does not understand URL #{', #'.join(map(str, rejected))}")
        kind = apprise.NotifyType
        notify_type = (kind.SUCCESS if message.state != "open"
                       else kind.FAILURE if message.severity == "alarm" else kind.WARNING)
        result = notifier.notify(body=short_text(message), title=email_subject(message),
                                 notify_type=notify_type, timeout=self.timeout_s)
        if result:
            return Delivery(True, f"apprise notified {len(self.urls)} service(s)")
        return Delivery(False, f"apprise could not notify every service ({getattr(result, 'status', result)})")


def _import_apprise() -> Any:
    """apprise, imported so it cannot warn later.

    Its e-mail plugin, loaded on first use, imports ``imghdr``, which warns of
    its deprecation on Python < 3.13: nothing of ours to fix, and the warning
    would turn into an error under ``-W error``. Importing it once here with
    that one warning silenced makes apprise's own import a no-op.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="'imghdr' is deprecated", category=DeprecationWarning)
        if sys.version_info < (3, 13):
            import imghdr  # noqa: F401
        import apprise
    return apprise


def build_channel(decl: ChannelDecl, mqtt_settings: Mapping[str, Any]) -> Channel:
    """The channel a ``[[alerts.channels]]`` entry declares; ``mqtt_settings`` is the ``[mqtt]`` section."""
    o = decl.options
    if decl.type == "email":
        return EmailChannel(decl.name, o["to"], o["from"], o["smtp_host"], o["smtp_port"],
                            username=o["smtp_username"], password=o["smtp_password"], starttls=o["starttls"],
                            timeout_s=o["timeout_s"], tier=decl.tier)
    if decl.type == "webhook":
        return WebhookChannel(decl.name, o["url"], secret=o["secret"], timeout_s=o["timeout_s"], tier=decl.tier)
    if decl.type == "mqtt":
        return MqttChannel(decl.name, mqtt_settings, topic_prefix=o["topic_prefix"], timeout_s=o["timeout_s"],
                           tier=decl.tier)
    if decl.type == "apprise":
        return AppriseChannel(decl.name, o["urls"], timeout_s=o["timeout_s"], tier=decl.tier)
    raise ValueError(f"channel {decl.name!r}: unknown type {decl.type!r}")
