"""Inventory pages: what each fridge holds, lot by lot with its status, and first-expiry-first-out "take next"."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for

from fridge_monitor.core import lots
from fridge_monitor.inventory import catalog
from fridge_monitor.inventory import ledger as inventory
from fridge_monitor.store import models as m
from fridge_monitor.store.site_access import within
from fridge_monitor.web import scope
from fridge_monitor.web.access import EVERYONE, STAFF, allow, nav, signed_in
from fridge_monitor.web.context import db, now_utc, settings
from fridge_monitor.web.forms import sentence

bp = Blueprint("inventory", __name__)
nav("inventory.index", "Inventory", 15)

STATUS_FILTERS = {
    "all": "All stock",
    "usable": "Usable (including expiring and released)",
    "expiring": "Expiring soon",
    "under_review": "Under review (DO NOT USE)",
    "expired": "Expired",
    "beyond_use": "Opened vials past beyond-use",
    "released": "Released after review",
    "discarded": "Dispositioned for discard",
}


def horizons() -> tuple[int, ...]:
    """``[inventory] expiry_warning_days``: a lot within the widest of them is expiring (as the alerts say)."""
    return tuple(settings().inventory["expiry_warning_days"])


@dataclasses.dataclass(frozen=True, slots=True)
class FridgeRow:
    id: int
    name: str
    site: str
    tz: ZoneInfo
    retired: bool


def fridges() -> list[FridgeRow]:
    """Every fridge of the user's sites with its site's time zone, in service first, by site and name."""
    f, s = m.Fridge, m.Site
    rows = db().execute(sa.select(f.id, f.name, f.retired_at, s.name.label("site"), s.timezone)
                        .join(s, s.id == f.site_id).where(within(f.id, scope.sites()))
                        .order_by(f.retired_at.is_not(None), s.name, f.name))
    return [FridgeRow(r.id, r.name, r.site, ZoneInfo(r.timezone), r.retired_at is not None) for r in rows]


def status_label(status: lots.Status, expiry: date, today: date) -> dict[str, str]:
    """A lot status as words and an icon (never by colour alone); ``css`` picks the emphasis."""
    if status is lots.Status.UNDER_REVIEW:
        return {"text": "DO NOT USE — under review", "icon": "⊘", "css": "review"}
    if status is lots.Status.EXPIRED:
        return {"text": f"EXPIRED on {expiry.isoformat()} — do not use", "icon": "✖", "css": "bad"}
    if status is lots.Status.DISCARDED:
        return {"text": "DO NOT USE — dispositioned for discard", "icon": "✖", "css": "bad"}
    if status is lots.Status.BEYOND_USE:
        return {"text": "BEYOND USE — discard", "icon": "✖", "css": "bad"}
    if status is lots.Status.EXPIRING:
        days = (expiry - today).days
        when = "today" if days == 0 else "tomorrow" if days == 1 else f"in {days} days"
        return {"text": f"Expiring {when}", "icon": "⚠", "css": "warn"}
    if status is lots.Status.RELEASED:
        return {"text": "Usable — released after review", "icon": "✓", "css": "ok"}
    return {"text": "Usable", "icon": "✓", "css": "ok"}


def local(at: datetime | None, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%d %b %Y %H:%M") if at is not None else ""


def lot_rows(stocks: list[lots.Stock], tz: ZoneInfo, now: datetime) -> list[dict[str, Any]]:
    """One row per lot in one fridge: sealed and opened units, the lot's status, its opened vial groups."""
    today = now.astimezone(tz).date()
    warn = horizons()
    by_lot: dict[int, list[lots.Stock]] = defaultdict(list)
    for s in stocks:
        by_lot[s.lot_id].append(s)
    rows = []
    for group in by_lot.values():
        first = group[0]
        status = lots.lot_status(first.expiry, now, [tz], group, review=first.review, horizons=warn)
        opened = []
        for s in group:
            if not s.opened:
                continue
            unit_status = lots.stock_status(s, now, tz, warn)
            opened.append({"quantity": s.quantity, "id": s.opened_vial_id, "opened_at": local(s.opened_at, tz),
                           "until": local(s.beyond_use_at, tz), "beyond": unit_status is lots.Status.BEYOND_USE})
        rows.append({
            "lot_id": first.lot_id, "lot_number": first.lot_number, "product": first.product,
            "product_id": first.product_id, "expiry": first.expiry.isoformat(), "status": status.value,
            "label": status_label(status, first.expiry, today),
            "sealed": sum(s.quantity for s in group if not s.opened),
            "opened": sum(s.quantity for s in group if s.opened), "opened_groups": opened,
            "any_beyond": any(o["beyond"] for o in opened),
            "url": url_for("lots.detail", lot_id=first.lot_id),
        })
    return rows


def _matches(row: dict[str, Any], chosen: str) -> bool:
    if chosen == "all":
        return True
    if chosen == "usable":
        return lots.Status(row["status"]).usable
    if chosen == "beyond_use":
        return bool(row["any_beyond"])
    return bool(row["status"] == chosen)


@bp.route("/inventory")
@allow(*EVERYONE)
def index() -> Any:
    now = now_utc()
    chosen = request.args.get("status", "all")
    errors = []
    if chosen not in STATUS_FILTERS:
        errors.append(f"Unknown status filter {chosen!r}; showing all stock.")
        chosen = "all"
    everything = fridges()
    wanted = request.args.get("fridge", "").strip()
    shown = everything
    if wanted:
        shown = [f for f in everything if f.name == wanted]
        if not shown:
            errors.append(f"There is no fridge named {wanted!r}; showing every fridge.")
            shown, wanted = everything, ""
    stocks: dict[int, list[lots.Stock]] = defaultdict(list)
    for s in inventory.stock(db()):
        stocks[s.fridge_id or 0].append(s)
    sections, totals = [], {"sealed": 0, "opened": 0, "lots": 0, "review": 0}
    for fridge in shown:
        rows = [r for r in lot_rows(stocks.get(fridge.id, []), fridge.tz, now) if _matches(r, chosen)]
        if fridge.retired and not rows:
            continue
        section = {"fridge": fridge, "rows": rows,
                   "sealed": sum(r["sealed"] for r in rows), "opened": sum(r["opened"] for r in rows),
                   "review": sum(1 for r in rows if r["status"] == "under_review"),
                   "products": sorted({(r["product_id"], r["product"]) for r in rows}, key=lambda p: p[1])}
        for key in ("sealed", "opened", "review"):
            totals[key] += section[key]
        totals["lots"] += len(rows)
        sections.append(section)
    return render_template("inventory/index.html", sections=sections, totals=totals, filters=STATUS_FILTERS,
                           chosen=chosen, fridge_names=[f.name for f in everything], wanted=wanted,
                           errors=errors, may_change=signed_in().role in STAFF), 400 if errors else 200


# -- first expiry, first out ---------------------------------------------------------------------


def _product_names() -> dict[int, str]:
    return dict(db().execute(sa.select(m.Product.id, m.Product.name).order_by(m.Product.name)).all())


def _take_next_page(fridge: FridgeRow | None, product_id: int | None, *, error: str | None = None,
                    confirm: dict[str, Any] | None = None, status: int = 200) -> Any:
    now = now_utc()
    products = _product_names()
    units: list[dict[str, Any]] = []
    first = None
    if fridge is not None and product_id in products:
        stocks = inventory.stock(db(), fridge_id=fridge.id, product_id=product_id)
        ordered = lots.fefo(stocks, now, fridge.tz)
        first = ordered[0] if ordered else None
        today = now.astimezone(fridge.tz).date()
        rest = [s for s in stocks if s not in ordered]
        for s in [*ordered, *rest]:
            current = lots.stock_status(s, now, fridge.tz, horizons())
            units.append({
                "stock": s, "opened": s.opened, "label": status_label(current, s.expiry, today),
                "until": local(s.beyond_use_at, fridge.tz), "usable": current.usable, "first": s == first,
                "refusal": lots.unusable_reason(s, now, fridge.tz),
                "url": url_for("lots.detail", lot_id=s.lot_id),
            })
    return render_template("inventory/take_next.html", fridges=[f for f in fridges() if not f.retired],
                           fridge=fridge, products=products, product_id=product_id, units=units, first=first,
                           error=error, confirm=confirm, may_change=signed_in().role in STAFF), status


def _fridge_named(value: str) -> FridgeRow | None:
    return next((f for f in fridges() if str(f.id) == value or f.name == value), None)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


@bp.route("/inventory/take-next")
@allow(*EVERYONE)
def take_next() -> Any:
    fridge = _fridge_named(request.args.get("fridge", ""))
    product_id = _int(request.args.get("product"))
    problems = []
    if request.args.get("fridge") and fridge is None:
        problems.append(f"There is no fridge {request.args['fridge']!r}: choose one from the list.")
    if request.args.get("product") and product_id not in _product_names():
        problems.append("There is no such product: choose one from the list.")
    return _take_next_page(fridge, product_id, error=" ".join(problems) or None, status=400 if problems else 200)


@bp.route("/inventory/use-one", methods=["POST"])
@allow(*STAFF)
def use_one() -> Any:
    """Use one unit from the take-next page; a unit other than the first to expire needs a confirmation."""
    fridge = _fridge_named(request.form.get("fridge", ""))
    product_id = _int(request.form.get("product"))
    lot_id = _int(request.form.get("lot"))
    opened_id = _int(request.form.get("opened"))
    if fridge is None or product_id is None or lot_id is None:
        return _take_next_page(fridge, product_id, error="Choose the fridge, the product and the lot to use.",
                               status=400)
    now = now_utc()
    session = db()
    ordered = lots.fefo(inventory.stock(session, fridge_id=fridge.id, product_id=product_id), now, fridge.tz)
    first = ordered[0] if ordered else None
    chosen = next((s for s in ordered if s.lot_id == lot_id and s.opened_vial_id == opened_id), None)
    note = "take next (first expiry, first out)"
    if first is not None and chosen is not None and chosen != first:
        if request.form.get("confirm") != "yes":
            return _take_next_page(fridge, product_id, confirm={"chosen": chosen, "first": first}, status=409)
        note = (f"chosen instead of lot {first.lot_number}, which expires first "
                f"({first.expiry.isoformat()}); confirmed")
    try:
        movement = inventory.use(session, lot_id=lot_id, fridge_id=fridge.id, opened_vial_id=opened_id, quantity=1,
                                 actor=signed_in().name, now=now, note=note)
        left = inventory.quantity(session, lot_id, fridge.id)
        session.commit()
    except catalog.InventoryError as exc:
        session.rollback()
        return _take_next_page(fridge, product_id, error=sentence(str(exc)), status=400)
    unit = movement.lot.product.unit
    flash(f"Used 1 {'opened ' if opened_id else ''}{unit} of {movement.lot.product.name} lot "
          f"{movement.lot.lot_number} from {fridge.name}. {left} {unit if left == 1 else unit + 's'} of this lot "
          f"left in {fridge.name}.")
    return redirect(url_for("inventory.take_next", fridge=fridge.name, product=product_id))
