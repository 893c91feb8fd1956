"""The inventory JSON API through the Flask test client with bearer tokens, on SQLite and PostgreSQL.

GTINs here are examples under GS1's prefix 950 (GS1 Global Office, used in
GS1's documentation), not any manufacturer's real product. The API works on
the real clock, so expiry dates are chosen relative to today.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.config import build_config
from fridge_monitor.inventory import catalog
from fridge_monitor.inventory import ledger as inventory
from fridge_monitor.store import accounts
from fridge_monitor.store import models as m
from fridge_monitor.store.sync import sync_config
from fridge_monitor.web import create_app

GTIN = "09506000134352"
SCAN = f"]d201{GTIN}17300131" "10C3709C3\x1d21SN0001"
BOTOX = "Botox 100 U (onabotulinumtoxinA)"
FAR = "2030-01-31"
PAST = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
SIGNED = {"password": "correct horse battery", "meaning": "approved"}  # a signature in an API body


class Clinic:
    """Fridges A1 and B2 in Berlin, the seeded catalogue, and a bearer token per role."""

    def __init__(self, url: str, engine: sa.Engine, **sections: Any) -> None:
        self.engine = engine
        config = build_config({
            **sections, "database": {"url": url}, "web": {"secret_key": "k" * 40},
            "sites": [{"name": "Clinic A", "timezone": "Europe/Berlin"}],
            "fridges": [{"name": "A1", "site": "Clinic A"}, {"name": "B2", "site": "Clinic A"}],
        }, {}, {}, "test")
        now = datetime.now(UTC)
        self.tokens: dict[str, str] = {}
        with so.Session(engine) as session, session.begin():
            sync_config(session, config, now - timedelta(days=1))
            for name, role in (("nurse.kim", "nurse"), ("audrey", "auditor"), ("boss", "admin"),
                               ("nurse.ben", "nurse")):
                user = accounts.create_user(session, name, role, "correct horse battery", actor="test", now=now,
                                            full_name=f"{name.title()} Tester")
                self.tokens[name] = accounts.new_token(session, user, actor="test", now=now)
            self.fridge_ids = {k: v for k, v in session.execute(sa.select(m.Fridge.name, m.Fridge.id))}
            self.products = {k: v for k, v in session.execute(sa.select(m.Product.catalogue_key, m.Product.id))}
        self.app = create_app(config, engine=engine, testing=True)

    def call(self, method: str, path: str, user: str = "nurse.kim", body: Any = None) -> tuple[int, Any]:
        response = self.app.test_client().open(path, method=method, json=body,
                                               headers={"Authorization": f"Bearer {self.tokens[user]}"})
        return response.status_code, response.get_json()

    def post(self, path: str, body: Any, user: str = "nurse.kim") -> tuple[int, Any]:
        return self.call("POST", "/api/v1" + path, user, body)

    def get(self, path: str, user: str = "audrey") -> tuple[int, Any]:
        return self.call("GET", "/api/v1" + path, user)

    def receive(self, lot: str, quantity: int, expiry: str = FAR, fridge: str = "A1", product: Any = BOTOX) -> Any:
        status, body = self.post("/stock/receive", {"fridge": fridge, "product": product, "lot": lot,
                                                    "expiry": expiry, "quantity": quantity})
        assert status == 200, body
        return body

    def run(self, fn: Any) -> Any:
        with so.Session(self.engine, expire_on_commit=False) as session, session.begin():
            return fn(session)


@pytest.fixture
def clinic(database_url, engine_for) -> Clinic:
    return Clinic(database_url, engine_for(database_url))


def message(body: Any) -> str:
    return body["error"]["message"]


def test_scan_reads_the_code_and_says_when_its_gtin_is_not_linked(clinic):
    status, body = clinic.post("/scan", {"code": SCAN}, user="audrey")  # reading only: every role may scan
    assert status == 200
    assert body == {"gtin": GTIN, "lot": "C3709C3", "expiry": "2030-01-31", "serial": "SN0001", "product": None,
                    "lot_id": None,
                    "message": f"GTIN {GTIN} is not linked to a product yet: choose its product once, then scan again"}
    clinic.run(lambda s: catalog.link_gtin(s, GTIN, clinic.products["botox"], actor="boss", now=PAST))
    status, body = clinic.post("/scan", {"code": SCAN.replace("\x1d", "\u241d")})
    assert status == 200 and body["message"] is None and body["lot_id"] is None
    assert body["product"]["name"] == BOTOX and body["product"]["gtins"] == [GTIN]
    received = clinic.receive("C3709C3", 2, product=clinic.products["botox"])
    assert clinic.post("/scan", {"code": SCAN})[1]["lot_id"] == received["movement"]["lot"]["id"]


@pytest.mark.parametrize(("body", "says"), [
    ({"code": ""}, "the scan is empty"),
    ({"code": f"01{GTIN[:-1]}9"}, "check digit"),
    ({"code": f"01{GTIN}10abé"}, 'the lot (10) \'abé\' contains "é", which GS1 does not allow in a lot'),
    ({"code": 42}, "field 'code'"),
    ([SCAN], "send a JSON object"),
])
def test_a_bad_scan_is_400_with_the_reason(clinic, body, says):
    status, answer = clinic.post("/scan", body)
    assert status == 400 and answer["error"]["code"] == 400
    assert says in message(answer)


def test_receive_by_product_or_gtin_then_use_transfer_reconstitute_discard_correct(clinic):
    first = clinic.receive("C3709C3", 5)
    movement = first["movement"]
    assert (movement["kind"], movement["fridge"], movement["quantity"], movement["actor"]) == (
        "receive", "A1", 5, "nurse.kim")
    assert movement["lot"]["number"] == "C3709C3" and movement["lot"]["product"] == BOTOX
    assert movement["at"].endswith("Z") and movement["entries"] == [
        {"fridge": "A1", "delta": 5, "opened_vial_id": None}]
    assert first["quantities"] == {"A1": 5} and first["lot_quantity"] == 5
    lot_id = movement["lot"]["id"]

    clinic.run(lambda s: catalog.link_gtin(s, GTIN, clinic.products["botox"], actor="boss", now=PAST))
    status, body = clinic.post("/stock/receive", {"fridge": "A1", "gtin": GTIN, "lot": "C3709C3", "expiry": FAR,
                                                  "quantity": 1, "serial": "SN0001"})
    assert status == 200 and body["quantities"] == {"A1": 6}
    status, body = clinic.post("/stock/receive", {"fridge": "A1", "gtin": GTIN, "lot": "C3709C3", "expiry": FAR,
                                                  "quantity": 1, "serial": "SN0001"})
    assert status == 409 and "serial SN0001" in message(body) and "already received" in message(body)

    status, body = clinic.post("/stock/use", {"fridge": "A1", "lot_id": lot_id})
    assert status == 200 and body["movement"]["kind"] == "use" and body["quantities"] == {"A1": 5}
    status, body = clinic.post("/stock/use", {"fridge": "A1", "product": BOTOX, "lot": "C3709C3", "quantity": 2})
    assert status == 200 and body["quantities"] == {"A1": 3}

    status, body = clinic.post("/stock/transfer", {"from": "A1", "to": "B2", "lot_id": lot_id, "quantity": 2},
                               user="boss")
    assert status == 200, body
    move = body["movement"]
    assert (move["kind"], move["from"], move["to"], move["fridge"], move["actor"]) == (
        "transfer", "A1", "B2", None, "boss")
    assert move["fridges"] == ["A1", "B2"] and body["quantities"] == {"A1": 1, "B2": 2}
    assert body["lot_quantity"] == 3

    status, body = clinic.post("/stock/reconstitute", {"fridge": "B2", "lot_id": lot_id})
    assert status == 200
    opened = body["movement"]["opened_vial"]
    assert opened["id"] and opened["beyond_use_at"].endswith("Z")
    beyond = datetime.fromisoformat(opened["beyond_use_at"]) - datetime.fromisoformat(opened["opened_at"])
    assert beyond == timedelta(hours=24)
    assert body["quantities"] == {"B2": 2} and body["movement"]["entries"] == [
        {"fridge": "B2", "delta": -1, "opened_vial_id": None},
        {"fridge": "B2", "delta": 1, "opened_vial_id": opened["id"]}]
    status, body = clinic.post("/stock/use", {"fridge": "B2", "lot_id": lot_id, "opened_vial_id": opened["id"]})
    assert status == 200 and body["quantities"] == {"B2": 1}

    status, body = clinic.post("/stock/discard", {"fridge": "B2", "lot_id": lot_id, "quantity": 1,
                                                  "reason_code": "damaged", "reason": "dropped on the floor"})
    assert status == 200 and body["movement"]["reason_code"] == "damaged"
    assert body["movement"]["reason"] == "dropped on the floor" and body["quantities"] == {"B2": 0}

    status, body = clinic.post("/stock/correct", {"fridge": "A1", "lot_id": lot_id, "counted": 3,
                                                  "reason": "two vials found behind the tray"})
    assert status == 200 and body["movement"]["counted"] == 3 and body["movement"]["quantity"] == 2
    assert body["quantities"] == {"A1": 3}
    status, body = clinic.post("/stock/correct", {"fridge": "A1", "lot_id": lot_id, "counted": 3, "reason": "again"})
    assert status == 409 and "nothing to correct" in message(body)

    status, detail = clinic.get(f"/lots/{lot_id}")
    assert status == 200
    assert [mv["kind"] for mv in detail["movements"]] == [
        "receive", "receive", "use", "use", "transfer", "reconstitute", "use", "discard", "correct"]
    assert detail["quantity"] == 3 and detail["fridges"] == [{"fridge": "A1", "quantity": 3, "opened": 0}]
    assert detail["holdings"] == [{"fridge": "A1", "quantity": 3, "opened_vial_id": None, "opened_at": None,
                                   "beyond_use_at": None, "status": "usable"}]
    assert {h["fridge"] for h in detail["history"]} == {"A1", "B2"}
    assert detail["reviews"] == [] and detail["gtin"] is None


def test_below_zero_is_409_with_the_message_and_writes_nothing(clinic):
    lot_id = clinic.receive("C3709C3", 1)["movement"]["lot"]["id"]
    status, body = clinic.post("/stock/use", {"fridge": "A1", "lot_id": lot_id, "quantity": 2})
    assert status == 409
    assert body == {"error": {"code": 409, "message": f"only 1 vial of lot C3709C3 ({BOTOX}) in fridge A1: "
                                                      "cannot use 2"}}
    status, body = clinic.post("/stock/transfer", {"from": "B2", "to": "A1", "lot_id": lot_id, "quantity": 1})
    assert status == 409 and message(body) == f"no vials of lot C3709C3 ({BOTOX}) in fridge B2: cannot move 1"
    assert clinic.run(lambda s: inventory.quantity(s, lot_id)) == 1
    assert len(clinic.get(f"/lots/{lot_id}")[1]["movements"]) == 1


@pytest.mark.parametrize(("path", "body", "code", "says"), [
    ("/stock/receive", {"fridge": "Z9", "product": BOTOX, "lot": "L1", "expiry": FAR, "quantity": 1}, 404,
     "there is no fridge named 'Z9'"),
    ("/stock/receive", {"fridge": "A1", "product": "Aspirin", "lot": "L1", "expiry": FAR, "quantity": 1}, 404,
     "there is no product 'Aspirin'"),
    ("/stock/receive", {"fridge": "A1", "gtin": GTIN, "lot": "L1", "expiry": FAR, "quantity": 1}, 404,
     "is not linked to a product yet"),
    ("/stock/receive", {"fridge": "A1", "product": BOTOX, "lot": "L1", "expiry": "31.01.2030", "quantity": 1}, 400,
     "field 'expiry': '31.01.2030' is not a date"),
    ("/stock/receive", {"fridge": "A1", "product": BOTOX, "lot": "L1", "expiry": FAR, "quantity": 0}, 400,
     "field 'quantity': must be a whole number, 1 or more"),
    ("/stock/receive", {"fridge": "A1", "product": BOTOX, "lot": "L1", "expiry": "2020-01-31", "quantity": 1}, 409,
     "expired on 2020-01-31"),
    ("/stock/receive", {"fridge": "A1", "product": BOTOX, "expiry": FAR, "quantity": 1}, 400, "field 'lot': missing"),
    ("/stock/use", {"fridge": "A1", "lot_id": 999999}, 404, "there is no lot 999999"),
    ("/stock/use", {"fridge": "A1", "product": BOTOX, "lot": "NOPE"}, 404, f"there is no lot NOPE of {BOTOX}"),
    ("/stock/use", {"fridge": "A1"}, 400, "field 'lot_id': missing"),
    ("/stock/use", {"fridge": "A1", "lot_id": "seven"}, 400, "field 'lot_id'"),
    ("/stock/transfer", {"from": "A1", "to": "A1", "product": BOTOX, "lot": "C3709C3", "quantity": 1}, 409,
     "choose a different fridge"),
    ("/stock/discard", {"fridge": "A1", "product": BOTOX, "lot": "C3709C3", "quantity": 1, "reason_code": "bored"},
     400, "field 'reason_code': 'bored' is not one of expired, excursion, damaged, beyond_use, other"),
    ("/stock/discard", {"fridge": "A1", "product": BOTOX, "lot": "C3709C3", "quantity": 1, "reason_code": "other"},
     400, "field 'reason': missing"),
    ("/stock/correct", {"fridge": "A1", "product": BOTOX, "lot": "C3709C3", "counted": 1}, 400,
     "field 'reason': missing"),
    ("/stock/use", {"fridge": "A1", "product": BOTOX, "lot": "C3709C3", "opened_vial_id": 999999}, 404,
     "there is no opened vial 999999 of lot C3709C3"),
    ("/stock/use", "not an object", 400, "send a JSON object"),
])
def test_clear_errors(clinic, path, body, code, says):
    clinic.receive("C3709C3", 2)
    status, answer = clinic.post(path, body)
    assert status == code, answer
    assert answer["error"]["code"] == code and says in message(answer)


def test_an_auditor_may_read_and_scan_but_not_change_stock(clinic):
    lot_id = clinic.receive("C3709C3", 2)["movement"]["lot"]["id"]
    for path, body in (("/stock/receive", {"fridge": "A1", "product": BOTOX, "lot": "X", "expiry": FAR,
                                           "quantity": 1}),
                       ("/stock/use", {"fridge": "A1", "lot_id": lot_id}),
                       ("/stock/transfer", {"from": "A1", "to": "B2", "lot_id": lot_id, "quantity": 1}),
                       ("/stock/reconstitute", {"fridge": "A1", "lot_id": lot_id}),
                       ("/stock/discard", {"fridge": "A1", "lot_id": lot_id, "quantity": 1, "reason_code": "damaged"}),
                       ("/stock/correct", {"fridge": "A1", "lot_id": lot_id, "counted": 0, "reason": "x"}),
                       (f"/lots/{lot_id}/disposition", {"decision": "discarded"})):
        status, answer = clinic.post(path, body, user="audrey")
        assert status == 403 and message(answer) == "the auditor role may not do this", path
    assert clinic.run(lambda s: inventory.quantity(s, lot_id)) == 2
    assert clinic.get("/lots")[0] == 200 and clinic.get("/products")[0] == 200
    unsigned = clinic.app.test_client().post("/api/v1/stock/use", json={"fridge": "A1", "lot_id": lot_id})
    assert unsigned.status_code == 401


def test_two_clients_take_the_last_vial_at_once_and_exactly_one_succeeds(clinic):
    lot_id = clinic.receive("C3709C3", 1)["movement"]["lot"]["id"]
    start = threading.Barrier(2)
    results: dict[str, tuple[int, Any]] = {}

    def take(user: str) -> None:
        client = clinic.app.test_client()
        start.wait(10)
        response = client.post("/api/v1/stock/use", json={"fridge": "A1", "lot_id": lot_id},
                               headers={"Authorization": f"Bearer {clinic.tokens[user]}"})
        results[user] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=take, args=(user,)) for user in ("nurse.kim", "nurse.ben")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(code for code, _ in results.values()) == [200, 409], results
    refused = next(body for code, body in results.values() if code == 409)
    assert message(refused) == f"no vials of lot C3709C3 ({BOTOX}) in fridge A1: cannot use 1"
    assert clinic.run(lambda s: inventory.quantity(s, lot_id)) == 0
    assert [mv["kind"] for mv in clinic.get(f"/lots/{lot_id}")[1]["movements"]] == ["receive", "use"]


def put_under_review(clinic: Clinic, lot_id: int) -> int:
    def add(s: so.Session) -> int:
        now = datetime.now(UTC)
        review = m.LotReview(lot_id=lot_id, fridge_id=clinic.fridge_ids["A1"], started_at=now - timedelta(hours=2),
                             ended_at=now - timedelta(hours=1), exposure_s=3600.0, peak_c=11.2, low_c=8.1, mkt_c=9.4,
                             reason="excursion in A1", created_at=now, created_by="system", updated_at=now)
        s.add(review)
        s.flush()
        return review.id

    return clinic.run(add)


def test_lots_by_fridge_and_status_and_fefo_next(clinic):
    soon = (date.today() + timedelta(days=30)).isoformat()
    later = clinic.receive("LATER", 3, expiry=FAR)["movement"]["lot"]["id"]
    expiring = clinic.receive("SOON", 2, expiry=soon)["movement"]["lot"]["id"]
    reviewed = clinic.receive("EXPOSED", 2, expiry="2029-06-30")["movement"]["lot"]["id"]
    clinic.receive("MMR1", 4, expiry=FAR, fridge="B2", product=clinic.products["mmr"])
    put_under_review(clinic, reviewed)

    def received_long_ago(s: so.Session) -> int:
        lot = catalog.lot_for(s, product_id=clinic.products["botox"], lot_number="OLD", expiry=date(2026, 6, 30),
                                actor="nurse.kim", now=PAST)
        inventory.receive(s, lot_id=lot.id, fridge_id=clinic.fridge_ids["A1"], quantity=1, actor="nurse.kim", now=PAST)
        return lot.id

    expired = clinic.run(received_long_ago)

    status, body = clinic.get("/lots?fridge=A1")
    assert status == 200 and body["fridge"] == "A1"
    by_number = {lot["lot"]: lot for lot in body["lots"]}
    assert [lot["lot"] for lot in body["lots"]] == ["OLD", "SOON", "EXPOSED", "LATER"]  # soonest expiry first
    assert {n: (lot["status"], lot["quantity"]) for n, lot in by_number.items()} == {
        "OLD": ("expired", 1), "SOON": ("expiring", 2), "EXPOSED": ("under_review", 2), "LATER": ("usable", 3)}
    assert by_number["LATER"]["product"] == BOTOX and by_number["LATER"]["expiry"] == FAR
    assert by_number["LATER"]["id"] == later and by_number["OLD"]["id"] == expired

    assert [lot["lot"] for lot in clinic.get("/lots")[1]["lots"]] == ["OLD", "SOON", "EXPOSED", "LATER", "MMR1"]
    assert [lot["lot"] for lot in clinic.get("/lots?status=under_review")[1]["lots"]] == ["EXPOSED"]
    assert [lot["lot"] for lot in clinic.get("/lots?status=usable,expiring")[1]["lots"]] == [
        "SOON", "LATER", "MMR1"]
    assert [lot["lot"] for lot in clinic.get("/lots?fridge=B2&status=usable")[1]["lots"]] == ["MMR1"]
    status, body = clinic.get("/lots?status=fine")
    assert status == 400 and "parameter 'status': 'fine' is not one of usable, expiring" in message(body)
    assert clinic.get("/lots?fridge=Z9")[0] == 404

    # A transfer splits the quantities; filtered by fridge, each lot shows that fridge's units.
    clinic.post("/stock/transfer", {"from": "A1", "to": "B2", "lot_id": later, "quantity": 1})
    everywhere = {lot["lot"]: lot for lot in clinic.get("/lots")[1]["lots"]}
    assert everywhere["LATER"]["quantity"] == 3 and everywhere["LATER"]["fridges"] == [
        {"fridge": "A1", "quantity": 2, "opened": 0}, {"fridge": "B2", "quantity": 1, "opened": 0}]
    assert {lot["lot"]: lot["quantity"] for lot in clinic.get("/lots?fridge=B2")[1]["lots"]} == {
        "LATER": 1, "MMR1": 4}

    status, body = clinic.get("/fridges/A1/next?product=" + BOTOX)
    assert status == 200
    assert (body["lot"], body["lot_id"], body["status"], body["quantity"]) == ("SOON", expiring, "expiring", 2)
    clinic.post("/stock/use", {"fridge": "A1", "lot_id": expiring, "quantity": 2})
    body = clinic.get(f"/fridges/A1/next?product={clinic.products['botox']}")[1]
    assert body["lot"] == "LATER"  # EXPOSED expires sooner but is under review; OLD is expired
    clinic.post("/stock/transfer", {"from": "A1", "to": "B2", "lot_id": later, "quantity": 2})
    status, body = clinic.get("/fridges/A1/next?product=" + BOTOX)
    assert status == 404
    assert message(body) == (f"nothing usable of {BOTOX} in fridge A1 "
                             "(held: lot OLD expired; lot EXPOSED under_review)")
    assert clinic.get("/fridges/A1/next")[0] == 400
    assert clinic.get("/fridges/Z9/next?product=" + BOTOX)[0] == 404
    assert clinic.get("/fridges/A1/next?product=Aspirin")[0] == 404

    empty = {lot["lot"] for lot in clinic.get("/lots?all=true")[1]["lots"]}
    assert "SOON" in empty and "SOON" not in {lot["lot"] for lot in clinic.get("/lots")[1]["lots"]}


def test_disposition_releases_or_discards_a_lot_under_review(clinic):
    released = clinic.receive("EXPOSED", 2)["movement"]["lot"]["id"]
    dropped = clinic.receive("RUINED", 3)["movement"]["lot"]["id"]
    review = put_under_review(clinic, released)
    put_under_review(clinic, dropped)
    status, body = clinic.post("/stock/use", {"fridge": "A1", "lot_id": released})
    assert status == 409 and "under review after an excursion" in message(body)

    status, body = clinic.post(f"/lots/{released}/disposition", {"decision": "released"})
    assert status == 400 and "field 'reference'" in message(body)
    status, body = clinic.post(f"/lots/{released}/disposition", {"decision": "maybe"})
    assert status == 400 and "field 'decision'" in message(body)
    assert clinic.post("/lots/999999/disposition", {"decision": "discarded"})[0] == 404

    # A disposition is signed: the token alone cannot sign; the person's password in the body does.
    status, body = clinic.post(f"/lots/{released}/disposition", {"decision": "released", "reference": "MFR-1"})
    assert status == 403 and "a disposition is signed ([signatures] require_for)" in message(body)
    status, body = clinic.post(f"/lots/{released}/disposition",
                               {"decision": "released", "reference": "MFR-2026-0042", "note": "stability data OK",
                                "signature": SIGNED})
    assert status == 200, body
    assert body["status"] == "released" and len(body["recorded"]) == 1
    assert body["reviews"][0]["id"] == review and body["reviews"][0]["decision"] == "released"
    disposition = body["reviews"][0]["dispositions"][0]
    assert (disposition["reference"], disposition["note"], disposition["decided_by"]) == (
        "MFR-2026-0042", "stability data OK", "nurse.kim")
    status, body = clinic.post(f"/lots/{released}/disposition", {"decision": "discarded", "signature": SIGNED})
    assert status == 409 and "no review waiting" in message(body)
    assert clinic.post("/stock/use", {"fridge": "A1", "lot_id": released})[0] == 200

    status, body = clinic.post(f"/lots/{dropped}/disposition", {"decision": "discarded", "signature": SIGNED},
                               user="boss")
    assert status == 200 and body["status"] == "discarded" and body["quantity"] == 0
    assert [(mv["kind"], mv["reason_code"], mv["quantity"]) for mv in body["movements"]][-1] == (
        "discard", "excursion", 3)
    assert [lot["lot"] for lot in clinic.get("/lots?status=discarded&all=1")[1]["lots"]] == ["RUINED"]


def test_products_with_ranges_and_gtins(clinic):
    clinic.run(lambda s: catalog.link_gtin(s, GTIN, clinic.products["xeomin"], actor="boss", now=PAST))
    status, body = clinic.get("/products")
    assert status == 200
    by_name = {p["name"]: p for p in body["products"]}
    xeomin = next(p for p in body["products"] if p["id"] == clinic.products["xeomin"])
    assert xeomin["gtins"] == [GTIN] and xeomin["freezing_allowed"] and xeomin["beyond_use_hours"] == 24.0
    assert sorted((r["low_c"], r["high_c"]) for r in xeomin["ranges"]) == [(-20.0, -10.0), (2.0, 8.0), (20.0, 25.0)]
    assert by_name[BOTOX]["gtins"] == [] and [(r["low_c"], r["high_c"]) for r in by_name[BOTOX]["ranges"]] == [
        (2.0, 8.0)]
    assert list(by_name) == sorted(by_name)


def test_link_a_gtin_then_receive_by_scanning(clinic):
    status, body = clinic.post("/stock/receive", {"fridge": "A1", "code": SCAN, "quantity": 2})
    assert status == 404 and "is not linked to a product yet" in message(body)
    assert clinic.post("/gtins", {"gtin": GTIN, "product": BOTOX}, user="audrey")[0] == 403
    status, body = clinic.post("/gtins", {"gtin": GTIN[:-1] + "9", "product": BOTOX})
    assert status == 400 and "field 'gtin'" in message(body) and "check digit" in message(body)
    assert clinic.post("/gtins", {"gtin": GTIN, "product": "Aspirin"})[0] == 404
    status, body = clinic.post("/gtins", {"gtin": GTIN[1:], "product": BOTOX})  # GTIN-13 is read as GTIN-14
    assert status == 200 and body["gtin"] == GTIN and body["product"]["name"] == BOTOX
    assert body["linked_by"] == "nurse.kim"
    assert clinic.post("/gtins", {"gtin": GTIN, "product": BOTOX})[0] == 200  # again: nothing changes
    status, body = clinic.post("/gtins", {"gtin": GTIN, "product": clinic.products["xeomin"]})
    assert status == 409 and "already linked to " + BOTOX in message(body)

    status, body = clinic.post("/stock/receive", {"fridge": "A1", "code": SCAN, "quantity": 2})
    assert status == 200, body
    lot = body["movement"]["lot"]
    assert (lot["number"], lot["expiry"], lot["product"]) == ("C3709C3", "2030-01-31", BOTOX)
    assert clinic.get(f"/lots/{lot['id']}")[1]["gtin"] == GTIN
    status, body = clinic.post("/stock/receive", {"fridge": "A1", "code": SCAN, "quantity": 1})
    assert status == 409 and "serial SN0001" in message(body)
    no_lot = f"01{GTIN}17300131"
    status, body = clinic.post("/stock/receive", {"fridge": "A1", "code": no_lot, "quantity": 1})
    assert status == 400 and message(body) == "field 'lot': missing"
    status, body = clinic.post("/stock/receive", {"fridge": "A1", "code": no_lot, "lot": "TYPED", "quantity": 1})
    assert status == 200 and body["movement"]["lot"]["number"] == "TYPED"
    status, body = clinic.post("/stock/receive", {"fridge": "A1", "code": SCAN, "lot": "OTHER", "quantity": 1})
    assert status == 400 and "field 'lot': 'OTHER' differs from the scanned code (C3709C3)" in message(body)
    status, body = clinic.post("/stock/receive", {"fridge": "A1", "code": "01123", "quantity": 1})
    assert status == 400 and message(body).startswith("field 'code': ")
    status, body = clinic.post("/stock/receive", {"fridge": "A1", "code": SCAN.replace("SN0001", "SN0002"),
                                                  "product": "Xeomin 100 U (incobotulinumtoxinA)", "quantity": 1})
    assert status == 400 and message(body) == (f"field 'product': GTIN {GTIN} is linked to {BOTOX}, not Xeomin 100 U "
                                               "(incobotulinumtoxinA): check the pack")
    status, body = clinic.post("/stock/receive", {"fridge": "A1", "code": SCAN.replace("SN0001", "SN0002"),
                                                  "product": BOTOX, "quantity": 1})
    assert status == 200 and body["lot_quantity"] == 3


def test_expiring_follows_the_configured_warning_days(database_url, engine_for):
    clinic = Clinic(database_url, engine_for(database_url), inventory={"expiry_warning_days": [14, 7]})
    clinic.receive("IN30", 1, expiry=(date.today() + timedelta(days=30)).isoformat())
    clinic.receive("IN10", 1, expiry=(date.today() + timedelta(days=10)).isoformat())
    assert [(lot["lot"], lot["status"]) for lot in clinic.get("/lots")[1]["lots"]] == [
        ("IN10", "expiring"), ("IN30", "usable")]
    assert clinic.get("/fridges/A1/next?product=" + BOTOX)[1]["status"] == "expiring"
