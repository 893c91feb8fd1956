"""The staff temperature checks' requests and answers."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypedDict

from fridge_monitor.web.api.contract import Body, Rule, Unless, When
from fridge_monitor.web.api.schemas.common import (
    NAME_MAX,
    NO_NUL,
    Celsius,
    Day,
    DayText,
    MaybeTime,
    Note,
    Signature,
    about,
)

TYPED = ("current_c", "min_c", "max_c")


class CheckBody(Body):
    """What the unit's own display reads; or `confirm_monitor`: the display shows the monitor's values (its latest
    reading, and its min and max since the last check, at most 24 h), and those are recorded. The minimum may not
    be above the maximum."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [
        {"current_c": 4.7, "min_c": 3.9, "max_c": 5.8, "comment": "",
         "signature": {"password": "...", "meaning": "performed"}}]})
    rules: ClassVar[tuple[Rule, ...]] = (
        Unless("confirm_monitor", True, TYPED, "either the display's values or confirm_monitor, not both"),
        When("confirm_monitor", False, ("current_c",), "Give at least the current temperature the unit's display "
                                                       "shows.", absent_is_value=True),
    )

    confirm_monitor: Annotated[bool, about("Record the monitor's values, which the display shows.")] = False
    current_c: Annotated[Celsius | None, about("The display's current temperature.")] = None
    min_c: Annotated[Celsius | None, about("The display's minimum since the last check.")] = None
    max_c: Annotated[Celsius | None, about("The display's maximum since the last check.")] = None
    comment: Note | None = None
    signature: Signature | None = None


class CheckQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    site: Annotated[str, Field(max_length=NAME_MAX, pattern=NO_NUL,
                               description="Only this site (404 if there is none); empty: every site.")] = ""
    first: Annotated[Day | None, Field(alias="from", description="First day, site-local (default: 6 days before "
                                                                  "`to`).")] = None
    last: Annotated[Day | None, Field(alias="to", description="Last day, included, not before `from` (default: "
                                                               "today).")] = None


_Temperature = Annotated[float | None, Field(ge=-100, le=100)]


class Check(TypedDict):
    id: int
    fridge: str
    site: str
    day: DayText
    slot: Annotated[str | None, about("The site's check time it answers (hh:mm).")]
    checked_at: MaybeTime
    checked_by: str
    current_c: _Temperature
    min_c: _Temperature
    max_c: _Temperature
    monitor_c: Annotated[_Temperature, about("The monitor's reading at the check.")]
    comment: str | None
    signatures: list[str]


CheckList = TypedDict("CheckList", {"checks": list[Check], "from": DayText, "to": DayText, "site": str | None})
