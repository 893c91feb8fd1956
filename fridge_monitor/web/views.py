"""The blueprints of the web role, one per area, in navigation order."""

from __future__ import annotations

from flask import Blueprint


def blueprints() -> list[Blueprint]:
    from fridge_monitor.web import admin, alert_views, api, audit_views, dashboard, fridges, ops

    return [dashboard.bp, alert_views.bp, fridges.bp, api.bp, ops.bp, audit_views.bp, admin.bp]
