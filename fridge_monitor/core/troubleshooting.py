"""The excursion troubleshooting record (the CDC Vaccine Storage Troubleshooting Record), pure.

Fridge Monitor fills in what its records know (:class:`Facts`: the event's
times, temperatures, duration and unknown time, MKT, the time since the last
in-range reading, the lots under review with their quantities, the unit's
earlier excursions, acknowledgements and dispositions); staff complete the
rest (:class:`Entry`: when and by whom it was found, the room temperature,
the unit's temperature then, what else was in the unit, the action taken,
whom they contacted and their answer, the funding and outcome of each lot).
:func:`missing` names what a complete record still lacks.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from fridge_monitor.core.audit import canonical_time
from fridge_monitor.core.checks import Finding

KIND = "record-incomplete"
FUNDING = ("public", "private")
EARLIER_LOOKBACK = timedelta(days=365)


@dataclasses.dataclass(frozen=True, slots=True)
class LotFacts:
    """A lot under review because of the excursion."""

    lot_id: int
    product: str
    lot_number: str
    expiry: str  # YYYY-MM-DD
    quantity: int  # units in the unit when the excursion began
    funding: str | None  # as recorded on the lot
    disposition: str | None  # the decision and the manufacturer's reference, when one is recorded


@dataclasses.dataclass(frozen=True, slots=True)
class Facts:
    """What Fridge Monitor knows of the event (times aware UTC)."""

    excursion_id: int
    fridge: str
    site: str
    timezone: str
    kind: str
    allowed: str  # "2.0 to 8.0 °C"
    rules: tuple[str, ...]  # the rules the episode broke: out-of-range, heat...
    started_at: datetime
    ended_at: datetime | None
    alarm_at: datetime | None
    time_beyond_s: float
    unknown_s: float
    peak_c: float
    low_c: float
    mkt_c: float | None
    readings: int
    last_in_range_at: datetime | None  # the last reading inside the range before the event
    lots: tuple[LotFacts, ...]
    earlier: tuple[str, ...]  # the unit's excursions in the 12 months before, one line each
    acknowledgements: tuple[str, ...]  # "who, when: action" of the event's alerts

    def as_json(self) -> str:
        def plain(value: Any) -> Any:
            return canonical_time(value) if isinstance(value, datetime) else value
        return json.dumps({k: ([dataclasses.asdict(x) for x in v] if k == "lots" else plain(v))
                           for k, v in ((f.name, getattr(self, f.name)) for f in dataclasses.fields(self))},
                          ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Facts:
        raw = json.loads(text)
        for key in ("started_at", "ended_at", "alarm_at", "last_in_range_at"):
            raw[key] = datetime.fromisoformat(raw[key]) if raw[key] else None
        raw["lots"] = tuple(LotFacts(**lot) for lot in raw["lots"])
        for key in ("rules", "earlier", "acknowledgements"):
            raw[key] = tuple(raw[key])
        return cls(**raw)


@dataclasses.dataclass(frozen=True, slots=True)
class LotEntry:
    lot_id: int
    funding: str | None
    outcome: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class Entry:
    """What staff fill in."""

    found_at: datetime | None = None
    found_by: str | None = None
    room_c: float | None = None
    found_c: float | None = None
    found_min_c: float | None = None
    found_max_c: float | None = None
    other_contents: str | None = None
    earlier_problems: str | None = None
    actions: str | None = None
    contacted: str | None = None
    case_number: str | None = None
    contact_answer: str | None = None
    lots: tuple[LotEntry, ...] = ()
    outcome: str | None = None

    def lot(self, lot_id: int) -> LotEntry:
        return next((lot for lot in self.lots if lot.lot_id == lot_id), LotEntry(lot_id, None, None))


def entry_json(entry: Entry) -> dict[str, Any]:
    """An entry as plain JSON values (the time in canonical UTC)."""
    out = dataclasses.asdict(entry)
    out["found_at"] = canonical_time(entry.found_at) if entry.found_at else None
    return out


def record_content(record_id: int, excursion_id: int, version: int, entry: Mapping[str, Any],
                   facts: Mapping[str, Any], saved_by: str, saved_at: datetime) -> str:
    """What a record version's signature is bound to: every field staff gave, the facts it was saved with, who
    saved it and when."""
    return json.dumps([record_id, excursion_id, version, entry, facts, saved_by, canonical_time(saved_at)],
                      ensure_ascii=False, sort_keys=True, separators=(",", ":"))


REQUIRED = {
    "found_at": "when the problem was found",
    "found_by": "who found it",
    "room_c": "the room temperature",
    "found_c": "the unit's temperature when found",
    "actions": "the action taken",
    "outcome": "the outcome",
}


def missing(entry: Entry, facts: Facts) -> list[str]:
    """What the record still lacks to be complete, in words (empty: everything required is there). With lots
    exposed, the manufacturer or programme contacted, its case number and answer, and each lot's funding and
    outcome are required too."""
    out = [what for field, what in REQUIRED.items() if _blank(getattr(entry, field))]
    if facts.lots:
        for field, what in (("contacted", "the manufacturer or programme contacted"),
                            ("case_number", "their case number"), ("contact_answer", "their answer")):
            if _blank(getattr(entry, field)):
                out.append(what)
        for lot in facts.lots:
            given = entry.lot(lot.lot_id)
            if (given.funding or lot.funding) not in FUNDING:
                out.append(f"whether lot {lot.lot_number} is public or private stock")
            if _blank(given.outcome):
                out.append(f"the outcome for lot {lot.lot_number}")
    return out


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def since_in_range(facts: Facts) -> timedelta | None:
    """The time from the last in-range reading to the event's end (or its start, while it lasts)."""
    if facts.last_in_range_at is None:
        return None
    return (facts.ended_at or facts.started_at) - facts.last_in_range_at


def earlier_lines(episodes: Sequence[tuple[datetime, datetime | None, str, float]], tz: Any) -> tuple[str, ...]:
    """The unit's earlier excursions as the record lists them: "12 Mar 2026 10:00, 1 h 30 min, heat, peak 9.5 °C"."""
    out = []
    for start, end, rule, peak in episodes:
        length = "still going on" if end is None else _length(end - start)
        out.append(f"{start.astimezone(tz):%d %b %Y %H:%M}, {length}, {rule}, peak {peak:.1f} °C")
    return tuple(out)


def _length(span: timedelta) -> str:
    minutes = int(round(span.total_seconds() / 60))
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def overdue(excursions: Mapping[int, tuple[datetime, datetime | None, str]], complete: set[int], now: datetime,
            due_after: timedelta) -> list[Finding]:
    """`record-incomplete` for each excursion (id → start, end, fridge name) whose record is not complete
    ``due_after`` its end (its start, while it lasts)."""
    out = []
    for excursion_id, (start, end, fridge) in sorted(excursions.items()):
        due = (end or start) + due_after
        if excursion_id in complete or now < due:
            continue
        hours = due_after.total_seconds() / 3600
        out.append(Finding(KIND, "troubleshooting-record", f"excursion:{excursion_id}", "warning", due, None,
                           f"Troubleshooting record incomplete: excursion of {start.astimezone(UTC):%d %b %H:%M} UTC",
                           f"The troubleshooting record of {fridge}'s excursion that began "
                           f"{start.astimezone(UTC):%Y-%m-%d %H:%M} UTC is not complete {hours:g} h after it "
                           "ended. Complete it on the excursion's record page and sign it."))
    return out
