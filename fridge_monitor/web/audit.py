"""The audit trail page: every event, newest first, filtered, with the chain's verification on top.

Fast however long the trail: the chain is checked from a stored checkpoint
(:func:`fridge_monitor.store.audit_trail.check_since_checkpoint`), the events
are counted up to :data:`COUNT_CAP` among the newest :data:`COUNT_SCAN`,
and pages beyond those are reached by event id (``before``), not by an offset.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, current_app, render_template, request, url_for
from wtforms import DateField, Form, SelectChoice, SelectField, StringField
from wtforms.validators import Length, Optional, ValidationError

from fridge_monitor.store import audit_trail
from fridge_monitor.store import models as m
from fridge_monitor.web.access import allow, nav
from fridge_monitor.web.context import db
from fridge_monitor.web.scope import AUDIT_WHOLE, every_site

bp = Blueprint("audit_views", __name__)

PAGE_SIZE = 50
COUNT_CAP = 10_000  # matching events counted; beyond, "more than" and paging by event id
COUNT_SCAN = 100_000  # ... among the newest this many events: counting more would read them all (no index)


class FilterForm(Form):  # type: ignore[misc]  # wtforms and flask_wtf ship no types
    """Read from the query string (a GET form: bookmarkable, nothing to forge)."""

    start = DateField("From (UTC day)", validators=[Optional()])
    end = DateField("To (UTC day, included)", validators=[Optional()])
    actor = SelectField("Who", choices=[], validate_choice=False)
    record_type = SelectField("Record type", choices=[], validate_choice=False)
    record_id = StringField("Record", validators=[Optional(), Length(max=300)],
                            render_kw={"placeholder": "name or id, e.g. A1"})

    def validate_end(self, field: DateField) -> None:
        if field.data and self.start.data and field.data < self.start.data:
            raise ValidationError("The last day must not be before the first day.")


def _distinct(column: Any) -> list[str]:
    return list(db().scalars(sa.select(column).distinct().order_by(column)))


def _number(name: str, default: int) -> int:
    try:
        return max(1, int(request.args.get(name, str(default))))
    except ValueError:
        return default


@bp.route("/audit")
@allow("auditor", "admin")
@every_site(AUDIT_WHOLE)
def index() -> Any:
    check = audit_trail.check_since_checkpoint(current_app.extensions["fridge_monitor"]["engine"], datetime.now(UTC))
    form = FilterForm(request.args)
    a = m.AuditEvent
    actors = check.actors if check.actors is not None else _distinct(a.actor)
    record_types = check.record_types if check.record_types is not None else _distinct(a.record_type)
    form.actor.choices = [SelectChoice("", "Anyone")] + [SelectChoice(name) for name in actors]
    form.record_type.choices = [SelectChoice("", "Any")] + [SelectChoice(name) for name in record_types]
    query = sa.select(a)
    if form.validate():
        if form.start.data:
            query = query.where(a.at >= datetime.combine(form.start.data, time(), UTC))
        if form.end.data:
            query = query.where(a.at < datetime.combine(form.end.data + timedelta(days=1), time(), UTC))
        if form.actor.data:
            query = query.where(a.actor == form.actor.data)
        if form.record_type.data:
            query = query.where(a.record_type == form.record_type.data)
        if form.record_id.data and form.record_id.data.strip():
            query = query.where(a.record_id.contains(form.record_id.data.strip(), autoescape=True))
    before = _number("before", 0) if request.args.get("before") else None
    # Counted up to the cap, among the newest events only: counting a million events, or looking through
    # them for a filter's matches, would read them all on every view.
    floor = (db().scalar(sa.select(sa.func.max(a.id))) or 0) - COUNT_SCAN
    counted = query.where(a.id > floor) if floor > 0 else query
    total = db().scalar(sa.select(sa.func.count()).select_from(counted.limit(COUNT_CAP + 1).subquery())) or 0
    capped = total > COUNT_CAP or floor > 0
    pages = max(1, -(-min(total, COUNT_CAP) // PAGE_SIZE))
    page = min(_number("page", 1), pages)
    if before is not None:
        events = db().scalars(query.where(a.id < before).order_by(a.id.desc()).limit(PAGE_SIZE)).all()
    else:
        events = db().scalars(query.order_by(a.id.desc()).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    # Past the counted pages (or from a page reached by id), the next page starts below the last event shown.
    older = (url_for("audit_views.index", **_args(before=events[-1].id))
             if events and len(events) == PAGE_SIZE and (before is not None or (page == pages and capped))
             else None)

    def page_url(number: int) -> str:
        return url_for("audit_views.index", **_args(page=number))

    return render_template("audit.html", form=form, events=events, total=total, capped=capped,
                           over_cap=total > COUNT_CAP, cap=COUNT_CAP, scan=COUNT_SCAN, page=page, pages=pages,
                           by_id=before is not None, older=older, page_url=page_url, check=check,
                           verdict=check.verdict, page_size=PAGE_SIZE)


def _args(**changes: int) -> dict[str, Any]:
    """The current filters with the page position replaced."""
    args: dict[str, Any] = {k: v for k, v in request.args.items() if k not in ("page", "before") and v}
    args.update(changes)
    return args


nav("audit_views.index", "Audit trail", 80)
