"""The demo's stock: lots of the catalogue's products received into the demo fridges before the simulation starts.

The GTINs are GS1's example numbers (company prefix 950 is reserved for GS1's
own demonstrations), linked to the catalogue products by the demo so that the
scan box can be tried with them; they are not the manufacturers' real codes.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.inventory import catalog
from fridge_monitor.inventory import ledger as inventory
from fridge_monitor.store import models as m

ACTOR = "demo"
INSULIN = "demo-insulin"  # not in the catalogue: the demo adds it, as an admin would

# catalogue key -> example GTIN-14 (GS1 prefix 950: for demonstrations only)
EXAMPLE_GTINS = {
    "botox": "09506000134352",
    "dysport": "09506000134369",
    "xeomin": "09506000134376",
    "mmr": "09506000134383",
    "influenza": "09506000134390",
    "hpv": "09506000134406",
    "hepatitis-b": "09506000134413",
    "tdap": "09506000134420",
}

# (fridge, catalogue key, lot number, days until expiry, quantity)
LOTS = (
    ("Vaccines A", "mmr", "MMR26A41", 210, 10),
    ("Vaccines A", "influenza", "FLU2611K", 21, 20),
    ("Vaccines A", "hepatitis-b", "HB7734C", 400, 8),
    ("Botox B", "botox", "C7012AB", 300, 6),
    ("Botox B", "botox", "C6934AA", 45, 3),
    ("Insulin C", INSULIN, "IG40917", 200, 15),
    ("Dysport D", "dysport", "D2207Q", 250, 4),
    ("Xeomin E", "xeomin", "X88310B", 365, 5),
    ("Vaccines F", "hpv", "HPV9031", 180, 10),
)


def example_scan(key: str, lot: str, expiry: date) -> str:
    """A demo vial's code in the human-readable form printed under the barcode, which the scan box also takes."""
    return f"(01){EXAMPLE_GTINS[key]}(17){expiry:%y%m%d}(10){lot}"


def seed_stock(engine: sa.Engine, received_at: datetime) -> bool:
    """Link the example GTINs and receive the demo lots at ``received_at``, once; whether it did."""
    with so.Session(engine) as session, session.begin():
        if session.scalar(sa.select(sa.func.count()).select_from(m.StockMovement)):
            return False
        products = {p.catalogue_key: p for p in session.scalars(sa.select(m.Product))}
        products[INSULIN] = catalog.save_product(
            session, actor=ACTOR, now=received_at, reason="demo: the insulin kept in fridge Insulin C",
            ranges=[(2.0, 8.0)], name="Insulin glargine 100 U/mL pen", form="prefilled pen", unit="pen",
            freezing_allowed=False, protect_from_light=True, beyond_use_hours=28 * 24, opened_low_c=2.0,
            opened_high_c=30.0, notes="In use: up to 30 °C for 28 days; never freeze.")
        fridges = {f.name: f.id for f in session.scalars(sa.select(m.Fridge))}
        for key, gtin in EXAMPLE_GTINS.items():
            if key in products and catalog.product_for_gtin(session, gtin) is None:
                catalog.link_gtin(session, gtin, products[key].id, actor=ACTOR, now=received_at)
        today = received_at.date()
        for fridge, key, number, days, quantity in LOTS:
            if key not in products or fridge not in fridges:
                continue
            lot = catalog.lot_for(session, product_id=products[key].id, lot_number=number,
                                    expiry=today + timedelta(days=days), gtin=EXAMPLE_GTINS.get(key), actor=ACTOR,
                                    now=received_at)
            inventory.receive(session, lot_id=lot.id, fridge_id=fridges[fridge], quantity=quantity, actor=ACTOR,
                              now=received_at, note="demo stock")
    return True
