"""The monthly review of a fridge: its open items, the supervisor's comment and signature, the frozen PDF."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_wtf import FlaskForm
from wtforms import TextAreaField

from fridge_monitor.reports import reviews
from fridge_monitor.reports.monthly import ReportError, addendum, filename, parse_month
from fridge_monitor.store import models as m
from fridge_monitor.store import signatures
from fridge_monitor.web import signing
from fridge_monitor.web.access import EVERYONE, REVIEWERS, allow, signed_in
from fridge_monitor.web.context import db, now_utc
from fridge_monitor.web.scope import names

bp = Blueprint("reviews", __name__)


class ReviewForm(FlaskForm, signing.SignatureFields):  # type: ignore[misc]  # wtforms and flask_wtf ship no types
    comment = TextAreaField("Your comment on the month")


def _month(name: str, now: datetime) -> tuple[int, int]:
    """``?month=YYYY-MM``; by default the last month that has ended at the fridge's site."""
    zone = db().scalar(sa.select(m.Site.timezone).join(m.Fridge, m.Fridge.site_id == m.Site.id)
                       .where(m.Fridge.name == name))
    if zone is None:
        abort(404, f"there is no fridge named {name!r}")
    text = request.args.get("month", "").strip()
    if not text:
        last = now.astimezone(ZoneInfo(zone)).date().replace(day=1) - timedelta(days=1)
        return last.year, last.month
    try:
        return parse_month(text)
    except ReportError as exc:
        abort(400, str(exc))


def _look(name: str, year: int, month: int, now: datetime) -> reviews.Month:
    try:
        return reviews.look(db(), name, year, month, config=current_app.extensions["fridge_monitor"]["config"],
                            now=now)
    except ReportError as exc:
        abort(400, str(exc))


def _render(found: reviews.Month, form: ReviewForm, status: int = 200) -> Any:
    tz = ZoneInfo(found.timezone)
    r = found.review
    first = found.start.astimezone(tz).date()
    before = (first - timedelta(days=1)).strftime("%Y-%m")
    after = (first + timedelta(days=32)).strftime("%Y-%m")
    return render_template(
        "review.html", month=found, tz=tz, form=form, before=before, after=after,
        reviewed_at=r.reviewed_at.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z") if r else None,
        ends=found.end.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z"),
        may_review=signed_in().role in REVIEWERS, signing=signing.needs("monthly-review"),
        ask_name=signing.ask_name(),
    ), status


@bp.route("/fridges/<name>/review")
@allow(*EVERYONE)
@names(name="fridge")
def page(name: str) -> Any:
    now = now_utc()
    year, month = _month(name, now)
    return _render(_look(name, year, month, now), ReviewForm(formdata=None))


@bp.route("/fridges/<name>/review", methods=["POST"])
@allow(*REVIEWERS)
@names(name="fridge")
def sign(name: str) -> Any:
    now = now_utc()
    year, month = _month(name, now)
    form = ReviewForm()
    found = _look(name, year, month, now)
    needs = signing.needs("monthly-review")
    if needs and not signing.signer_ok(form, now):
        return _render(found, form, 400)
    session = db()
    try:
        reviews.sign(session, signed_in(), name, year, month, comment=form.comment.data,
                     meaning=form.meaning.data if needs else None,
                     config=current_app.extensions["fridge_monitor"]["config"], now=now)
        session.commit()
    except (reviews.ReviewError, signatures.SignatureError) as exc:
        session.rollback()
        if isinstance(exc, signatures.SignatureError):
            signing.error(form, exc)
        elif exc.field == "month":  # signed already, or not over: about the month, not a field
            flash(str(exc))
            return _render(_look(name, year, month, now), form, 409 if found.review is not None else 400)
        else:
            form.comment.errors = [*form.comment.errors, str(exc)]
        return _render(found, form, 400)
    if needs:
        signing.signed()
    flash(f"{found.name} of {name} is reviewed{' and signed' if needs else ''}: its PDF is frozen.")
    return redirect(url_for("reviews.page", name=name, month=found.text))


@bp.route("/fridges/<name>/report-addendum.pdf")
@allow(*EVERYONE)
@names(name="fridge")
def addendum_pdf(name: str) -> Any:
    """``?month=YYYY-MM``: what changed in a signed month since it was signed."""
    now = now_utc()
    year, month = _month(name, now)
    found = _look(name, year, month, now)
    made = reviews.addendum_pdf(found, generated_by=signed_in().name, now=now)
    if made is None:
        abort(404, f"{found.name} of {name} has no addendum: "
                   + ("it is not signed" if found.review is None else "nothing changed since it was signed"))
    return send_file(io.BytesIO(made), mimetype="application/pdf", as_attachment=True,
                     download_name=addendum.filename(filename(name, year, month)), max_age=0)
