"""The lots' requests and answers: lists by fridge and status, one lot's story, dispositions, what to take next."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, ClassVar, NotRequired

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypedDict

from fridge_monitor.core.lots import Review, Status
from fridge_monitor.inventory.lot_safety import DECISIONS, REFERENCE_MAX
from fridge_monitor.web.api.contract import Body, Rule, When
from fridge_monitor.web.api.schemas.common import (
    NAME_MAX,
    NO_NUL,
    NOT_BLANK,
    DayText,
    Id,
    MaybeTime,
    Note,
    Signature,
    Time,
    about,
    enum_of,
    one_of,
)
from fridge_monitor.web.api.schemas.stock import Movement

STATUSES = tuple(s.value for s in Status)
_STATUS = enum_of(STATUSES, description=(
    "usable, expiring (within the widest `[inventory] expiry_warning_days`, 90 by default), expired (after local "
    "midnight ending the expiry day), under_review (after an excursion), released, discarded, beyond_use (opened "
    "vials past their beyond-use time)."))

if TYPE_CHECKING:
    LotStatus = str
    Decision = str
else:
    LotStatus = one_of(STATUSES)
    Decision = one_of(DECISIONS)


class LotPath(BaseModel):
    lot_id: Annotated[Id, about("The lot's id.")]


class LotQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    fridge: Annotated[str, Field(max_length=NAME_MAX, pattern=NO_NUL, description=(
        "Only lots held in this fridge, with its quantities (404 if there is no such fridge); empty: every "
        "fridge."))] = ""
    # At least one when given: ``status=`` would be both "none" and "one empty status", so it is neither (400).
    status: Annotated[list[LotStatus], Field(min_length=1, default_factory=list),
                      about("Only lots in these statuses (comma-separated); absent: any.")]
    every: Annotated[bool, Field(alias="all", description="Also lots with nothing left.")] = False


class NextQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product: Annotated[str, Field(max_length=NAME_MAX, pattern=NOT_BLANK,
                                  description="The product's id (digits) or its exact name.")]


class Disposition(Body):
    """The manufacturer's answer for the lot's open reviews. `discarded` discards every unit still held."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [
        {"decision": "released", "reference": "MFR-2026-0042", "note": "stability data OK"}]})
    rules: ClassVar[tuple[Rule, ...]] = (
        When("decision", "released", ("reference",),
             "a release needs the manufacturer's reference (case or letter number)"),)

    decision: Decision
    reference: Annotated[str | None, Field(max_length=REFERENCE_MAX, pattern=NOT_BLANK, description=(
        "The manufacturer's case or letter number; required to release."))] = None
    note: Note | None = None
    signature: Signature | None = None


class InFridge(TypedDict):
    fridge: str
    quantity: int
    opened: int


class Lot(TypedDict):
    id: int
    product: str
    product_id: int
    lot: str
    expiry: DayText
    gtin: str | None
    status: Annotated[str, _STATUS]
    review: Annotated[str, enum_of(tuple(r.value for r in Review))]
    quantity: Annotated[int, about("Units held (in the fridge asked for, else everywhere).")]
    opened: Annotated[int, about("Of which in opened vials.")]
    fridges: list[InFridge]


class LotList(TypedDict):
    lots: list[Lot]
    fridge: str | None
    status: list[str] | None
    generated_at: Time


class Holding(TypedDict):
    fridge: str
    quantity: int
    opened_vial_id: int | None
    opened_at: MaybeTime
    beyond_use_at: MaybeTime
    status: Annotated[str, _STATUS]


class Stay(TypedDict):
    fridge: str
    quantity: int
    opened: int
    since: Time
    until: MaybeTime


class Decided(TypedDict):
    id: int
    decision: Annotated[str, enum_of(DECISIONS)]
    reference: str | None
    note: str | None
    decided_at: Time
    decided_by: str
    supersedes_id: int | None


class LotReview(TypedDict):
    id: int
    fridge: str | None
    excursion_id: int | None
    started_at: Time
    ended_at: MaybeTime
    exposure_s: float
    peak_c: float | None
    low_c: float | None
    mkt_c: float | None
    reason: str
    created_at: Time
    created_by: str
    decision: Annotated[str | None, enum_of(DECISIONS, nullable=True)]
    dispositions: list[Decided]


class LotDetail(Lot):
    holdings: list[Holding]
    history: list[Stay]
    movements: list[Movement]
    reviews: list[LotReview]
    recorded: NotRequired[Annotated[list[int], about("The new dispositions' ids (only after a disposition).")]]


class NextUnits(TypedDict):
    fridge: str
    product: str
    product_id: int
    lot_id: int
    lot: str
    expiry: DayText
    quantity: int
    opened_vial_id: int | None
    beyond_use_at: MaybeTime
    usable_until: Time
    status: Annotated[str, _STATUS]
