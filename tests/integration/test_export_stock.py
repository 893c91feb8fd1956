"""`export stock`: the stock ledger as an inspector gets it from the command line, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.inventory import catalog
from fridge_monitor.inventory import ledger as inventory
from fridge_monitor.store import models as m
from fridge_monitor.store.sync import sync_config

from support import cli

T0 = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)  # 09:00 in Berlin
HEADER = ("id,at_utc,fridge,product,lot,expiry,movement,quantity,user,reason,"
          "reason_code,counted,opened_vial,from_fridge,to_fridge,corrects")
BOTOX = "Botox 100 U (onabotulinumtoxinA)"


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


class Ledger:
    """Fridges A1 and B2 in Berlin and one day of Botox movements, made through the inventory service."""

    def __init__(self, database_url: str, engine: sa.Engine, make_config) -> None:
        self.config, self.path = make_config(
            database_url,
            sites=[{"name": "Clinic A", "timezone": "Europe/Berlin"}],
            fridges=[{"name": "A1", "site": "Clinic A"}, {"name": "B2", "site": "Clinic A"}],
        )
        with so.Session(engine, expire_on_commit=False) as s, s.begin():
            sync_config(s, self.config, T0 - timedelta(days=1))
            a1, b2 = (s.scalar(sa.select(m.Fridge.id).where(m.Fridge.name == n)) for n in ("A1", "B2"))
            botox = s.scalar(sa.select(m.Product.id).where(m.Product.catalogue_key == "botox"))
            lot = catalog.lot_for(s, product_id=botox, lot_number="C3709C3", expiry=date(2027, 1, 31),
                                    actor="nurse.kim", now=at(0))
            self.receive = inventory.receive(s, lot_id=lot.id, fridge_id=a1, quantity=6, actor="nurse.kim", now=at(0))
            self.use = inventory.use(s, lot_id=lot.id, fridge_id=a1, actor="nurse.kim", now=at(10))
            self.transfer = inventory.transfer(s, lot_id=lot.id, from_fridge_id=a1, to_fridge_id=b2, quantity=2,
                                               actor="nurse.ben", now=at(20), note="A1 door seal failing")
            self.opened = inventory.reconstitute(s, lot_id=lot.id, fridge_id=b2, actor="nurse.ben", now=at(30))
            assert self.opened.opened_vial is not None
            self.vial = self.opened.opened_vial.id
            self.discard = inventory.discard(s, lot_id=lot.id, fridge_id=a1, quantity=1, reason_code="damaged",
                                             reason="dropped", actor="nurse.kim", now=at(40))
            self.correct = inventory.correct(s, lot_id=lot.id, fridge_id=a1, counted=1, reason="weekly count",
                                             corrects_id=self.use.id, actor="boss", now=at(60 * 24))  # next day

    def export(self, *args: str) -> tuple[int, str, str]:
        result = cli("--config", str(self.path), "export", "stock", *args)
        return result.returncode, result.stdout, result.stderr

    def rows(self, *args: str) -> list[dict[str, str]]:
        code, out, err = self.export(*args)
        assert code == 0, err
        assert out.splitlines()[0].startswith(HEADER)
        return list(csv.DictReader(io.StringIO(out)))


@pytest.fixture
def ledger(database_url, engine_for, make_config) -> Ledger:
    return Ledger(database_url, engine_for(database_url), make_config)


def brief(rows: list[dict[str, str]]) -> list[tuple[str, ...]]:
    return [(r["movement"], r["fridge"], r["quantity"], r["user"]) for r in rows]


def test_the_ledger_one_signed_row_per_entry(ledger):
    code, out, _ = ledger.export("--from", "2026-03-10", "--to", "2026-03-10")
    assert code == 0 and out.splitlines()[0] == HEADER
    rows = list(csv.DictReader(io.StringIO(out)))
    assert brief(rows) == [
        ("receive", "A1", "6", "nurse.kim"),
        ("use", "A1", "-1", "nurse.kim"),
        ("transfer", "A1", "-2", "nurse.ben"),
        ("transfer", "B2", "2", "nurse.ben"),
        ("reconstitute", "B2", "-1", "nurse.ben"),
        ("reconstitute", "B2", "1", "nurse.ben"),
        ("discard", "A1", "-1", "nurse.kim"),
    ]
    receive = rows[0]
    assert receive == {
        "id": str(ledger.receive.id), "at_utc": "2026-03-10T08:00:00Z", "fridge": "A1", "product": BOTOX,
        "lot": "C3709C3", "expiry": "2027-01-31", "movement": "receive", "quantity": "6", "user": "nurse.kim",
        "reason": "", "reason_code": "", "counted": "", "opened_vial": "", "from_fridge": "", "to_fridge": "",
        "corrects": ""}
    out_of_a1, into_b2 = rows[2], rows[3]
    assert out_of_a1["id"] == into_b2["id"] == str(ledger.transfer.id)
    for row in (out_of_a1, into_b2):
        assert (row["from_fridge"], row["to_fridge"], row["reason"]) == ("A1", "B2", "A1 door seal failing")
    assert (rows[4]["opened_vial"], rows[5]["opened_vial"]) == ("", str(ledger.vial))
    assert (rows[6]["reason_code"], rows[6]["reason"]) == ("damaged", "dropped")
    assert sum(int(r["quantity"]) for r in rows if r["fridge"] == "A1") == 2


def test_a_correction_the_next_day_and_the_period_bounds(ledger):
    rows = ledger.rows("--from", "2026-03-11", "--to", "2026-03-11")
    assert [(r["movement"], r["quantity"], r["counted"], r["corrects"], r["reason"]) for r in rows] == [
        ("correct", "-1", "1", str(ledger.use.id), "weekly count")]
    assert len(ledger.rows("--from", "2026-03-10", "--to", "2026-03-11")) == 8
    assert ledger.rows("--from", "2026-03-12", "--to", "2026-03-31") == []
    # An exact bound: only what happened before 08:15 UTC.
    assert brief(ledger.rows("--from", "2026-03-10", "--to", "2026-03-10T08:15:00Z")) == [
        ("receive", "A1", "6", "nurse.kim"), ("use", "A1", "-1", "nurse.kim")]


def test_fridge_filter_keeps_that_fridges_entries_and_names_both_sides_of_a_transfer(ledger):
    b2 = ledger.rows("--from", "2026-03-10", "--to", "2026-03-11", "--fridge", "B2")
    assert brief(b2) == [("transfer", "B2", "2", "nurse.ben"), ("reconstitute", "B2", "-1", "nurse.ben"),
                         ("reconstitute", "B2", "1", "nurse.ben")]
    assert (b2[0]["from_fridge"], b2[0]["to_fridge"]) == ("A1", "B2")
    a1 = ledger.rows("--from", "2026-03-10", "--to", "2026-03-11", "--fridge", "A1")
    assert {r["fridge"] for r in a1} == {"A1"} and sum(int(r["quantity"]) for r in a1) == 1  # the count: 1
    code, _, err = ledger.export("--from", "2026-03-10", "--to", "2026-03-11", "--fridge", "Z9")
    assert code != 0 and "--fridge: no fridge named 'Z9'" in err


def test_tz_reads_the_dates_locally_and_adds_the_local_time(ledger, tmp_path):
    out = tmp_path / "stock.csv"
    code, _, err = ledger.export("--from", "2026-03-10", "--to", "2026-03-10", "--tz", "Europe/Berlin",
                                 "--out", str(out))
    assert code == 0 and "7 rows written" in err
    text = out.read_text()
    assert text.splitlines()[0] == HEADER + ",at_local"
    rows = list(csv.DictReader(io.StringIO(text)))
    assert (rows[0]["at_utc"], rows[0]["at_local"]) == ("2026-03-10T08:00:00Z", "2026-03-10T09:00:00+01:00")
    # 2026-03-11 in Berlin starts at 23:00 UTC on the 10th: the next day's correction at 08:00 UTC is in it.
    assert [r["movement"] for r in ledger.rows("--from", "2026-03-11", "--to", "2026-03-11", "--tz",
                                                "Europe/Berlin")] == ["correct"]
