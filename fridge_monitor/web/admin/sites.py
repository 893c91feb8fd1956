"""Admin → Sites: each site's name and time zone (in which its days, expiry dates and reports are read)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import sqlalchemy as sa
from flask import flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length, ValidationError

from fridge_monitor.store import models as m
from fridge_monitor.web.access import ADMIN, allow
from fridge_monitor.web.admin import bp
from fridge_monitor.web.admin.changes import add_new, audit, get_or_404, name_taken, save
from fridge_monitor.web.context import db, now_utc
from fridge_monitor.web.forms import reason_field
from fridge_monitor.web.forms import strip as _strip


class SiteForm(FlaskForm):  # type: ignore[misc]  # wtforms and flask_wtf ship no types
    name = StringField("Name", filters=[_strip], validators=[DataRequired("Give the site a name."), Length(max=200)])
    timezone = StringField("Time zone", filters=[_strip],
                           validators=[DataRequired("Give the site's time zone, such as Europe/Berlin.")])
    reason = reason_field()

    def validate_timezone(self, field: StringField) -> None:
        try:
            ZoneInfo(field.data)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationError(f"{field.data!r} is not an IANA time zone; use a name such as "
                                  f"Europe/Berlin or America/New_York.") from None


@bp.route("/sites")
@allow(*ADMIN)
def sites() -> Any:
    rows = db().execute(
        sa.select(m.Site, sa.func.count(m.Fridge.id).label("fridges"))
        .outerjoin(m.Fridge, sa.and_(m.Fridge.site_id == m.Site.id, m.Fridge.retired_at.is_(None)))
        .group_by(m.Site.id).order_by(m.Site.name)
    ).all()
    return render_template("admin/sites.html", rows=rows)


def _site_page(form: SiteForm, site: m.Site | None) -> Any:
    return render_template("admin/site_form.html", form=form, site=site, zones=sorted(available_timezones()))


@bp.route("/sites/new", methods=["GET", "POST"])
@allow(*ADMIN)
def new_site() -> Any:
    form = SiteForm()
    if form.validate_on_submit():
        if name_taken(m.Site, form.name.data, None):
            form.name.errors.append(f"A site named {form.name.data!r} already exists.")
        else:
            now = now_utc()
            site = m.Site(name=form.name.data, timezone=form.timezone.data, created_at=now)
            if add_new(site, "site", [("timezone", site.timezone)], form.reason.data, now=now):
                flash(f"Site {site.name} created.")
                return redirect(url_for("admin.sites"))
            form.name.errors.append(f"A site named {form.name.data!r} already exists.")
    return _site_page(form, None)


@bp.route("/sites/<int:site_id>", methods=["GET", "POST"])
@allow(*ADMIN)
def edit_site(site_id: int) -> Any:
    site = get_or_404(m.Site, site_id)
    form = SiteForm(obj=site)
    if form.validate_on_submit():
        if name_taken(m.Site, form.name.data, site.id):
            form.name.errors.append(f"Another site is already named {form.name.data!r}.")
        else:
            changes = [(f, getattr(site, f), getattr(form, f).data) for f in ("name", "timezone")
                       if getattr(site, f) != getattr(form, f).data]
            if not changes:
                flash("Nothing changed.")
                return redirect(url_for("admin.sites"))
            now = now_utc()
            for field, _old, new in changes:
                setattr(site, field, new)
            audit("site", site.name, changes, form.reason.data, now=now)
            if save():
                flash(f"Site {site.name} saved.")
                return redirect(url_for("admin.sites"))
            form.name.errors.append(f"Another site is already named {form.name.data!r}.")
    return _site_page(form, site)
