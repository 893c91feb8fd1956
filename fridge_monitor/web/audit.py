"""The audit trail page: every event, newest first, filtered, with the chain's verification on top."""

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

bp = Blueprint("audit_views", __name__)

PAGE_SIZE = 50


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


def _page_number() -> int:
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        return 1


@bp.route("/audit")
@allow("auditor", "admin")
def index() -> Any:
    form = FilterForm(request.args)
    form.actor.choices = [SelectChoice("", "Anyone")] + [SelectChoice(a) for a in _distinct(m.AuditEvent.actor)]
    form.record_type.choices = [SelectChoice("", "Any")] + [SelectChoice(t)
                                                             for t in _distinct(m.AuditEvent.record_type)]
    a = m.AuditEvent
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
    total = db().scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(_page_number(), pages)
    events = db().scalars(query.order_by(a.id.desc()).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    verdict = audit_trail.check_database(current_app.extensions["fridge_monitor"]["engine"])

    def page_url(number: int) -> str:
        args: dict[str, Any] = {k: v for k, v in request.args.items() if k != "page" and v}
        return url_for("audit_views.index", page=number, **args)

    return render_template("audit.html", form=form, events=events, total=total, page=page, pages=pages,
                           page_url=page_url, verdict=verdict, page_size=PAGE_SIZE)


nav("audit_views.index", "Audit trail", 80)
