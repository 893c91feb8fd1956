"""A backlog still being drained from the broker is not silence (issue #11, defect 8).

A real ``fridge-monitor ingest`` process on a private Mosquitto (persistent,
so its session keeps what is queued while it is stopped) and the real
database. Ten fridges whose sensors report every 10 seconds, with a profile
that allows a 2-minute gap. Ingest is restarted while 30 minutes behind the
broker: 30 minutes of readings, with their own timestamps, wait in its
session, and its heartbeat row says it last caught up 30 minutes ago (the
test sets that time rather than wait half an hour). While it drains them,
the scheduler's checks (what ``fridge-monitor check`` and the scheduler run)
are run again and again: they see sensors whose newest stored reading is far
older than the allowed gap, and raise no no-data alarm, because ingest's
heartbeat says how far it has caught up. With ``max_drain_s`` shorter than
that, the same drain does raise them (as every drain did before).

And silence stays an alarm: with no ingest running, or with ingest running
and caught up, a silent sensor raises its no-data alarm after its gap.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import sqlalchemy as sa

from fridge_monitor.alerts.outbox import Outbox
from fridge_monitor.alerts.scheduler import run_checks
from fridge_monitor.config import load_config
from fridge_monitor.store import models as m

from support import Publisher, cli, native, wait_until

pytestmark = [pytest.mark.slow]

SENSORS = [f"drain-{k}" for k in range(10)]
GAP = timedelta(minutes=2)
EVERY_S = 10  # each sensor's reading interval
HEARTBEAT_S = 2.0
DRAIN_STEP_S = 0.05  # how long the broker runs between two rounds of the checks
ENOUGH_MID_DRAIN = 5  # rounds of the checks that see sensors look silent mid-drain
BEFORE = len(SENSORS) * 61  # ten minutes of readings stored before the backlog
TOTAL = len(SENSORS) * (61 + 180)  # and the 30 minutes of backlog

PROFILE = """
[[alarm_profiles]]
name = "short-gap"
low_c = 2.0
high_c = 8.0
allowed_gap_min = 2
"""


def clinic(make_config: Callable[..., Any], database_url: str, broker_url: str, client_id: str,
           sensors: list[str], max_drain_s: float = 3600.0) -> tuple[Any, Path]:
    """One fridge per sensor under the short-gap profile; ingest commits in small batches (a slow drain)."""
    _config, path = make_config(
        database_url, broker_url=broker_url, protocol="5", client_id=client_id,
        sections={"ingest": {"batch_size": 5, "heartbeat_s": HEARTBEAT_S, "max_drain_s": max_drain_s},
                  "mqtt": {"receive_maximum": 5}},
        sites=[{"name": "Clinic", "timezone": "Europe/Berlin"}],
        fridges=[{"name": f"Fridge {s}", "site": "Clinic", "alarm_profile": "cdc-refrigerator",
                  "sensors": [f"native:{s}"]} for s in sensors],
    )
    path.write_text(path.read_text().replace('"cdc-refrigerator"', '"short-gap"') + PROFILE)
    return load_config(path, {}), path


class Check(NamedTuple):
    """One round of the checks: readings stored, sensors silent if judged as of now, no-data alerts after it."""

    stored: int
    silent_by_now: int
    alerts: list[tuple[str, str, str]]


def stored(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(m.Reading)
                           .where(m.Reading.sensor_id.startswith("native:drain-")))


def no_data_alerts(engine: sa.Engine) -> list[tuple[str, str, str]]:
    a = m.Alert
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(a.rule, a.subject, a.state).where(a.kind == "no-data")
                                               .order_by(a.id))]


def silent_by_now(engine: sa.Engine, now: datetime) -> int:
    """Sensors whose newest stored reading is older than the allowed gap: silent, judged at ``now``."""
    s = m.Sensor
    with engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(s).where(
            s.id.startswith("native:drain-"), s.last_measured_at < now - GAP))


def heartbeat(engine: sa.Engine, client_id: str) -> Any:
    h = m.IngestHeartbeat
    with engine.connect() as conn:
        return conn.execute(sa.select(h).where(h.client_id == client_id)).mappings().first()


def start_caught_up(ingest: Any, engine: sa.Engine, client_id: str) -> None:
    """Start ingest and wait until its first marker is back: subscribed, and caught up with the broker."""
    began = datetime.now(UTC)
    ingest.start()
    wait_until(lambda: (beat := heartbeat(engine, client_id)) and beat["caught_up_at"]
               and beat["caught_up_at"] >= began, 60, what="ingest to catch up with the broker")


def readings(prefix: str, start: int, end: int) -> list[tuple[str, bytes]]:
    """Every sensor every EVERY_S seconds from ``start`` to ``end`` (epoch seconds), in time order."""
    return [native(prefix, sensor, 4.5, ts) for ts in range(start, end + 1, EVERY_S) for sensor in SENSORS]


def mid_drain(checks: list[Check]) -> list[Check]:
    """Checks while the drain had stored part of the backlog, and sensors' newest readings were older than the
    allowed gap: judged as of now, they were silent."""
    return [c for c in checks if BEFORE < c.stored < TOTAL and c.silent_by_now]


def drain_while_checking(database_url: str, make_config: Callable[..., Any], engine_for: Callable[[str], sa.Engine],
                         ingest_processes: Callable[..., Any], private_mosquitto: Callable[..., Any], prefix: str,
                         max_drain_s: float) -> tuple[sa.Engine, list[Check], Any, str]:
    """Ingest restarted 30 minutes behind the broker drains its backlog while the checks run again and again."""
    broker = private_mosquitto()
    client_id = f"fm-drain-{prefix.strip('/')}"
    config, path = clinic(make_config, database_url, broker.url, client_id, SENSORS, max_drain_s=max_drain_s)
    engine = engine_for(database_url)
    ingest = ingest_processes(path)
    publisher = Publisher(broker.url, f"pub-{prefix.strip('/')}", protocol="5")
    outbox = Outbox(engine, config)
    now = int(time.time())
    checks: list[Check] = []
    try:
        # Ingest stores the ten minutes before the backlog and is caught up with the broker.
        start_caught_up(ingest, engine, client_id)
        publisher.publish(readings(prefix, now - 40 * 60, now - 30 * 60))
        wait_until(lambda: stored(engine) == BEFORE, 60, what="the readings before the backlog stored")
        assert ingest.terminate() == 0, ingest.log_tail()

        # 30 minutes of readings wait in ingest's session: as if it had been restarted while 30 minutes
        # behind the broker, having last caught up when the first of them was sent (its heartbeat row
        # says so, and the new process keeps that until its own marker comes back).
        publisher.publish(readings(prefix, now - 30 * 60 + EVERY_S, now))
        with engine.begin() as conn:
            conn.execute(sa.update(m.IngestHeartbeat).where(m.IngestHeartbeat.client_id == client_id).values(
                caught_up_at=datetime.fromtimestamp(now - 30 * 60, UTC),
                beat_at=datetime.now(UTC), stored_at=datetime.now(UTC), connected=True))

        # The scheduler's checks, again and again, while ingest drains the backlog. Until enough rounds have
        # seen the drain half done, the broker is frozen while the checks run and let run for a moment between
        # two rounds: however fast this machine stores, the drain spreads over several rounds.
        ingest.start()
        wait_until(lambda: stored(engine) > BEFORE, 60, interval=0.02, what="ingest to start draining")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            pacing = len(mid_drain(checks)) < ENOUGH_MID_DRAIN
            if pacing:
                broker.pause()
            count, judged_at = stored(engine), datetime.now(UTC)
            silent = silent_by_now(engine, judged_at)
            run_checks(engine, config, outbox)
            checks.append(Check(count, silent, no_data_alerts(engine)))
            broker.resume()
            if count == TOTAL:
                break
            # Back to back, the checks would hold SQLite's write lock most of the time and starve the drain;
            # the scheduler runs them every few seconds.
            time.sleep(DRAIN_STEP_S if pacing else 0.25)
        broker.resume()
        assert stored(engine) == TOTAL, f"ingest stored {stored(engine)} of {TOTAL}:\n{ingest.log_tail()}"
        run_checks(engine, config, outbox)  # and once more with everything stored
    finally:
        broker.resume()
        outbox.close()
        publisher.close()
    assert len(mid_drain(checks)) >= ENOUGH_MID_DRAIN, f"too few checks mid-drain with sensors looking silent: {checks}"
    return engine, checks, ingest, client_id


def test_a_30_minute_backlog_drained_while_the_checks_run_raises_no_no_data_alarm(
        database_url, make_config, engine_for, ingest_processes, private_mosquitto, prefix):
    engine, checks, ingest, client_id = drain_while_checking(
        database_url, make_config, engine_for, ingest_processes, private_mosquitto, prefix, max_drain_s=3600.0)

    assert [c.alerts for c in checks if c.alerts] == [], "a drain raised a no-data alarm"
    assert no_data_alerts(engine) == []
    # Drained, ingest's own marker came back: it is caught up with the broker.
    drained = datetime.now(UTC)
    wait_until(lambda: heartbeat(engine, client_id)["caught_up_at"] > drained - timedelta(seconds=3 * HEARTBEAT_S),
               30, what="ingest's marker back after the drain")
    assert "Traceback" not in ingest.log(), ingest.log_tail()


def test_a_drain_further_behind_than_max_drain_is_judged_as_of_now(
        sqlite_url, make_config, engine_for, ingest_processes, private_mosquitto, prefix):
    """The same drain with ``max_drain_s`` 10 minutes: 30 minutes behind is too far to wait for, so the checks
    judge silence as of now, as before the heartbeat: the no-data alarms open, and end as the readings come."""
    engine, checks, _ingest, _client_id = drain_while_checking(
        sqlite_url, make_config, engine_for, ingest_processes, private_mosquitto, prefix, max_drain_s=600.0)

    assert any(c.alerts for c in checks), "judged as of now, the drain raised no no-data alarm"
    assert {alert for alert in no_data_alerts(engine)} == {("silence", f"native:{s}", "resolved") for s in SENSORS}


def test_without_ingest_a_silent_sensor_still_raises_no_data_after_its_gap(
        database_url, make_config, engine_for, ingest_processes, private_mosquitto, prefix):
    """Ingest stopped (its heartbeat goes stale: it drains nothing) and a sensor's newest reading is
    three minutes old: ``fridge-monitor check`` raises no-data. Even the row of an ingest that had
    stopped while behind the broker changes nothing once it is stale."""
    broker = private_mosquitto()
    client_id = f"fm-quiet-{prefix.strip('/')}"
    _config, path = clinic(make_config, database_url, broker.url, client_id, ["quiet"])
    engine = engine_for(database_url)
    ingest = ingest_processes(path)
    publisher = Publisher(broker.url, f"pub-{prefix.strip('/')}", protocol="5")
    now = int(time.time())
    try:
        start_caught_up(ingest, engine, client_id)
        publisher.publish([native(prefix, "quiet", 4.5, now - 180)])
        wait_until(lambda: heartbeat(engine, client_id) and _count(engine, "native:quiet") == 1, 60,
                   what="the reading stored")
        assert ingest.terminate() == 0, ingest.log_tail()
    finally:
        publisher.close()
    with engine.begin() as conn:
        conn.execute(sa.update(m.IngestHeartbeat).values(caught_up_at=datetime.fromtimestamp(now - 600, UTC)))
    wait_until(lambda: datetime.now(UTC) - heartbeat(engine, client_id)["beat_at"]
               > timedelta(seconds=4 * HEARTBEAT_S), 30, what="ingest's heartbeat to go stale")

    done = cli("--config", str(path), "check")
    assert done.returncode == 0, done.stderr
    assert no_data_alerts(engine) == [("silence", "native:quiet", "open")]


def test_with_ingest_caught_up_a_silent_sensor_still_raises_no_data_after_its_gap(
        database_url, make_config, engine_for, ingest_processes, private_mosquitto, prefix):
    broker = private_mosquitto()
    client_id = f"fm-live-{prefix.strip('/')}"
    _config, path = clinic(make_config, database_url, broker.url, client_id, ["quiet", "talking"])
    engine = engine_for(database_url)
    ingest = ingest_processes(path)
    publisher = Publisher(broker.url, f"pub-{prefix.strip('/')}", protocol="5")
    now = int(time.time())
    try:
        start_caught_up(ingest, engine, client_id)
        publisher.publish([native(prefix, "quiet", 4.5, now - 180), native(prefix, "talking", 4.5, now - 180),
                           native(prefix, "talking", 4.6, now)])
        sent = datetime.now(UTC)
        wait_until(lambda: _count(engine, "native:talking") == 2 and (beat := heartbeat(engine, client_id))
                   and beat["caught_up_at"] and beat["caught_up_at"] >= sent, 60,
                   what="the readings stored and ingest caught up")
        done = cli("--config", str(path), "check")
        assert done.returncode == 0, done.stderr
        assert ingest.running(), ingest.log_tail()
    finally:
        publisher.close()
    assert no_data_alerts(engine) == [("silence", "native:quiet", "open")]


def _count(engine: sa.Engine, sensor: str) -> int:
    with engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(m.Reading).where(m.Reading.sensor_id == sensor))
