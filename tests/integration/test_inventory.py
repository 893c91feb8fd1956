"""The stock ledger on SQLite and PostgreSQL: movements, refusals, audit events, reviews, concurrency.

GTINs here are examples under GS1's prefix 950 (GS1 Global Office, used in
GS1's documentation), not any manufacturer's real product.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.core import gs1, lots
from fridge_monitor.inventory import catalog
from fridge_monitor.inventory import ledger as inventory
from fridge_monitor.inventory.catalog import InventoryError
from fridge_monitor.store import audit_trail
from fridge_monitor.store import models as m

from lot_state import lot_status

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)  # 10:00 in Berlin
BERLIN = ZoneInfo("Europe/Berlin")
EXAMPLE_GTIN = "09506000134352"
SCAN = f"]d201{EXAMPLE_GTIN}17270131" f"10C3709C3\x1d21SN0001"


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


class Rig:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        with so.Session(engine) as s, s.begin():
            site = m.Site(name="Clinic A", timezone="Europe/Berlin", created_at=T0)
            s.add(site)
            s.flush()
            fridges = [m.Fridge(name=name, site_id=site.id, kind="refrigerator", low_c=2.0, high_c=8.0,
                                alarm_profile="cdc-refrigerator", created_at=T0) for name in ("A1", "B2")]
            s.add_all(fridges)
            s.flush()
            self.a1, self.b2 = (f.id for f in fridges)
            self.product_ids = {key: id_ for key, id_ in s.execute(sa.select(m.Product.catalogue_key, m.Product.id))}

    def run(self, fn: Callable[[so.Session], Any]) -> Any:
        with so.Session(self.engine, expire_on_commit=False) as session, session.begin():
            return fn(session)

    def lot(self, number: str = "C3709C3", expiry: date = date(2027, 1, 31), product: str = "botox") -> int:
        return self.run(lambda s: catalog.lot_for(s, product_id=self.product_ids[product], lot_number=number,
                                                    expiry=expiry, actor="nurse.ana", now=T0).id)

    def quantity(self, lot_id: int, fridge_id: int | None = None) -> int:
        return self.run(lambda s: inventory.quantity(s, lot_id, fridge_id))

    def count(self, model: type) -> int:
        return self.run(lambda s: s.scalar(sa.select(sa.func.count()).select_from(model)))

    def audit(self) -> list[tuple[str, str, str, str | None, str | None, str | None]]:
        a = m.AuditEvent
        return self.run(lambda s: [tuple(r) for r in s.execute(
            sa.select(a.actor, a.action, a.record_type, a.old_value, a.new_value, a.reason).order_by(a.id))])


@pytest.fixture
def rig(database_url: str, engine_for) -> Rig:
    return Rig(engine_for(database_url))


def test_the_catalogue_is_seeded_without_gtins(rig):
    def check(s: so.Session) -> None:
        xeomin = catalog.product(s, rig.product_ids["xeomin"])
        assert xeomin.ranges_label == "20 to 25 °C, or 2 to 8 °C, or -20 to -10 °C"
        assert xeomin.freezing_allowed and xeomin.beyond_use_hours == 24.0
        dysport = catalog.product(s, rig.product_ids["dysport"])
        assert dysport.protect_from_light and not dysport.freezing_allowed
        varicella = catalog.product(s, rig.product_ids["varicella"])
        assert varicella.ranges_label == "-50 to -15 °C" and varicella.beyond_use_hours == 0.5
        for key in ("influenza", "hepatitis-b", "hpv", "tdap"):
            vaccine = catalog.product(s, rig.product_ids[key])
            assert vaccine.ranges_label == "2 to 8 °C" and not vaccine.freezing_allowed
        assert s.scalar(sa.select(sa.func.count()).select_from(m.ProductGtin)) == 0

    rig.run(check)
    assert {"botox", "dysport", "xeomin", "jeuveau", "mmr", "varicella"} <= set(rig.product_ids)


def test_round_trip_from_scan_to_correction_with_audit_events(rig):
    scan = gs1.parse_scan(SCAN)
    assert scan.gtin == EXAMPLE_GTIN and scan.lot is not None and scan.expiry is not None

    def scanned_lot(session: so.Session, actor: str, now: datetime) -> int:
        """What the scan box does: the product the GTIN is linked to, then its lot (made on first sight)."""
        product = catalog.product_for_gtin(session, scan.gtin)
        assert product is not None
        return catalog.lot_for(session, product_id=product.id, lot_number=scan.lot, expiry=scan.expiry,
                               gtin=scan.gtin, actor=actor, now=now).id

    assert rig.run(lambda s: catalog.product_for_gtin(s, scan.gtin)) is None  # not linked yet
    rig.run(lambda s: catalog.link_gtin(s, EXAMPLE_GTIN, rig.product_ids["botox"], actor="nurse.ana", now=T0))
    lot_id = rig.run(lambda s: scanned_lot(s, "nurse.ana", T0))
    assert rig.run(lambda s: scanned_lot(s, "nurse.ben", at(1))) == lot_id

    rig.run(lambda s: inventory.receive(s, lot_id=lot_id, fridge_id=rig.a1, quantity=6, serial=scan.serial,
                                        actor="nurse.ana", now=at(1)))
    rig.run(lambda s: inventory.use(s, lot_id=lot_id, fridge_id=rig.a1, actor="nurse.ana", now=at(2)))
    rig.run(lambda s: inventory.transfer(s, lot_id=lot_id, from_fridge_id=rig.a1, to_fridge_id=rig.b2, quantity=2,
                                         actor="nurse.ben", now=at(3)))
    opened = rig.run(lambda s: inventory.reconstitute(s, lot_id=lot_id, fridge_id=rig.b2, actor="nurse.ben",
                                                      now=at(4)).opened_vial)
    assert opened.beyond_use_at == at(4) + timedelta(hours=24)
    rig.run(lambda s: inventory.use(s, lot_id=lot_id, fridge_id=rig.b2, opened_vial_id=opened.id,
                                    actor="nurse.ben", now=at(5)))
    rig.run(lambda s: inventory.discard(s, lot_id=lot_id, fridge_id=rig.a1, quantity=1, reason_code="damaged",
                                        reason="vial cracked", actor="nurse.ana", now=at(6)))
    correction = rig.run(lambda s: inventory.correct(s, lot_id=lot_id, fridge_id=rig.a1, counted=1,
                                                     reason="recount: one vial missing", actor="nurse.ana",
                                                     now=at(7)))
    assert (correction.kind, correction.quantity, correction.counted) == ("correct", 1, 1)
    assert [e.delta for e in correction.entries] == [-1]

    assert (rig.quantity(lot_id, rig.a1), rig.quantity(lot_id, rig.b2), rig.quantity(lot_id)) == (1, 1, 2)
    held = rig.run(lambda s: inventory.stock(s, lot_id=lot_id))
    assert [(h.fridge_id, h.quantity, h.opened_vial_id, h.product) for h in held] == [
        (rig.a1, 1, None, "Botox 100 U (onabotulinumtoxinA)"), (rig.b2, 1, None, "Botox 100 U (onabotulinumtoxinA)")]

    events = rig.audit()
    assert [(actor, action, kind) for actor, action, kind, *_ in events] == [
        ("nurse.ana", "link", "product_gtin"),
        ("nurse.ana", "create", "lot"),
        ("nurse.ana", "receive", "stock_movement"),
        ("nurse.ana", "use", "stock_movement"),
        ("nurse.ben", "transfer", "stock_movement"),
        ("nurse.ben", "reconstitute", "stock_movement"),
        ("nurse.ben", "use", "stock_movement"),
        ("nurse.ana", "discard", "stock_movement"),
        ("nurse.ana", "correct", "stock_movement"),
    ]
    transfer = events[4]
    assert (transfer[3], transfer[4]) == ("A1: 5, B2: 0", "A1: 3, B2: 2")
    assert transfer[5] == "lot C3709C3 (Botox 100 U (onabotulinumtoxinA)): moved 2 vials from A1 to B2"
    assert events[5][4] == f"B2: 1, B2 opened vial {opened.id}: 1"
    assert events[7][5].endswith("discarded 1 vial from A1 (damaged): vial cracked")
    verdict = audit_trail.check_database(rig.engine)
    assert (verdict.count, verdict.problem) == (len(events), None)

    kinds = rig.run(lambda s: [mv.kind for mv in inventory.movements(s, fridge_id=rig.b2)])
    assert kinds == ["transfer", "reconstitute", "use"]


def test_below_zero_is_refused_with_a_clear_message_and_nothing_written(rig):
    lot_id = rig.lot()
    rig.run(lambda s: inventory.receive(s, lot_id=lot_id, fridge_id=rig.a1, quantity=2, actor="nurse.ana", now=T0))
    before = (rig.count(m.StockMovement), rig.count(m.StockEntry), rig.count(m.AuditEvent))
    with pytest.raises(InventoryError) as refused:
        rig.run(lambda s: inventory.use(s, lot_id=lot_id, fridge_id=rig.a1, quantity=3, actor="nurse.ana",
                                        now=at(1)))
    assert str(refused.value) == (
        "only 2 vials of lot C3709C3 (Botox 100 U (onabotulinumtoxinA)) in fridge A1: cannot use 3")
    with pytest.raises(InventoryError, match="^no vials of lot C3709C3 .* in fridge B2: cannot move 1$"):
        rig.run(lambda s: inventory.transfer(s, lot_id=lot_id, from_fridge_id=rig.b2, to_fridge_id=rig.a1,
                                             quantity=1, actor="nurse.ana", now=at(1)))
    with pytest.raises(InventoryError, match="only 2 vials .*: cannot discard 5"):
        rig.run(lambda s: inventory.discard(s, lot_id=lot_id, fridge_id=rig.a1, quantity=5, reason_code="expired",
                                            actor="nurse.ana", now=at(1)))
    assert (rig.count(m.StockMovement), rig.count(m.StockEntry), rig.count(m.AuditEvent)) == before
    assert rig.quantity(lot_id, rig.a1) == 2


def test_bad_input_is_refused_in_words(rig):
    lot_id = rig.lot()
    rig.run(lambda s: inventory.receive(s, lot_id=lot_id, fridge_id=rig.a1, quantity=2, actor="nurse.ana", now=T0))
    cases: list[tuple[Callable[[so.Session], Any], str]] = [
        (lambda s: inventory.receive(s, lot_id=lot_id, fridge_id=rig.a1, quantity=0, actor="a", now=T0),
         "whole number, 1 or more"),
        (lambda s: inventory.use(s, lot_id=lot_id, fridge_id=rig.a1, actor=" ", now=T0), "name of the person"),
        (lambda s: inventory.discard(s, lot_id=lot_id, fridge_id=rig.a1, quantity=1, reason_code="lost",
                                     actor="a", now=T0), "choose why"),
        (lambda s: inventory.discard(s, lot_id=lot_id, fridge_id=rig.a1, quantity=1, reason_code="other",
                                     actor="a", now=T0), "say why"),
        (lambda s: inventory.correct(s, lot_id=lot_id, fridge_id=rig.a1, counted=2, reason="recount",
                                     actor="a", now=T0), r"matches the records \(2 vials in A1\)"),
        (lambda s: inventory.correct(s, lot_id=lot_id, fridge_id=rig.a1, counted=1, reason="", actor="a", now=T0),
         "say why the count differs"),
        (lambda s: inventory.transfer(s, lot_id=lot_id, from_fridge_id=rig.a1, to_fridge_id=rig.a1, quantity=1,
                                      actor="a", now=T0), "different fridge"),
        (lambda s: inventory.use(s, lot_id=lot_id + 999, fridge_id=rig.a1, actor="a", now=T0), "no lot"),
        (lambda s: inventory.use(s, lot_id=lot_id, fridge_id=rig.a1, opened_vial_id=999, actor="a", now=T0),
         "no opened vial 999"),
        (lambda s: catalog.lot_for(s, product_id=rig.product_ids["botox"], lot_number="C3709C3",
                                     expiry=date(2027, 2, 28), actor="a", now=T0),
         "recorded with expiry 2027-01-31, not 2027-02-28: check the pack"),
        (lambda s: catalog.lot_for(s, product_id=rig.product_ids["botox"], lot_number="  ",
                                     expiry=date(2027, 2, 28), actor="a", now=T0), "type the lot number"),
    ]
    for call, message in cases:
        with pytest.raises(InventoryError, match=message):
            rig.run(call)


def test_the_same_pack_serial_is_received_once(rig):
    lot_id = rig.lot()
    rig.run(lambda s: inventory.receive(s, lot_id=lot_id, fridge_id=rig.a1, quantity=1, serial="SN1",
                                        actor="nurse.ana", now=T0))
    with pytest.raises(InventoryError, match="serial SN1 of lot C3709C3 was already received on "
                                             "2026-03-10 10:00 by nurse.ana"):
        rig.run(lambda s: inventory.receive(s, lot_id=lot_id, fridge_id=rig.b2, quantity=1, serial="SN1",
                                            actor="nurse.ben", now=at(5)))
    rig.run(lambda s: inventory.receive(s, lot_id=lot_id, fridge_id=rig.a1, quantity=1, serial="SN2",
                                        actor="nurse.ana", now=at(6)))
    assert rig.quantity(lot_id) == 2


def test_a_gtin_is_linked_once(rig):
    botox, dysport = rig.product_ids["botox"], rig.product_ids["dysport"]
    rig.run(lambda s: catalog.link_gtin(s, "9506000134352", botox, actor="admin", now=T0))
    rig.run(lambda s: catalog.link_gtin(s, EXAMPLE_GTIN, botox, actor="admin", now=at(1)))  # again: no change
    with pytest.raises(InventoryError, match=f"GTIN {EXAMPLE_GTIN} is already linked to Botox 100 U"):
        rig.run(lambda s: catalog.link_gtin(s, EXAMPLE_GTIN, dysport, actor="admin", now=at(2)))
    with pytest.raises(InventoryError, match="wrong check digit"):
        rig.run(lambda s: catalog.link_gtin(s, "09506000134353", dysport, actor="admin", now=at(2)))
    assert rig.run(lambda s: catalog.product_for_gtin(s, EXAMPLE_GTIN).id) == botox
    assert [action for _, action, *_ in rig.audit()] == ["link"]


def test_expired_lots_are_refused_after_local_midnight(rig):
    lot_id = rig.lot(number="SHORT", expiry=date(2026, 3, 10))
    rig.run(lambda s: inventory.receive(s, lot_id=lot_id, fridge_id=rig.a1, quantity=3, actor="nurse.ana", now=T0))
    last_minute = datetime(2026, 3, 10, 22, 59, tzinfo=UTC)  # 23:59 in Berlin
    rig.run(lambda s: inventory.use(s, lot_id=lot_id, fridge_id=rig.a1, actor="nurse.ana", now=last_minute))
    with pytest.raises(InventoryError, match="^lot SHORT .* expired on 2026-03-10: do not use it$"):
        rig.run(lambda s: inventory.use(s, lot_id=lot_id, fridge_id=rig.a1, actor="nurse.ana",
                                        now=last_minute + timedelta(minutes=1)))
    with pytest.raises(InventoryError, match="expired on 2026-03-10: do not put it in stock"):
        rig.run(lambda s: inventory.receive(s, lot_id=lot_id, fridge_id=rig.a1, quantity=1, actor="nurse.ana",
                                            now=last_minute + timedelta(minutes=1)))
    rig.run(lambda s: inventory.discard(s, lot_id=lot_id, fridge_id=rig.a1, quantity=2, reason_code="expired",
                                        actor="nurse.ana", now=last_minute + timedelta(minutes=2)))
    assert rig.quantity(lot_id) == 0


def test_an_opened_vial_past_its_beyond_use_time_is_refused(rig):
    lot_id = rig.lot()
    rig.run(lambda s: inventory.receive(s, lot_id=lot_id, fridge_id=rig.a1, quantity=2, actor="nurse.ana", now=T0))
    opened = rig.run(lambda s: inventory.reconstitute(s, lot_id=lot_id, fridge_id=rig.a1, actor="nurse.ana",
                                                      now=T0).opened_vial)
    with pytest.raises(InventoryError, match=r"past its beyond-use time \(2026-03-11 10:00\): discard it"):
        rig.run(lambda s: inventory.use(s, lot_id=lot_id, fridge_id=rig.a1, opened_vial_id=opened.id,
                                        actor="nurse.ana", now=T0 + timedelta(hours=24)))
    rig.run(lambda s: inventory.discard(s, lot_id=lot_id, fridge_id=rig.a1, quantity=1, opened_vial_id=opened.id,
                                        reason_code="beyond_use", actor="nurse.ana", now=T0 + timedelta(hours=24)))
    assert rig.run(lambda s: [(h.quantity, h.opened_vial_id) for h in inventory.stock(s, lot_id=lot_id)]) == [
        (1, None)]


def test_a_lot_under_review_is_refused_until_released(rig):
    lot_id = rig.lot()
    later = rig.lot(number="LATER", expiry=date(2027, 6, 30))
    for lot in (lot_id, later):
        rig.run(lambda s, lot=lot: inventory.receive(s, lot_id=lot, fridge_id=rig.a1, quantity=2,
                                                     actor="nurse.ana", now=T0))

    def put_under_review(s: so.Session) -> int:
        review = m.LotReview(lot_id=lot_id, fridge_id=rig.a1, started_at=at(10), ended_at=at(90),
                             exposure_s=4800.0, peak_c=11.2, low_c=8.1, mkt_c=9.4,
                             reason="excursion in A1", created_at=at(100), created_by="system", updated_at=at(100))
        s.add(review)
        s.flush()
        return review.id

    review_id = rig.run(put_under_review)
    assert rig.run(lambda s: lot_status(s, lot_id, now=at(120), tz=BERLIN)) is lots.Status.UNDER_REVIEW
    with pytest.raises(InventoryError, match="under review after an excursion"):
        rig.run(lambda s: inventory.use(s, lot_id=lot_id, fridge_id=rig.a1, actor="nurse.ana", now=at(120)))
    with pytest.raises(InventoryError, match="under review"):
        rig.run(lambda s: inventory.reconstitute(s, lot_id=lot_id, fridge_id=rig.a1, actor="nurse.ana", now=at(120)))
    # Exposed stock may be moved to a working unit, and FEFO passes over it.
    rig.run(lambda s: inventory.transfer(s, lot_id=lot_id, from_fridge_id=rig.a1, to_fridge_id=rig.b2, quantity=1,
                                         actor="nurse.ana", now=at(121)))
    nxt = rig.run(lambda s: inventory.take_next(s, fridge_id=rig.a1, product_id=rig.product_ids["botox"],
                                                now=at(122)))
    assert nxt.lot_number == "LATER"

    rig.run(lambda s: s.add(m.LotDisposition(review_id=review_id, decision="released", reference="MFR-2026-0042",
                                             decided_at=at(200), decided_by="coordinator")))
    assert rig.run(lambda s: inventory.review_states(s, [lot_id, later])) == {
        lot_id: lots.Review.RELEASED, later: lots.Review.NONE}
    assert rig.run(lambda s: lot_status(s, lot_id, now=at(201), tz=BERLIN)) is lots.Status.RELEASED
    assert rig.run(lambda s: lot_status(s, later, now=at(201), tz=BERLIN)) is lots.Status.USABLE
    nxt = rig.run(lambda s: inventory.take_next(s, fridge_id=rig.a1, product_id=rig.product_ids["botox"],
                                                now=at(201)))
    assert (nxt.lot_number, nxt.review) == ("C3709C3", lots.Review.RELEASED)
    rig.run(lambda s: inventory.use(s, lot_id=lot_id, fridge_id=rig.a1, actor="nurse.ana", now=at(202)))


def test_one_review_per_lot_and_excursion_and_dispositions_are_append_only(rig):
    lot_id = rig.lot()

    def excursion(s: so.Session) -> int:
        row = m.Excursion(fridge_id=rig.a1, rule="out-of-range", severity="critical", started_at=at(0),
                          peak_c=9.0, low_c=8.1, time_beyond_s=600.0, readings_count=3, updated_at=at(10))
        s.add(row)
        s.flush()
        return row.id

    excursion_id = rig.run(excursion)

    def review(s: so.Session) -> None:
        s.add(m.LotReview(lot_id=lot_id, fridge_id=rig.a1, excursion_id=excursion_id, started_at=at(0),
                          exposure_s=600.0, reason="excursion", created_at=at(10), created_by="system",
                          updated_at=at(10)))

    rig.run(review)
    with pytest.raises(sa.exc.IntegrityError):
        rig.run(review)
    review_id = rig.run(lambda s: s.scalar(sa.select(m.LotReview.id)))
    with pytest.raises(sa.exc.IntegrityError):  # a release needs the manufacturer's reference
        rig.run(lambda s: s.add(m.LotDisposition(review_id=review_id, decision="released", decided_at=at(20),
                                                 decided_by="coordinator")))
    rig.run(lambda s: s.add(m.LotDisposition(review_id=review_id, decision="discarded", decided_at=at(20),
                                             decided_by="coordinator")))
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        rig.run(lambda s: s.execute(sa.update(m.LotDisposition).values(decision="released", reference="x")))
    assert rig.run(lambda s: inventory.review_states(s, [lot_id])) == {lot_id: lots.Review.DISCARDED}


def test_the_database_refuses_to_change_or_remove_movements(rig):
    lot_id = rig.lot()
    rig.run(lambda s: inventory.receive(s, lot_id=lot_id, fridge_id=rig.a1, quantity=2, actor="nurse.ana", now=T0))
    for statement in (sa.update(m.StockMovement).values(quantity=20), sa.delete(m.StockEntry),
                      sa.update(m.StockEntry).values(delta=20)):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            rig.run(lambda s, statement=statement: s.execute(statement))
    assert rig.quantity(lot_id) == 2


def test_location_history_of_a_lot(rig):
    lot_id = rig.lot()
    rig.run(lambda s: inventory.receive(s, lot_id=lot_id, fridge_id=rig.a1, quantity=4, actor="nurse.ana", now=T0))
    rig.run(lambda s: inventory.transfer(s, lot_id=lot_id, from_fridge_id=rig.a1, to_fridge_id=rig.b2, quantity=4,
                                         actor="nurse.ana", now=at(60)))
    rig.run(lambda s: inventory.use(s, lot_id=lot_id, fridge_id=rig.b2, actor="nurse.ana", now=at(90)))
    assert rig.run(lambda s: inventory.location_history(s, lot_id)) == [
        lots.Holding(rig.a1, 4, 0, T0, at(60)),
        lots.Holding(rig.b2, 4, 0, at(60), at(90)),
        lots.Holding(rig.b2, 3, 0, at(90), None),
    ]


def test_admin_edits_are_audited_and_mark_the_product_edited(rig):
    xeomin = rig.product_ids["xeomin"]
    rig.run(lambda s: catalog.save_product(s, product_id=xeomin, ranges=[(2, 8), (20, 25)],
                                             beyond_use_hours=24.0, actor="admin", now=T0,
                                             reason="clinic keeps Xeomin out of the freezer"))
    row = rig.run(lambda s: s.get(m.Product, xeomin))
    assert (row.edited_by, row.edited_at) == ("admin", T0)
    assert rig.audit() == [("admin", "update", "product", "20 to 25 °C; 2 to 8 °C; -20 to -10 °C",
                            "20 to 25 °C; 2 to 8 °C", "clinic keeps Xeomin out of the freezer")]
    new = rig.run(lambda s: catalog.save_product(s, name="Botox 50 U (onabotulinumtoxinA)", form="vial",
                                                   ranges=[(2, 8)], beyond_use_hours=24.0, opened_low_c=2.0,
                                                   opened_high_c=8.0, actor="admin", now=at(1), reason="new size"))
    assert rig.run(lambda s: catalog.product(s, new.id)).opened_range is not None
    with pytest.raises(InventoryError, match="already a product named"):
        rig.run(lambda s: catalog.save_product(s, name="Botox 50 U (onabotulinumtoxinA)", ranges=[(2, 8)],
                                                 actor="admin", now=at(2), reason="again"))
    with pytest.raises(InventoryError, match="at least one storage range"):
        rig.run(lambda s: catalog.save_product(s, product_id=new.id, ranges=[], actor="admin", now=at(2),
                                                 reason="oops"))


def test_two_nurses_take_the_last_vial_at_once(rig):
    """The second nurse waits on the lot's lock while the first holds it, then is told none is left."""
    lot_id = rig.lot()
    rig.run(lambda s: inventory.receive(s, lot_id=lot_id, fridge_id=rig.a1, quantity=1, actor="nurse.ana", now=T0))
    first_took, second_started = threading.Event(), threading.Event()
    outcome: dict[str, Any] = {}
    events: list[str] = []

    def first() -> None:
        with so.Session(rig.engine) as s, s.begin():
            inventory.use(s, lot_id=lot_id, fridge_id=rig.a1, actor="nurse.ana", now=at(1))
            events.append("first took")
            first_took.set()
            second_started.wait(10)
            time.sleep(0.5)  # the second nurse is now blocked on the lock; commit only after that
            events.append("first commits")
        outcome["first"] = "used"

    def second() -> None:
        first_took.wait(10)
        events.append("second tries")
        second_started.set()
        try:
            with so.Session(rig.engine) as s, s.begin():
                inventory.use(s, lot_id=lot_id, fridge_id=rig.a1, actor="nurse.ben", now=at(1))
            outcome["second"] = "used"
        except InventoryError as exc:
            outcome["second"] = str(exc)
        events.append("second answered")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert outcome["first"] == "used"
    assert outcome["second"] == "no vials of lot C3709C3 (Botox 100 U (onabotulinumtoxinA)) in fridge A1: cannot use 1"
    # The second nurse tried while the first held the lot, and was answered only once the first committed.
    assert events == ["first took", "second tries", "first commits", "second answered"]
    assert rig.quantity(lot_id) == 0
    assert rig.run(lambda s: [(mv.kind, mv.actor) for mv in inventory.movements(s, lot_id=lot_id)]) == [
        ("receive", "nurse.ana"), ("use", "nurse.ana")]


def test_many_nurses_at_once_never_take_more_than_there_is(rig):
    lot_id = rig.lot()
    rig.run(lambda s: inventory.receive(s, lot_id=lot_id, fridge_id=rig.a1, quantity=3, actor="nurse.ana", now=T0))
    start = threading.Barrier(6)
    results: list[str] = []

    def nurse(i: int) -> None:
        start.wait(10)
        try:
            with so.Session(rig.engine) as s, s.begin():
                inventory.use(s, lot_id=lot_id, fridge_id=rig.a1, actor=f"nurse.{i}", now=at(1))
            results.append("used")
        except InventoryError as exc:
            results.append(str(exc))

    threads = [threading.Thread(target=nurse, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    refused = "no vials of lot C3709C3 (Botox 100 U (onabotulinumtoxinA)) in fridge A1: cannot use 1"
    assert sorted(results) == [refused] * 3 + ["used"] * 3
    assert rig.quantity(lot_id) == 0
    assert audit_trail.check_database(rig.engine).problem is None
