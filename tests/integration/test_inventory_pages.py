"""Inventory in the browser's forms (Flask test client), on both databases: scans, linking, refusals next to
their field, first-expiry-first-out, review and disposition, roles, the products admin and the dashboard line."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.core import gs1
from fridge_monitor.core.readings import Reading
from fridge_monitor.ingest.batches import Batch, Store
from fridge_monitor.inventory import catalog
from fridge_monitor.inventory import ledger as inventory
from fridge_monitor.store import models as m

from support import STAFF, client_for, clinic_app, clinic_config, clinic_today, csrf

NOW = datetime.now(UTC).replace(microsecond=0)
TODAY = clinic_today(NOW)  # expiry days are counted at the site
GTIN = "09506000134352"  # GS1's example GTIN (check digit 2)
EXPIRY = date(TODAY.year + 2, 6, 30)


def scan_text(lot: str, serial: str | None = None, expiry: date = EXPIRY) -> str:
    """What a scanner types: symbology prefix, GTIN, expiry, lot, GS, serial."""
    return f"]d201{GTIN}17{expiry:%y%m%d}10{lot}" + (f"{gs1.GS}21{serial}" if serial else "")


@pytest.fixture
def clinic(database_url, engine_for):
    engine = engine_for(database_url)
    config = clinic_config([{"name": "A1", "site": "Clinic A", "sensors": ["native:a1"]},
                            {"name": "B2", "site": "Clinic A"}], database_url, web={"secret_key": "s" * 40})
    return clinic_app(engine, config, STAFF, NOW, NOW - timedelta(days=2)), engine


def ids(engine) -> dict[str, int]:
    with engine.connect() as conn:
        out = dict(conn.execute(sa.select(m.Fridge.name, m.Fridge.id)).all())
        out["botox"] = conn.scalar(sa.select(m.Product.id).where(m.Product.catalogue_key == "botox"))
        out["dysport"] = conn.scalar(sa.select(m.Product.id).where(m.Product.catalogue_key == "dysport"))
    return out



def text(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


def field_errors(response, field: str) -> list[str]:
    """The error messages shown next to one field."""
    page = response.get_data(as_text=True)
    block = re.search(rf'<div id="{field}-errors">(.*?)</div>', page, re.S)
    return [html.unescape(e) for e in re.findall(r'field-error[^>]*>([^<]*)<', block.group(1))] if block else []


def value(response, name: str) -> str | None:
    """The value a form field shows (inputs only)."""
    page = response.get_data(as_text=True)
    tag = re.search(rf'<input[^>]*\bname="{name}"[^>]*>', page)
    if tag is None:
        return None
    found = re.search(r'\bvalue="([^"]*)"', tag.group(0))
    return html.unescape(found.group(1)) if found else ""


def flashes(client) -> str:
    with client.session_transaction() as session:
        return " ".join(message for _, message in session.get("_flashes", []))


def stock_lot(engine, fridge_id: int, product_id: int, lot: str, expiry: date, quantity: int,
              at: datetime = NOW) -> int:
    with so.Session(engine) as session, session.begin():
        row = catalog.lot_for(session, product_id=product_id, lot_number=lot, expiry=expiry, actor="test", now=at)
        inventory.receive(session, lot_id=row.id, fridge_id=fridge_id, quantity=quantity, actor="test", now=at)
        return row.id


def put_under_review(engine, lot_id: int, fridge_id: int) -> None:
    with so.Session(engine) as session, session.begin():
        session.add(m.LotReview(lot_id=lot_id, fridge_id=fridge_id, started_at=NOW - timedelta(hours=3),
                                ended_at=NOW - timedelta(hours=1), exposure_s=5400.0, peak_c=11.2, low_c=5.0,
                                mkt_c=9.1, reason="heat excursion in A1", created_at=NOW, created_by="system",
                                updated_at=NOW))


def held(engine, lot_id: int, fridge_id: int) -> int:
    with so.Session(engine) as session:
        return inventory.quantity(session, lot_id, fridge_id)


def test_receive_by_scan_links_an_unknown_gtin_once_then_records_it(clinic):
    app, engine = clinic
    known = ids(engine)
    nurse = client_for(app, engine, "nina")
    token = csrf(nurse)
    assert nurse.get("/stock/receive").status_code == 200

    garbled = nurse.post("/stock/receive", data={"csrf_token": token, "step": "read", "scan": "hello"})
    assert garbled.status_code == 400
    assert "does not start with a GS1 application identifier" in " ".join(field_errors(garbled, "scan"))
    spaced = nurse.post("/stock/receive", data={"csrf_token": token, "step": "read", "scan": f"01{GTIN}10AB C"})
    assert spaced.status_code == 400
    [said] = field_errors(spaced, "scan")
    assert said.startswith("The lot (10) 'AB C' contains \" \" (a space), which GS1 does not allow in a lot; ")

    # An unknown GTIN: the page asks once which product it is.
    first = nurse.post("/stock/receive", data={"csrf_token": token, "step": "read", "quantity": "3",
                                               "fridge": known["A1"], "scan": scan_text("C4711", "S-1")})
    assert first.status_code == 200
    assert f"GTIN {GTIN} is not linked to a product yet" in text(first)
    linked = nurse.post("/stock/receive", data={
        "csrf_token": token, "step": "link", "gtin": value(first, "gtin"), "scan": value(first, "scan"),
        "link_product": known["botox"], "quantity": "3", "fridge": known["A1"]})
    assert linked.status_code == 200
    page = text(linked)
    assert f"GTIN {GTIN} is now linked to Botox" in page
    assert f"Read Botox 100 U (onabotulinumtoxinA), lot C4711, expiry {EXPIRY.isoformat()}, serial S-1" in page
    assert value(linked, "lot_number") == "C4711" and value(linked, "expiry") == EXPIRY.isoformat()
    assert value(linked, "serial") == "S-1" and value(linked, "quantity") == "3"

    # Enter again (the scan box's button, nothing new to read) records the receipt.
    form = {"csrf_token": token, "step": "read", "quantity": "3", "fridge": known["A1"],
            **{name: value(linked, name) for name in ("scan", "last_read", "gtin", "lot_number", "expiry", "serial")},
            "product": known["botox"]}
    done = nurse.post("/stock/receive", data=form)
    assert done.status_code == 302, text(done)
    assert flashes(nurse) == (f"Received 3 vials of Botox 100 U (onabotulinumtoxinA) lot C4711 (expiry "
                              f"{EXPIRY.isoformat()}) into A1. A1 now holds 3 vials of this lot.")

    # The next scan of this GTIN is read at once, without asking again.
    again = nurse.post("/stock/receive", data={"csrf_token": token, "step": "read", "scan": scan_text("C4712")})
    assert "not linked" not in text(again) and value(again, "lot_number") == "C4712"
    with engine.connect() as conn:
        links = conn.execute(sa.select(m.AuditEvent.actor, m.AuditEvent.action)
                             .where(m.AuditEvent.record_type == "product_gtin")).all()
        serials = conn.scalars(sa.select(m.LotSerial.serial)).all()
    assert [tuple(r) for r in links] == [("nina", "link")] and serials == ["S-1"]

    # The human-readable form works as well, and a second receipt of the same pack serial is refused next to it.
    hri = nurse.post("/stock/receive", data={
        "csrf_token": token, "step": "save", "quantity": "1", "fridge": known["A1"], "product": known["botox"],
        "lot_number": "C4711", "expiry": EXPIRY.isoformat(), "serial": "S-1",
        "scan": f"(01){GTIN}(17){EXPIRY:%y%m%d}(10)C4711(21)S-1"})
    assert hri.status_code == 400
    assert "was already received" in " ".join(field_errors(hri, "serial"))


def test_manual_receipt_and_use_below_zero_is_refused_next_to_the_quantity_keeping_what_was_typed(clinic):
    app, engine = clinic
    known = ids(engine)
    nurse = client_for(app, engine, "nina")
    token = csrf(nurse)
    typed = {"csrf_token": token, "step": "save", "product": known["dysport"], "lot_number": "D-200",
             "expiry": EXPIRY.isoformat(), "fridge": known["B2"], "quantity": "2"}
    assert nurse.post("/stock/receive", data=typed).status_code == 302
    assert "B2 now holds 2 vials of this lot" in flashes(nurse)

    refused = nurse.post("/stock/use", data={**typed, "quantity": "5"})
    assert refused.status_code == 400
    assert field_errors(refused, "quantity") == [
        "Only 2 vials of lot D-200 (Dysport 300 U (abobotulinumtoxinA)) in fridge B2: cannot use 5."]
    assert value(refused, "quantity") == "5" and value(refused, "lot_number") == "D-200"
    with engine.connect() as conn:
        lot_id = conn.scalar(sa.select(m.Lot.id).where(m.Lot.lot_number == "D-200"))
    assert held(engine, lot_id, known["B2"]) == 2

    unknown = nurse.post("/stock/use", data={**typed, "lot_number": "NOPE", "quantity": "1"})
    assert "No lot NOPE of Dysport" in " ".join(field_errors(unknown, "lot_number"))
    wrong_expiry = nurse.post("/stock/use", data={**typed, "expiry": (EXPIRY + timedelta(days=1)).isoformat()})
    assert "is recorded with expiry" in " ".join(field_errors(wrong_expiry, "expiry"))

    moved = nurse.post("/stock/transfer", data={**typed, "quantity": "1", "to_fridge": known["A1"]})
    assert moved.status_code == 302
    assert "B2 now holds 1 vial of this lot, A1 1 vial" in flashes(nurse)
    discard = nurse.post("/stock/discard", data={**typed, "quantity": "1", "fridge": known["A1"],
                                                 "reason_code": "other", "reason": ""})
    assert "Say why the stock is discarded." in field_errors(discard, "reason")
    counted = nurse.post("/stock/correct", data={**typed, "counted": "4", "reason": "found two behind the door"})
    assert counted.status_code == 302 and "Recorded a count of 4 vials" in flashes(nurse)
    assert held(engine, lot_id, known["B2"]) == 4


def test_take_next_uses_the_first_to_expire_and_asks_before_a_later_lot(clinic):
    app, engine = clinic
    known = ids(engine)
    later = stock_lot(engine, known["A1"], known["botox"], "LATE-2", TODAY + timedelta(days=400), 3)
    early = stock_lot(engine, known["A1"], known["botox"], "EARLY-1", TODAY + timedelta(days=40), 2)
    nurse = client_for(app, engine, "nina")
    token = csrf(nurse)

    listing = text(nurse.get("/inventory?fridge=A1"))
    assert "EARLY-1" in listing and "Expiring in 40 days" in listing and "5 sealed" in listing
    page = nurse.get(f"/inventory/take-next?fridge=A1&product={known['botox']}")
    assert "Next to use: Botox 100 U (onabotulinumtoxinA) lot EARLY-1" in text(page)

    form = {"csrf_token": token, "fridge": "A1", "product": known["botox"]}
    asked = nurse.post("/inventory/use-one", data={**form, "lot": later})
    assert asked.status_code == 409
    assert "Lot EARLY-1 expires first" in text(asked)
    assert held(engine, later, known["A1"]) == 3

    confirmed = nurse.post("/inventory/use-one", data={**form, "lot": later, "confirm": "yes"})
    assert confirmed.status_code == 302 and held(engine, later, known["A1"]) == 2
    assert "lot LATE-2 from A1. 2 vials of this lot left in A1." in flashes(nurse)
    assert nurse.post("/inventory/use-one", data={**form, "lot": early}).status_code == 302
    assert held(engine, early, known["A1"]) == 1
    with engine.connect() as conn:
        notes = conn.scalars(sa.select(m.StockMovement.reason).where(m.StockMovement.kind == "use")
                             .order_by(m.StockMovement.id)).all()
    assert notes[0].startswith("chosen instead of lot EARLY-1") and notes[1].startswith("take next")

    # The use form asks the same question before a later lot.
    use = nurse.post("/stock/use", data={"csrf_token": token, "step": "save", "product": known["botox"],
                                         "lot_number": "LATE-2", "fridge": known["A1"], "quantity": "1"})
    assert use.status_code == 409 and "Lot EARLY-1" in text(use) and held(engine, later, known["A1"]) == 2


def test_an_under_review_lot_is_refused_and_usable_again_once_released(clinic):
    app, engine = clinic
    known = ids(engine)
    lot_id = stock_lot(engine, known["A1"], known["botox"], "R-77", TODAY + timedelta(days=300), 4,
                       at=NOW - timedelta(hours=3))
    # A1 at 5.0 °C, except 9.5 °C for an hour (readings every 5 minutes, each holding until the next).
    Store(engine).write(Batch(readings=[
        (Reading("native:a1", "native", "a1", NOW - timedelta(minutes=t), 9.5 if 65 <= t <= 120 else 5.0, 90), NOW)
        for t in range(180, -1, -5)]))
    put_under_review(engine, lot_id, known["A1"])
    nurse = client_for(app, engine, "nina")
    token = csrf(nurse)

    assert "DO NOT USE — under review" in text(nurse.get("/inventory"))
    assert "under review" in text(nurse.get("/inventory?status=under_review"))
    assert "R-77" not in text(nurse.get("/inventory?status=usable"))
    take = text(nurse.get(f"/inventory/take-next?fridge=A1&product={known['botox']}"))
    assert "Nothing usable of Botox" in take and "DO NOT USE — under review" in take
    tiles = nurse.get("/dashboard/tiles").get_data(as_text=True)
    assert re.search(r'data-stock="A1"[^>]*>Stock: 4 units in 1 lot.*1 under review', tiles, re.S)

    refused = nurse.post("/stock/use", data={"csrf_token": token, "step": "save", "product": known["botox"],
                                             "lot_number": "R-77", "fridge": known["A1"], "quantity": "1"})
    assert refused.status_code == 400
    assert field_errors(refused, "lot_number") == [
        "Lot R-77 (Botox 100 U (onabotulinumtoxinA)) is under review after an excursion (DO NOT USE until a "
        "disposition is recorded)."]
    one = nurse.post("/inventory/use-one", data={"csrf_token": token, "fridge": "A1", "product": known["botox"],
                                                 "lot": lot_id})
    assert one.status_code == 400 and "is under review after an excursion" in text(one)

    lot_page = text(nurse.get(f"/lots/{lot_id}"))
    assert "DO NOT USE" in lot_page and "1 h 30 min" in lot_page and "11.2 °C" in lot_page
    assert "Record the manufacturer's disposition" in lot_page
    history = lot_page.split("Temperature history")[1].split("Stock ledger")[0]
    assert "Lowest · highest 5.0 °C · 9.5 °C" in history
    assert "Time out of the product's range ⚠ 1 h 00 min" in history
    # Covered time and MKT grow with the seconds since NOW (the last reading holds until the page is shown).
    stay = r"A1 \d\d \w+ \d{4} \d\d:\d\d still there 4 5\.0 °C 9\.5 °C 3 h \d\d min ⚠ 1 h 00 min 6\.\d °C 37 Chart"
    assert re.search(stay, history), history
    missing = nurse.post(f"/lots/{lot_id}/disposition", data={"csrf_token": token, "decision": "released"})
    assert missing.status_code == 400
    assert "manufacturer's reference" in " ".join(field_errors(missing, "reference"))
    released = nurse.post(f"/lots/{lot_id}/disposition", data={
        "csrf_token": token, "decision": "released", "reference": "ALLERGAN-CASE-5521", "note": "stable per letter",
        "sign_name": "nina", "sign_password": "nina-password-1", "meaning": "approved"})
    assert released.status_code == 302
    lot_page = text(nurse.get(f"/lots/{lot_id}"))
    assert "Released by nina" in lot_page and "ALLERGAN-CASE-5521" in lot_page
    assert re.search(r"Signed by Nina Tester \(nina\) on \d{4}-\d\d-\d\d \d\d:\d\d CES?T, meaning: approved", lot_page)
    assert "Usable — released after review" in lot_page and "Record the manufacturer's disposition" not in lot_page

    used = nurse.post("/stock/use", data={"csrf_token": token, "step": "save", "product": known["botox"],
                                          "lot_number": "R-77", "fridge": known["A1"], "quantity": "1"})
    assert used.status_code == 302 and held(engine, lot_id, known["A1"]) == 3
    assert "Used 1 vial" in text(nurse.get(f"/lots/{lot_id}"))


def test_the_auditor_reads_everything_and_changes_nothing(clinic):
    app, engine = clinic
    known = ids(engine)
    lot_id = stock_lot(engine, known["A1"], known["botox"], "AU-1", TODAY + timedelta(days=300), 2)
    put_under_review(engine, lot_id, known["A1"])
    auditor = client_for(app, engine, "aldo")
    token = csrf(auditor)
    for path in ("/inventory", f"/lots/{lot_id}", f"/inventory/take-next?fridge=A1&product={known['botox']}", "/"):
        page = auditor.get(path)
        assert page.status_code == 200, path
        assert "Record the manufacturer's disposition" not in text(page) and "Use one" not in text(page)
    assert "Receive" not in text(auditor.get("/inventory"))
    assert auditor.get("/stock/receive").status_code == 403
    writes = {"/stock/receive": {"step": "save"}, "/stock/use": {"step": "save"},
              "/inventory/use-one": {"fridge": "A1", "lot": lot_id},
              f"/lots/{lot_id}/disposition": {"decision": "discarded"}}
    for path, data in writes.items():
        assert auditor.post(path, data={"csrf_token": token, **data}).status_code == 403, path
    assert held(engine, lot_id, known["A1"]) == 2
    assert auditor.get("/admin/products/").status_code == 403
    assert client_for(app, engine, "nina").get("/admin/products/").status_code == 403


def test_admin_creates_and_edits_a_product_with_a_reason_and_links_a_gtin(clinic):
    app, engine = clinic
    admin = client_for(app, engine, "ada")
    token = csrf(admin)
    listing = text(admin.get("/admin/products/"))
    assert "Xeomin 100 U (incobotulinumtoxinA)" in listing and "20 to 25 °C, or 2 to 8 °C, or -20 to -10 °C" in listing

    product = {"csrf_token": token, "name": "Rabies vaccine", "form": "vial", "unit": "vial",
               "range1_low": "2", "range1_high": "8", "beyond_use_hours": "", "reason": ""}
    no_reason = admin.post("/admin/products/new", data=product)
    assert no_reason.status_code == 200 and field_errors(no_reason, "reason")
    half = admin.post("/admin/products/new", data={**product, "range2_low": "20", "reason": "new stock"})
    assert field_errors(half, "range2_high") == ["Give both limits of the range, or neither."]
    created = admin.post("/admin/products/new", data={**product, "reason": "new vaccine stocked",
                                                      "beyond_use_hours": "6"})
    assert created.status_code == 302
    with engine.connect() as conn:
        product_id = conn.scalar(sa.select(m.Product.id).where(m.Product.name == "Rabies vaccine"))
    edited = admin.post(f"/admin/products/{product_id}", data={
        **product, "range1_low": "2", "range1_high": "6", "beyond_use_hours": "6",
        "reason": "manufacturer narrowed the range"})
    assert edited.status_code == 302
    assert "2 to 6 °C" in text(admin.get("/admin/products/"))

    bad = admin.post(f"/admin/products/{product_id}/gtins", data={"csrf_token": token, "gtin": "09506000134353"})
    assert bad.status_code == 400 and "wrong check digit" in text(bad)
    linked = admin.post(f"/admin/products/{product_id}/gtins", data={"csrf_token": token, "gtin": GTIN})
    assert linked.status_code == 302
    assert GTIN in text(admin.get("/admin/products/"))
    with engine.connect() as conn:
        events = conn.execute(sa.select(m.AuditEvent.action, m.AuditEvent.field, m.AuditEvent.reason)
                              .where(m.AuditEvent.record_type.in_(["product", "product_gtin"]))
                              .order_by(m.AuditEvent.id)).all()
    assert [(action, field) for action, field, _ in events] == [("create", None), ("update", "ranges"),
                                                                  ("link", "product")]
    assert events[1][2] == "manufacturer narrowed the range"


def test_reconstituted_vials_are_used_from_their_group_and_refused_past_beyond_use(clinic):
    app, engine = clinic
    known = ids(engine)
    lot_id = stock_lot(engine, known["A1"], known["botox"], "RC-5", TODAY + timedelta(days=300), 4,
                       at=NOW - timedelta(hours=40))
    with so.Session(engine) as session, session.begin():  # opened 30 hours ago: past Botox's 24 h
        stale = inventory.reconstitute(session, lot_id=lot_id, fridge_id=known["A1"], actor="test",
                                       now=NOW - timedelta(hours=30)).opened_vial.id
    nurse = client_for(app, engine, "nina")
    token = csrf(nurse)
    opened = nurse.post("/stock/reconstitute", data={"csrf_token": token, "step": "save", "product": known["botox"],
                                                     "lot_number": "RC-5", "fridge": known["A1"], "quantity": "1"})
    assert opened.status_code == 302
    assert "Reconstituted 1 vial of Botox 100 U (onabotulinumtoxinA) lot RC-5 in A1, usable until" in flashes(nurse)
    listing = text(nurse.get("/inventory?fridge=A1"))
    assert "2 sealed · 2 opened" in listing and "1 BEYOND USE since" in listing and "1 usable until" in listing
    assert "RC-5" in text(nurse.get("/inventory?status=beyond_use"))

    form = nurse.get("/stock/use").get_data(as_text=True)
    assert f"Opened vials #{stale}: Botox 100 U (onabotulinumtoxinA) lot RC-5 in A1, 1 left" in html.unescape(form)
    refused = nurse.post("/stock/use", data={"csrf_token": token, "step": "save", "opened": stale,
                                             "fridge": known["B2"], "quantity": "1"})
    assert refused.status_code == 400
    assert "is past its beyond-use time" in " ".join(field_errors(refused, "opened"))
    with engine.connect() as conn:
        fresh = conn.scalar(sa.select(sa.func.max(m.OpenedVial.id)))
    used = nurse.post("/stock/use", data={"csrf_token": token, "step": "save", "opened": fresh,
                                          "fridge": known["B2"], "quantity": "1"})
    assert used.status_code == 302 and "Used 1 opened vial of" in flashes(nurse)
    discarded = nurse.post("/stock/discard", data={"csrf_token": token, "step": "save", "opened": stale,
                                                   "quantity": "1", "reason_code": "beyond_use"})
    assert discarded.status_code == 302 and "(Opened vial past its beyond-use time)" in flashes(nurse)
    assert held(engine, lot_id, known["A1"]) == 2


def test_the_lot_page_the_inventory_and_the_api_agree_on_a_lot_past_beyond_use(clinic):
    """One rule for a lot's status (core.lots.lot_status): every unit held is in an opened vial past its time."""
    app, engine = clinic
    known = ids(engine)
    lot_id = stock_lot(engine, known["A1"], known["botox"], "BU-1", TODAY + timedelta(days=300), 1,
                       at=NOW - timedelta(hours=40))
    with so.Session(engine) as session, session.begin():  # opened 30 hours ago: past Botox's 24 h
        inventory.reconstitute(session, lot_id=lot_id, fridge_id=known["A1"], actor="test",
                               now=NOW - timedelta(hours=30))
    nurse = client_for(app, engine, "nina")
    assert "BEYOND USE — discard" in text(nurse.get(f"/lots/{lot_id}"))
    assert "BEYOND USE — discard" in text(nurse.get("/inventory?fridge=A1"))
    assert nurse.get(f"/api/v1/lots/{lot_id}").get_json()["status"] == "beyond_use"


def test_a_discard_disposition_discards_every_unit_held(clinic):
    app, engine = clinic
    known = ids(engine)
    lot_id = stock_lot(engine, known["A1"], known["botox"], "X-1", TODAY + timedelta(days=300), 3)
    put_under_review(engine, lot_id, known["A1"])
    admin = client_for(app, engine, "ada")
    token = csrf(admin)
    done = admin.post(f"/lots/{lot_id}/disposition", data={"csrf_token": token, "decision": "discarded",
                                                            "note": "manufacturer: do not use", "sign_name": "ada",
                                                            "sign_password": "ada-password-1", "meaning": "approved"})
    assert done.status_code == 302 and held(engine, lot_id, known["A1"]) == 0
    page = text(admin.get(f"/lots/{lot_id}"))
    assert "Discarded by ada" in page and "DO NOT USE — dispositioned for discard" in page
    assert "No units of this lot are held anywhere now." in page
    again = admin.post(f"/lots/{lot_id}/disposition", data={"csrf_token": token, "decision": "released",
                                                             "reference": "LATE-REF", "meaning": "approved",
                                                             "sign_password": "ada-password-1"})
    assert again.status_code == 400 and "has no review waiting for a disposition" in text(again)


def test_expiring_follows_the_configured_warning_horizons(database_url, engine_for):
    engine = engine_for(database_url)
    config = clinic_config([{"name": "A1", "site": "Clinic A"}], database_url, web={"secret_key": "s" * 40},
                           inventory={"expiry_warning_days": [14, 7]})
    app = clinic_app(engine, config, {"nina": "nurse"}, NOW, NOW - timedelta(days=2))
    known = ids(engine)
    stock_lot(engine, known["A1"], known["botox"], "SOON-1", TODAY + timedelta(days=10), 1)
    stock_lot(engine, known["A1"], known["botox"], "LATER-1", TODAY + timedelta(days=40), 1)
    nurse = client_for(app, engine, "nina")
    page = text(nurse.get("/inventory?status=expiring"))
    assert "SOON-1" in page and "Expiring in 10 days" in page and "LATER-1" not in page
    tiles = nurse.get("/dashboard/tiles").get_data(as_text=True)
    assert re.search(r'data-stock="A1"[^>]*>Stock: 2 units in 2 lots.*1 expiring soon', tiles, re.S)
