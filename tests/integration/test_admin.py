"""Admin pages as admins, nurses and auditors meet them: every change audited with its reason."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.core.readings import Reading
from fridge_monitor.ingest.batches import Batch, Store
from fridge_monitor.store import accounts
from fridge_monitor.store import models as m

from support import client_for, drop_triggers, post, staffed_clinic, web_app

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
NOBODY_IS_ALLOWED = {"nina": "nurse", "aldo": "auditor"}


@pytest.fixture
def engine(database_url, engine_for):
    return staffed_clinic(engine_for(database_url), T0)


@pytest.fixture
def app(engine, database_url):
    return web_app(engine, database_url)


def user_id(engine, name: str) -> int:
    with engine.connect() as conn:
        return conn.scalar(sa.select(m.User.id).where(m.User.name == name))


def csrf_from(page: str) -> str:
    return re.search(r'name="(?:[a-z]+-)?csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def fridge(engine, name: str = "A1") -> m.Fridge:
    with so.Session(engine) as session:
        return session.scalar(sa.select(m.Fridge).where(m.Fridge.name == name))


def events(engine, **where: str) -> list[tuple]:
    a = m.AuditEvent
    query = sa.select(a.actor, a.action, a.record_type, a.record_id, a.field, a.old_value, a.new_value, a.reason)
    for key, value in where.items():
        query = query.where(getattr(a, key) == value)
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query.order_by(a.id))]


def fridge_form(**changes: str) -> dict[str, str]:
    return {"name": "A1", "site": "1", "kind": "refrigerator", "low_c": "2.0", "high_c": "8.0",
            "alarm_profile": "cdc-refrigerator", "reason": "", **changes}


def errors(page: str) -> list[str]:
    return [html.unescape(e) for e in re.findall(r'class="field-error"[^>]*>([^<]*)<', page)]


# -- the walk-through ------------------------------------------------------------


def test_an_admin_changes_a_fridge_range_with_a_reason_and_the_audit_trail_shows_it(app, engine):
    admin = client_for(app, engine, "ada")
    page = admin.get(f"/admin/fridges/{fridge(engine).id}").get_data(as_text=True)
    assert 'name="reason"' in page and "Reason for change" in page
    response = post(admin, f"/admin/fridges/{fridge(engine).id}", data=fridge_form(
        csrf_token=csrf_from(page), kind="custom", high_c="6", reason="Vaccine X needs 2–6 °C"))
    assert response.status_code == 302, errors(response.get_data(as_text=True))

    changed = fridge(engine)
    assert (changed.kind, changed.low_c, changed.high_c) == ("custom", 2.0, 6.0)
    assert events(engine, actor="ada", record_type="fridge") == [
        ("ada", "update", "fridge", "A1", "kind", "refrigerator", "custom", "Vaccine X needs 2–6 °C"),
        ("ada", "update", "fridge", "A1", "high_c", "8.0", "6.0", "Vaccine X needs 2–6 °C"),
    ]

    auditor = client_for(app, engine, "aldo")
    trail = auditor.get("/audit?record_type=fridge&actor=ada").get_data(as_text=True)
    row = re.search(r"<tr>(?:(?!</tr>).)*high_c(?:(?!</tr>).)*</tr>", trail, re.DOTALL).group(0)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.unescape(row)))
    assert "ada" in text and "update" in text and "fridge A1" in text
    assert "8.0 → 6.0" in text and "Vaccine X needs 2–6 °C" in text
    assert "Audit trail intact" in trail


def test_a_change_without_a_reason_is_refused_next_to_the_field_and_changes_nothing(app, engine):
    admin = client_for(app, engine, "ada")
    before = len(events(engine))
    url = f"/admin/fridges/{fridge(engine).id}"
    page = admin.get(url).get_data(as_text=True)
    response = post(admin, url, data=fridge_form(csrf_token=csrf_from(page), kind="custom", high_c="6", reason="  "))
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert re.search(r'<label for="reason">Reason for change</label>.*?'
                     r'Give the reason for this change; it is kept in the audit trail\.', body, re.DOTALL)
    assert fridge(engine).high_c == 8.0
    assert len(events(engine)) == before


@pytest.mark.parametrize("changes, message", [
    ({"kind": "custom", "low_c": "8", "high_c": "2", "reason": "x"},
     "The highest allowed temperature must be above the lowest (8 °C)."),
    ({"kind": "custom", "low_c": "", "high_c": "6", "reason": "x"}, "A custom range needs both limits."),
    ({"low_c": "warm", "reason": "x"}, "Enter a temperature in °C as a number, such as 2.0 or -20."),
    ({"alarm_profile": "cdc-fridge", "reason": "x"},
     "Unknown alarm profile. Choose one of: cdc-refrigerator, cdc-freezer, who-30dtr "
     "(make your own under Admin → Alarm profiles)."),
])
def test_fridge_ranges_are_validated(app, engine, changes, message):
    admin = client_for(app, engine, "ada")
    url = f"/admin/fridges/{fridge(engine).id}"
    response = post(admin, url, data=fridge_form(csrf_token=csrf_from(admin.get(url).get_data(as_text=True)),
                                                **changes))
    assert message in errors(response.get_data(as_text=True))
    assert (fridge(engine).low_c, fridge(engine).high_c) == (2.0, 8.0)


def test_a_new_fridge_takes_its_kinds_range_and_names_are_unique(app, engine):
    admin = client_for(app, engine, "ada")
    response = post(admin, "/admin/fridges/new", data=fridge_form(name="a1", low_c="", high_c="", reason="dup"))
    assert "A fridge named 'a1' already exists (retired ones count too)." in errors(response.get_data(as_text=True))
    response = post(admin, "/admin/fridges/new", data=fridge_form(name="F2", kind="freezer", low_c="", high_c="",
                                                                 alarm_profile="", reason="new freezer"))
    assert response.status_code == 302
    made = fridge(engine, "F2")
    assert (made.kind, made.low_c, made.high_c, made.alarm_profile) == ("freezer", -50.0, -15.0, "cdc-freezer")
    assert [(e[1], e[4], e[5], e[6]) for e in events(engine, record_id="F2")] == [
        ("create", "site", None, "Clinic A"), ("create", "kind", None, "freezer"), ("create", "low_c", None, "-50.0"),
        ("create", "high_c", None, "-15.0"), ("create", "alarm_profile", None, "cdc-freezer")]


def test_a_fridge_is_retired_never_deleted_once_its_sensors_are_moved(app, engine):
    admin = client_for(app, engine, "ada")
    a1 = fridge(engine).id
    response = post(admin, f"/admin/fridges/{a1}/retire", data={"retire-reason": "replaced"})
    shown = errors(response.get_data(as_text=True))
    assert any("Unassign or move its sensors first (native:a1-probe)" in e for e in shown)
    assert fridge(engine).retired_at is None
    assert post(admin, "/admin/sensors/native:a1-probe", data={"fridge": "0", "role": "primary",
                                                              "reason": "fridge replaced"}).status_code == 302
    assert post(admin, f"/admin/fridges/{a1}/retire", data={"retire-reason": "replaced"}).status_code == 302
    assert fridge(engine).retired_at is not None
    listing = admin.get("/admin/fridges").get_data(as_text=True)
    assert "A1" in listing and "Retired" in listing
    assert events(engine, record_id="A1", field="retired_at")[0][1:2] == ("retire",)


def test_moving_a_sensor_keeps_its_earlier_readings_with_the_old_fridge(app, engine):
    admin = client_for(app, engine, "ada")
    Store(engine).write(Batch(readings=[(Reading("native:a1-probe", "native", "a1-probe", T0 + timedelta(hours=1), 4.0),
                                         T0 + timedelta(hours=1))]))
    post(admin, "/admin/fridges/new", data=fridge_form(name="B2", reason="second fridge"))
    b2 = fridge(engine, "B2").id
    response = post(admin, "/admin/sensors/native:a1-probe", data={
        "fridge": str(b2), "role": "primary", "calibration_certificate": "ISO17025-0042",
        "calibration_due": "2027-06-30", "reason": "probe moved to the new fridge"})
    assert response.status_code == 302, errors(response.get_data(as_text=True))
    with engine.connect() as conn:
        history = conn.execute(sa.select(m.SensorAssignment.fridge_id, m.SensorAssignment.until)
                               .where(m.SensorAssignment.sensor_id == "native:a1-probe")
                               .order_by(m.SensorAssignment.id)).all()
        sensor = conn.execute(sa.select(m.Sensor).where(m.Sensor.id == "native:a1-probe")).one()
    assert [(f, until is not None) for f, until in history] == [(fridge(engine).id, True), (b2, False)]
    assert (sensor.fridge_id, sensor.role, sensor.calibration_certificate, str(sensor.calibration_due)) == (
        b2, "primary", "ISO17025-0042", "2027-06-30")
    assert [(e[4], e[5], e[6]) for e in events(engine, actor="ada", record_type="sensor")] == [
        ("assignment", "A1/primary", "B2/primary"), ("calibration_certificate", None, "ISO17025-0042"),
        ("calibration_due", None, "2027-06-30")]
    assert "native:a1-probe" in admin.get("/admin/sensors").get_data(as_text=True)


def test_a_fridge_has_one_primary_sensor(app, engine):
    admin = client_for(app, engine, "ada")
    with so.Session(engine) as session, session.begin():
        session.add(m.Sensor(id="native:spare", format="native", device="spare", created_at=T0))
    a1 = fridge(engine).id
    response = post(admin, "/admin/sensors/native:spare", data={"fridge": str(a1), "role": "primary", "reason": "r"})
    assert any("already has a primary sensor (native:a1-probe)" in e for e in errors(response.get_data(as_text=True)))
    response = post(admin, "/admin/sensors/native:spare", data={"fridge": str(a1), "role": "backup", "reason": "r"})
    assert response.status_code == 302


def test_sites_need_a_real_time_zone(app, engine):
    admin = client_for(app, engine, "ada")
    response = post(admin, "/admin/sites/new", data={"name": "Clinic B", "timezone": "Mars/Olympus", "reason": "new"})
    assert any("'Mars/Olympus' is not an IANA time zone" in e for e in errors(response.get_data(as_text=True)))
    response = post(admin, "/admin/sites/new", data={"name": "Clinic B", "timezone": "America/New_York",
                                                    "reason": "new clinic"})
    assert response.status_code == 302
    assert events(engine, record_id="Clinic B")[0][4:8] == ("timezone", None, "America/New_York", "new clinic")


# -- users ----------------------------------------------------------------------


def test_an_admin_creates_a_user_and_changes_their_role(app, engine):
    admin = client_for(app, engine, "ada")
    response = post(admin, "/admin/users/new", data={"name": "nora", "role": "nurse", "password": "short",
                                                    "confirm": "short", "reason": "new starter"})
    assert "The password must be at least 10 characters long." in errors(response.get_data(as_text=True))
    response = post(admin, "/admin/users/new", data={"name": "nora", "role": "nurse", "password": "nora-password-1",
                                                    "confirm": "nora-password-1", "reason": "new starter"})
    assert response.status_code == 302
    nora = user_id(engine, "nora")
    assert post(admin, f"/admin/users/{nora}/role", data={"role-role": "auditor", "role-reason": "moved to QA"}
                      ).status_code == 302
    assert [(e[0], e[4], e[5], e[6], e[7]) for e in events(engine, record_id="nora")] == [
        ("ada", "role", None, "nurse", "new starter"), ("ada", "role", "nurse", "auditor", "moved to QA")]


def test_an_admin_records_a_users_full_name_for_their_signatures_and_it_is_audited(app, engine):
    admin = client_for(app, engine, "ada")
    response = post(admin, "/admin/users/new", data={
        "name": "sam", "full_name": "  Samuel Okafor ", "role": "nurse", "password": "sam-password-1",
        "confirm": "sam-password-1", "reason": "new starter"})
    assert response.status_code == 302
    sam = user_id(engine, "sam")
    hidden = post(admin, f"/admin/users/{sam}/full-name", data={"name-full_name": "Sam\u202eOkafor",
                                                                "name-reason": "typo"})
    assert any("A full name must not contain" in e for e in errors(hidden.get_data(as_text=True)))
    assert post(admin, f"/admin/users/{sam}/full-name", data={"name-full_name": "Samuel A. Okafor",
                                                              "name-reason": "middle initial"}).status_code == 302
    listed = admin.get("/admin/users").get_data(as_text=True)
    assert "<td>Samuel A. Okafor</td>" in listed
    assert [(e[0], e[4], e[5], e[6], e[7]) for e in events(engine, record_id="sam", field="full_name")] == [
        ("ada", "full_name", None, "Samuel Okafor", "new starter"),
        ("ada", "full_name", "Samuel Okafor", "Samuel A. Okafor", "middle initial")]


def test_disabling_a_user_revokes_their_sign_in(app, engine):
    nurse = client_for(app, engine, "nina")
    assert nurse.get("/").status_code == 200
    admin = client_for(app, engine, "ada")
    nina = user_id(engine, "nina")
    page = admin.get(f"/admin/users/{nina}").get_data(as_text=True)
    response = post(admin, f"/admin/users/{nina}/status", data={"csrf_token": csrf_from(page),
                                                               "status-reason": "left the clinic"})
    assert response.status_code == 302
    # Her open session ends at the next request, and she cannot sign in again.
    response = nurse.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    login = nurse.get("/login").get_data(as_text=True)
    response = nurse.post("/login", data={"csrf_token": csrf_from(login), "name": "nina",
                                          "password": "nina-password-1"})
    # Refused with the words a wrong password gets: a disabled account is not told apart (issue 12, item 8).
    assert response.status_code == 401 and "wrong user name or password" in response.get_data(as_text=True)
    assert events(engine, record_id="nina", field="disabled")[0][5:8] == ("False", "True", "left the clinic")


def test_an_admin_cannot_lock_themselves_out(app, engine):
    admin = client_for(app, engine, "ada")
    ada = user_id(engine, "ada")
    response = post(admin, f"/admin/users/{ada}/status", data={"status-reason": "oops"})
    assert "You cannot disable your own account; ask another admin." in errors(response.get_data(as_text=True))
    response = post(admin, f"/admin/users/{ada}/role", data={"role-role": "nurse", "role-reason": "oops"})
    assert "You cannot take the admin role from yourself; ask another admin." in errors(response.get_data(as_text=True))


def test_a_password_reset_is_audited_without_the_password(app, engine):
    admin = client_for(app, engine, "ada")
    nina = user_id(engine, "nina")
    response = post(admin, f"/admin/users/{nina}/password", data={
        "password-password": "brand-new-pass-1", "password-confirm": "brand-new-pass-1",
        "password-reason": "forgot it"})
    assert response.status_code == 302
    assert events(engine, record_id="nina", field="password") == [
        ("ada", "update", "user", "nina", "password", None, "(reset)", "forgot it")]
    assert all("brand-new-pass-1" not in str(e) for e in events(engine))


# -- who may do what ------------------------------------------------------------


def admin_urls(app) -> list[tuple[str, str]]:
    """Every admin route with sample arguments, for each method it accepts."""
    samples = {"site_id": 1, "fridge_id": 1, "user_id": 1, "sensor_id": "native:a1-probe"}
    found = []
    with app.test_request_context():
        from flask import url_for

        for rule in app.url_map.iter_rules():
            if rule.endpoint.startswith("admin."):
                url = url_for(rule.endpoint, **{arg: samples[arg] for arg in rule.arguments})
                found += [(method, url) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return found


@pytest.mark.parametrize("name", sorted(NOBODY_IS_ALLOWED))
def test_nurses_and_auditors_get_403_on_every_admin_route(app, engine, name):
    routes = admin_urls(app)
    assert len(routes) >= 15
    client = client_for(app, engine, name)
    before = len(events(engine))
    for method, url in routes:
        response = client.open(url, method=method, data={"reason": "trying", "name": "X", "role": "admin"})
        assert response.status_code == 403, (NOBODY_IS_ALLOWED[name], method, url)
    assert len(events(engine)) == before


def test_admin_pages_need_a_login(app):
    client = app.test_client()
    routes = admin_urls(app)
    assert len(routes) >= 15
    for method, url in routes:
        response = client.open(url, method=method)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login"), (method, url)


def test_a_form_posted_without_its_csrf_token_is_refused(app, engine):
    admin = client_for(app, engine, "ada")
    response = admin.post(f"/admin/fridges/{fridge(engine).id}", data=fridge_form(high_c="6", reason="no token"))
    assert response.status_code == 400
    assert fridge(engine).high_c == 8.0


def test_the_admin_item_shows_in_the_navigation_for_admins_only(app, engine):
    assert 'href="/admin/">Admin</a>' in client_for(app, engine, "ada").get("/").get_data(as_text=True)
    assert 'href="/admin/"' not in client_for(app, engine, "nina").get("/").get_data(as_text=True)


# -- the audit trail page ---------------------------------------------------------


def test_auditors_and_admins_read_the_audit_trail_nurses_do_not(app, engine):
    assert client_for(app, engine, "aldo").get("/audit").status_code == 200
    assert client_for(app, engine, "ada").get("/audit").status_code == 200
    assert client_for(app, engine, "nina").get("/audit").status_code == 403
    assert 'href="/audit">Audit trail</a>' in client_for(app, engine, "aldo").get("/").get_data(as_text=True)
    assert 'href="/audit"' not in client_for(app, engine, "nina").get("/").get_data(as_text=True)


def rows_of(page: str) -> list[str]:
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in page else ""
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.unescape(r))).strip()
            for r in re.findall(r"<tr>.*?</tr>", body, re.DOTALL)]


def test_the_audit_trail_filters_newest_first_and_pages(app, engine):
    with so.Session(engine) as session, session.begin():
        for k in range(60):
            accounts.create_user(session, f"temp{k:02d}", "nurse", None, actor="hr-import",
                                 now=T0 + timedelta(days=2, minutes=k), reason="bulk import")
    auditor = client_for(app, engine, "aldo")
    page = auditor.get("/audit?actor=hr-import").get_data(as_text=True)
    rows = rows_of(page)
    assert len(rows) == 50 and "temp59" in rows[0] and "temp10" in rows[-1]
    assert "60 events, page 1 of 2" in page
    older = rows_of(auditor.get("/audit?actor=hr-import&page=2").get_data(as_text=True))
    assert len(older) == 10 and "temp09" in older[0] and "temp00" in older[-1]

    day = (T0 + timedelta(days=2)).date().isoformat()
    assert len(rows_of(auditor.get(f"/audit?start={day}&end={day}&record_type=user&page=2")
                       .get_data(as_text=True))) == 10
    earlier = auditor.get(f"/audit?end={T0.date().isoformat()}").get_data(as_text=True)
    assert "temp" not in " ".join(rows_of(earlier)) and "config-sync" in earlier
    only = rows_of(auditor.get("/audit?record_id=temp42").get_data(as_text=True))
    assert len(only) == 1 and "2026-11-22 08:42:00" in only[0] and "bulk import" in only[0]
    page = auditor.get(f"/audit?start={day}&end=2026-11-01").get_data(as_text=True)
    assert "The last day must not be before the first day." in html.unescape(page)


def test_the_audit_trail_page_says_when_the_chain_is_broken(app, engine):
    auditor = client_for(app, engine, "aldo")
    assert "Audit trail intact" in auditor.get("/audit").get_data(as_text=True)
    with engine.begin() as conn:
        drop_triggers(conn)
        conn.execute(sa.update(m.AuditEvent.__table__).where(m.AuditEvent.id == 3).values(new_value="0.0"))
    page = html.unescape(auditor.get("/audit").get_data(as_text=True))
    assert "Audit trail BROKEN:" in page and "event 3 was altered" in page
