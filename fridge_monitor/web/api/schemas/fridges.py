"""The fridges' requests and answers: state now, sensors, readings in a period, statistics."""

from __future__ import annotations

from typing import Annotated, NotRequired

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
from typing_extensions import TypedDict

from fridge_monitor.core.status import State
from fridge_monitor.web.api.schemas.common import MaybeDayText, MaybeTime, Time, about, enum_of

MAX_EVERY = 366 * 86400
SENSOR_ROLES = ("primary", "backup", "aux")
_LOCAL = (r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]"
          r"(:[0-5][0-9](\.[0-9]{1,6})?)?$")
Bound = Annotated[str, Field(min_length=1, max_length=64), WithJsonSchema({"anyOf": [
    {"type": "string", "format": "date"}, {"type": "string", "format": "date-time"},
    {"type": "string", "pattern": _LOCAL, "description": "A local date-time, in the site's time zone."}]})]


class Period(BaseModel):
    """``?from=&to=``: the period of readings or statistics, read in the site's time zone."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    start: Annotated[Bound | None, Field(alias="from", description=(
        "Start: a date YYYY-MM-DD (midnight in the site's time zone) or an ISO 8601 date-time (without offset: "
        "site time). Default: 24 hours before `to`. The period may span at most three years."))] = None
    end: Annotated[Bound | None, Field(alias="to", description=(
        "End, exclusive: a date (that whole day is included) or an ISO 8601 date-time, after `from`. "
        "Default: now."))] = None


class ReadingsQuery(Period):
    every: Annotated[int | None, Field(ge=1, le=MAX_EVERY, description=(
        "Bucket size in seconds; omit for raw readings (at most 100000 in the period, else 400)."))] = None


class Sensor(TypedDict):
    id: Annotated[str, about("<format>:<device>[:<channel>]")]
    format: str
    device: str
    fridge: str | None
    role: Annotated[str | None, enum_of(SENSOR_ROLES, nullable=True)]
    temperature_c: float | None
    last_measured_at: MaybeTime
    last_seen_at: MaybeTime
    battery_pct: float | None
    online: bool | None
    calibration_certificate: str | None
    calibration_due: MaybeDayText


class SensorList(TypedDict):
    sensors: list[Sensor]


class Range(TypedDict):
    low_c: float
    high_c: float


class AlertCounts(TypedDict):
    waiting: Annotated[int, about("Alerts waiting for an acknowledgement.")]
    ongoing: Annotated[int, about("Alerts whose condition lasts.")]
    ids: list[int]


class Today(TypedDict):
    """Since local midnight at the fridge's site."""

    since: Time
    min_c: float | None
    max_c: float | None


class Fridge(TypedDict):
    name: str
    site: str
    timezone: str
    kind: str
    range: Range
    status: Annotated[str, enum_of(tuple(s.value for s in State), description=(
        "ALERT: the temperature is fine now but an alert waits for an acknowledgement."))]
    alerts: AlertCounts
    temperature_c: float | None
    last_reading_at: MaybeTime
    today: Today
    sensors: list[Sensor]


class FridgeList(TypedDict):
    fridges: list[Fridge]
    generated_at: Time


Stats = TypedDict("Stats", {
    "fridge": str, "timezone": str, "from": Time, "to": Time, "min_c": float | None, "max_c": float | None,
    "mean_c": Annotated[float | None, about("Time-weighted mean.")],
    "mkt_c": Annotated[float | None, about("Mean kinetic temperature (USP <1079>).")],
    "time_out_of_range_s": Annotated[float, about("Known time outside the fridge's range, in seconds.")],
    "coverage": Annotated[float, Field(ge=0, le=1, description="Share of the period (up to now) with a known "
                                                               "temperature.")],
    "readings": Annotated[int, about("Readings taken in the period.")],
})


class Raw(TypedDict):
    at: Time
    sensor: str
    temperature_c: float


class Bucket(TypedDict):
    start: Time
    sensor: str
    min_c: float
    max_c: float
    mean_c: float
    count: int


Readings = TypedDict("Readings", {
    "fridge": str, "from": Time, "to": Time,
    "every": Annotated[int | None, about("The bucket size asked for; null for raw readings.")],
    "readings": NotRequired[Annotated[list[Raw], about("Raw readings (without `every`).")]],
    "buckets": NotRequired[Annotated[list[Bucket], about("Per-sensor buckets aligned to the Unix epoch, each with "
                                                         "min, max, mean and count (with `every`).")]],
})
