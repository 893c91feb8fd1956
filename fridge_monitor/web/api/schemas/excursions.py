"""An excursion's troubleshooting record as the API answers it."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel
from typing_extensions import TypedDict

from fridge_monitor.web.api.schemas.common import DayText, Id, MaybeTime, Time, about, enum_of


class ExcursionPath(BaseModel):
    excursion_id: Annotated[Id, about("The excursion's id.")]


class LotFacts(TypedDict):
    lot_id: int
    product: str
    lot_number: str
    expiry: DayText
    quantity: int
    funding: Annotated[str | None, enum_of(("public", "private"), nullable=True)]
    disposition: str | None


class Facts(TypedDict):
    allowed: str
    rules: list[str]
    started_at: Time
    ended_at: MaybeTime
    alarm_at: MaybeTime
    time_beyond_s: float
    unknown_s: float
    peak_c: float
    low_c: float
    mkt_c: float | None
    readings: int
    last_in_range_at: MaybeTime
    since_in_range_s: float | None
    lots: list[LotFacts]
    earlier: list[str]
    acknowledgements: list[str]


class ExcursionRecord(TypedDict):
    excursion_id: int
    fridge: str
    site: str
    complete: bool
    missing: Annotated[list[str], about("What the record still lacks, in words.")]
    version: int | None
    saved_by: str | None
    saved_at: MaybeTime
    confirmed_by: str | None
    signatures: list[str]
    facts: Annotated[Facts, about("What Fridge Monitor recorded.")]
    entry: Annotated[dict[str, Any], about("What staff filled in (nulls where not yet).")]
    pdf_url: str
