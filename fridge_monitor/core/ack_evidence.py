"""Acknowledgements as evidence: an alert's acknowledgement checked against the one its audit event recorded (pure).

An alert row legitimately changes (its state follows the condition), so it
cannot be append-only like readings. What must not change quietly is who
acknowledged it, when, and what they did: :func:`fridge_monitor.alerts.handling.acknowledge`
writes exactly those stored values into a hash-chained audit event (the actor,
the event's time, the alert id and the action text with the chosen steps), and
`audit verify` recomputes the acknowledgement from the alert row and compares
it with the newest such event. A change made outside the application, such as
an ``UPDATE alerts SET acknowledged_by = ...`` in SQL, an acknowledgement
cleared or set by hand, or a removed alert, is then named by alert id.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime

from fridge_monitor.core import csv_cells
from fridge_monitor.core.audit import Stored, canonical_time

ACTION = "acknowledge"  # the audit event's action
RECORD_TYPE = "alert"  # ... its record type; its record id is the alert's id
FIELD = "action"  # ... and the field whose new value is the action text
ALERTS_FILE = "alerts.csv"  # in an export bundle
SHOWN = 60  # characters of an action text quoted in a problem
LISTED = 20  # problems spelt out before the rest are counted


@dataclasses.dataclass(frozen=True, slots=True)
class Acknowledgement:
    """Who acknowledged an alert, when and what they did, as stored; all None when it is not acknowledged."""

    alert_id: int
    by: str | None
    at: datetime | None
    action: str | None

    @property
    def empty(self) -> bool:
        return self.by is None and self.at is None and self.action is None


@dataclasses.dataclass(frozen=True, slots=True)
class Recorded:
    """An acknowledgement as its audit event recorded it."""

    event_id: int
    ack: Acknowledgement


def canonical(ack: Acknowledgement) -> str:
    """The one text form of an acknowledgement: JSON of alert id, user, UTC time to the microsecond, action."""
    at = None if ack.at is None else canonical_time(ack.at)
    return json.dumps([ack.alert_id, ack.by, at, ack.action], ensure_ascii=False, separators=(",", ":"))


def recorded(event: Stored) -> Recorded | None:
    """The acknowledgement an audit event records, or None when the event is not an acknowledgement."""
    entry = event.entry
    if (entry.action, entry.record_type) != (ACTION, RECORD_TYPE) or not entry.record_id.isdigit():
        return None
    return Recorded(event.id, Acknowledgement(int(entry.record_id), entry.actor, entry.at, entry.new_value))


def newest(events: Iterable[Stored]) -> dict[int, Recorded]:
    """The newest acknowledgement event of each alert, by alert id (events in chain order)."""
    out: dict[int, Recorded] = {}
    for event in events:
        found = recorded(event)
        if found is not None:
            out[found.ack.alert_id] = found
    return out


def _show(value: str | datetime | None) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, datetime):
        return canonical_time(value)
    return repr(value if len(value) <= SHOWN else value[:SHOWN] + "…")


def _described(ack: Acknowledgement) -> str:
    return f"by {_show(ack.by)} at {_show(ack.at)}"


def problem(alert_id: int, stored: Acknowledgement | None, event: Recorded | None) -> str | None:
    """What differs between an alert's acknowledgement as stored and as its newest audit event recorded it.

    ``stored`` is None when the alert is no longer there; ``event`` is None when
    no audit event acknowledges it. None when both agree (or neither has one).
    """
    if event is None:
        if stored is None or stored.empty:
            return None
        return (f"alert {alert_id} is acknowledged {_described(stored)}, but no audit event records an "
                "acknowledgement of it (set outside the application)")
    if stored is None:
        return (f"alert {alert_id} was acknowledged {_described(event.ack)} (audit event {event.event_id}), "
                "but the alert is no longer there (removed outside the application)")
    if stored.empty:
        return (f"alert {alert_id} lost its acknowledgement {_described(event.ack)} (audit event "
                f"{event.event_id}): it was cleared outside the application")
    if canonical(stored) == canonical(event.ack):
        return None
    pairs = (("acknowledged_by", stored.by, event.ack.by), ("acknowledged_at", stored.at, event.ack.at),
             ("action", stored.action, event.ack.action))
    differences = [f"{name} is {_show(now)} but audit event {event.event_id} recorded {_show(then)}"
                   for name, now, then in pairs if now != then]
    return f"alert {alert_id}'s acknowledgement was changed outside the application: {'; '.join(differences)}"


def summary(problems: list[str]) -> str | None:
    """The problems as one message (the first :data:`LISTED`, then how many more), or None when there are none."""
    if not problems:
        return None
    shown = "; ".join(problems[:LISTED])
    more = len(problems) - LISTED
    return shown + (f"; and {more} more alert{'s' if more != 1 else ''} like that" if more > 0 else "")


def _alert_rows(data: bytes) -> Iterator[Acknowledgement]:
    """The acknowledgements an ``alerts.csv`` shows (empty cells are missing values); ValueError if unreadable."""
    reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
    header = [csv_cells.unguard(cell) for cell in next(reader, [])]
    try:
        columns = [header.index(name) for name in ("id", "acknowledged_by", "acknowledged_at_utc", "action")]
    except ValueError:
        raise ValueError("it has no id, acknowledged_by, acknowledged_at_utc and action columns") from None
    for number, row in enumerate(reader, start=2):
        try:
            alert_id, by, at, action = (csv_cells.unguard(row[column]) for column in columns)
            yield Acknowledgement(int(alert_id), by or None,
                                  datetime.fromisoformat(at) if at else None, action or None)
        except (IndexError, ValueError):
            raise ValueError(f"line {number} is not an alert row") from None


def bundle_problems(alerts_csv: bytes, events: Iterable[Stored], exported_at: datetime | None) -> list[str]:
    """The acknowledgements in a bundle's ``alerts.csv`` that its audit trail does not record, each named.

    The bundle's alerts are those of its period, written before its trail was
    read; so an alert shown unacknowledged whose acknowledgement event is
    not older than the export (``exported_at``) was acknowledged while the
    bundle was being made, not cleared.
    """
    trail = newest(events)
    problems = []
    try:
        for stored in _alert_rows(alerts_csv):
            event = trail.get(stored.alert_id)
            if stored.empty and event is not None and exported_at is not None and event.ack.at is not None \
                    and event.ack.at >= exported_at:
                continue
            found = problem(stored.alert_id, stored, event)
            if found is not None:
                problems.append(f"{ALERTS_FILE}: {found}")
    except (ValueError, UnicodeDecodeError, csv.Error) as exc:
        problems.append(f"{ALERTS_FILE}: its acknowledgements cannot be checked: {exc}")
    return problems


def exported_at(document: Mapping[str, object]) -> datetime | None:
    """When a bundle's manifest says the export began, or None if it says nothing readable."""
    value = document.get("exported_at")
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
