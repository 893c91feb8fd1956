"""One alert per outage: a whole site (or a gateway) gone silent, rather than one no-data alert per fridge.

When every live temperature sensor of a site falls silent within
:data:`WITHIN` of each other (the network or the power of the building is
down), that is one ``site-offline``. When the sensors behind one gateway do
(a zigbee2mqtt bridge, a Tasmota or ESPHome node with several probes, whose
last will said offline) and they span two fridges or more, that is one
``gateway-offline``. The per-fridge no-data alerts are grouped under it: still
listed, never notified on their own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

KINDS = ("site-offline", "gateway-offline")
WITHIN = timedelta(minutes=5)
Z2M_BRIDGE = "zigbee2mqtt bridge"


@dataclasses.dataclass(frozen=True, slots=True)
class Heard:
    """One live temperature sensor of a site, as silence sees it. ``gateway`` names what its last will
    (or its bridge's) said went offline, or None."""

    fridge_id: int
    fridge: str
    sensor_id: str
    last: datetime | None
    silent: bool
    gateway: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Outage:
    """A site or a gateway gone silent: ``anchor`` is the fridge its alert is filed under (the first)."""

    kind: str
    subject: str
    anchor: int
    fridge_ids: frozenset[int]
    start: datetime
    title: str
    detail: str


def gateway_of(fmt: str, device: str, online: bool | None) -> str | None:
    """The gateway a sensor's last will speaks for when it said offline: the zigbee2mqtt bridge for every
    zigbee2mqtt device, else the node itself (``tasmota:node-7``)."""
    if online is not False:
        return None
    return Z2M_BRIDGE if fmt == "zigbee2mqtt" else f"{fmt}:{device}"


def outages(site: str, heard: Sequence[Heard], allowed_gap: timedelta, within: timedelta = WITHIN) -> list[Outage]:
    """The site's outage, or else its gateways' (each spanning two fridges or more)."""
    site_outage = _together(heard, allowed_gap, within)
    if site_outage is not None:
        start, names, ids = site_outage
        return [Outage("site-offline", f"site:{site}", min(ids), ids, start,
                       f"Site {site} offline: {len(ids)} fridges silent",
                       f"Every sensor of site {site} went silent within {_min(within)} of each other, the first at "
                       f"{_clock(start - allowed_gap)}: the network or the power of the building is down, or the "
                       f"server cannot reach it. Fridges: {', '.join(names)}. Their no-data alerts are grouped "
                       "under this one.")]
    out = []
    for gateway in sorted({h.gateway for h in heard if h.gateway is not None}):
        behind = [h for h in heard if h.gateway == gateway]
        found = _together(behind, allowed_gap, within)
        if found is None:
            continue
        start, names, ids = found
        out.append(Outage("gateway-offline", f"gateway:{gateway}", min(ids), ids, start,
                          f"Gateway {gateway} offline: {len(ids)} fridges silent",
                          f"{gateway} said it went offline and every sensor behind it went silent, the first at "
                          f"{_clock(start - allowed_gap)}. Fridges: {', '.join(names)}. Their no-data alerts are "
                          "grouped under this one."))
    return out


def _together(heard: Sequence[Heard], allowed_gap: timedelta,
              within: timedelta) -> tuple[datetime, list[str], frozenset[int]] | None:
    """(when the silence became an alarm, the fridges, their ids) if every one of ``heard`` is silent, went
    silent within ``within`` of the others, and they are in two fridges or more."""
    ids = frozenset(h.fridge_id for h in heard)
    lasts = [h.last for h in heard if h.last is not None]
    if len(ids) < 2 or not all(h.silent for h in heard) or len(lasts) != len(heard):
        return None
    if max(lasts) - min(lasts) > within:
        return None
    names = sorted({h.fridge for h in heard})
    return min(lasts) + allowed_gap, names, ids


def _min(span: timedelta) -> str:
    return f"{int(span.total_seconds() // 60)} min"


def _clock(at: datetime) -> str:
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
