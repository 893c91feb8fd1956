"""Saving an admin change: one audit event per changed field, unique names, a commit that may lose a race.

Each saved change writes one audit event per changed field (old → new) in
the same transaction as the change itself, with the signed-in admin as actor.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import abort
from flask_wtf import FlaskForm

from fridge_monitor.store import audit_trail
from fridge_monitor.web.access import signed_in
from fridge_monitor.web.context import db, now_utc
from fridge_monitor.web.forms import reason_field


class ReasonForm(FlaskForm):  # type: ignore[misc]  # wtforms and flask_wtf ship no types
    reason = reason_field()


def audit(record_type: str, record_id: str, changes: list[tuple[str, Any, Any]], reason: str, *,
          action: str = "update", now: datetime) -> None:
    for field, old, new in changes:
        audit_trail.record(db(), at=now, actor=signed_in().name, action=action, record_type=record_type,
                           record_id=record_id, field=field, old=old, new=new, reason=reason)


def number(value: float | None) -> str | None:
    # str(float) as config sync writes it, so old and new values read alike in the trail.
    return None if value is None else str(float(value))


def get_or_404(model: type[Any], key: Any) -> Any:
    row = db().get(model, key)
    if row is None:
        abort(404, f"no such {model.__name__.lower()}")
    return row


def name_taken(model: type[Any], name: str, own_id: int | None) -> bool:
    query = sa.select(model.id).where(sa.func.lower(model.name) == name.lower())
    if own_id is not None:
        query = query.where(model.id != own_id)
    return db().scalar(query) is not None


def save() -> bool:
    """Commit; False (and rolled back) when a concurrent change took a unique name first."""
    try:
        db().commit()
    except sa.exc.IntegrityError:
        db().rollback()
        return False
    return True


def add_new(row: Any, record_type: str, fields: list[tuple[str, Any]], reason: str, *, now: datetime) -> bool:
    """Add a new named row, audited as created with each field's value; False (nothing saved) when a
    concurrent change took its name first."""
    db().add(row)
    db().flush()
    audit(record_type, row.name, [(field, None, value) for field, value in fields], reason, action="create",
          now=now)
    return save()


def retire_or_reinstate(row: Any, record_type: str, record_id: str, reason: str) -> bool:
    """Retire a fridge or sensor now, or return a retired one to service; audited and committed.

    True when it was retired, False when reinstated.
    """
    now = now_utc()
    retiring = row.retired_at is None
    old = None if retiring else row.retired_at.isoformat()
    row.retired_at = now if retiring else None
    audit(record_type, record_id, [("retired_at", old, now.isoformat() if retiring else None)], reason,
          action="retire" if retiring else "reinstate", now=now)
    db().commit()
    return retiring
