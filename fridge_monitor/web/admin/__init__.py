"""Admin pages: sites, fridges, sensors, users, products and alarm profiles, one module each; all audited.

Nothing is ever deleted: fridges are retired, users disabled, sensors
unassigned or retired. Every change is saved through :mod:`.changes`, with
one audit event per changed field. The routes of :mod:`.sites`,
:mod:`.fridges`, :mod:`.sensors` and :mod:`.users` live on this package's
``admin`` blueprint (endpoints ``admin.*``); alarm profiles are a blueprint
nested in it (``admin.alarm_profiles.*``), products a blueprint of their own
(``admin_products.*``).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, render_template

from fridge_monitor.store import models as m
from fridge_monitor.store import profiles
from fridge_monitor.web.access import ADMIN, allow, nav
from fridge_monitor.web.admin import alarm_profiles
from fridge_monitor.web.context import db, settings

bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.register_blueprint(alarm_profiles.bp)


@bp.route("/")
@allow(*ADMIN)
def index() -> Any:
    def count(query: Any) -> int:
        return db().scalar(sa.select(sa.func.count()).select_from(query)) or 0
    return render_template(
        "admin/index.html",
        sites=count(m.Site), fridges=count(sa.select(m.Fridge).where(m.Fridge.retired_at.is_(None)).subquery()),
        sensors=count(m.Sensor), unassigned=count(sa.select(m.Sensor).where(m.Sensor.fridge_id.is_(None)).subquery()),
        users=count(sa.select(m.User).where(m.User.disabled_at.is_(None)).subquery()),
        profiles=profiles.known(db(), settings()),
    )


nav("admin.index", "Admin", 90)
