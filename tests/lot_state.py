"""A lot's status as a whole in one time zone, read from the database, for tests that follow a lot through a review.

The application judges a lot across every fridge holding it (``core.lots.lot_status``, on the lot pages and in
the API); these tests watch a review open and close on a lot in one site, so one zone is enough.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy.orm as so

from fridge_monitor.core import lots
from fridge_monitor.inventory import ledger
from fridge_monitor.store import models as m


def lot_status(session: so.Session, lot_id: int, *, now: datetime, tz: ZoneInfo) -> lots.Status:
    """The status of lot ``lot_id`` (its opened vials aside), its expiry judged in ``tz``."""
    lot = session.get(m.Lot, lot_id)
    assert lot is not None, f"there is no lot {lot_id}"
    review = ledger.review_states(session, [lot_id])[lot_id]
    return lots.status_in_zone(lot.expiry, now, tz, review=review)
