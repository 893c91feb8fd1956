"""A lot's temperature history from the hourly rollups equals the raw computation, on SQLite and PostgreSQL.

Botox (2–8 °C) and Xeomin (20–25 °C, or 2–8 °C, or −20 to −10 °C) lots are kept
ten days in a fridge read every 5 minutes, with a warm afternoon, a cold
night and a reading on a limit; part of one lot moves to another fridge on the
hour, another part mid-hour. Each holding's figures on the lot page equal
:func:`fridge_monitor.core.exposure.temperatures_seen` over every raw reading,
before the rollups' held figures are computed (read raw) and after (read from
the rollups, with a handful of raw reads).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.alerts import evaluate
from fridge_monitor.alerts.evaluate import Evaluator
from fridge_monitor.config import build_config
from fridge_monitor.core import exposure
from fridge_monitor.core.readings import Reading
from fridge_monitor.ingest.batches import Batch, Store
from fridge_monitor.inventory import catalog, lot_safety
from fridge_monitor.inventory import ledger as inventory
from fridge_monitor.inventory.lot_safety import lot_exposure, lot_holdings, lot_info
from fridge_monitor.store import models as m
from fridge_monitor.store import period, rollups
from fridge_monitor.store.series import load_series
from fridge_monitor.store.sync import sync_config

T0 = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=10, minutes=17)
GAP = timedelta(minutes=35)  # the default profile's allowed gap


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def temperature(minute: int) -> float:
    day, of_day = divmod(minute, 24 * 60)
    if day == 3 and 14 * 60 <= of_day < 17 * 60:
        return 9.5  # a warm afternoon
    if day == 6 and 2 * 60 <= of_day < 3 * 60 + 20:
        return 1.5  # a cold night
    if day == 8 and of_day == 12 * 60 + 5:
        return 8.0  # on the limit
    return 4.0 + (minute // 5 % 5) * 0.2


@pytest.fixture
def stored(database_url, engine_for):
    engine = engine_for(database_url)
    config = build_config({
        "database": {"url": database_url},
        "sites": [{"name": "Clinic", "timezone": "Europe/Berlin"}],
        "fridges": [{"name": "A1", "site": "Clinic", "sensors": ["native:a1"]},
                    {"name": "B2", "site": "Clinic", "sensors": ["native:b2"]}],
    }, {}, {}, "test")
    with so.Session(engine) as session, session.begin():
        sync_config(session, config, T0 - timedelta(days=2))
        fridge = {f.name: f.id for f in session.scalars(sa.select(m.Fridge))}
        product = dict(session.execute(sa.select(m.Product.catalogue_key, m.Product.id)).all())
    store = Store(engine)
    minutes = range(-60, 10 * 24 * 60 + 15, 5)
    for sensor, offset in (("a1", 0.0), ("b2", 0.3)):
        points = [(Reading(f"native:{sensor}", "native", sensor, at(k), temperature(k) + offset), at(k))
                  for k in minutes]
        for i in range(0, len(points), 1500):
            store.write(Batch(readings=points[i:i + 1500]))

    def run(fn):  # noqa: ANN001, ANN202
        with so.Session(engine, expire_on_commit=False) as session, session.begin():
            return fn(session)

    lots = {}
    for key, number in (("botox", "B-1"), ("xeomin", "X-1")):
        lots[key] = run(lambda s, k=key, n=number: catalog.lot_for(
            s, product_id=product[k], lot_number=n, expiry=date(2027, 6, 30), actor="nurse.ana", now=at(-600)).id)
        run(lambda s, k=key: inventory.receive(s, lot_id=lots[k], fridge_id=fridge["A1"], quantity=6,
                                               actor="nurse.ana", now=at(-22)))
    # Part of Botox moves on the hour (day 5, 12:00), part of Xeomin mid-hour (day 7, 09:41).
    run(lambda s: inventory.transfer(s, lot_id=lots["botox"], from_fridge_id=fridge["A1"], to_fridge_id=fridge["B2"],
                                     quantity=2, actor="nurse.ana", now=at(5 * 1440 + 720)))
    run(lambda s: inventory.transfer(s, lot_id=lots["xeomin"], from_fridge_id=fridge["A1"],
                                     to_fridge_id=fridge["B2"], quantity=6, actor="nurse.ana",
                                     now=at(7 * 1440 + 581)))
    return engine, config, lots


def raw_history(engine: sa.Engine, lot_id: int) -> list[exposure.TemperaturesSeen]:
    """Each holding's figures from every raw reading, in the lot page's order."""
    with so.Session(engine) as session:
        product = lot_info(session, [lot_id])[lot_id].product
        out = []
        for holding in lot_holdings(session, [lot_id])[lot_id]:
            series = load_series(session, holding.fridge_id, T0 - timedelta(days=1), NOW, GAP)
            out.append(exposure.temperatures_seen(series, [holding], product, GAP, NOW))
    return out


def page(engine: sa.Engine, config, lot_id: int, monkeypatch: pytest.MonkeyPatch) -> tuple[lot_safety.LotExposure,
                                                                                            int]:
    """The lot page's history, and how many raw readings it read."""
    read = [0]
    real = period.load_series

    def counting(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202 - passes every call through
        series = real(*args, **kwargs)
        read[0] += len(series)
        return series

    monkeypatch.setattr(period, "load_series", counting)
    with so.Session(engine) as session:
        found = lot_exposure(session, lot_id, now=NOW, config=config)
    monkeypatch.setattr(period, "load_series", real)
    return found, read[0]


def same(found: lot_safety.LotExposure, expected: list[exposure.TemperaturesSeen]) -> None:
    assert len(found.holdings) == len(expected) >= 2
    for row, seen in zip(found.holdings, expected, strict=True):
        assert (row.low_c, row.high_c, row.readings) == (seen.low_c, seen.high_c, seen.readings)
        assert row.known_s == pytest.approx(seen.known.total_seconds(), abs=1e-6)
        assert row.out_of_range_s == pytest.approx(seen.out_of_range.total_seconds(), abs=1e-6)
        assert row.mkt_c == pytest.approx(seen.mkt_c, abs=1e-9)
    assert found.mkt_c == pytest.approx(exposure.overall_mkt(expected), abs=1e-9)


@pytest.mark.parametrize("key", ["botox", "xeomin"])
def test_a_lots_history_from_the_rollups_equals_the_raw_computation(stored, key, monkeypatch):
    engine, config, lots = stored
    expected = raw_history(engine, lots[key])
    assert sum(seen.out_of_range.total_seconds() for seen in expected) > 0  # the warm afternoon, the cold night
    found, raw_reads = page(engine, config, lots[key], monkeypatch)  # every hour stale: read raw
    same(found, expected)
    while rollups.refresh(engine):
        pass
    found, rollup_reads = page(engine, config, lots[key], monkeypatch)
    same(found, expected)
    # Of about 2,900 readings in the lot's holdings, the rollups leave a few hundred to read raw: the ragged ends
    # of each holding and the hours that straddle a limit.
    assert raw_reads > 2800 and rollup_reads < 300


def test_a_permitted_excursion_after_days_in_the_cabinet_is_judged_by_the_mkt_of_the_whole_stay(
        database_url, engine_for, monkeypatch):
    """USP <659>: Xeomin may be at 15-30 °C while the MKT since it came in stays at most 25 °C. Kept five days at
    24.6 °C, then at 29 °C: the review opens when the stay's MKT passes 25 °C, as the raw computation over the
    whole stay says, though each evaluation after a batch reads only the last hours raw (the stay's days before
    come from the rollups)."""
    engine = engine_for(database_url)
    config = build_config({
        "database": {"url": database_url},
        "sites": [{"name": "Clinic", "timezone": "Europe/Berlin"}],
        "fridges": [{"name": "Cabinet", "site": "Clinic", "kind": "room", "sensors": ["native:cab"]}],
    }, {}, {}, "test")
    with so.Session(engine) as session, session.begin():
        sync_config(session, config, T0 - timedelta(days=2))
        cabinet = session.scalar(sa.select(m.Fridge.id))
        xeomin = session.scalar(sa.select(m.Product.id).where(m.Product.catalogue_key == "xeomin"))
        lot_id = catalog.lot_for(session, product_id=xeomin, lot_number="X-5", expiry=date(2027, 6, 30),
                                 actor="nurse.ana", now=at(-600)).id
        inventory.receive(session, lot_id=lot_id, fridge_id=cabinet, quantity=3, actor="nurse.ana", now=at(-7))
    store = Store(engine)

    def write(first: int, last: int, celsius: float) -> None:
        store.write(Batch(readings=[(Reading("native:cab", "native", "cab", at(k), celsius), at(k))
                                    for k in range(first, last, 10)]))

    def judge(minute: int, *, everything: bool = False) -> None:
        evaluator = Evaluator(engine, config, clock=lambda: at(minute))
        evaluator.everything() if everything else evaluator.marked()
        evaluator.outbox.close()

    days = 5 * 24 * 60
    write(-60, days, 24.6)
    judge(days, everything=True)
    while rollups.refresh(engine):
        pass
    earliest: list[datetime] = []
    real = evaluate.readings_by_segment

    def recording(session, segs, lo, hi):  # noqa: ANN001, ANN202 - passes every call through
        earliest.append(lo)
        return real(session, segs, lo, hi)

    monkeypatch.setattr(evaluate, "readings_by_segment", recording)
    for hour in range(12):  # then 29 °C, an hour a batch, judged after each
        write(days + 60 * hour, days + 60 * (hour + 1), 29.0)
        judge(days + 60 * (hour + 1) - 10)
    monkeypatch.setattr(evaluate, "readings_by_segment", real)
    assert earliest and min(earliest) > at(days - 24 * 60)  # never the stay's first days, raw

    with so.Session(engine) as session:
        [holding] = lot_holdings(session, [lot_id])[lot_id]
        product = lot_info(session, [lot_id])[lot_id].product
        series = load_series(session, cabinet, at(-120), at(days + 720), GAP)
    [expected] = exposure.exposures(series, [holding], product, GAP, timedelta(minutes=15), at(days + 710),
                                    settle=timedelta(minutes=30))
    assert days < (expected.start - T0).total_seconds() / 60 < days + 720  # the MKT passed 25 °C at 29 °C
    with so.Session(engine) as session:
        reviews = session.execute(sa.select(m.LotReview.started_at, m.LotReview.peak_c)
                                  .where(m.LotReview.lot_id == lot_id)).all()
    assert [tuple(r) for r in reviews] == [(expected.start, 29.0)]
