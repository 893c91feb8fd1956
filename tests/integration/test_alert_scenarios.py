"""Simulated fridges over the real broker raise the alerts a nurse expects (issue #4, "Must show").

A real ``fridge-monitor ingest`` process reads the machine's Mosquitto while
the simulator (the ``sensors`` package, as ``python -m sensors`` runs it)
replays five hours of history at high speed for a small clinic: one fridge
per scenario. Ingest judges each batch as it stores it; ``fridge-monitor
check`` then does what the scheduler does as time passes. Because the
replayed history ends at the wall clock, real time has passed for the rules:
no clock is faked.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from fridge_monitor.store import models as m
from fridge_monitor.store.marks import marked_fridges
from sensors import FridgePlan, Simulation

from support import Publisher, cli, native, wait_until

HISTORY = timedelta(hours=5)
INTERVAL_S = 300.0  # every 5 simulated minutes
SPEED = 9000.0  # five hours in two seconds

# One fridge per scenario: the device name is the scenario's, so a failure names the scenario.
# Onsets and outages in simulated seconds after the start of the replayed history.
PLANS = [
    FridgePlan("normal", "normal"),
    FridgePlan("compressor-failure", "compressor-failure", onset_s=30 * 60),
    FridgePlan("freeze", "freeze", onset_s=30 * 60),
    FridgePlan("flapping", "flapping"),
    # Power fails an hour before the end of the history and is still out at the end.
    FridgePlan("power-outage", "power-outage", onset_s=HISTORY.total_seconds() - 3600, outage_s=24 * 3600),
    # Wi-Fi drops 30 min in for 45 min; the door is left ajar 10 to 25 min into it. The buffer
    # is uploaded as one shuffled list when the link is back. By the time it is judged, that is
    # over four hours ago: older than the rules look back for a fridge that nothing marked.
    FridgePlan("backlog", "backlog", onset_s=30 * 60, outage_s=45 * 60),
]

pytestmark = [pytest.mark.slow]


def alerts_by_fridge(engine: sa.Engine) -> dict[str, list[tuple[str, str, str, str]]]:
    """What the alerts page lists for each fridge: (kind, rule, severity, state), oldest first."""
    a, f = m.Alert, m.Fridge
    found: dict[str, list[tuple[str, str, str, str]]] = {}
    with engine.connect() as conn:
        rows = conn.execute(sa.select(f.name, a.kind, a.rule, a.severity, a.state)
                            .join(f, a.fridge_id == f.id).order_by(a.started_at, a.id)).all()
    for fridge, *alert in rows:
        found.setdefault(fridge, []).append(tuple(alert))
    return found


def readings_stored(engine: sa.Engine, sensors: list[str]) -> int:
    with engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(m.Reading)
                           .where(m.Reading.sensor_id.in_(sensors)))


def wait_ingesting(engine: sa.Engine, publisher: Publisher, prefix: str, ingest, timeout: float = 30) -> None:
    """Publish a probe reading until one is stored: from then on the broker keeps ingest's messages."""
    def stored() -> bool:
        assert ingest.running(), ingest.log_tail()
        publisher.publish([native(prefix, "probe", 5.0)])
        return readings_stored(engine, ["native:probe"]) > 0

    wait_until(stored, timeout, interval=0.3, what="ingest to store a probe reading")


def test_simulated_scenarios_raise_the_expected_alerts(database_url, make_config, engine_for, ingest_processes,
                                                       mqtt_url, prefix):
    sensors = {plan.name: f"native:{plan.name}" for plan in PLANS}
    _config, path = make_config(
        database_url,
        sites=[{"name": "Clinic", "timezone": "Europe/Berlin"}],
        fridges=[{"name": name, "site": "Clinic", "sensors": [sensor]} for name, sensor in sensors.items()],
    )
    engine = engine_for(database_url)
    ingest = ingest_processes(path).start()
    publisher = Publisher(mqtt_url, f"pub-{prefix.strip('/')}")
    try:
        wait_ingesting(engine, publisher, prefix, ingest)
    finally:
        publisher.close()

    start = datetime.now(UTC) - HISTORY
    simulation = Simulation(mqtt_url, PLANS, interval_s=INTERVAL_S, speed=SPEED, seed=4, prefix=prefix,
                            start=start, count=int(HISTORY.total_seconds() // INTERVAL_S),
                            client_id=f"sim-{prefix.strip('/')}")
    stats = simulation.run()
    assert stats.unacknowledged == 0 and stats.backlog_uploads == 1 and stats.dark_slots > 0, stats.summary()

    wait_until(lambda: readings_stored(engine, list(sensors.values())) == stats.readings, 30,
               what=f"all {stats.readings} simulated readings stored")
    wait_until(lambda: marked_fridges(engine) == [], 30, what="ingest to judge what it stored")

    # Time passing is the scheduler's to notice: the one silent sensor is the one alert it adds.
    done = cli("--config", str(path), "check")
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r"checks done: 1 alert\(s\) opened, \d+ updated", done.stdout.strip()), done.stdout

    warning = ("excursion", "out-of-range", "warning")
    found = alerts_by_fridge(engine)
    # A trend warning is a prediction made as readings arrive: whether one came before a fast excursion depends
    # on how the replayed history was cut into batches. Only the fridges heading out of range may have one,
    # ended by the time its excursion began.
    trends = {name: [a for a in kinds if a[0] == "trend"] for name, kinds in found.items()}
    assert set(name for name, t in trends.items() if t) <= {"compressor-failure", "freeze", "flapping"}, found
    assert all(a[3] == "resolved" for t in trends.values() for a in t), found
    assert {name: [a for a in kinds if a[0] != "trend"] for name, kinds in found.items()} == {
        "compressor-failure": [(*warning, "open"), ("excursion", "heat", "alarm", "open")],
        "freeze": [(*warning, "open"), ("excursion", "freeze", "alarm", "open")],
        "flapping": [(*warning, "open")],
        "power-outage": [("no-data", "silence", "alarm", "open")],
        "backlog": [(*warning, "resolved")],
    }

    a, f = m.Alert, m.Fridge
    with engine.connect() as conn:
        details = conn.execute(sa.select(f.name, a.detail).join(f, a.fridge_id == f.id)
                               .where(a.kind == "excursion", a.rule == "out-of-range")).all()
    predicted = {name: bool(re.search(r"Predicted by the trend warning \d+ min before it began", detail))
                 for name, detail in details}
    # An excursion says it was predicted exactly when a trend warning came before it.
    assert predicted == {name: bool(trends.get(name)) for name in predicted}, details

    # The backlog's excursion is the one hidden in the late upload: it lies inside the Wi-Fi outage.
    a, f = m.Alert, m.Fridge
    with engine.connect() as conn:
        started, ended = conn.execute(sa.select(a.started_at, a.ended_at).join(f, a.fridge_id == f.id)
                                      .where(f.name == "backlog")).one()
    outage_start = simulation.clock.sim_start_s + 30 * 60
    assert outage_start <= started.timestamp() < ended.timestamp() <= outage_start + 45 * 60 + INTERVAL_S
