"""The blueprints of the web role, one per area, in navigation order."""

from __future__ import annotations

from flask import Blueprint


def blueprints() -> list[Blueprint]:
    from fridge_monitor.web import (
        admin,
        alerts,
        api,
        api_page,
        audit,
        calibrations,
        checks,
        dashboard,
        exports,
        fridges,
        inventory,
        logger_files,
        lots,
        ops,
        reports,
        reviews,
        stock,
        troubleshooting,
    )
    from fridge_monitor.web.admin import fridges as admin_fridges
    from fridge_monitor.web.admin import products as admin_products
    from fridge_monitor.web.admin import sensors as admin_sensors
    from fridge_monitor.web.admin import sites as admin_sites
    from fridge_monitor.web.admin import users as admin_users
    from fridge_monitor.web.api import alerts as api_alerts
    from fridge_monitor.web.api import checks as api_checks
    from fridge_monitor.web.api import excursions as api_excursions
    from fridge_monitor.web.api import fridges as api_fridges
    from fridge_monitor.web.api import lots as api_lots
    from fridge_monitor.web.api import reviews as api_reviews
    from fridge_monitor.web.api import stock as api_stock

    # These modules add their routes to the one ``admin`` or ``api`` blueprint when imported.
    del (admin_fridges, admin_sensors, admin_sites, admin_users, api_alerts, api_checks, api_excursions, api_fridges,
         api_lots, api_reviews, api_stock)

    return [dashboard.bp, checks.bp, inventory.bp, stock.bp, lots.bp, alerts.bp, fridges.bp, logger_files.bp,
            reports.bp, reviews.bp, calibrations.bp, troubleshooting.bp, api.bp, api_page.bp, ops.bp, exports.bp,
            audit.bp, admin.bp, admin_products.bp]
