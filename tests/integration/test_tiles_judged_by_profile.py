"""The dashboard's tiles, the fridge page, the list of sites and the JSON API judge each fridge by its alarm
profile, as its alarms do: its allowed gap (silence), its range narrowed to the fridge's own, its low-battery
threshold. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from test_web_dashboard import reading, text, tile

from fridge_monitor.alerts.evaluate import Evaluator
from fridge_monitor.ingest.batches import Batch, Store
from fridge_monitor.store import models as m

from support import STAFF, client_for, clinic_app, clinic_config, user_with_token

SLOW = {"name": "hourly-probe", "low_c": 2.0, "high_c": 6.0, "allowed_gap_min": 120, "low_battery_pct": 30}
FRIDGES = [
    {"name": "A1", "site": "Clinic A", "sensors": ["native:a1"]},  # the default profile: a 35-minute gap
    {"name": "B2", "site": "Clinic A", "sensors": ["native:b2"]},
    {"name": "S1", "site": "Clinic A", "sensors": ["native:s1"], "alarm_profile": "hourly-probe"},
    {"name": "S2", "site": "Clinic A", "sensors": ["native:s2"], "alarm_profile": "hourly-probe"},
    {"name": "S3", "site": "Clinic A", "sensors": ["native:s3"], "alarm_profile": "hourly-probe"},
]


def test_tiles_page_list_and_api_agree_with_the_alarms(database_url, engine_for):
    now = datetime.now(UTC)
    engine = engine_for(database_url)
    config = clinic_config(FRIDGES, database_url, web={"secret_key": "s" * 40}, alarm_profiles=[SLOW])
    app = clinic_app(engine, config, STAFF, now, now - timedelta(days=30))
    Store(engine).write(Batch(readings=[
        reading("native:a1", now - timedelta(minutes=32), 5.0, 90),  # within the default 35 min
        reading("native:b2", now - timedelta(minutes=38), 5.0, 90),  # past it
        reading("native:s1", now - timedelta(minutes=90), 5.0, 90),  # within its profile's 2 h
        reading("native:s2", now - timedelta(minutes=1), 7.0, 90),  # in the fridge's 2–8 °C, above the profile's 6
        reading("native:s3", now - timedelta(minutes=1), 4.0, 25),  # under the profile's 30 % battery
    ]))
    Evaluator(engine, config, clock=lambda: now).everything()
    with engine.connect() as conn:
        raised = {(fridge, kind) for fridge, kind in conn.execute(
            sa.select(m.Fridge.name, m.Alert.kind).join(m.Fridge, m.Alert.fridge_id == m.Fridge.id)
            .where(m.Alert.ended_at.is_(None)))}
    assert raised == {("B2", "no-data"), ("S2", "excursion"), ("S3", "low-battery")}

    nurse = client_for(app, engine, "nina")
    html = nurse.get("/").get_data(as_text=True)
    shown = {name: text(tile(html, name)) for name in ("A1", "B2", "S1", "S2", "S3")}
    assert "NO DATA" not in shown["A1"] and "NO DATA" not in shown["S1"]
    assert "NO DATA" in shown["B2"]
    assert "OUT OF RANGE" in shown["S2"] and "2.0 °C … 6.0 °C" in shown["S2"]
    assert "native:s3 25 %" in shown["S3"]  # weak by its profile's 30 %, as its low-battery alert says
    s1_page = text(nurse.get("/fridges/S1").get_data(as_text=True))
    assert "silent" not in s1_page and "NO DATA" not in s1_page
    b2_page = text(nurse.get("/fridges/B2").get_data(as_text=True))
    assert "silent (no reading for over 35 min)" in b2_page

    token = user_with_token(engine, "api-reader", "auditor", now, "correct horse battery")
    listed = app.test_client().get("/api/v1/fridges", headers={"Authorization": f"Bearer {token}"}).get_json()
    states = {f["name"]: f["status"] for f in listed["fridges"]}
    assert states["A1"] == states["S1"] == "OK"
    assert states["B2"] == "NO DATA" and states["S2"] == "OUT OF RANGE"
    ranges = {f["name"]: f["range"] for f in listed["fridges"]}
    assert ranges["S2"] == {"low_c": 2.0, "high_c": 6.0}


def test_the_fridge_page_chart_breaks_its_line_only_past_the_profile_s_gap(database_url, engine_for):
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    engine = engine_for(database_url)
    config = clinic_config(FRIDGES, database_url, web={"secret_key": "s" * 40}, alarm_profiles=[SLOW])
    app = clinic_app(engine, config, STAFF, now, now - timedelta(days=30))
    hourly = [now - timedelta(hours=h, minutes=5) for h in range(6)]  # a reading an hour, the last 6 hours
    Store(engine).write(Batch(readings=[reading(sensor, at, 5.0, 90) for at in hourly
                                        for sensor in ("native:a1", "native:s1")]))
    nurse = client_for(app, engine, "nina")

    def lines(fridge: str) -> tuple[int, int]:
        page = nurse.get(f"/fridges/{fridge}?range=day").get_data(as_text=True)
        chart = page[page.index('id="fridge-chart-title"'):]
        chart = chart[:chart.index("</svg>")]
        return chart.count('<polyline class="line"'), chart.count('<circle class="line"')

    assert lines("S1") == (1, 0)  # 60 min apart is within its 2-hour gap: one line
    assert lines("A1") == (0, 6)  # past the default 35 min: six lone points, silence between them
