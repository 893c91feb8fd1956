"""The blueprints of the web role, one per area, in navigation order."""

from __future__ import annotations

from flask import Blueprint


def blueprints() -> list[Blueprint]:
    from fridge_monitor.web import (
        admin,
        admin_products,
        alert_views,
        api,
        audit_views,
        dashboard,
        export_views,
        fridges,
        inventory_views,
        lot_views,
        ops,
        reports,
        stock_forms,
    )

    return [dashboard.bp, inventory_views.bp, stock_forms.bp, lot_views.bp, alert_views.bp, fridges.bp, reports.bp,
            api.bp, ops.bp, export_views.bp, audit_views.bp, admin.bp, admin_products.bp]
