"""The channel interface: send never raises, the log channel, requests built without sending."""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime

from fridge_monitor.alerts.notify import (
    AlertMessage,
    Channel,
    Delivery,
    LogChannel,
    WebhookChannel,
)
from fridge_monitor.alerts.notify.message import webhook_body

ALERT = AlertMessage(
    alert_id=3, kind="no-data", event="opened", state="open", severity="alarm", fridge="B2", site="Clinic B",
    title="No readings for 45 minutes", detail="Last reading 4.1 °C at 09:15.",
    started_at=datetime(2026, 3, 1, 9, 15, tzinfo=UTC), updated_at=datetime(2026, 3, 1, 10, 0, tzinfo=UTC),
)


class Broken(Channel):
    type = "broken"

    def _deliver(self, message: AlertMessage) -> Delivery:
        raise RuntimeError("boom\nsecond line")


def test_send_turns_any_exception_into_a_failed_delivery(caplog):
    with caplog.at_level(logging.WARNING, logger="fridge_monitor.alerts.notify.channels"):
        delivery = Broken("bad").send(ALERT)
    assert delivery == Delivery(False, "RuntimeError: boom second line")
    assert caplog.messages == ["channel bad (broken): alert 3 not delivered: RuntimeError: boom second line"]


def test_log_channel_warns_while_open_and_informs_afterwards(caplog):
    logger = logging.getLogger("test.notify")
    with caplog.at_level(logging.INFO, logger="test.notify"):
        assert LogChannel(logger=logger).send(ALERT) == Delivery(True, "logged")
        LogChannel(logger=logger).send(dataclasses.replace(ALERT, event="resolved", state="resolved"))
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.WARNING, ("alert 3: [New ALARM] B2 (Clinic B): No readings for 45 minutes. "
                           "Since 2026-03-01 09:15 UTC. Last reading 4.1 °C at 09:15. Please acknowledge.")),
        (logging.INFO, ("alert 3: [Resolved, needs acknowledgement] B2 (Clinic B): No readings for 45 minutes. "
                        "Since 2026-03-01 09:15 UTC. Last reading 4.1 °C at 09:15. Please acknowledge.")),
    ]


def test_webhook_request_is_a_signed_json_post():
    request = WebhookChannel("hook", "http://127.0.0.1:9/hook", secret="s3cret").request(ALERT)
    assert (request.method, request.full_url, request.data) == ("POST", "http://127.0.0.1:9/hook", webhook_body(ALERT))
    assert request.get_header("Content-type") == "application/json"
    assert request.get_header("X-fridge-monitor-signature").startswith("sha256=")
