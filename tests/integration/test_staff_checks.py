"""Staff temperature checks on both databases: recorded and signed on the phone page, a reading far from the
monitor's raising a disagreement, and a check not recorded in time raising `check-missed` at the right local
time on both sides of the spring DST change."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so
from test_alert_pages import text as text_of

from fridge_monitor.alerts.evaluate import Evaluator
from fridge_monitor.core.readings import Reading
from fridge_monitor.ingest.batches import Batch, Store
from fridge_monitor.reports import bundle
from fridge_monitor.store import models as m
from fridge_monitor.store.sync import sync_declarations

from support import STAFF, add_users, cli, client_for, csrf

SITE = {"name": "Clinic A", "timezone": "Europe/Berlin", "checks": ["08:00", "16:00"], "check_tolerance_min": 60}


def missed(engine: sa.Engine) -> list[tuple[str, datetime]]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.select(m.Alert.subject, m.Alert.started_at)
                                                   .where(m.Alert.kind == "check-missed").order_by(m.Alert.id))]


def test_a_missed_check_is_raised_when_its_tolerance_ends_across_the_spring_dst_change(
        database_url: str, make_config: Callable[..., Any], engine_for: Callable[[str], sa.Engine]) -> None:
    config, _ = make_config(database_url, sites=[SITE], fridges=[{"name": "A1", "site": "Clinic A",
                                                                 "sensors": ["native:a1"]}])
    engine = engine_for(database_url)
    sync_declarations(engine, config, datetime(2026, 3, 27, 12, 0, tzinfo=UTC))

    def judge_at(moment: datetime) -> None:
        Evaluator(engine, config, clock=lambda: moment).everything()

    # Saturday 28 March (CET, UTC+1): the 08:00 check's tolerance ends at 09:00 local, 08:00 UTC.
    judge_at(datetime(2026, 3, 28, 7, 59, tzinfo=UTC))
    assert missed(engine) == []
    judge_at(datetime(2026, 3, 28, 8, 1, tzinfo=UTC))
    assert missed(engine) == [("2026-03-28 08:00", datetime(2026, 3, 28, 8, 0, tzinfo=UTC))]
    judge_at(datetime(2026, 3, 28, 16, 1, tzinfo=UTC))  # 16:00 local: due until 17:00 local, 16:00 UTC
    judge_at(datetime(2026, 3, 28, 16, 2, tzinfo=UTC))  # judged again: still one alert per missed check
    assert missed(engine)[1:] == [("2026-03-28 16:00", datetime(2026, 3, 28, 16, 0, tzinfo=UTC))]
    # Sunday 29 March, the clocks went forward at 02:00 (CEST, UTC+2): 09:00 local is 07:00 UTC.
    judge_at(datetime(2026, 3, 29, 6, 59, tzinfo=UTC))
    assert len(missed(engine)) == 2
    judge_at(datetime(2026, 3, 29, 7, 1, tzinfo=UTC))
    assert missed(engine)[2:] == [("2026-03-29 08:00", datetime(2026, 3, 29, 7, 0, tzinfo=UTC))]


def test_a_nurse_records_and_signs_checks_and_a_far_reading_is_a_disagreement(
        database_url: str, make_config: Callable[..., Any], engine_for: Callable[[str], sa.Engine],
        tmp_path: Path) -> None:
    config, _ = make_config(database_url, sites=[SITE],
                            fridges=[{"name": "A1", "site": "Clinic A", "sensors": ["native:a1"]},
                                     {"name": "B2", "site": "Clinic A", "sensors": ["native:b2"]}],
                            sections={"web": {"secret_key": "s" * 40}})
    engine = engine_for(database_url)
    now = datetime.now(UTC)
    sync_declarations(engine, config, now - timedelta(days=2))
    add_users(engine, STAFF, now)
    taken = now - timedelta(minutes=2)
    Store(engine).write(Batch(readings=[(Reading("native:a1", "native", "a1", taken, 4.8, 90), now),
                                        (Reading("native:b2", "native", "b2", taken, 5.0, 90), now)]))
    from fridge_monitor.web import create_app

    app = create_app(config, engine=engine, testing=True)
    nurse = client_for(app, engine, "nina")
    page = nurse.get("/checks").get_data(as_text=True)
    assert "Monitor: <strong>4.8 °C</strong>" in page and 'name="sign_name"' in page
    with engine.connect() as conn:
        a1, b2 = (conn.scalar(sa.select(m.Fridge.id).where(m.Fridge.name == n)) for n in ("A1", "B2"))
    bad = nurse.post("/checks", data={"csrf_token": csrf(nurse), "site": "Clinic A", f"current_c-{a1}": "warm",
                                      "meaning": "performed", "sign_name": "nina", "sign_password": "nina-password-1"})
    assert bad.status_code == 400 and "Type the temperature as a number, e.g. 4.5." in text_of(bad)
    done = nurse.post("/checks", data={
        "csrf_token": csrf(nurse), "site": "Clinic A", f"current_c-{a1}": "4,9", f"min_c-{a1}": "3.1",
        f"max_c-{a1}": "6.0", f"current_c-{b2}": "7.5", f"comment-{b2}": "door was open", "meaning": "performed",
        "sign_name": "nina", "sign_password": "nina-password-1"}, follow_redirects=True)
    assert done.status_code == 200 and "Check recorded for A1, B2 and signed." in text_of(done)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(m.TemperatureCheck.fridge_id, m.TemperatureCheck.current_c,
                                      m.TemperatureCheck.monitor_c, m.TemperatureCheck.checked_by)
                            .order_by(m.TemperatureCheck.id)).all()
        signed = conn.scalar(sa.select(sa.func.count()).select_from(m.Signature)
                             .where(m.Signature.record_type == "temperature-check"))
        disagreements = conn.execute(sa.select(m.Alert.fridge_id, m.Alert.title)
                                     .where(m.Alert.kind == "sensor-disagreement")).all()
    assert [tuple(r) for r in rows] == [(a1, 4.9, 4.8, "nina"), (b2, 7.5, 5.0, "nina")]
    assert signed == 2
    # B2's display read 7.5 °C while the monitor read 5.0 °C: more than 1 °C apart.
    assert [tuple(d) for d in disagreements] == [
        (b2, "Staff reading differs from the monitor: 7.5 °C against 5.0 °C")]
    fridge = client_for(app, engine, "aldo").get("/fridges/B2").get_data(as_text=True)
    assert "door was open" in fridge and "Signed by Nina Tester (nina)" in fridge

    # A signed check edited in the database (its append-only trigger lifted first): audit verify names it.
    env = {"FRIDGE_MONITOR_DATABASE_URL": database_url}
    assert cli("audit", "verify", env=env).returncode == 0
    period = bundle.Request(now - timedelta(days=1), now + timedelta(hours=1))
    clean = bundle.build(engine, config, period, tmp_path / "clean.zip", actor="test")
    with zipfile.ZipFile(clean.path) as archive:
        assert archive.read("signatures.csv").decode().count(",temperature-check,") == 2
    verified = cli("audit", "verify", str(clean.path))
    assert verified.returncode == 0, verified.stderr
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER temperature_checks_no_update")
        else:
            conn.exec_driver_sql("ALTER TABLE temperature_checks DISABLE TRIGGER temperature_checks_append_only")
        conn.execute(sa.update(m.TemperatureCheck.__table__).where(m.TemperatureCheck.fridge_id == b2)
                     .values(current_c=5.0))
    result = cli("audit", "verify", env=env)
    assert result.returncode == 1
    assert "on temperature-check 2: the record was changed after it was signed" in result.stderr
    # A bundle made after the change says so offline, from checks.csv and signatures.csv alone.
    tampered = bundle.build(engine, config, period, tmp_path / "tampered.zip", actor="test")
    offline = cli("audit", "verify", str(tampered.path))
    assert offline.returncode == 1
    assert ("signatures.csv: signature 2 (nina, performed) on temperature-check 2: the record was changed after it "
            "was signed") in offline.stderr


def one_fridge(database_url: str, make_config: Callable[..., Any], engine_for: Callable[[str], sa.Engine],
               now: datetime) -> tuple[Any, sa.Engine, Any]:
    """Clinic A (checks at 08:00 and 16:00) with fridge A1, declared two days ago, its staff, and the app."""
    from fridge_monitor.web import create_app

    config, _ = make_config(database_url, sites=[SITE], fridges=[{"name": "A1", "site": "Clinic A",
                                                                 "sensors": ["native:a1"]}],
                            sections={"web": {"secret_key": "s" * 40}})
    engine = engine_for(database_url)
    sync_declarations(engine, config, now - timedelta(days=2))
    add_users(engine, STAFF, now)
    return config, engine, create_app(config, engine=engine, testing=True)


def nina_s_token(engine: sa.Engine, now: datetime) -> dict[str, str]:
    from fridge_monitor.store import accounts

    with so.Session(engine) as session, session.begin():
        token = accounts.new_token(session, accounts.find_user(session, "nina"), actor="test", now=now)
    return {"Authorization": f"Bearer {token}"}


def test_the_api_records_a_signed_check_and_lists_checks(
        database_url: str, make_config: Callable[..., Any], engine_for: Callable[[str], sa.Engine]) -> None:
    now = datetime.now(UTC)
    _config, engine, app = one_fridge(database_url, make_config, engine_for, now)
    client = app.test_client()
    auth = nina_s_token(engine, now)

    unsigned = client.post("/api/v1/fridges/A1/checks", json={"current_c": 4.5}, headers=auth)
    assert unsigned.status_code == 403 and "a temperature check is signed" in unsigned.get_json()["error"]["message"]
    bad = client.post("/api/v1/fridges/A1/checks", json={"current_c": "cold"}, headers=auth)
    assert bad.status_code == 400 and "field 'current_c'" in bad.get_json()["error"]["message"]
    done = client.post("/api/v1/fridges/A1/checks", headers=auth, json={
        "current_c": 4.5, "min_c": 3.0, "max_c": 6.5, "comment": "all fine",
        "signature": {"password": "nina-password-1", "meaning": "performed"}})
    assert done.status_code == 201, done.get_json()
    body = done.get_json()
    assert (body["fridge"], body["current_c"], body["checked_by"]) == ("A1", 4.5, "nina")
    assert body["signatures"][0].startswith("Signed by Nina Tester (nina) on ")
    listed = client.get("/api/v1/checks?site=Clinic%20A", headers=auth).get_json()
    assert [c["id"] for c in listed["checks"]] == [body["id"]]
    assert client.get("/api/v1/checks?from=yesterday", headers=auth).status_code == 400
    assert client.get("/api/v1/checks?site=Nowhere", headers=auth).status_code == 404
    today = now.date().isoformat()
    exported = cli("export", "checks", "--from", today, "--to", today, "--fridge", "A1",
                   env={"FRIDGE_MONITOR_DATABASE_URL": database_url})
    assert exported.returncode == 0, exported.stderr
    lines = exported.stdout.splitlines()
    assert lines[0].startswith("id,fridge_id,fridge,site,day,check_time,checked_at_utc,checked_by,current_c,min_c,"
                               "max_c")
    assert len(lines) == 2 and ",nina,4.5,3.0,6.5," in lines[1] and lines[1].endswith(",all fine")


def test_a_nurse_confirms_the_monitor_s_values_instead_of_typing_them(
        database_url: str, make_config: Callable[..., Any], engine_for: Callable[[str], sa.Engine]) -> None:
    now = datetime.now(UTC)
    _config, engine, app = one_fridge(database_url, make_config, engine_for, now)
    Store(engine).write(Batch(readings=[(Reading("native:a1", "native", "a1", now - timedelta(minutes=ago), temp, 90),
                                         now) for ago, temp in ((180, 4.0), (120, 6.2), (2, 5.1))]))
    nurse = client_for(app, engine, "nina")
    with engine.connect() as conn:
        a1 = conn.scalar(sa.select(m.Fridge.id).where(m.Fridge.name == "A1"))
    page = nurse.get("/checks").get_data(as_text=True)
    assert "min 4.0 °C · max 6.2 °C since " in page and f'name="confirm-{a1}"' in page
    sign = {"csrf_token": csrf(nurse), "site": "Clinic A", "meaning": "performed", "sign_name": "nina",
            "sign_password": "nina-password-1"}
    both = nurse.post("/checks", data={**sign, f"confirm-{a1}": "1", f"current_c-{a1}": "5.0"})
    assert both.status_code == 400 and "Either type what the display shows or confirm" in text_of(both)
    done = nurse.post("/checks", data={**sign, f"confirm-{a1}": "1", f"comment-{a1}": "door shut"},
                      follow_redirects=True)
    assert "Check recorded for A1 and signed." in text_of(done)
    with engine.connect() as conn:
        check = conn.execute(sa.select(m.TemperatureCheck)).one()
    assert (check.current_c, check.min_c, check.max_c, check.monitor_c) == (5.1, 4.0, 6.2, 5.1)
    assert check.comment == "Confirmed the monitor's values on the unit's display. door shut"

    client = app.test_client()
    auth = nina_s_token(engine, now)
    signature = {"password": "nina-password-1", "meaning": "performed"}
    mixed = client.post("/api/v1/fridges/A1/checks", json={"confirm_monitor": True, "current_c": 5.0,
                                                           "signature": signature}, headers=auth)
    assert mixed.status_code == 400 and "confirm_monitor" in mixed.get_json()["error"]["message"]
    confirmed = client.post("/api/v1/fridges/A1/checks", json={"confirm_monitor": True, "signature": signature},
                            headers=auth)
    assert confirmed.status_code == 201, confirmed.get_json()
    # Since the last check (moments ago), the monitor has held 5.1 °C only.
    assert [confirmed.get_json()[k] for k in ("current_c", "min_c", "max_c")] == [5.1, 5.1, 5.1]


def test_the_api_lists_a_check_made_after_the_site_s_midnight_before_utc_s(
        database_url: str, make_config: Callable[..., Any], engine_for: Callable[[str], sa.Engine],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """23:10 UTC on 6 December is 00:10 on 7 December in Berlin: the check's day is the 7th, and the list of the
    last days (no `from` or `to`) counts them at the site, so it shows the check."""
    from fridge_monitor.web.api import checks as checks_api

    now = datetime(2026, 12, 6, 23, 10, tzinfo=UTC)
    monkeypatch.setattr(checks_api, "now_utc", lambda: now)
    _config, engine, app = one_fridge(database_url, make_config, engine_for, now)
    client = app.test_client()
    auth = nina_s_token(engine, now)
    done = client.post("/api/v1/fridges/A1/checks", headers=auth, json={
        "current_c": 4.5, "signature": {"password": "nina-password-1", "meaning": "performed"}})
    assert done.status_code == 201, done.get_json()

    listed = client.get("/api/v1/checks", headers=auth).get_json()
    assert [(c["id"], c["day"]) for c in listed["checks"]] == [(done.get_json()["id"], "2026-12-07")]
    assert (listed["from"], listed["to"]) == ("2026-12-01", "2026-12-07")
