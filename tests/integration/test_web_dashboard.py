"""The dashboard and the fridge page, through the Flask test client, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy.orm as so

from fridge_monitor.config import build_config
from fridge_monitor.core.readings import Reading
from fridge_monitor.core.status import workday_start
from fridge_monitor.ingest.batches import Batch, Store
from fridge_monitor.store import accounts
from fridge_monitor.store import models as m
from fridge_monitor.store.sync import sync_config
from fridge_monitor.web import create_app

TZ = "Europe/Berlin"
PASSWORD = "correct horse battery"
FRIDGES = [
    {"name": "A1", "site": "Clinic A", "sensors": ["native:a1", "native:a1-backup"]},
    {"name": "B2", "site": "Clinic A", "sensors": ["native:b2"]},
    {"name": "C3", "site": "Clinic A", "sensors": ["native:c3"]},
    {"name": "D4", "site": "Clinic A", "sensors": ["native:d4"]},
    {"name": "E5", "site": "Clinic A"},
    {"name": "DST", "site": "Clinic B", "sensors": ["native:dst"]},
]


def reading(sensor: str, at: datetime, temp: float, battery: float | None = None) -> tuple[Reading, datetime]:
    fmt, device = sensor.split(":")
    return Reading(sensor, fmt, device, at, temp, battery), at


@pytest.fixture
def web(database_url, engine_for):
    """(test client, engine, now, user id): the fridges above, seeded readings, a signed-in nurse."""
    engine = engine_for(database_url)
    config = build_config({
        "database": {"url": database_url},
        "web": {"secret_key": "k" * 40},
        "sites": [{"name": "Clinic A", "timezone": TZ}, {"name": "Clinic B", "timezone": TZ}],
        "fridges": FRIDGES,
    }, {}, {}, "test")
    now = datetime.now(UTC)
    with so.Session(engine) as session, session.begin():
        sync_config(session, config, now - timedelta(days=400))
        user = accounts.create_user(session, "nina", "nurse", PASSWORD, actor="test", now=now)
        user_id = user.id
    store = Store(engine)
    store.write(Batch(readings=[
        # A1: fresh and in range; today's min and max come from earlier readings.
        reading("native:a1", now - timedelta(minutes=50), 3.1, 90),
        reading("native:a1", now - timedelta(minutes=20), 7.2, 90),
        reading("native:a1", now - timedelta(minutes=2), 4.4, 90),
        reading("native:a1-backup", now - timedelta(minutes=3), 4.6, 70),
        # B2: its only sensor went silent two hours ago.
        reading("native:b2", now - timedelta(hours=2), 5.0),
        # C3: fine, but the battery is nearly empty.
        reading("native:c3", now - timedelta(minutes=1), 5.0, 12),
        # D4: too warm.
        reading("native:d4", now - timedelta(minutes=1), 9.1, 80),
        # Nobody's: kept and listed as unassigned.
        reading("native:loose", now - timedelta(minutes=4), 21.5),
    ]))
    # DST: the night the clocks went forward in Berlin (29 March 2026 is a 23-hour day).
    store.write(Batch(readings=[
        reading("native:dst", datetime(2026, 3, 28, 22, 30, tzinfo=UTC), 3.0),  # 23:30 CET, 28th
        reading("native:dst", datetime(2026, 3, 28, 23, 30, tzinfo=UTC), 7.5),  # 00:30 CET, 29th
        reading("native:dst", datetime(2026, 3, 29, 21, 30, tzinfo=UTC), 2.5),  # 23:30 CEST, 29th
        reading("native:dst", datetime(2026, 3, 29, 22, 30, tzinfo=UTC), 6.0),  # 00:30 CEST, 30th
    ]))
    app = create_app(config, engine=engine, testing=True)
    client = app.test_client()
    with client.session_transaction() as session:
        session["user_id"] = user_id
    return client, engine, now, user_id


def tile(html: str, name: str) -> str:
    match = re.search(rf'<a class="tile [^"]*" data-fridge="{name}".*?</a>', html, re.S)
    assert match, f"no tile for {name}"
    return match.group(0)


def text(fragment: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment)).strip()


def test_dashboard_shows_temperatures_states_and_todays_min_max(web):
    client, _engine, now, _ = web
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'data-refresh="/dashboard/tiles"' in html and 'data-every="10"' in html

    a1 = tile(html, "A1")
    assert "state-ok" in a1 and "✓" in a1 and "OK" in text(a1)
    assert '<div class="temp">4.4 °C</div>' in a1  # the primary's latest reading
    since = workday_start(now, ZoneInfo(TZ))
    today = [t for at, t in ((50, 3.1), (20, 7.2), (2, 4.4), (3, 4.6)) if now - timedelta(minutes=at) >= since]
    assert f"min {min(today):.1f} °C · max {max(today):.1f} °C" in text(a1)
    assert 'href="/fridges/A1"' in a1
    assert "<svg" in a1 and '<rect class="band"' in a1 and "A1: last 24 hours" in a1

    b2 = tile(html, "B2")
    assert "state-no-data" in b2 and "NO DATA" in text(b2) and "OK" not in text(b2).split()
    assert "Last known 5.0 °C" in text(b2) and "Last reading 2 h ago" in text(b2)

    c3 = tile(html, "C3")
    assert "LOW BATTERY" in text(c3) and "🔋" in c3 and "native:c3 12 %" in text(c3)
    d4 = tile(html, "D4")
    assert "OUT OF RANGE" in text(d4) and "⚠" in d4 and "9.1 °C" in text(d4)
    e5 = tile(html, "E5")
    assert "NO SENSOR" in text(e5) and "No sensor assigned" in text(e5)

    assert "Unassigned sensors" in html
    unassigned = html[html.index("Unassigned sensors"):]
    assert "native:loose" in unassigned and "21.5 °C" in unassigned and "4 min ago" in text(unassigned)
    # Sites are grouped, in name order.
    assert html.index("Clinic A") < html.index("Clinic B")


def test_dashboard_finds_fridges_by_name_in_any_case(web):
    client, _engine, _now, _ = web
    tiles = re.compile(r'data-fridge="([^"]+)"')
    found = client.get("/?q=d").get_data(as_text=True)
    assert tiles.findall(found) == ["D4", "DST"]
    assert 'value="d"' in found and "Show all fridges" in found
    # The live refresh keeps the search.
    assert 'data-refresh="/dashboard/tiles?q=d"' in found
    assert tiles.findall(client.get("/dashboard/tiles?q=a1").get_data(as_text=True)) == ["A1"]
    # A search is text, not a pattern: "%" and "_" match only themselves.
    assert tiles.findall(client.get("/?q=%25").get_data(as_text=True)) == []
    nothing = client.get("/?q=_").get_data(as_text=True)
    assert tiles.findall(nothing) == [] and "No fridge's name holds “_”." in nothing
    assert len(tiles.findall(client.get("/").get_data(as_text=True))) == 6


def test_tiles_refresh_alone_and_follow_the_units_preference(web):
    client, engine, _now, user_id = web
    with so.Session(engine) as session, session.begin():
        session.get(m.User, user_id).display_unit = "F"
    response = client.get("/dashboard/tiles")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<html" not in html  # a fragment, swapped in place
    assert '<div class="temp">39.9 °F</div>' in tile(html, "A1")
    assert "Allowed 35.6 °F … 46.4 °F" in text(tile(html, "A1"))


def test_sign_in_through_the_form_then_see_the_dashboard(web):
    client, *_ = web
    anonymous = client.application.test_client()
    assert anonymous.get("/").status_code == 302
    page = anonymous.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = anonymous.post("/login", data={"csrf_token": token, "name": "nina", "password": PASSWORD})
    assert response.status_code == 302
    assert "data-fridge=\"A1\"" in anonymous.get("/").get_data(as_text=True)


def test_fridge_page_shows_chart_sensors_and_daily_table_across_dst(web):
    client, *_ = web
    response = client.get("/fridges/DST?range=custom&from=2026-03-28&to=2026-03-30")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="fridge-chart-title"' in html and "Showing every reading" in html
    assert html.count("<polyline") + html.count("<circle") >= 1
    rows = {day: text(row) for day, row in re.findall(r'<tr data-day="([^"]+)">(.*?)</tr>', html, re.S)}
    assert list(rows) == ["2026-03-30", "2026-03-29", "2026-03-28"]  # newest first
    assert rows["2026-03-28"] == "Sat 28 Mar 2026 3.0 °C 3.0 °C 3.0 °C 1 ✓ in range"
    assert rows["2026-03-29"] == "Sun 29 Mar 2026 2.5 °C 7.5 °C 5.0 °C 2 ✓ in range"
    assert rows["2026-03-30"] == "Mon 30 Mar 2026 6.0 °C 6.0 °C 6.0 °C 1 ✓ in range"


@pytest.mark.parametrize(("query", "shown"), [
    ("", "every reading"),
    ("?range=week", "hourly minimum, maximum and mean"),
    ("?range=month", "hourly minimum, maximum and mean"),
    ("?range=year", "daily minimum, maximum and mean"),
])
def test_fridge_page_ranges(web, query, shown):
    client, *_ = web
    response = client.get(f"/fridges/A1{query}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f"Showing {shown}" in html
    assert "native:a1-backup" in html and "backup" in html
    assert "70 %" in html and "not calibrated: no certificate recorded" in html


def test_fridge_page_sensors_flag_battery_and_calibration(web):
    client, engine, now, _ = web
    today = now.astimezone(ZoneInfo(TZ)).date()
    from fridge_monitor.core.calibration import Point
    from fridge_monitor.store import calibrations

    def certificate(number: str, due: date) -> calibrations.Entry:
        return calibrations.Entry(number, "Thermo Lab", "UKAS", "0042", due - timedelta(days=730), due, "T5", "S1",
                                  (Point(5.0, 5.1),), 0.2, "pass", "c.pdf", b"%PDF-1.4 certificate")

    with so.Session(engine) as session, session.begin():
        for sensor, entry in (("native:a1", certificate("ISO17025-4711", today + timedelta(days=10))),
                              ("native:a1-backup", certificate("ISO17025-4712", today - timedelta(days=1)))):
            calibrations.record(session, session.get(m.Sensor, sensor), entry, actor="ada", now=now)
    html = client.get("/fridges/A1").get_data(as_text=True)
    assert "calibrated (certificate ISO17025-4711, due" in html and "due in 10 days" in html
    assert f"not calibrated: certificate ISO17025-4712 expired on {today - timedelta(days=1)}" in html
    # Both fall due within 30 days of each other: one would always be away with the other.
    assert "fall due for calibration within 30 days of each other" in html
    c3 = client.get("/fridges/C3").get_data(as_text=True)
    assert "12 % LOW" in c3 and "LOW BATTERY" in c3
    b2 = client.get("/fridges/B2").get_data(as_text=True)
    assert "silent (no reading for over 35 min)" in b2 and "NO DATA" in b2  # the default profile's gap


def test_fridge_page_errors(web):
    client, *_ = web
    assert client.get("/fridges/nope").status_code == 404
    bad = client.get("/fridges/A1?range=custom&from=yesterday&to=2026-01-01")
    assert bad.status_code == 400
    assert "is not a date" in bad.get_data(as_text=True)
