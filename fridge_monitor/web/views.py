"""The blueprints of the web role, one per area, in navigation order."""

from __future__ import annotations

from flask import Blueprint


def blueprints() -> list[Blueprint]:
    from fridge_monitor.web import dashboard

    return [dashboard.bp]
