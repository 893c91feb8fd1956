"""Lot safety on SQLite and PostgreSQL: reviews from exposures, dispositions, lot warnings as alerts.

Readings are written as ingest writes them (``Store.write``, marking the fridge)
and judged with an explicit clock; stock moves through the inventory service.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.alerts.evaluate import Evaluator
from fridge_monitor.config import build_config
from fridge_monitor.core import lots
from fridge_monitor.core.readings import Reading
from fridge_monitor.ingest.batches import Batch, Store
from fridge_monitor.inventory import catalog, lot_safety
from fridge_monitor.inventory import ledger as inventory
from fridge_monitor.inventory.catalog import InventoryError
from fridge_monitor.store import models as m
from fridge_monitor.store.sync import sync_config

from lot_state import lot_status

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)  # 09:00 in Berlin
BERLIN = ZoneInfo("Europe/Berlin")


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def every(start: float, end: float, temp: float, step: float = 5) -> list[tuple[float, float]]:
    return [(start + k * step, temp) for k in range(int((end - start) / step) + 1)]


class Rig:
    def __init__(self, engine: sa.Engine, config: object) -> None:
        self.engine, self.config, self.store = engine, config, Store(engine)
        with self.session() as s:
            self.fridge = {f.name: f.id for f in s.scalars(sa.select(m.Fridge))}
            self.product = dict(s.execute(sa.select(m.Product.catalogue_key, m.Product.id)).all())

    def session(self) -> so.Session:
        session = so.Session(self.engine, expire_on_commit=False)
        session.begin()
        return session

    def run(self, fn):  # noqa: ANN001 - a small test helper
        with so.Session(self.engine, expire_on_commit=False) as session, session.begin():
            return fn(session)

    def write(self, sensor: str, points: list[tuple[float, float]]) -> None:
        fmt, device = sensor.split(":")
        self.store.write(Batch(readings=[(Reading(sensor, fmt, device, at(minute), temp, None), at(minute))
                                         for minute, temp in points]))

    def judge(self, now_minutes: float, *, everything: bool = False, now: datetime | None = None) -> None:
        evaluator = Evaluator(self.engine, self.config, clock=lambda: now or at(now_minutes))
        evaluator.everything() if everything else evaluator.marked()
        evaluator.outbox.close()

    def lot(self, number: str, product: str = "botox", expiry: date = date(2027, 6, 30)) -> int:
        return self.run(lambda s: catalog.lot_for(s, product_id=self.product[product], lot_number=number,
                                                    expiry=expiry, actor="nurse.ana", now=at(-600)).id)

    def receive(self, lot_id: int, fridge: str, quantity: int, minutes: float) -> None:
        self.run(lambda s: inventory.receive(s, lot_id=lot_id, fridge_id=self.fridge[fridge], quantity=quantity,
                                             actor="nurse.ana", now=at(minutes)))

    def transfer(self, lot_id: int, source: str, target: str, quantity: int, minutes: float) -> None:
        self.run(lambda s: inventory.transfer(s, lot_id=lot_id, from_fridge_id=self.fridge[source],
                                              to_fridge_id=self.fridge[target], quantity=quantity,
                                              actor="nurse.ana", now=at(minutes)))

    def reviews(self) -> list[tuple[int, str, datetime, datetime | None, float, float | None, bool]]:
        r = m.LotReview
        names = {v: k for k, v in self.fridge.items()}
        return self.run(lambda s: [(row.lot_id, names[row.fridge_id], row.started_at, row.ended_at, row.exposure_s,
                                    row.peak_c, row.excursion_id is not None)
                                   for row in s.scalars(sa.select(r).order_by(r.lot_id, r.started_at))])

    def alerts(self, kinds: tuple[str, ...] = lot_safety.KINDS) -> list[tuple[str, str, str, str, datetime | None]]:
        a = m.Alert
        return self.run(lambda s: [tuple(row) for row in s.execute(
            sa.select(a.kind, a.rule, a.subject, a.state, a.ended_at).where(a.kind.in_(kinds)).order_by(a.id))])

    def status(self, lot_id: int, minutes: float) -> lots.Status:
        return self.run(lambda s: lot_status(s, lot_id, now=at(minutes), tz=BERLIN))


@pytest.fixture
def rig(database_url: str, engine_for) -> Rig:
    engine = engine_for(database_url)
    config = build_config({
        "database": {"url": database_url},
        "sites": [{"name": "Clinic", "timezone": "Europe/Berlin"}],
        "fridges": [{"name": "A1", "site": "Clinic", "sensors": ["native:a1"]},
                    {"name": "B2", "site": "Clinic", "sensors": ["native:b2"]},
                    {"name": "Cabinet", "site": "Clinic", "kind": "room", "sensors": ["native:cab"]}],
    }, {}, {}, "test")
    with so.Session(engine) as session, session.begin():
        sync_config(session, config, T0 - timedelta(days=2))
    return Rig(engine, config)


def compressor_failure(rig: Rig) -> None:
    """A1: 5 °C, then 9.5 °C from minute 60 to 135, back to 4.8 °C from 140; judged after each batch."""
    rig.write("native:a1", every(0, 55, 5.0))
    rig.judge(55)
    for start in range(60, 140, 10):
        rig.write("native:a1", every(start, start + 5, 9.5))
        rig.judge(start + 5)
    rig.write("native:a1", every(140, 200, 4.8))
    rig.judge(200)


def test_exactly_the_lots_in_the_fridge_during_the_excursion_go_under_review(rig):
    inside, later, moved_out, arrived_during = (rig.lot(n) for n in ("IN1", "LATE1", "OUT1", "MID1"))
    for lot_id in (inside, moved_out):
        rig.receive(lot_id, "A1", 4, -30)
    rig.transfer(moved_out, "A1", "B2", 4, 30)  # moved out before the excursion
    rig.receive(arrived_during, "A1", 2, 100)
    compressor_failure(rig)
    rig.receive(later, "A1", 3, 170)  # received after it ended
    rig.judge(200, everything=True)
    assert rig.reviews() == [
        (inside, "A1", at(60), at(140), 80 * 60.0, 9.5, True),
        (arrived_during, "A1", at(100), at(140), 40 * 60.0, 9.5, True),
    ]
    assert rig.status(inside, 200) is lots.Status.UNDER_REVIEW
    assert rig.status(later, 200) is lots.Status.USABLE and rig.status(moved_out, 200) is lots.Status.USABLE
    # One lot-review alert per review, waiting for a disposition; the review is audited as the system's.
    assert [(k, st) for k, _r, _s, st, _e in rig.alerts()] == [("lot-review", "open"), ("lot-review", "open")]
    audited = rig.run(lambda s: s.execute(sa.select(m.AuditEvent.actor, m.AuditEvent.new_value).where(
        m.AuditEvent.record_type == "lot_review")).all())
    assert audited == [("system", "under_review"), ("system", "under_review")]
    with pytest.raises(InventoryError, match="under review"):
        rig.run(lambda s: inventory.use(s, lot_id=inside, fridge_id=rig.fridge["A1"], actor="nurse.ana",
                                        now=at(210)))


def test_judging_again_after_a_restart_or_with_late_readings_keeps_one_review(rig):
    lot_id = rig.lot("IN1")
    rig.receive(lot_id, "A1", 4, -30)
    compressor_failure(rig)
    first = rig.reviews()
    for _ in range(2):  # the scheduler, twice (as after a restart)
        rig.judge(200, everything=True)
    assert rig.reviews() == first
    # A backup logger's late buffer shows the excursion began earlier, at minute 52: the same review grows.
    rig.write("native:a1", [(52, 8.6), (57, 8.7)])
    rig.judge(201)
    rig.judge(202, everything=True)
    [(lot, fridge, start, end, exposure_s, peak, linked)] = rig.reviews()
    assert (lot, fridge, start, end, exposure_s, linked) == (lot_id, "A1", at(52), at(140), 86 * 60.0, True)
    assert len(rig.alerts()) == 1


def test_release_makes_the_lot_usable_until_a_new_exposure(rig):
    lot_id = rig.lot("IN1")
    rig.receive(lot_id, "A1", 4, -30)
    compressor_failure(rig)
    with pytest.raises(InventoryError, match="manufacturer's reference"):
        rig.run(lambda s: lot_safety.record_disposition(s, lot_id=lot_id, decision="released", reference=" ",
                                                        note=None, actor="nurse.ana", now=at(210)))
    rig.run(lambda s: lot_safety.record_disposition(s, lot_id=lot_id, decision="released", reference="ALG-2026-118",
                                                    note="stable per manufacturer", actor="nurse.ana", now=at(210)))
    assert rig.status(lot_id, 211) is lots.Status.RELEASED
    assert [(k, st, e) for k, _r, _s, st, e in rig.alerts()] == [("lot-review", "resolved", at(210))]
    with pytest.raises(InventoryError, match="nothing to decide"):
        rig.run(lambda s: lot_safety.record_disposition(s, lot_id=lot_id, decision="discarded", reference=None,
                                                        note=None, actor="nurse.ana", now=at(212)))
    rig.run(lambda s: inventory.use(s, lot_id=lot_id, fridge_id=rig.fridge["A1"], actor="nurse.ana", now=at(213)))
    rig.judge(215, everything=True)  # judging again neither reopens the review nor its alert
    assert rig.status(lot_id, 215) is lots.Status.RELEASED
    assert [st for _k, _r, _s, st, _e in rig.alerts()] == ["resolved"]
    # A new excursion: a new review, the lot is under review again.
    rig.write("native:a1", every(300, 330, 10.0) + every(335, 400, 5.0))
    rig.judge(400)
    assert [r[2:4] for r in rig.reviews()] == [(at(60), at(140)), (at(300), at(335))]
    assert rig.status(lot_id, 401) is lots.Status.UNDER_REVIEW
    assert [st for _k, _r, _s, st, _e in rig.alerts()] == ["resolved", "open"]


def test_discard_writes_discard_movements_for_every_unit_held(rig):
    lot_id = rig.lot("IN1")
    rig.receive(lot_id, "A1", 5, -30)
    rig.run(lambda s: inventory.reconstitute(s, lot_id=lot_id, fridge_id=rig.fridge["A1"], actor="nurse.ana",
                                             now=at(-20)))
    compressor_failure(rig)
    rig.transfer(lot_id, "A1", "B2", 2, 205)  # moved to a working unit, as the steps say
    rig.run(lambda s: lot_safety.record_disposition(s, lot_id=lot_id, decision="discarded", reference="ALG-7",
                                                    note=None, actor="nurse.ben", now=at(220)))
    moves = rig.run(lambda s: [(mv.kind, mv.quantity, mv.reason_code, mv.actor)
                               for mv in inventory.movements(s, lot_id=lot_id) if mv.kind == "discard"])
    assert sorted(moves) == [("discard", 1, "excursion", "nurse.ben"), ("discard", 2, "excursion", "nurse.ben"),
                             ("discard", 2, "excursion", "nurse.ben")]
    assert rig.run(lambda s: inventory.quantity(s, lot_id)) == 0
    assert rig.status(lot_id, 221) is lots.Status.DISCARDED
    decisions = rig.run(lambda s: s.execute(sa.select(m.LotDisposition.decision, m.LotDisposition.decided_by)).all())
    assert decisions == [("discarded", "nurse.ben")]


def test_a_room_cabinet_at_22_puts_botox_under_review_but_not_xeomin(rig):
    botox, xeomin = rig.lot("B-22", "botox"), rig.lot("X-22", "xeomin")
    rig.receive(botox, "Cabinet", 2, -10)
    rig.receive(xeomin, "Cabinet", 2, -10)
    rig.write("native:cab", every(0, 120, 22.0))
    rig.judge(120)
    assert rig.run(lambda s: s.scalar(sa.select(sa.func.count()).select_from(m.Excursion))) == 0
    [(lot, fridge, start, end, exposure_s, peak, linked)] = rig.reviews()
    assert (lot, fridge, start, end, exposure_s, peak, linked) == (botox, "Cabinet", at(0), None, 120 * 60.0, 22.0,
                                                                    False)
    rig.write("native:cab", every(125, 180, 22.0))
    rig.judge(180)
    rig.judge(181, everything=True)
    assert [r[4] for r in rig.reviews()] == [181 * 60.0]
    assert rig.status(xeomin, 181) is lots.Status.USABLE
    # Moved to a refrigerator: the episode ends when it left the cabinet.
    rig.transfer(botox, "Cabinet", "A1", 2, 182)
    rig.judge(190, everything=True)
    assert [(r[2], r[3]) for r in rig.reviews()] == [(at(0), at(182))]


def test_xeomin_at_26_degrees_in_a_room_cabinet_stays_usable_under_usp_659_and_goes_under_review_above_30(rig):
    """USP <659> controlled room temperature: excursions within 15-30 °C are allowed while the MKT stays <= 25 °C."""
    xeomin = rig.lot("X-26", "xeomin")
    rig.receive(xeomin, "Cabinet", 3, -10)
    # Two days at 22 °C, then four hours at 26 °C: outside its 20-25 °C label, within the allowance.
    rig.write("native:cab", every(0, 2 * 24 * 60, 22.0, step=15))
    rig.write("native:cab", every(2 * 24 * 60 + 15, 2 * 24 * 60 + 240, 26.0, step=15))
    rig.write("native:cab", every(2 * 24 * 60 + 255, 2 * 24 * 60 + 300, 22.0, step=15))
    rig.judge(2 * 24 * 60 + 300, everything=True)
    assert rig.reviews() == []
    assert rig.status(xeomin, 2 * 24 * 60 + 300) is lots.Status.USABLE
    # The cabinet's own range (20-25 °C) was left: that is the fridge's excursion, not a reason to quarantine.
    assert rig.run(lambda s: s.scalar(sa.select(sa.func.count()).select_from(m.Excursion))) >= 1
    # An hour at 31 °C leaves the 15-30 °C allowance: under review at once.
    start = 2 * 24 * 60 + 315
    rig.write("native:cab", every(start, start + 60, 31.0, step=15))
    rig.judge(start + 60, everything=True)
    [(lot, fridge, began, _end, _exposure_s, peak, _linked)] = rig.reviews()
    assert (lot, fridge, began, peak) == (xeomin, "Cabinet", at(start), 31.0)
    assert rig.status(xeomin, start + 60) is lots.Status.UNDER_REVIEW


def test_expiry_warnings_at_each_horizon_in_the_site_time_zone_one_alert_each(rig):
    # Expires on 24 Feb 2027: 90 days after 26 Nov 2026. Judged around Berlin's midnight (23:00 UTC).
    lot_id = rig.lot("EXP1", expiry=date(2027, 2, 24))
    rig.receive(lot_id, "A1", 3, 0)

    def judge(moment: datetime) -> None:
        rig.judge(0, everything=True, now=moment)

    judge(datetime(2026, 11, 25, 22, 59, tzinfo=UTC))  # 23:59 on the 25th in Berlin: 91 days ahead
    assert rig.alerts() == []
    judge(datetime(2026, 11, 25, 23, 1, tzinfo=UTC))  # 00:01 on the 26th in Berlin: 90 days ahead
    judge(datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
    subject = lot_safety.lot_subject(lot_id)
    assert rig.alerts() == [("lot-expiring", "90-days", subject, "open", None)]
    started = rig.run(lambda s: s.scalar(sa.select(m.Alert.started_at).where(m.Alert.kind == "lot-expiring")))
    assert started == datetime(2026, 11, 25, 23, 0, tzinfo=UTC)  # Berlin's midnight
    judge(datetime(2027, 1, 25, 9, 0, tzinfo=UTC))  # 30 days before
    judge(datetime(2027, 2, 17, 9, 0, tzinfo=UTC))  # 7 days before
    judge(datetime(2027, 2, 20, 9, 0, tzinfo=UTC))
    assert [(k, r, st) for k, r, _s, st, _e in rig.alerts()] == [
        ("lot-expiring", "90-days", "resolved"), ("lot-expiring", "30-days", "resolved"),
        ("lot-expiring", "7-days", "open")]
    judge(datetime(2027, 2, 24, 22, 59, tzinfo=UTC))  # 23:59 on its expiry day: still usable
    assert [k for k, *_ in rig.alerts()].count("lot-expired") == 0
    judge(datetime(2027, 2, 24, 23, 0, tzinfo=UTC))  # local midnight after it: expired, stock on hand
    judge(datetime(2027, 2, 25, 9, 0, tzinfo=UTC))
    assert [(k, r, st) for k, r, _s, st, _e in rig.alerts()][-2:] == [
        ("lot-expiring", "7-days", "resolved"), ("lot-expired", "expired", "open")]
    severity = rig.run(lambda s: s.scalar(sa.select(m.Alert.severity).where(m.Alert.kind == "lot-expired")))
    assert severity == "alarm"
    # Discarded as expired: nothing on hand, the alarm resolves (and waits for its acknowledgement).
    rig.run(lambda s: inventory.discard(s, lot_id=lot_id, fridge_id=rig.fridge["A1"], quantity=3,
                                        reason_code="expired", actor="nurse.ana",
                                        now=datetime(2027, 2, 25, 10, 0, tzinfo=UTC)))
    judge(datetime(2027, 2, 25, 10, 1, tzinfo=UTC))
    assert [st for *_, st, _e in rig.alerts()] == ["resolved"] * 4


def test_an_opened_vial_past_its_beyond_use_time_raises_one_alarm_until_it_is_gone(rig):
    lot_id = rig.lot("BU1")
    rig.receive(lot_id, "A1", 2, 0)
    opened = rig.run(lambda s: inventory.reconstitute(s, lot_id=lot_id, fridge_id=rig.fridge["A1"],
                                                      actor="nurse.ana", now=at(10)).opened_vial)
    rig.judge(60, everything=True)
    assert rig.alerts(("beyond-use",)) == []
    for hours in (25, 26):
        rig.judge(hours * 60, everything=True)
    assert rig.alerts(("beyond-use",)) == [("beyond-use", "beyond-use", f"opened-vial:{opened.id}", "open", None)]
    rig.run(lambda s: inventory.discard(s, lot_id=lot_id, fridge_id=rig.fridge["A1"], quantity=1,
                                        reason_code="beyond_use", opened_vial_id=opened.id, actor="nurse.ana",
                                        now=at(27 * 60)))
    rig.judge(27 * 60 + 1, everything=True)
    assert [st for *_, st, _e in rig.alerts(("beyond-use",))] == ["resolved"]


def test_lot_exposure_over_its_whole_storage(rig):
    lot_id = rig.lot("H1")
    rig.receive(lot_id, "A1", 4, -30)
    rig.write("native:b2", every(0, 300, 5.0))
    compressor_failure(rig)
    rig.transfer(lot_id, "A1", "B2", 4, 200)
    history = rig.run(lambda s: lot_safety.lot_exposure(s, lot_id, now=at(300), config=rig.config))
    a1, b2 = history.holdings
    assert (a1.fridge, a1.since, a1.until, a1.quantity) == ("A1", at(-30), at(200), 4)
    assert (a1.low_c, a1.high_c, a1.out_of_range_s, a1.known_s) == (4.8, 9.5, 80 * 60.0, 200 * 60.0)
    assert (b2.fridge, b2.since, b2.until, b2.low_c, b2.high_c, b2.out_of_range_s) == (
        "B2", at(200), None, 5.0, 5.0, 0.0)
    assert b2.mkt_c == pytest.approx(5.0)
    assert 5.0 < history.mkt_c < a1.mkt_c
    assert (history.low_c, history.high_c, history.out_of_range_s) == (4.8, 9.5, 80 * 60.0)


def test_a_review_the_readings_no_longer_bear_out_is_withdrawn_and_the_batch_judges_up_to_its_newest_reading(rig):
    early, late = rig.lot("EARLY"), rig.lot("LATE")
    rig.receive(early, "A1", 2, -30)
    rig.write("native:a1", every(0, 55, 5.0) + every(60, 135, 9.5))
    rig.receive(late, "A1", 2, 145)  # received after the last reading so far, while it was still 9.5 °C
    rig.judge(150)  # right after the batch: judged up to its newest reading, minute 135
    assert [r[0] for r in rig.reviews()] == [early]
    rig.judge(150, everything=True)  # the scheduler: minute 135's reading holds on, so LATE looks exposed
    assert [r[0] for r in rig.reviews()] == [early, late]
    rig.write("native:a1", every(140, 200, 4.8))  # but the fridge was back in range from minute 140
    rig.judge(200)
    assert [(r[0], r[2], r[3]) for r in rig.reviews()] == [(early, at(60), at(140))]
    assert rig.status(late, 200) is lots.Status.USABLE
    withdrawn = rig.run(lambda s: s.execute(sa.select(m.AuditEvent.actor, m.AuditEvent.action).where(
        m.AuditEvent.record_type == "lot_review").order_by(m.AuditEvent.id)).all())
    assert withdrawn == [("system", "create"), ("system", "create"), ("system", "delete")]
    assert [(st, e is not None) for _k, _r, _s, st, e in rig.alerts()] == [("open", False), ("resolved", True)]
