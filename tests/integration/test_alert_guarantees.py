"""One alert per episode across crashes, a standby scheduler that takes over, and late data judged
in pieces raising no alarm it does not show (issue #4, "Must show").

Real processes throughout: ``fridge-monitor ingest`` on the machine's
Mosquitto, ``fridge-monitor scheduler`` (two of them for the standby test) or
``fridge-monitor check``, the real database, and a webhook channel pointing at
an HTTP server in the test. Processes are killed with SIGKILL, as a crash or
the OOM killer would.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from fridge_monitor.core.readings import Reading
from fridge_monitor.ingest.batches import Batch, Store
from fridge_monitor.store import models as m
from fridge_monitor.store.marks import marked_fridges

from support import Hooks, Publisher, cli, native, start_cli, wait_until

pytestmark = [pytest.mark.slow]

LEASE_S = 3.0
FRIDGE = "Botox"
SENSOR = "botox-probe"


# -- a webhook receiver -------------------------------------------------------------------


# -- scheduler processes ----------------------------------------------------------------------


class SchedulerProcess:
    """``fridge-monitor --config PATH scheduler`` as a real process logging to a file."""

    def __init__(self, config_path: Path, log_path: Path) -> None:
        self.config_path, self.log_path = config_path, log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.runs = 0

    def start(self) -> SchedulerProcess:
        self.runs += 1
        with open(self.log_path, "ab") as fh:
            fh.write(f"===== start #{self.runs} at {time.time():.3f} =====\n".encode())
        self.proc = start_cli("--config", str(self.config_path), "scheduler", log_path=self.log_path)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the log, without APScheduler's line per job run."""
        return "\n".join([line for line in self.log().splitlines() if "apscheduler" not in line][-lines:])


@pytest.fixture
def schedulers(tmp_path: Path) -> Iterator[Callable[[Path], SchedulerProcess]]:
    made: list[SchedulerProcess] = []

    def factory(config_path: Path) -> SchedulerProcess:
        made.append(SchedulerProcess(config_path, tmp_path / f"scheduler-{len(made)}.log"))
        return made[-1]

    yield factory
    for proc in made:
        if proc.running():
            proc.kill9()
        print(f"----- {proc.log_path.name} (last 40 lines) -----")
        print(proc.log_tail())


# -- reading the database as a nurse or an operator would see it ------------------------------------


def lease_holder_pid(engine: sa.Engine) -> int | None:
    """The pid of the scheduler holding a live lease (holder is ``host:pid:tag``), or None."""
    lease = m.SchedulerLease
    with engine.connect() as conn:
        row = conn.execute(sa.select(lease.holder, lease.expires_at)).first()
    if row is None or row.expires_at < datetime.now(UTC):
        return None
    return int(row.holder.split(":")[1])


def lease_expiry(engine: sa.Engine) -> datetime:
    with engine.connect() as conn:
        return conn.scalar(sa.select(m.SchedulerLease.expires_at))


def alerts(engine: sa.Engine) -> list[tuple[int, str, str, str, str]]:
    a = m.Alert
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(a.id, a.kind, a.rule, a.severity, a.state).order_by(a.id))]


def excursions(engine: sa.Engine) -> list[tuple[str, datetime, datetime | None, int]]:
    e = m.Excursion
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            sa.select(e.rule, e.started_at, e.ended_at, e.readings_count).order_by(e.id))]


def notifications(engine: sa.Engine) -> list[tuple[int, str, int, bool | None]]:
    """Every delivery attempt: (alert id, event, attempt, ok)."""
    n = m.Notification
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(n.alert_id, n.event, n.attempt, n.ok).order_by(n.id))]


def last_evaluated(engine: sa.Engine) -> datetime | None:
    """When the fridge was last judged (by ingest after a batch, or by the scheduler's round)."""
    with engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.max(m.FridgeEvaluation.evaluated_at)))


def readings_stored(engine: sa.Engine, sensor: str) -> int:
    with engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(m.Reading).where(m.Reading.sensor_id == sensor))


def last_seen(engine: sa.Engine, sensor: str) -> datetime:
    """When ingest last received a reading from the sensor (a copy of an old one counts)."""
    with engine.connect() as conn:
        return conn.scalar(sa.select(m.Sensor.last_seen_at).where(m.Sensor.id == sensor))


def wait_ingesting(engine: sa.Engine, publisher: Publisher, prefix: str, ingest: Any) -> None:
    """Publish a probe reading until one is stored: from then on the broker keeps ingest's messages."""
    def stored() -> bool:
        assert ingest.running(), ingest.log_tail()
        publisher.publish([native(prefix, "probe", 5.0)])
        return readings_stored(engine, "native:probe") > 0

    wait_until(stored, 30, interval=0.3, what="ingest to store a probe reading")


def wait_scheduler_round(engine: sa.Engine) -> None:
    """Wait until the active scheduler has finished a whole round of checks begun from now on.

    Call it once ingest is idle: then only the scheduler judges the fridge, once per round, and
    rounds never overlap, so a second new judgement time means the round that made the first one
    (judging, planning notifications, sending them) is over.
    """
    after = last_evaluated(engine)
    seen: set[datetime] = set()

    def two_rounds() -> bool:
        judged = last_evaluated(engine)
        if judged is not None and (after is None or judged > after):
            seen.add(judged)
        return len(seen) >= 2

    wait_until(two_rounds, 30, what="a whole round of the scheduler's checks")


# -- the tests ---------------------------------------------------------------------------------------


@pytest.fixture
def clinic(database_url: str, make_config: Callable[..., Any], hooks: Hooks, engine_for) -> tuple[Path, sa.Engine]:
    """One refrigerator (CDC profile), a tier-1 webhook, a scheduler checking every second."""
    _config, path = make_config(
        database_url,
        sections={"alerts": {"channels": [{"name": "ward-hook", "type": "webhook", "url": hooks.url, "tier": 1,
                                           "timeout_s": 5.0}]},
                  "scheduler": {"interval_s": 1.0, "lease_s": LEASE_S}},
        sites=[{"name": "Clinic", "timezone": "Europe/Berlin"}],
        fridges=[{"name": FRIDGE, "site": "Clinic", "sensors": [f"native:{SENSOR}"]}],
    )
    return path, engine_for(database_url)


def test_restarting_ingest_and_scheduler_mid_excursion_gives_one_alert_and_no_repeated_message(
        clinic, hooks, ingest_processes, schedulers, mqtt_url, prefix):
    path, engine = clinic
    ingest = ingest_processes(path).start()
    scheduler = schedulers(path).start()
    publisher = Publisher(mqtt_url, f"pub-{prefix.strip('/')}")
    now = int(time.time())

    def at(minutes: int, celsius: float) -> tuple[str, bytes]:
        return native(prefix, SENSOR, celsius, now + minutes * 60)

    try:
        wait_ingesting(engine, publisher, prefix, ingest)
        wait_until(lambda: lease_holder_pid(engine) == scheduler.pid, 30, what="the scheduler to become active")

        # Readings every 2 minutes, all from the last half hour (so however ingest splits them into
        # batches, the sensor never looks silent): in range, then 9.5 °C from 26 minutes ago.
        publisher.publish([at(k, 5.0) for k in (-30, -28)] + [at(k, 9.5) for k in range(-26, -17, 2)])
        wait_until(lambda: [(kind, rule, state) for _, kind, rule, _, state in alerts(engine)]
                   == [("excursion", "out-of-range", "open")], 30, what="the out-of-range alert")
        [(alert_id, *_)] = alerts(engine)
        wait_until(lambda: notifications(engine) == [(alert_id, "opened", 1, True)], 30,
                   what="the opened notification delivered and recorded")
        assert hooks.calls() == [(alert_id, "open")]

        # Both crash in the middle of the excursion; it goes on while they are down.
        scheduler.kill9()
        ingest.kill9()
        publisher.publish([at(k, 9.6) for k in (-16, -14)])
        ingest.start()
        scheduler.start()
        # Back in range from 12 minutes ago: past the 10-minute clear delay, the episode has ended.
        publisher.publish([at(k, 5.0) for k in range(-12, 1, 2)])

        wait_until(lambda: readings_stored(engine, f"native:{SENSOR}") == 16 and marked_fridges(engine) == [], 30,
                   what="ingest to store and judge all 16 readings")
        wait_until(lambda: lease_holder_pid(engine) == scheduler.pid, 30,
                   what="the restarted scheduler to take the lease over")
        wait_scheduler_round(engine)  # it would plan and send any second message now
        wait_until(lambda: all(ok is not None for *_, ok in notifications(engine)), 30,
                   what="every planned notification sent")
    finally:
        publisher.close()

    assert alerts(engine) == [(alert_id, "excursion", "out-of-range", "warning", "resolved")]
    minute = lambda k: datetime.fromtimestamp(now + k * 60, UTC)  # noqa: E731
    assert excursions(engine) == [("out-of-range", minute(-26), minute(-12), 7)]
    assert notifications(engine) == [(alert_id, "opened", 1, True), (alert_id, "resolved", 1, True)]
    assert hooks.calls() == [(alert_id, "open"), (alert_id, "resolved")], "one message of each, none repeated"
    assert "Traceback" not in ingest.log() + scheduler.log(), ingest.log_tail() + scheduler.log_tail()


def test_a_killed_scheduler_is_replaced_by_the_standby_which_then_does_its_work(clinic, hooks, schedulers):
    path, engine = clinic
    first, second = schedulers(path).start(), schedulers(path).start()
    by_pid = {first.pid: first, second.pid: second}
    active_pid = wait_until(lambda: lease_holder_pid(engine), 30, what="a scheduler to take the lease")
    active = by_pid[active_pid]
    standby = second if active is first else first

    # The standby waits while the active scheduler renews its lease (every lease_s / 3).
    expiry = lease_expiry(engine)
    wait_until(lambda: lease_expiry(engine) > expiry, 10, what="the active scheduler to renew its lease")
    assert lease_holder_pid(engine) == active.pid and standby.running()

    active.kill9()
    killed = time.monotonic()
    wait_until(lambda: lease_holder_pid(engine) == standby.pid, LEASE_S * 3,
               what="the standby to take the lease over", interval=0.05)
    took = time.monotonic() - killed
    assert took <= LEASE_S + LEASE_S / 3 + 1.0, f"the standby took {took:.1f} s to take over"
    wait_until(lambda: "is now the active scheduler" in standby.log(), 5, what="the standby to say it is active")

    # Its work: the fridge's only sensor last reported two hours ago, so it is silent.
    last = datetime.now(UTC) - timedelta(hours=2)
    Store(engine).write(Batch(readings=[(Reading(f"native:{SENSOR}", "native", SENSOR, last, 4.9), last)]))
    wait_until(lambda: alerts(engine), LEASE_S * 3, what="the new active scheduler to notice the silence")
    [(alert_id, *alert)] = alerts(engine)
    assert alert == ["no-data", "silence", "alarm", "open"]
    wait_until(lambda: hooks.calls(), 10, what="the webhook to hear of it")
    wait_scheduler_round(engine)  # a second message would be planned and sent by now
    assert hooks.calls() == [(alert_id, "open")]
    assert standby.running()


def test_a_buffer_uploaded_in_pieces_raises_only_the_alarms_its_readings_show(clinic, hooks, ingest_processes,
                                                                              mqtt_url, prefix):
    """A logger uploads two hours of buffered readings in two messages (as ingest also receives a queue
    it drains after a restart: in batches, judged one after the other). The first piece ends 25 minutes
    into a 30-minute door-open excursion; judging it must not assume the last reading held on for the
    allowed gap and call the 60-minute heat alarm, which the second piece then disproves."""
    path, engine = clinic
    ingest = ingest_processes(path).start()
    publisher = Publisher(mqtt_url, f"pub-{prefix.strip('/')}")
    now = int(time.time())
    topic = f"{prefix}fridge-monitor/readings/{SENSOR}"

    def upload(points: list[tuple[int, float]]) -> tuple[str, bytes]:
        return topic, json.dumps([{"temperature_c": c, "ts": now + k * 60} for k, c in points]).encode()

    def judged(count: int) -> bool:
        return readings_stored(engine, f"native:{SENSOR}") == count and marked_fridges(engine) == []

    try:
        wait_ingesting(engine, publisher, prefix, ingest)
        publisher.publish([upload([(k, 5.0) for k in range(-120, -104, 5)] + [(k, 9.0) for k in range(-100, -74, 5)])])
        wait_until(lambda: judged(10), 30, what="the first piece stored and judged")
        publisher.publish([upload([(k, 5.0) for k in range(-70, 1, 5)])])
        wait_until(lambda: judged(25), 30, what="the second piece stored and judged")
        wait_until(lambda: all(ok is not None for *_, ok in notifications(engine)), 30,
                   what="every planned notification sent")
    finally:
        publisher.close()

    found = alerts(engine)
    assert [alert[1:] for alert in found] == [("excursion", "out-of-range", "warning", "resolved")]
    alert_id = found[0][0]
    minute = lambda k: datetime.fromtimestamp(now + k * 60, UTC)  # noqa: E731
    assert excursions(engine) == [("out-of-range", minute(-100), minute(-70), 6)]
    assert hooks.calls() == [(alert_id, "open"), (alert_id, "resolved")], "nobody was told of a heat alarm"


def test_an_alarm_found_by_time_passing_is_not_resolved_by_a_redelivered_old_reading(
        clinic, hooks, ingest_processes, mqtt_url, prefix):
    """The sensor went quiet 30 minutes ago after 40 minutes at 9 °C: its last reading holds, so the
    scheduler (here ``fridge-monitor check``) raises the 60-minute heat alarm. A copy of an earlier
    reading delivered again (QoS 1 after a reconnect) must not make ingest call it over."""
    path, engine = clinic
    ingest = ingest_processes(path).start()
    publisher = Publisher(mqtt_url, f"pub-{prefix.strip('/')}")
    now = int(time.time())

    def judged(count: int) -> bool:
        return readings_stored(engine, f"native:{SENSOR}") == count and marked_fridges(engine) == []

    try:
        wait_ingesting(engine, publisher, prefix, ingest)
        publisher.publish([native(prefix, SENSOR, 5.0, now + k * 60) for k in range(-90, -74, 5)]
                          + [native(prefix, SENSOR, 9.0, now + k * 60) for k in range(-70, -29, 5)])
        wait_until(lambda: judged(13), 30, what="the readings stored and judged")
        assert [alert[2] for alert in alerts(engine)] == ["out-of-range"], "40 minutes at 9 °C is no heat alarm"
        checked = cli("--config", str(path), "check")
        assert checked.returncode == 0, checked.stderr
        assert [alert[2:] for alert in alerts(engine)] == [("out-of-range", "warning", "open"),
                                                           ("heat", "alarm", "open")]

        sent = datetime.now(UTC)
        publisher.publish([native(prefix, SENSOR, 9.0, now - 45 * 60)])
        wait_until(lambda: last_seen(engine, f"native:{SENSOR}") >= sent and judged(13), 30,
                   what="ingest to receive and judge the copy")
        wait_until(lambda: all(ok is not None for *_, ok in notifications(engine)), 30,
                   what="every planned notification sent")
    finally:
        publisher.close()

    [(warning_id, *warning), (heat_id, *heat)] = alerts(engine)
    assert (warning[1], heat[1], heat[3]) == ("out-of-range", "heat", "open")
    # Had ingest called it over, the "resolved" message would have been planned with that judgement.
    assert notifications(engine) == [(warning_id, "opened", 1, True), (heat_id, "opened", 1, True)]
    assert sorted(hooks.calls()) == [(warning_id, "open"), (heat_id, "open")], "nobody was told it was over"
