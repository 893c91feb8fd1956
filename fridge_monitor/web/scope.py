"""Which sites the signed-in user sees, and the one check of a record named in a URL.

Every view whose URL names a fridge, alert, excursion, lot, sensor,
certificate or export bundle declares it with :func:`names`; before the view
runs, :func:`check_url` answers 404 when the record does not exist *or* lies
outside the user's sites, with the same message, so a nurse of one site never
learns another site's names. Lists filter with :func:`sites` (see
:mod:`fridge_monitor.store.site_access`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort, current_app, g, request

from fridge_monitor.store import site_access
from fridge_monitor.store.site_access import Sites
from fridge_monitor.web.context import db

F = TypeVar("F", bound=Callable[..., Any])

AUDIT_WHOLE = ("the audit trail is one chain for every site, so it is read whole by an admin or an auditor who "
               "sees every site")
BUNDLE_WHOLE = ("an export bundle carries the whole audit trail (one chain for every site, so that it can be "
                "verified); someone limited to sites exports CSV files of their fridges")

NOT_FOUND = {
    "site": "there is no site {}",
    "fridge": "there is no fridge named {!r}",
    "alert": "there is no alert {}",
    "excursion": "there is no excursion {}",
    "lot": "there is no lot {}",
    "sensor": "there is no sensor {!r}",
    "certificate": "there is no such certificate",
    "export": "there is no finished export bundle {}",
}


def names(**arguments: str) -> Callable[[F], F]:
    """Declare the URL arguments that name a site's record, e.g. ``@names(name="fridge")``."""
    unknown = set(arguments.values()) - site_access.RESOLVERS.keys()
    if unknown:
        raise ValueError(f"no such kind of record: {sorted(unknown)}")

    def decorate(view: F) -> F:
        view.site_records = dict(arguments)  # type: ignore[attr-defined]
        return view

    return decorate


def every_site(why: str) -> Callable[[F], F]:
    """Declare a view whose answer covers every site (the audit trail, a bundle that carries it, the metrics):
    refused, with ``why``, to someone limited to some sites, and left out of their navigation."""

    def decorate(view: F) -> F:
        view.every_site = why  # type: ignore[attr-defined]
        return view

    return decorate


def sites() -> Sites:
    """The signed-in user's sites (None: every site)."""
    found: Sites = g.get("sites")
    return found


def limited() -> bool:
    return g.get("sites") is not None


def check_url(session: Any) -> None:
    """404 for a record named in the URL that is not in the user's sites (or does not exist); 403 for a view
    that covers every site."""
    view = current_app.view_functions.get(request.endpoint or "")
    if g.get("sites") is None:
        return
    declared: dict[str, str] = getattr(view, "site_records", {})
    for argument, kind in declared.items():
        value = (request.view_args or {}).get(argument)
        if value is not None and not site_access.may_see(session, g.sites, kind, value):
            abort(404, NOT_FOUND[kind].format(value))
    why = getattr(view, "every_site", None)
    if why is not None:
        abort(403, why)


def sees_fridge(name: str) -> bool:
    """Whether the fridge called ``name`` exists and lies in the user's sites (for names in a query or a form)."""
    return site_access.may_see(db(), sites(), "fridge", name)


def fridge_names(*, retired: bool = True) -> list[str]:
    """The names of the fridges the user sees, by name."""
    return site_access.visible_fridge_names(db(), sites(), retired=retired)


def fridge_ids() -> frozenset[int] | None:
    """The ids of every fridge (retired too) of the user's sites; None for someone who sees every site."""
    subquery = site_access.fridge_ids(sites())
    return None if subquery is None else frozenset(db().scalars(subquery))


def sees(site_id: int) -> bool:
    current = sites()
    return current is None or site_id in current
