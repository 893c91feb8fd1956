"""Issue #17's must-show, over the real Mosquitto on SQLite and PostgreSQL: a zigbee2mqtt door contact left
open gives ``door-open``; a smart plug reporting 0 W gives ``power-lost``, and the excursion that follows
names it as its likely cause.

An in-process ingest reads the broker with the default subscriptions; the rules are then judged as the
scheduler judges them, at a later moment (its clock is the only thing moved: five minutes of a door left
open are judged five minutes on, not waited for).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.alerts.evaluate import Evaluator
from fridge_monitor.ingest.subscriber import Ingest
from fridge_monitor.store import models as m
from fridge_monitor.web import create_app

from support import Publisher, add_users, client_for, native, wait_until

pytestmark = [pytest.mark.slow]

FRIDGES = [
    {"name": "Door fridge", "site": "Clinic", "sensors": ["native:door-fridge-probe"],
     "aux_sensors": ["zigbee2mqtt:door-fridge-contact"]},
    {"name": "Plug fridge", "site": "Clinic", "sensors": ["native:plug-fridge-probe"],
     "aux_sensors": ["tasmota:plug-fridge-plug"]},
]


def alerts(engine: sa.Engine, fridge: str) -> list[m.Alert]:
    with so.Session(engine, expire_on_commit=False) as session:
        return list(session.scalars(sa.select(m.Alert).join(m.Fridge, m.Alert.fridge_id == m.Fridge.id)
                                    .where(m.Fridge.name == fridge).order_by(m.Alert.started_at, m.Alert.id)))


def stored(engine: sa.Engine, model: type, sensor: str) -> int:
    with engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(model).where(model.sensor_id == sensor)) or 0


@pytest.fixture
def clinic(database_url: str, make_config: Callable[..., Any], engine_for: Callable[[str], sa.Engine],
           mqtt_url: str, mqtt_protocol: str, prefix: str):
    config, _path = make_config(database_url, sites=[{"name": "Clinic", "timezone": "Europe/Berlin"}],
                                fridges=FRIDGES)
    engine = engine_for(database_url)
    ingest = Ingest(config)
    ingest.start()
    publisher = Publisher(mqtt_url, f"pub-{prefix.strip('/')}", mqtt_protocol)
    try:
        assert ingest.wait_connected(10)
        yield config, engine, ingest, publisher
    finally:
        publisher.close()
        ingest.stop()


def judged_at(config: Any, engine: sa.Engine, moment: datetime) -> None:
    """Every fridge judged as the scheduler would at ``moment``."""
    Evaluator(engine, config, clock=lambda: moment).everything()


def test_a_door_left_open_five_minutes_gives_door_open_and_closing_it_resolves(clinic, prefix):
    config, engine, ingest, publisher = clinic
    topic = f"{prefix}zigbee2mqtt/door-fridge-contact"
    opened = datetime.now(UTC)
    publisher.publish([native(prefix, "door-fridge-probe", 4.5),
                       (topic, json.dumps({"contact": False, "battery": 97, "linkquality": 120}))])
    wait_until(lambda: stored(engine, m.ChannelReading, "zigbee2mqtt:door-fridge-contact") == 1
               and stored(engine, m.Reading, "native:door-fridge-probe") == 1, 30, what="the door opening stored")

    judged_at(config, engine, opened + timedelta(minutes=2))
    assert [a.kind for a in alerts(engine, "Door fridge")] == []  # within the 3 minutes allowed

    judged_at(config, engine, opened + timedelta(minutes=5, seconds=5))
    (door,) = alerts(engine, "Door fridge")
    assert (door.kind, door.severity, door.state, door.subject) == (
        "door-open", "warning", "open", "zigbee2mqtt:door-fridge-contact")
    assert door.title == "Door open 5 min so far"
    assert "The fridge was at 4.5 °C when it began" in door.detail

    publisher.publish([(topic, json.dumps({"contact": True, "battery": 97, "linkquality": 120}))])
    wait_until(lambda: stored(engine, m.ChannelReading, "zigbee2mqtt:door-fridge-contact") == 2, 30,
               what="the door closing stored")
    closed_at = datetime.now(UTC)
    judged_at(config, engine, closed_at + timedelta(minutes=6))
    (door,) = alerts(engine, "Door fridge")
    assert door.state == "resolved" and door.ended_at is not None
    # The contact's battery is kept as the sensor's, and nothing of it became a temperature.
    with engine.connect() as conn:
        contact = sa.select(m.Sensor.battery_pct).where(m.Sensor.id == "zigbee2mqtt:door-fridge-contact")
        assert conn.scalar(contact) == 97
    assert stored(engine, m.Reading, "zigbee2mqtt:door-fridge-contact") == 0
    assert ingest.stats.rejected_messages == 0


def test_a_plug_reporting_no_power_gives_power_lost_and_the_excursion_names_it(clinic, prefix):
    config, engine, _ingest, publisher = clinic
    plug = f"{prefix}tele/plug-fridge-plug/SENSOR"
    start = datetime.now(UTC)
    publisher.publish([native(prefix, "plug-fridge-probe", 4.8, start.isoformat()),
                       (plug, json.dumps({"ENERGY": {"Power": 85, "Total": 12.1}}))])
    wait_until(lambda: stored(engine, m.ChannelReading, "tasmota:plug-fridge-plug") == 1, 30, what="plug at 85 W")
    publisher.publish([(plug, json.dumps({"ENERGY": {"Power": 0, "Total": 12.1}}))])
    wait_until(lambda: stored(engine, m.ChannelReading, "tasmota:plug-fridge-plug") == 2, 30, what="plug at 0 W")
    lost_at = datetime.now(UTC)

    judged_at(config, engine, lost_at + timedelta(seconds=5))
    (lost,) = alerts(engine, "Plug fridge")
    assert (lost.kind, lost.rule, lost.severity, lost.state) == ("power-lost", "no-power", "alarm", "open")
    assert lost.title == "Power lost: the plug measures no power"

    # Without power the fridge warms: readings a minute apart, the last two above 8 °C.
    warming = [(1, 6.2), (2, 7.6), (3, 8.4), (4, 9.1)]
    publisher.publish([native(prefix, "plug-fridge-probe", c, (lost_at + timedelta(minutes=k)).isoformat())
                       for k, c in warming])
    wait_until(lambda: stored(engine, m.Reading, "native:plug-fridge-probe") == 5, 30, what="the warming readings")
    judged_at(config, engine, lost_at + timedelta(minutes=4, seconds=30))

    kinds = {a.kind: a for a in alerts(engine, "Plug fridge")}
    assert set(kinds) == {"power-lost", "excursion"}
    excursion = kinds["excursion"]
    assert "Likely cause: power lost 3 min before (Power lost: the plug measures no power)." in excursion.detail
    assert kinds["power-lost"].state == "open"

    # Power back: the plug's alert resolves; the excursion stays until the fridge is back in range.
    publisher.publish([(plug, json.dumps({"ENERGY": {"Power": 92, "Total": 12.2}}))])
    wait_until(lambda: stored(engine, m.ChannelReading, "tasmota:plug-fridge-plug") == 3, 30, what="power back")
    judged_at(config, engine, lost_at + timedelta(minutes=4, seconds=40))
    kinds = {a.kind: a for a in alerts(engine, "Plug fridge")}
    assert kinds["power-lost"].state == "resolved"
    assert kinds["excursion"].ended_at is None


def test_a_whole_site_gone_silent_is_one_notified_alert_and_one_resolution(
        database_url, make_config, engine_for, mqtt_url, mqtt_protocol, prefix, hooks):
    north = [f"north-{n}" for n in (1, 2, 3)]
    config, _path = make_config(
        database_url,
        sections={"alerts": {"channels": [{"name": "ward-hook", "type": "webhook", "url": hooks.url,
                                           "timeout_s": 5.0}]}},
        sites=[{"name": "North", "timezone": "Europe/Berlin"}, {"name": "South", "timezone": "Europe/Berlin"}],
        fridges=[*({"name": name, "site": "North", "sensors": [f"native:{name}-probe"]} for name in north),
                 {"name": "south-1", "site": "South", "sensors": ["native:south-1-probe"]}])
    engine = engine_for(database_url)
    ingest = Ingest(config)
    ingest.start()
    publisher = Publisher(mqtt_url, f"pub-{prefix.strip('/')}", mqtt_protocol)
    now = datetime.now(UTC)
    try:
        assert ingest.wait_connected(10)
        # North's sensors all stopped 40 to 38 minutes ago (the allowed gap is 35); South still reports.
        publisher.publish([native(prefix, f"{name}-probe", 4.5, (now - timedelta(minutes=40 - k)).isoformat())
                           for k, name in enumerate(north)] + [native(prefix, "south-1-probe", 5.0, now.isoformat())])
        wait_until(lambda: sum(stored(engine, m.Reading, f"native:{n}-probe") for n in [*north, "south-1"]) == 4,
                   30, what="the last readings stored")

        evaluator = Evaluator(engine, config, clock=lambda: now)
        evaluator.everything()
        evaluator.outbox.send_due(now, wait=True)
        by_fridge = {name: [(a.kind, a.state, a.group_id) for a in alerts(engine, name)]
                     for name in [*north, "south-1"]}
        (site,) = [a for a in alerts(engine, "north-1") if a.kind == "site-offline"]
        assert site.title == "Site North offline: 3 fridges silent"
        assert "Fridges: north-1, north-2, north-3" in site.detail
        # Each fridge still shows its own no-data alert, grouped under the site's.
        assert by_fridge == {"north-1": [("no-data", "open", site.id), ("site-offline", "open", None)],
                             "north-2": [("no-data", "open", site.id)], "north-3": [("no-data", "open", site.id)],
                             "south-1": []}
        assert hooks.events() == [(site.id, "opened", "open")]
        # On the alert pages, each fridge's alert points to the outage's, which lists them.
        add_users(engine, {"aldo": "auditor"}, now)
        auditor = client_for(create_app(config, engine=engine, testing=True), engine, "aldo")
        member = alerts(engine, "north-2")[0]
        page = auditor.get(f"/alerts/{member.id}").get_data(as_text=True)
        assert f'href="/alerts/{site.id}">#{site.id} Site North offline: 3 fridges silent</a>' in page
        listing = auditor.get(f"/alerts/{site.id}").get_data(as_text=True)
        assert "Fridges in this outage" in listing and listing.count('href="/alerts/') >= 3
        assert "north-3: No data from primary sensor native:north-3-probe (open)" in listing

        # The site comes back: one resolution, and the fridges' own alerts end without a word.
        back = datetime.now(UTC)
        publisher.publish([native(prefix, f"{name}-probe", 4.6, back.isoformat()) for name in north])
        wait_until(lambda: sum(stored(engine, m.Reading, f"native:{n}-probe") for n in north) == 6, 30,
                   what="the site's readings again")
        evaluator = Evaluator(engine, config, clock=lambda: back + timedelta(seconds=5))
        evaluator.everything()
        evaluator.outbox.send_due(back + timedelta(seconds=5), wait=True)
        states = {name: [(a.kind, a.state) for a in alerts(engine, name)] for name in north}
        assert states == {"north-1": [("no-data", "resolved"), ("site-offline", "resolved")],
                          "north-2": [("no-data", "resolved")], "north-3": [("no-data", "resolved")]}
        assert hooks.events() == [(site.id, "opened", "open"), (site.id, "resolved", "resolved")]
    finally:
        publisher.close()
        ingest.stop()
