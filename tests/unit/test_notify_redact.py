"""A channel's URL may carry its secret (a Slack webhook's path, an apprise token): details show scheme and host."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from fridge_monitor.alerts.notify.channels import AppriseChannel, Channel, Delivery, WebhookChannel, redact, url_secrets
from fridge_monitor.alerts.notify.message import AlertMessage


@pytest.mark.parametrize(("text", "shown"), [
    ("https://hooks.slack.com/services/T000/B000/XXXX answered HTTP 404",
     "https://hooks.slack.com answered HTTP 404"),
    ("cannot reach https://user:password@hooks.example:8443/in?token=abc123#frag: timed out",
     "cannot reach https://hooks.example:8443: timed out"),
    ("http://127.0.0.1:9000/hook/T000/SECRET123?key=SECRET456", "http://127.0.0.1:9000"),
    ("apprise failed on slack://T/B/C.", "apprise failed on slack://….",),
    ("tgram://123456:ABCDEF/987 and json://host:9000/path?x=1", "tgram://… and json://host:9000"),
    ("mailto://me:pw@gmail.com (refused)", "mailto://gmail.com (refused)"),
    ("no URL here: HTTP 500 Internal Server Error", "no URL here: HTTP 500 Internal Server Error"),
])
def test_urls_keep_only_scheme_and_host(text, shown):
    assert redact(text) == shown
    assert redact(shown) == shown


def test_a_secret_quoted_without_its_url_is_hidden_too():
    url = "https://hooks.slack.com/services/T000/B000/XXXXSECRET"
    assert redact("no hook at /services/T000/B000/XXXXSECRET", url_secrets(url)) == "no hook at …"
    assert redact("token XXXXSECRET is revoked", url_secrets(url)) == "token … is revoked"
    assert redact("bad token T/B/CCCC", url_secrets("slack://T/B/CCCC")) == "bad token …"
    assert redact("key=SECRET456 refused", url_secrets("https://h.example/?key=SECRET456")) == "… refused"


class _Quoting(Channel):
    """A channel whose failure quotes its URL, as urllib's and apprise's errors may."""

    type = "test"

    def __init__(self, url: str, raise_it: bool) -> None:
        super().__init__("quoting")
        self.url, self.raise_it = url, raise_it

    def secrets(self) -> list[str]:
        return url_secrets(self.url)

    def _deliver(self, message: AlertMessage) -> Delivery:
        if self.raise_it:
            raise ValueError(f"invalid URL {self.url!r}")
        return Delivery(False, f"failed on {self.url}")


@pytest.mark.parametrize("raise_it", [False, True])
def test_every_delivery_detail_is_redacted(raise_it, caplog):
    delivery = _Quoting("https://hooks.slack.com/services/T000/B000/SECRET123", raise_it).send(
        SimpleNamespace(alert_id=7))  # type: ignore[arg-type]
    assert not delivery.ok
    assert "hooks.slack.com" in delivery.detail
    assert "SECRET123" not in delivery.detail and "T000" not in delivery.detail
    assert "SECRET123" not in caplog.text


def test_webhook_and_apprise_channels_know_their_secrets():
    hook = WebhookChannel("hook", "https://hooks.slack.com/services/T000/B000/SECRET123", secret="signing-key")
    assert hook.where == "https://hooks.slack.com"
    assert "signing-key" in hook.secrets() and "/services/T000/B000/SECRET123" in hook.secrets()
    chat = AppriseChannel("chat", ["slack://TOKENA/TOKENB/TOKENC", "json://user:pw@host:9000/path?token=QQQQ"])
    hidden = redact("TOKENA/TOKENB/TOKENC user:pw token=QQQQ", chat.secrets())
    assert hidden == "… … …"
