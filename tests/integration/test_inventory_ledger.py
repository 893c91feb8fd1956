"""Property: whatever movements staff attempt, the quantities the inventory service reports equal the
ledger's sums, never go negative, and a refused movement writes nothing.

Drives the real service (:mod:`fridge_monitor.inventory.ledger`) on a SQLite database
built by the migrations, against a plain model of what each movement should do.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from fridge_monitor.inventory import catalog
from fridge_monitor.inventory import ledger as inventory
from fridge_monitor.inventory.catalog import InventoryError
from fridge_monitor.store import migrate
from fridge_monitor.store import models as m
from fridge_monitor.store.db import create_engine

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
FRIDGES = 3
LOTS = itertools.count(1)

fridge = st.integers(0, FRIDGES - 1)
amount = st.integers(1, 3)
receipt = st.tuples(st.just("receive"), fridge, st.integers(1, 8))
pick = st.none() | st.integers(0, 3)  # None: sealed units; a number: one of the opened vial groups
operation = st.one_of(
    receipt,
    st.tuples(st.just("use"), fridge, amount, pick),
    st.tuples(st.just("transfer"), fridge, fridge, amount, pick),
    st.tuples(st.just("reconstitute"), fridge, st.integers(1, 3)),
    st.tuples(st.just("discard"), fridge, amount, pick),
    st.tuples(st.just("correct"), fridge, st.integers(0, 6), pick),
)


class Ledger:
    def __init__(self, engine: sa.Engine, fridge_ids: list[int], product_id: int) -> None:
        self.engine, self.fridge_ids, self.product_id = engine, fridge_ids, product_id


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    path: Path = tmp_path_factory.mktemp("ledger") / "ledger.db"
    engine = create_engine({"url": f"sqlite:///{path}", "sqlite_synchronous": "off", "busy_timeout_s": 30.0})
    migrate.upgrade(engine)
    with so.Session(engine) as s, s.begin():
        site = m.Site(name="Clinic", timezone="Europe/Berlin", created_at=T0)
        s.add(site)
        s.flush()
        fridges = [m.Fridge(name=f"F{i}", site_id=site.id, kind="refrigerator", low_c=2.0, high_c=8.0,
                            alarm_profile="cdc-refrigerator", created_at=T0) for i in range(FRIDGES)]
        s.add_all(fridges)
        s.flush()
        product_id = s.scalar(sa.select(m.Product.id).where(m.Product.catalogue_key == "botox"))
        fridge_ids = [f.id for f in fridges]
    yield Ledger(engine, fridge_ids, product_id)
    engine.dispose()


def ledger_sums(session: so.Session, lot_id: int) -> dict[tuple[int, int | None], int]:
    e = m.StockEntry
    rows = session.execute(sa.select(e.fridge_id, e.opened_vial_id, sa.func.sum(e.delta))
                           .where(e.lot_id == lot_id).group_by(e.fridge_id, e.opened_vial_id))
    return {(f, o): int(total) for f, o, total in rows if total != 0}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(opening=st.lists(receipt, min_size=1, max_size=3), later=st.lists(operation, min_size=1, max_size=25))
def test_quantities_always_equal_the_ledger_and_never_go_negative(ledger, opening, later):
    operations = opening + later
    engine, ids = ledger.engine, ledger.fridge_ids
    with so.Session(engine) as s, s.begin():
        lot_id = catalog.lot_for(s, product_id=ledger.product_id, lot_number=f"P{next(LOTS)}",
                                   expiry=date(2030, 1, 31), actor="nurse", now=T0).id
    expected: dict[tuple[int, int | None], int] = defaultdict(int)
    groups: list[int] = []
    done = 0

    for step, op in enumerate(operations):
        now = T0 + timedelta(minutes=step)
        kind = op[0]
        group = groups[op[-1] % len(groups)] if kind in ("use", "transfer", "discard", "correct") and \
            op[-1] is not None and groups else None
        try:
            with so.Session(engine) as s, s.begin():
                if kind == "receive":
                    inventory.receive(s, lot_id=lot_id, fridge_id=ids[op[1]], quantity=op[2], actor="n", now=now)
                elif kind == "use":
                    inventory.use(s, lot_id=lot_id, fridge_id=ids[op[1]], quantity=op[2], opened_vial_id=group,
                                  actor="n", now=now)
                elif kind == "transfer":
                    inventory.transfer(s, lot_id=lot_id, from_fridge_id=ids[op[1]], to_fridge_id=ids[op[2]],
                                       quantity=op[3], opened_vial_id=group, actor="n", now=now)
                elif kind == "reconstitute":
                    movement = inventory.reconstitute(s, lot_id=lot_id, fridge_id=ids[op[1]], quantity=op[2],
                                                      actor="n", now=now)
                    assert movement.opened_vial is not None
                    new_group = movement.opened_vial.id
                elif kind == "discard":
                    inventory.discard(s, lot_id=lot_id, fridge_id=ids[op[1]], quantity=op[2], opened_vial_id=group,
                                      reason_code="damaged", actor="n", now=now)
                else:
                    inventory.correct(s, lot_id=lot_id, fridge_id=ids[op[1]], counted=op[2], opened_vial_id=group,
                                      reason="count", actor="n", now=now)
            ok, message = True, ""
        except InventoryError as exc:
            ok, message = False, str(exc)

        # What the movement should have done, on plain numbers.
        here = (ids[op[1]], group if kind != "receive" and kind != "reconstitute" else None)
        if kind == "receive":
            should = True
            expected[here] += op[2]
        elif kind in ("use", "discard"):
            should = expected[here] >= op[2]
            if should:
                expected[here] -= op[2]
        elif kind == "transfer":
            should = op[1] != op[2] and expected[here] >= op[3]
            if should:
                expected[here] -= op[3]
                expected[(ids[op[2]], group)] += op[3]
        elif kind == "reconstitute":
            should = expected[here] >= op[2]
            if should:
                expected[here] -= op[2]
                groups.append(new_group)
                expected[(ids[op[1]], new_group)] += op[2]
        else:
            should = expected[here] != op[2]
            if should:
                expected[here] = op[2]
        assert ok == should, (op, message)
        event(f"{kind} {'done' if ok else 'refused'}")
        done += ok

        with so.Session(engine) as s:
            sums = ledger_sums(s, lot_id)
            reported = {(h.fridge_id, h.opened_vial_id): h.quantity for h in inventory.stock(s, lot_id=lot_id)}
            assert reported == sums == {k: v for k, v in expected.items() if v}
            assert all(v > 0 for v in reported.values())
            for fridge_id in ids:
                assert inventory.quantity(s, lot_id, fridge_id) == sum(
                    v for (f, _), v in sums.items() if f == fridge_id)
            assert s.scalar(sa.select(sa.func.count()).select_from(m.StockMovement)
                            .where(m.StockMovement.lot_id == lot_id)) == done

    with so.Session(engine) as s:
        now_held = {h.fridge_id: h.quantity for h in inventory.location_history(s, lot_id) if h.until is None}
        assert now_held == {f: inventory.quantity(s, lot_id, f) for f in ids if inventory.quantity(s, lot_id, f)}
