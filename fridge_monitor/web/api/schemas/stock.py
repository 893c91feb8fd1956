"""The stock's requests and answers: a scan, a GTIN's link, the six movements and the products."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from pydantic import ConfigDict, Field
from typing_extensions import TypedDict

from fridge_monitor.inventory.catalog import LOT_NUMBER_MAX
from fridge_monitor.inventory.ledger import DISCARD_REASONS
from fridge_monitor.web.api.contract import Body, Either, Rule, When
from fridge_monitor.web.api.schemas.common import (
    GTIN,
    NO_NUL,
    NOT_BLANK,
    Count,
    Day,
    DayText,
    Id,
    MaybeDayText,
    MaybeTime,
    Name,
    Note,
    ProductRef,
    Time,
    Units,
    Words,
    about,
    enum_of,
    one_of,
)

SCAN_MAX = 500
MOVEMENT_KINDS = ("receive", "use", "transfer", "reconstitute", "discard", "correct")
Code = Annotated[str, Field(max_length=SCAN_MAX, pattern=NO_NUL, json_schema_extra={"format": "gs1"}, description=(
    "A vial's GS1 code as the scanner typed it, with GS (0x1D) or U+241D separators and an optional `]d2` prefix, "
    "or the printed `(01)…(17)…(10)…`."))]
LotNumber = Annotated[str, Field(max_length=LOT_NUMBER_MAX, pattern=NOT_BLANK,
                                 description="The lot number printed on the pack.")]
Serial = Annotated[str, Field(max_length=LOT_NUMBER_MAX, pattern=NOT_BLANK,
                              description="The pack's serial (AI 21); a pack is received once.")]
LotId = Annotated[Id, about("The lot; or name it by `product` (or `gtin`) and `lot`.")]
OpenedVial = Annotated[Id, about("Units of this opened vial group instead of sealed ones.")]
WHICH_LOT = Either((("lot_id",), ("product", "lot"), ("gtin", "lot")), hint="or give 'product' or 'gtin' with the "
                                                                             "'lot' number")

if TYPE_CHECKING:
    DiscardReason = str
else:
    DiscardReason = one_of(DISCARD_REASONS)


def _config(example: dict[str, Any]) -> ConfigDict:
    return ConfigDict(extra="forbid", strict=True, populate_by_name=True, json_schema_extra={"examples": [example]})


class ScanBody(Body):
    model_config = _config({"code": "]d201095060001343521727013110C3709C3"})

    code: Code


class GtinLink(Body):
    model_config = _config({"gtin": "09506000134352", "product": "Botox 100 U (onabotulinumtoxinA)"})

    gtin: GTIN
    product: ProductRef


class Receive(Body):
    """Give `fridge` and `quantity`, and either `code` or `product` (or `gtin`), `lot` and `expiry`. Fields typed
    beside a `code` fill what it lacks and must agree with what it holds."""

    model_config = _config({"fridge": "A1", "product": "Botox 100 U", "lot": "C3709C3", "expiry": "2027-01-31",
                            "quantity": 5})
    rules: ClassVar[tuple[Rule, ...]] = (
        Either((("code",), ("product", "lot", "expiry"), ("gtin", "lot", "expiry"))),)

    fridge: Name
    quantity: Units
    code: Code | None = None
    product: ProductRef | None = None
    gtin: GTIN | None = None
    lot: LotNumber | None = None
    expiry: Day | None = None
    serial: Serial | None = None
    note: Note | None = None


class WhichLot(Body):
    """Which lot: `lot_id`, or `product` (or `gtin`) with the `lot` number."""

    rules: ClassVar[tuple[Rule, ...]] = (WHICH_LOT,)

    lot_id: LotId | None = None
    product: ProductRef | None = None
    gtin: GTIN | None = None
    lot: LotNumber | None = None


class Use(WhichLot):
    model_config = _config({"fridge": "A1", "lot_id": 12, "quantity": 1})

    fridge: Name
    quantity: Units = 1
    opened_vial_id: OpenedVial | None = None
    note: Note | None = None


class Transfer(WhichLot):
    """Units moved between fridges (whatever the lot's status)."""

    model_config = _config({"from": "A1", "to": "B2", "lot_id": 12, "quantity": 3})

    source: Annotated[Name, Field(alias="from")]
    target: Annotated[Name, Field(alias="to")]
    quantity: Units
    opened_vial_id: OpenedVial | None = None
    note: Note | None = None


class Reconstitute(WhichLot):
    model_config = _config({"fridge": "A1", "lot_id": 12, "quantity": 1})

    fridge: Name
    quantity: Units = 1
    note: Note | None = None


class Discard(WhichLot):
    model_config = _config({"fridge": "A1", "lot_id": 12, "quantity": 1, "reason_code": "damaged",
                            "reason": "dropped"})
    rules: ClassVar[tuple[Rule, ...]] = (WHICH_LOT, When("reason_code", "other", ("reason",)))

    fridge: Name
    quantity: Units
    reason_code: DiscardReason
    reason: Annotated[Words | None, about("Why; required with `other`.")] = None
    opened_vial_id: OpenedVial | None = None


class Correct(WhichLot):
    """A count that differs from the records: a new movement of the difference."""

    model_config = _config({"fridge": "A1", "lot_id": 12, "counted": 4, "reason": "counted at the weekly check"})

    fridge: Name
    counted: Count
    reason: Words
    opened_vial_id: OpenedVial | None = None
    corrects_id: Annotated[Id | None, about("The movement that was wrong.")] = None


class Range(TypedDict):
    low_c: float
    high_c: float


class Allowance(TypedDict):
    """USP <659>-style allowance: unopened units between low_c and high_c are not put under review while the mean
    kinetic temperature of their stay is at most mkt_max_c."""

    low_c: float
    high_c: float
    mkt_max_c: float


class Product(TypedDict):
    id: int
    name: str
    form: str
    unit: str
    ranges: list[Range]
    gtins: list[str]
    freezing_allowed: bool
    protect_from_light: bool
    beyond_use_hours: float | None
    opened_range: Range | None
    permitted_excursions: Allowance | None
    notes: str | None
    retired_at: MaybeTime


class ProductList(TypedDict):
    products: list[Product]


class ScanRead(TypedDict):
    gtin: str
    lot: str | None
    expiry: MaybeDayText
    serial: str | None
    product: Annotated[Product | None, about("null when the GTIN is not linked to a product yet (see `message`).")]
    lot_id: Annotated[int | None, about("The lot, when it is known already.")]
    message: Annotated[str | None, about("What to do when the code is not enough.")]


class GtinLinked(TypedDict):
    gtin: str
    product: Product
    linked_at: Time
    linked_by: str


class MovedLot(TypedDict):
    id: int
    number: str
    product: str
    expiry: DayText


class Entry(TypedDict):
    fridge: str | None
    delta: int
    opened_vial_id: int | None


class OpenedVialGroup(TypedDict):
    id: int
    opened_at: Time
    beyond_use_at: MaybeTime


Movement = TypedDict("Movement", {
    "id": int, "kind": Annotated[str, enum_of(MOVEMENT_KINDS)], "at": Time, "lot": MovedLot,
    "quantity": Annotated[int, about("Units moved (a correction: the difference).")],
    "actor": str, "reason_code": str | None, "reason": str | None, "counted": int | None, "corrects_id": int | None,
    "fridge": Annotated[str | None, about("The fridge (null for a transfer).")],
    "from": str | None, "to": str | None,
    "fridges": Annotated[list[str | None], about("The fridges it touched (null: one outside the caller's sites).")],
    "entries": list[Entry],
    "opened_vial": OpenedVialGroup | None,
})


class StockChange(TypedDict):
    movement: Movement
    quantities: Annotated[dict[str, int], about("The lot's units now in each fridge the movement touched.")]
    lot_quantity: Annotated[int, about("The lot's units now in all fridges.")]

