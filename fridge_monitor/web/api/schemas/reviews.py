"""The monthly reviews' requests and answers."""

from __future__ import annotations

from typing import Annotated, NotRequired

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypedDict

from fridge_monitor.web.api.contract import Body
from fridge_monitor.web.api.schemas.common import PATH_SEGMENT, MaybeTime, Note, Signature, about


class ReviewPath(BaseModel):
    fridge: Annotated[str, Field(pattern=PATH_SEGMENT, description="The fridge's name.")]
    month: Annotated[str, Field(pattern="^(2[0-9]{3}|[3-9][0-9]{3})-(0[1-9]|1[0-2])$",
                                description="The month, YYYY-MM (2000 or later), in the site's time zone.")]


class ReviewBody(Body):
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [
        {"comment": "...", "signature": {"password": "...", "meaning": "reviewed"}}]})

    comment: Note | None = None
    signature: Signature | None = None


class Review(TypedDict):
    fridge: str
    month: str
    ended: Annotated[bool, about("Whether the month is over (only then can it be signed).")]
    signed: bool
    open_items: Annotated[list[str], about("As they stand now, or as the reviewer saw them when signing.")]
    pdf_url: Annotated[str, about("The month's log; once signed, the frozen copy.")]
    id: NotRequired[int]
    reviewed_by: NotRequired[str]
    reviewed_at: NotRequired[MaybeTime]
    comment: NotRequired[str | None]
    pdf_sha256: NotRequired[Annotated[str, about("SHA-256 of the frozen PDF.")]]
    signatures: NotRequired[list[str]]
    changes_since_signing: NotRequired[list[str]]
    addendum_url: NotRequired[str | None]


