"""Issue #5's must-show: over the real broker and a real `fridge-monitor ingest` process, a compressor
failure puts exactly the lots that were in that fridge during the excursion under review."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.core import lots
from fridge_monitor.inventory import catalog, lot_safety
from fridge_monitor.inventory import ledger as inventory
from fridge_monitor.store import models as m
from fridge_monitor.store.marks import marked_fridges

from lot_state import lot_status
from support import Publisher, native, wait_until

pytestmark = [pytest.mark.slow]


def readings_stored(engine: sa.Engine, sensor: str) -> int:
    with engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(m.Reading).where(m.Reading.sensor_id == sensor))


def test_a_compressor_failure_over_the_broker_puts_exactly_the_lots_inside_under_review(
        database_url: str, make_config: Callable[..., Any], ingest_processes: Callable[..., Any],
        engine_for: Callable[[str], sa.Engine], mqtt_url: str, prefix: str) -> None:
    _config, path = make_config(
        database_url,
        sites=[{"name": "Clinic", "timezone": "Europe/Berlin"}],
        fridges=[{"name": "A1", "site": "Clinic", "sensors": ["native:a1-probe"]},
                 {"name": "B2", "site": "Clinic", "sensors": ["native:b2-probe"]}],
    )
    engine = engine_for(database_url)
    ingest = ingest_processes(path).start()
    publisher = Publisher(mqtt_url, f"pub-{prefix.strip('/')}")
    now = int(time.time())

    def minute(k: float) -> datetime:
        return datetime.fromtimestamp(now + k * 60, UTC)

    try:
        # Ingest declares the fridges at start and stores a probe's reading once it has subscribed.
        def ingesting() -> bool:
            assert ingest.running(), ingest.log_tail()
            publisher.publish([native(prefix, "probe", 5.0)])
            return readings_stored(engine, "native:probe") > 0

        wait_until(ingesting, 30, interval=0.3, what="ingest to store a probe reading")
        with so.Session(engine) as session:
            fridge = {f.name: f.id for f in session.scalars(sa.select(m.Fridge))}
            botox = session.scalar(sa.select(m.Product.id).where(m.Product.catalogue_key == "botox"))

        def stock(fn: Callable[[so.Session], Any]) -> Any:
            with so.Session(engine, expire_on_commit=False) as session, session.begin():
                return fn(session)

        def lot(number: str) -> int:
            return stock(lambda s: catalog.lot_for(s, product_id=botox, lot_number=number, expiry=date(2028, 1, 31),
                                                     actor="nurse.ana", now=minute(-90)).id)

        inside, moved_out, elsewhere, later = lot("IN-A1"), lot("OUT-A1"), lot("IN-B2"), lot("LATE-A1")

        def receive(lot_id: int, name: str, quantity: int, k: float) -> None:
            stock(lambda s: inventory.receive(s, lot_id=lot_id, fridge_id=fridge[name], quantity=quantity,
                                              actor="nurse.ana", now=minute(k)))

        receive(inside, "A1", 4, -80)
        receive(moved_out, "A1", 3, -80)
        receive(elsewhere, "B2", 2, -80)
        stock(lambda s: inventory.transfer(s, lot_id=moved_out, from_fridge_id=fridge["A1"],
                                           to_fridge_id=fridge["B2"], quantity=3, actor="nurse.ana",
                                           now=minute(-40)))  # moved out before the compressor failed
        receive(later, "A1", 2, -5)  # arrived after the excursion had ended

        # A1's compressor fails 30 minutes ago: 5 °C, then warming to 11.7 °C, repaired 12 minutes ago.
        a1 = ([(k, 5.0) for k in range(-60, -30, 2)] + [(k, 8.5 + (k + 30) * 0.2) for k in range(-30, -12, 2)]
              + [(k, 5.0) for k in range(-12, 1, 2)])
        b2 = [(k, 4.5) for k in range(-60, 1, 2)]
        publisher.publish([native(prefix, "a1-probe", c, now + k * 60) for k, c in a1]
                          + [native(prefix, "b2-probe", c, now + k * 60) for k, c in b2], pace=0.002)
        wait_until(lambda: readings_stored(engine, "native:a1-probe") == len(a1)
                   and readings_stored(engine, "native:b2-probe") == len(b2) and marked_fridges(engine) == [],
                   60, what="ingest to store and judge every reading")
    finally:
        publisher.close()

    with so.Session(engine) as session:
        reviews = session.execute(sa.select(m.LotReview.lot_id, m.LotReview.fridge_id, m.LotReview.started_at,
                                            m.LotReview.ended_at, m.LotReview.peak_c, m.LotReview.excursion_id,
                                            m.LotReview.created_by)).all()
        excursion = session.execute(sa.select(m.Excursion.id, m.Excursion.started_at).where(
            m.Excursion.fridge_id == fridge["A1"], m.Excursion.rule == "out-of-range")).one()
        review_alerts = session.execute(sa.select(m.Alert.fridge_id, m.Alert.subject, m.Alert.state).where(
            m.Alert.kind == "lot-review")).all()
        states = {lot_id: lot_status(session, lot_id, now=minute(1), tz=UTC)
                  for lot_id in (inside, moved_out, elsewhere, later)}
    assert reviews == [(inside, fridge["A1"], minute(-30), minute(-12), pytest.approx(11.7), excursion.id, "system")]
    assert excursion.started_at == minute(-30)
    assert review_alerts == [(fridge["A1"], lot_safety.review_subject(inside, _review_id(engine)), "open")]
    assert states == {inside: lots.Status.UNDER_REVIEW, moved_out: lots.Status.USABLE,
                      elsewhere: lots.Status.USABLE, later: lots.Status.USABLE}
    assert "Traceback" not in ingest.log(), ingest.log_tail()


def _review_id(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(sa.select(m.LotReview.id))
