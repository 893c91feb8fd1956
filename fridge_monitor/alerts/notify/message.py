"""What an alert notification says: one frozen message, rendered per channel (no I/O).

The renderers are pure functions of an :class:`AlertMessage`: an e-mail a nurse
can act on, a JSON body for webhooks, the retained MQTT state of a fridge and a
short text for chat and SMS. Each names the event that made it, so that a
reminder never reads like the first message: ``opened``, ``escalated``,
``reminder``, ``acknowledged``, ``resolved`` or ``changed`` (see
:mod:`fridge_monitor.core.escalation`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fridge_monitor.core.escalation import ACKNOWLEDGED, CHANGED, ESCALATED, EVENTS, REMINDER, RESOLVED
from fridge_monitor.core.times import iso_utc

STATES = ("open", "acknowledged", "resolved")
SIGNATURE_HEADER = "X-Fridge-Monitor-Signature"
SHORT_TEXT_MAX = 300
JSON_VERSION = 1

# What staff must do, per alert kind (DOMAIN.md, "What staff must do on an excursion").
STEPS: dict[str, tuple[str, ...]] = {
    "excursion": (
        "Tell the vaccine coordinator or your supervisor now.",
        ('Label the products in this fridge "DO NOT USE" and keep them at the correct temperature '
         "(move them to a working fridge if needed). Do not throw anything away."),
        ("Write down the time, how long it lasted, the lowest and highest temperature, "
         "what you did and who did it."),
        ("Contact the manufacturer (and the immunization programme) about each lot "
         "and record their answer: use or discard."),
    ),
    "no-data": (
        "Check the fridge's own thermometer now and write down the temperature.",
        "Check the sensor: power or battery, network, and that the probe is still inside the fridge.",
        ("If the temperature cannot be confirmed in range, treat it as an excursion: "
         'label the products "DO NOT USE" and tell the vaccine coordinator.'),
    ),
    "low-battery": (
        "Replace or charge the sensor's battery today.",
        "Check on the dashboard that readings arrive again.",
    ),
    "calibration-due": (
        ("Arrange calibration of the sensor, or swap in a logger with a valid calibration "
         "certificate, before the due date."),
        "Record the new certificate, with its file, on the sensor's calibration page.",
    ),
    "calibration-expired": (
        ("Swap in a logger with a valid certificate of calibration now: until then this sensor's readings are marked "
         "as taken by an uncalibrated device."),
        "Send the sensor for calibration, and record the new certificate, with its file, on its calibration page.",
    ),
    "sensor-disagreement": (
        "Check the fridge with a reference thermometer and write down the temperature.",
        "Check that both probes are inside the fridge, among the products, not touching a wall or the door.",
        "Replace a faulty probe; if the fridge really is out of range, follow the excursion steps.",
    ),
    "record-incomplete": (
        "Open the excursion's troubleshooting record (from its alert), fill in what it still asks for, and sign it.",
        "Attach the manufacturer's or programme's answer and case number for every lot that was exposed.",
    ),
    "check-missed": (
        "Read the unit's own display now: current temperature, and its minimum and maximum if it shows them.",
        "Record the check on the Checks page, with why it was late.",
        ("If the temperature is out of range, or cannot be confirmed, treat it as an excursion: "
         'label the products "DO NOT USE" and tell the vaccine coordinator.'),
    ),
    "logger-overdue": (
        "Download the data logger today (USB) and import its file on this fridge's page.",
        "Review the file: minimum and maximum of each day, and any alarm the logger shows.",
        ("If a day was out of range or cannot be accounted for, treat it as an excursion: "
         'label the products "DO NOT USE" and tell the vaccine coordinator.'),
    ),
    # A lot exposed outside its product's range (the fridge's own range may be fine): quarantine, then decide.
    "lot-review": (
        'Label the units of this lot "DO NOT USE" and keep them apart, at their product\'s storage temperature '
        "(move them to a suitable fridge if needed). Do not throw anything away.",
        "Tell the vaccine coordinator or your supervisor.",
        ("Contact the manufacturer with the lot number and the exposure (time out of range, highest and lowest "
         "temperature, mean kinetic temperature, shown on the lot's page)."),
        ("Record their answer for the lot: release (with their reference) or discard. "
         "This alert resolves when the disposition is recorded."),
    ),
    "lot-expiring": (
        "Check the lot's units in this fridge and use them first (first-expiry-first-out).",
        "If they cannot be used in time, arrange a return or exchange with the supplier, or plan their disposal.",
    ),
    "lot-expired": (
        'Take the expired units out of use now and label them "EXPIRED - DO NOT USE".',
        "Discard them (reason: expired) in the inventory, or return them as the supplier's rules say.",
        "If an expired dose may have been given, tell the vaccine coordinator or your supervisor.",
    ),
    "beyond-use": (
        "Do not use the opened or reconstituted vial: it is past its beyond-use time.",
        "Discard it (reason: beyond use) in the inventory.",
        "If a dose from it may have been given, tell the vaccine coordinator or your supervisor.",
    ),
}
GENERIC_STEPS = ("Check the fridge and its sensor.",)


@dataclasses.dataclass(frozen=True, slots=True)
class AlertMessage:
    """An alert as the notification channels see it; times are timezone-aware."""

    alert_id: int | str
    kind: str  # excursion, no-data, low-battery, calibration-due, sensor-disagreement, lot-review, ...
    event: str  # why this message is sent: opened, escalated, reminder, acknowledged, resolved, changed
    state: str  # open, acknowledged, resolved
    severity: str  # warning, alarm
    fridge: str
    site: str
    title: str
    detail: str
    started_at: datetime
    updated_at: datetime
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    action: str | None = None
    url: str | None = None
    timezone: str = "UTC"  # the site's, for times shown to people

    def __post_init__(self) -> None:
        if self.state not in STATES:
            raise ValueError(f"alert state must be one of {', '.join(STATES)}, not {self.state!r}")
        if self.event not in EVENTS:
            raise ValueError(f"notification event must be one of {', '.join(EVENTS)}, not {self.event!r}")
        for name in ("started_at", "updated_at", "acknowledged_at"):
            value = getattr(self, name)
            if value is not None and value.utcoffset() is None:
                raise ValueError(f"{name} must be timezone-aware, not {value!r}")

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_at is not None

    @property
    def cleared(self) -> bool:
        """Resolved and acknowledged: nothing more to do, the fridge's alert state is clear."""
        return self.state == "resolved" and self.acknowledged


# -- e-mail --------------------------------------------------------------------


def headline(message: AlertMessage) -> str:
    """What happened and what is left to do, for a subject line: ``New ALARM``, ``Reminder: ALARM, not
    acknowledged``, ``Resolved, needs acknowledgement``, ``Acknowledged, closed``."""
    severity = message.severity.upper()
    event = message.event
    if event == ACKNOWLEDGED:
        return "Acknowledged, closed" if message.cleared else "Acknowledged"
    if event == RESOLVED:
        return "Resolved, closed" if message.cleared else "Resolved, needs acknowledgement"
    head = {ESCALATED: f"Escalated {severity}", REMINDER: f"Reminder: {severity}",
            CHANGED: f"Changed to {severity}"}.get(event, f"New {severity}")
    if message.cleared:
        return f"{head}, closed"
    if message.state == "resolved":
        return f"{head}, ended, needs acknowledgement"
    if message.acknowledged:
        return f"{head}, acknowledged"
    return f"{head}, not acknowledged" if event in (ESCALATED, REMINDER) else head


def _news(message: AlertMessage) -> str | None:
    """One sentence on why this message comes now, for the messages that are not the first one."""
    severity = "an alarm" if message.severity == "alarm" else "a warning"
    if message.event == ESCALATED:
        return "Nobody has acknowledged this alert yet, so it now goes to you as well."
    if message.event == REMINDER:
        return "Reminder: this alert has not been acknowledged yet."
    if message.event == CHANGED:
        return f"The alert has changed: it is now {severity}."
    return None


def local_time(moment: datetime, timezone: str) -> str:
    """``2026-11-25 11:00 CET``: a time as staff at the site read it."""
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M %Z")


def email_subject(message: AlertMessage) -> str:
    """``[Reminder: ALARM, not acknowledged] A1 at Clinic A: Temperature above 8.0 °C`` (also apprise's title)."""
    return f"[{headline(message)}] {message.fridge} at {message.site}: {message.title}"


def email_body(message: AlertMessage) -> str:
    """Plain text: what happened, where, since when, and what to do now."""

    def when(moment: datetime) -> str:
        return local_time(moment, message.timezone)

    lines = [f"{headline(message)}: {message.title}", ""]
    news = _news(message)
    if news:
        lines += [news, ""]
    lines += [
        f"Fridge:   {message.fridge}",
        f"Site:     {message.site}",
        f"Since:    {when(message.started_at)}",
    ]
    if message.state == "resolved":
        lines.append(f"Ended:    {when(message.updated_at)}")
    if message.detail:
        lines.append(f"Details:  {message.detail}")
    if message.acknowledged_at is not None:
        lines.append(f"Acknowledged by {message.acknowledged_by or 'unknown'} at {when(message.acknowledged_at)}.")
        if message.action:
            lines.append(f"Action taken: {message.action}")
    lines.append("")
    steps = STEPS.get(message.kind, GENERIC_STEPS)
    if message.cleared:
        lines.append("This alert is closed: it has ended and was acknowledged. Nothing more is needed for it.")
        if message.kind == "excursion":
            lines.append("Keep exposed lots labelled \"DO NOT USE\" until the manufacturer's answer is recorded.")
    elif message.acknowledged:
        lines.append("This alert has been acknowledged. Finish any steps still open:")
        lines.extend(f"{n}. {step}" for n, step in enumerate(steps, 1))
    else:
        if message.state == "resolved":
            lines.append("The condition has ended, but this alert still needs an acknowledgement.")
        lines.append("What to do now:")
        lines.extend(f"{n}. {step}" for n, step in enumerate(steps, 1))
        lines.append("Then acknowledge the alert with the action you took"
                     + (f": {message.url}" if message.url else "."))
    lines += [
        "",
        f"Alert {message.alert_id} ({message.kind}, {message.severity}), updated {when(message.updated_at)}.",
        "-- ",
        "Fridge Monitor",
    ]
    return "\n".join(lines) + "\n"


# -- machine-readable ----------------------------------------------------------


def _utc(moment: datetime | None) -> str | None:
    return None if moment is None else iso_utc(moment, "seconds")


def alert_json(message: AlertMessage) -> dict[str, Any]:
    """The alert as JSON-ready values: stable keys, times ISO 8601 in UTC."""
    return {
        "version": JSON_VERSION,
        "event": message.event,
        "alert_id": message.alert_id,
        "kind": message.kind,
        "state": message.state,
        "severity": message.severity,
        "fridge": message.fridge,
        "site": message.site,
        "title": message.title,
        "detail": message.detail,
        "started_at": _utc(message.started_at),
        "updated_at": _utc(message.updated_at),
        "acknowledged_by": message.acknowledged_by,
        "acknowledged_at": _utc(message.acknowledged_at),
        "action": message.action,
        "url": message.url,
    }


def _dump(value: dict[str, Any]) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def webhook_body(message: AlertMessage) -> bytes:
    return _dump(alert_json(message))


def mqtt_payload(message: AlertMessage) -> bytes:
    """The fridge's retained alert state; ``active`` is false once the alert is cleared."""
    return _dump({**alert_json(message), "active": not message.cleared})


def mqtt_topic(prefix: str, fridge: str) -> str:
    """``<prefix>/<fridge>``; characters MQTT reserves in topic names become ``_``."""
    safe = "".join("_" if ch in "/+#\0" else ch for ch in fridge)
    return f"{prefix}/{safe}"


def signature(secret: str, body: bytes) -> str:
    """The webhook signature header value: ``sha256=<hex HMAC-SHA256 of the body>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# -- chat and SMS --------------------------------------------------------------


def short_text(message: AlertMessage, limit: int = SHORT_TEXT_MAX) -> str:
    """One line for chat and SMS, at most ``limit`` characters; the link is never cut."""
    clock = local_time(message.started_at, message.timezone)
    head = f"[{headline(message)}] {message.fridge} ({message.site}): {message.title}"
    if message.cleared:
        middle = f"Closed, acknowledged by {message.acknowledged_by or 'unknown'}."
    elif message.acknowledged:
        middle = f"Acknowledged by {message.acknowledged_by or 'unknown'}: {message.action or 'no action given'}"
    else:
        middle = f"Since {clock}. {message.detail}".strip()
    tail = ""
    if not message.acknowledged:
        tail = f" Acknowledge: {message.url}" if message.url else " Please acknowledge."
    text = f"{head}. {middle}"
    room = limit - len(tail)
    if len(text) > room:
        text = text[: max(room - 1, 0)].rstrip() + "…"
    return (text + tail)[:limit]
