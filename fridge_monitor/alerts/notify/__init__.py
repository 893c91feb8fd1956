"""Alert notifications: the message (pure), the channels that deliver it, and when to retry.

Escalation (which tier, when) and the delivery log live with the alerts; they
call :func:`build_channel` once per ``[[alerts.channels]]`` entry and
:meth:`Channel.send` per message.
"""

from fridge_monitor.alerts.notify.channels import (
    AppriseChannel,
    Channel,
    Delivery,
    EmailChannel,
    LogChannel,
    MqttChannel,
    WebhookChannel,
    build_channel,
)
from fridge_monitor.alerts.notify.message import AlertMessage
from fridge_monitor.alerts.notify.retry import retry_delay

__all__ = [
    "AlertMessage",
    "AppriseChannel",
    "Channel",
    "Delivery",
    "EmailChannel",
    "LogChannel",
    "MqttChannel",
    "WebhookChannel",
    "build_channel",
    "retry_delay",
]
