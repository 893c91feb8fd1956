"""The alerts' requests and answers, and the webhook's notification body."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, ClassVar, NotRequired

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypedDict

from fridge_monitor.alerts.notify.message import JSON_VERSION
from fridge_monitor.core.checks import KINDS
from fridge_monitor.core.escalation import EVENTS
from fridge_monitor.core.free_text import FREE_TEXT_MAX
from fridge_monitor.web.api.contract import Body
from fridge_monitor.web.api.schemas.common import (
    NAME_MAX,
    NO_NUL,
    Id,
    MaybeTime,
    Signature,
    Time,
    Words,
    about,
    enum_of,
    one_of,
)

ALERT_STATES = ("active", "open", "acknowledged", "resolved", "all")
STORED_STATES = ("open", "acknowledged", "resolved")
SEVERITIES = ("warning", "alarm")

if TYPE_CHECKING:
    AlertState = str
else:
    AlertState = one_of(ALERT_STATES)
Step = Annotated[str, Field(max_length=FREE_TEXT_MAX, pattern=NO_NUL)]


class AlertPath(BaseModel):
    alert_id: Annotated[Id, Field(description="The alert's id.")]


class AlertQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: Annotated[AlertState, Field(
        description="`active`: waiting for an acknowledgement or still going on; or a stored state; or `all`.")] \
        = "active"
    fridge: Annotated[str, Field(max_length=NAME_MAX, pattern=NO_NUL,
                                 description="Only this fridge's alerts (404 if there is no such fridge); "
                                             "empty: every fridge.")] = ""


class Acknowledgement(Body):
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [
        {"action": "Moved the vials to fridge B; coordinator told", "steps": []}]})
    called: ClassVar[dict[str, str]] = {"action": "the action"}

    action: Annotated[Words, Field(description="What was checked or done, and where the products are now.")]
    steps: Annotated[list[Step], Field(max_length=20, description=(
        "Steps taken, chosen among the alert's `steps` (each kind of alert offers its own)."))] = []
    signature: Signature | None = None


class Notification(TypedDict):
    channel: str
    type: str
    tier: int
    event: Annotated[str, enum_of(EVENTS)]
    sequence: int
    attempt: int
    due_at: MaybeTime
    sent_at: MaybeTime
    ok: bool | None
    detail: str | None


class Alert(TypedDict):
    id: int
    fridge: str
    site: str
    kind: Annotated[str, enum_of(KINDS)]
    rule: Annotated[str, about("`out-of-range`, an alarm rule's name such as `heat` or `freeze`, or the check's "
                               "name.")]
    subject: Annotated[str, about("The sensor, for sensor checks (the door contact or plug for door-open, "
                                  "power-lost and compressor-stopped); `site:<name>` or `gateway:<id>` for an "
                                  "outage.")]
    severity: Annotated[str, enum_of(SEVERITIES)]
    state: Annotated[str, enum_of(STORED_STATES)]
    needs_acknowledgement: bool
    title: str
    detail: str
    started_at: Time
    ended_at: MaybeTime
    peak_c: float | None
    low_c: float | None
    excursion_id: int | None
    group_id: Annotated[int | None, about("The site-offline or gateway-offline alert this no-data alert is grouped "
                                          "under (only that one is notified).")]
    acknowledged_by: str | None
    acknowledged_at: MaybeTime
    action: str | None
    steps: Annotated[list[str], about("The steps offered when acknowledging this kind of alert.")]
    notifications: NotRequired[Annotated[list[Notification], about("Only on a single alert.")]]


class AlertList(TypedDict):
    alerts: list[Alert]
    state: str
    fridge: str | None


class AlertNotification(TypedDict):
    """What a webhook channel receives; MQTT channels publish it with ``active``."""

    version: Annotated[int, Field(json_schema_extra={"const": JSON_VERSION}, description=(
        "Changes when a field is removed or changes its meaning; fields may be added within a version."))]
    event: Annotated[str, enum_of(EVENTS, description=(
        "Why this message is sent: `opened` (tier 1 at once), `escalated` (a higher tier, nobody acknowledged in "
        "time), `reminder` (still not acknowledged), `changed` (the severity changed while the alert lasts), "
        "`acknowledged` (told to the channels that received the alert), `resolved` (the condition ended)."))]
    alert_id: int
    kind: Annotated[str, about("As an Alert's `kind`.")]
    state: Annotated[str, enum_of(STORED_STATES, description="The alert's state when the message was sent.")]
    severity: Annotated[str, enum_of(SEVERITIES)]
    fridge: str
    site: str
    title: str
    detail: str
    started_at: Time
    updated_at: Annotated[Time, about("When it ended, for a resolved alert.")]
    acknowledged_by: str | None
    acknowledged_at: MaybeTime
    action: str | None
    url: Annotated[str | None, about("The alert's page, when `[alerts] base_url` is set.")]
    active: NotRequired[Annotated[bool, about("MQTT state only: false once the alert is resolved and "
                                              "acknowledged.")]]
