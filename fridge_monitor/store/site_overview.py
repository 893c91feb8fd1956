"""Many fridges at once, lightly: what each fridge in service shows now, for the list of sites.

The dashboard's tiles (:func:`fridge_monitor.store.overview.fridges_now`) also
chart the last 24 hours and today's min/max; a hospital group's site list
needs only each fridge's state, so this reads the current assignments, the
sensors and their latest readings — three queries, however many fridges —
and chooses the "current temperature" with the tiles' own rule
(:func:`~fridge_monitor.store.overview.latest_of`).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Collection
from datetime import datetime, timedelta

import sqlalchemy as sa

from fridge_monitor.core.status import Latest
from fridge_monitor.store import models as m
from fridge_monitor.store.ingest_state import ingest_heard_until
from fridge_monitor.store.overview import latest_of
from fridge_monitor.store.sensors import DEFAULT_MAX_GAP, sensors_by_id
from fridge_monitor.store.series import Segment, segments


@dataclasses.dataclass(frozen=True, slots=True)
class FridgeState:
    id: int
    name: str
    site_id: int
    latest: Latest


@dataclasses.dataclass(frozen=True, slots=True)
class SiteRow:
    id: int
    name: str
    timezone: str


def sites(conn: sa.Connection, within: Collection[int] | None) -> list[SiteRow]:
    """The sites (of ``within``; None: every site), by name."""
    query = sa.select(m.Site.id, m.Site.name, m.Site.timezone).order_by(m.Site.name)
    if within is not None:
        query = query.where(m.Site.id.in_(sorted(within)))
    return [SiteRow(*row) for row in conn.execute(query)]


def fridge_states(conn: sa.Connection, now: datetime, *, within: Collection[int] | None,
                  max_gap: timedelta = DEFAULT_MAX_GAP) -> list[FridgeState]:
    """Every fridge in service of the sites ``within`` (None: every site), with what it shows now."""
    f = m.Fridge
    query = sa.select(f.id, f.name, f.site_id, f.low_c, f.high_c).where(f.retired_at.is_(None)).order_by(f.id)
    if within is not None:
        query = query.where(f.site_id.in_(sorted(within)))
    fridges = conn.execute(query).all()
    if not fridges:
        return []
    by_fridge: dict[int, list[Segment]] = defaultdict(list)
    for seg in segments(conn, [row.id for row in fridges], now):
        if seg.until is None:
            by_fridge[seg.fridge_id].append(seg)
    infos = {info.id: info for info in sensors_by_id(conn, [seg.sensor_id for segs in by_fridge.values()
                                                            for seg in segs])}
    heard = ingest_heard_until(conn, now)
    return [FridgeState(row.id, row.name, row.site_id, latest_of(row, by_fridge[row.id], infos, now, max_gap, heard)[1])
            for row in fridges]
