"""A fridge's door contact and smart plug on its page (door open periods shaded, power charted) and in
``export channels``, on SQLite and PostgreSQL; stored once each, never as temperatures."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from fridge_monitor.core.readings import ChannelReading, Reading
from fridge_monitor.ingest.batches import Batch, Source, Store
from fridge_monitor.store import models as m

from support import STAFF, cli, client_for, clinic_app, clinic_config

NOW = datetime.now(UTC).replace(microsecond=0)


def ago(minutes: float) -> datetime:
    return NOW - timedelta(minutes=minutes)


def test_door_and_plug_on_the_fridge_page_and_in_the_channels_export(database_url, engine_for):
    engine = engine_for(database_url)
    config = clinic_config([{"name": "A1", "site": "Clinic A", "sensors": ["native:a1-probe"],
                             "aux_sensors": ["zigbee2mqtt:a1-door", "native:a1-plug"]}], database_url)
    app = clinic_app(engine, config, STAFF, NOW, NOW - timedelta(days=2))
    door = [(ago(50), 1.0), (ago(42), 0.0), (ago(20), 1.0), (ago(19), 0.0)]
    power = [(ago(60 - k), 85.0 if k % 20 < 8 else 3.0) for k in range(0, 60, 2)]
    source = Source("zigbee2mqtt/a1-door", "zigbee2mqtt", b"{}")
    batch = Batch(
        readings=[(Reading("native:a1-probe", "native", "a1-probe", ago(k), 5.0), ago(k)) for k in range(60, 0, -5)],
        channels=[(ChannelReading("zigbee2mqtt:a1-door", "zigbee2mqtt", "a1-door", "door", at, v), at, source)
                  for at, v in door]
        + [(ChannelReading("native:a1-plug", "native", "a1-plug", "power", at, v), at, None) for at, v in power])
    store = Store(engine)
    store.write(batch)
    store.write(batch)  # delivered twice: stored once
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(m.ChannelReading)) == len(door) + len(power)
        assert conn.scalar(sa.select(sa.func.count()).select_from(m.Reading)) == 12

    page = client_for(app, engine, "aldo").get("/fridges/A1?range=day")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    # The door's long opening is shaded on the temperature chart, labelled; so is the short one.
    assert html.count('<rect class="span"') == 2
    assert "door open " in html and "8 min (zigbee2mqtt:a1-door)" in html
    assert "Shaded on the chart: the door open, 2 times in this range" in html
    # The plug's power is charted below, in W; the door contact and plug are no temperature sensors.
    assert 'id="fridge-power-chart-title"' in html and "A1: power (W)" in html
    assert "native:a1-plug (aux)" not in html.split('id="fridge-chart-title"')[1].split("</svg>")[0]

    done = cli("export", "channels", "--from", (NOW - timedelta(days=1)).date().isoformat(), "--to",
               NOW.date().isoformat(), "--fridge", "A1", env={"FRIDGE_MONITOR_DATABASE_URL": database_url})
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    doors = [(r["sensor"], r["value"], r["unit"]) for r in rows if r["channel"] == "door"]
    assert doors == [("zigbee2mqtt:a1-door", value, "1 open, 0 closed") for value in ("1.0", "0.0", "1.0", "0.0")]
    watts = [float(r["value"]) for r in rows if r["channel"] == "power"]
    assert watts == [v for _at, v in power] and {r["unit"] for r in rows if r["channel"] == "power"} == {"W"}
    assert {r["fridge"] for r in rows} == {"A1"}
    assert rows[0]["measured_at_utc"] == power[0][0].strftime("%Y-%m-%dT%H:%M:%SZ")  # in time order

    # The same from the exports page, as an auditor downloads it.
    auditor = client_for(app, engine, "aldo")
    token = re.search(r'name="csrf_token" value="([^"]+)"', auditor.get("/exports/").get_data(as_text=True)).group(1)
    day = NOW.date().isoformat()
    start = (NOW - timedelta(days=1)).date().isoformat()
    download = auditor.post("/exports/csv", data={"csrf_token": token, "kind": "channels", "from": start, "to": day,
                                                  "fridge": "A1"})
    assert download.status_code == 200
    assert list(csv.DictReader(io.StringIO(download.get_data(as_text=True)))) == rows
