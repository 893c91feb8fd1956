"""Rules over stored readings: alerts and excursion records on SQLite and PostgreSQL, with literal traces.

Readings are written the way ingest writes them (``Store.write``, which also
marks the fridges for judgement), and judged with an explicit ``now``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.alerts import handling as alerts
from fridge_monitor.alerts.evaluate import Evaluator
from fridge_monitor.config import build_config
from fridge_monitor.core.readings import Reading
from fridge_monitor.ingest.batches import Batch, Store
from fridge_monitor.store import accounts
from fridge_monitor.store import models as m
from fridge_monitor.store.marks import marked_fridges
from fridge_monitor.store.sync import sync_config

T0 = datetime(2026, 10, 24, 20, 0, tzinfo=UTC)  # 22:00 in Berlin, the evening before DST ends


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


class Rig:
    def __init__(self, engine: sa.Engine, config: object) -> None:
        self.engine, self.config, self.store = engine, config, Store(engine)

    def write(self, sensor: str, points: list[tuple[float, float]], battery: float | None = None) -> None:
        fmt, device = sensor.split(":")
        self.store.write(Batch(readings=[(Reading(sensor, fmt, device, at(minute), temp, battery), at(minute))
                                         for minute, temp in points]))

    def judge(self, now_minutes: float, *, everything: bool = False) -> None:
        evaluator = Evaluator(self.engine, self.config, clock=lambda: at(now_minutes))
        evaluator.everything() if everything else evaluator.marked()
        evaluator.outbox.close()

    def alerts(self) -> list[tuple[str, str, str, str, datetime, datetime | None]]:
        a = m.Alert
        with self.engine.connect() as conn:
            return [tuple(row) for row in conn.execute(
                sa.select(a.kind, a.rule, a.severity, a.state, a.started_at, a.ended_at).order_by(a.id))]

    def excursions(self) -> list[tuple[str, datetime, datetime | None, float, float, int]]:
        e = m.Excursion
        with self.engine.connect() as conn:
            return [tuple(row) for row in conn.execute(
                sa.select(e.rule, e.started_at, e.ended_at, e.peak_c, e.low_c, e.readings_count).order_by(e.id))]


@pytest.fixture
def rig(database_url: str, engine_for) -> Rig:
    engine = engine_for(database_url)
    config = build_config({
        "database": {"url": database_url},
        "sites": [{"name": "Ward 3", "timezone": "Europe/Berlin"}],
        "fridges": [{"name": "Botox", "site": "Ward 3", "sensors": ["native:p1"]}],
    }, {}, {}, "test")
    with so.Session(engine) as session, session.begin():
        sync_config(session, config, T0 - timedelta(days=2))
    return Rig(engine, config)


def every(start: float, end: float, temp: float, step: float = 5) -> list[tuple[float, float]]:
    out, minute = [], start
    while minute <= end:
        out.append((minute, temp))
        minute += step
    return out


def test_compressor_failure_gives_one_warning_and_one_heat_alarm_however_often_judged(rig):
    rig.write("native:p1", every(0, 55, 5.0))
    rig.judge(55)
    assert rig.alerts() == []
    for start in range(60, 140, 10):  # 9.5 °C from minute 60, arriving in batches, judged after each
        rig.write("native:p1", every(start, start + 5, 9.5))
        rig.judge(start + 5)
    assert rig.alerts() == [
        ("excursion", "out-of-range", "warning", "open", at(60), None),
        ("excursion", "heat", "alarm", "open", at(60), None),
    ]
    rig.judge(135, everything=True)  # the scheduler judging again (or after a restart) changes nothing
    assert len(rig.alerts()) == 2
    rig.write("native:p1", every(140, 170, 4.8))  # back in range, and stays there past the clear delay
    rig.judge(170)
    assert rig.alerts() == [
        ("excursion", "out-of-range", "warning", "resolved", at(60), at(140)),
        ("excursion", "heat", "alarm", "resolved", at(60), at(140)),
    ]
    assert rig.excursions() == [
        ("out-of-range", at(60), at(140), 9.5, 9.5, 16), ("heat", at(60), at(140), 9.5, 9.5, 16)]


def test_an_excursion_hidden_in_a_late_backlog_is_found(rig):
    rig.write("native:p1", every(200, 240, 5.0))
    rig.judge(240)
    assert rig.alerts() == []
    # The logger's buffer from three hours earlier arrives now, out of order: 20 minutes at 1.5 °C.
    backlog = every(0, 60, 5.0) + every(20, 35, 1.5)
    backlog = [p for p in backlog if not (20 <= p[0] <= 35 and p[1] == 5.0)]
    rig.write("native:p1", list(reversed(backlog)))
    assert marked_fridges(rig.engine) != []
    rig.judge(241)
    assert rig.alerts() == [
        ("excursion", "out-of-range", "warning", "resolved", at(20), at(40)),
        ("excursion", "freeze", "alarm", "resolved", at(20), at(40)),
    ]
    assert marked_fridges(rig.engine) == []


def test_flapping_at_the_threshold_gives_one_alert(rig):
    rig.write("native:p1", [(k * 5, 8.2 if k % 2 else 7.9) for k in range(24)])  # two hours of 7.9 / 8.2
    rig.judge(115)
    excursions = [a for a in rig.alerts() if a[1] == "out-of-range"]
    assert excursions == [("excursion", "out-of-range", "warning", "open", at(5), None)]


def test_silence_is_an_alarm_until_readings_come_back(rig):
    rig.write("native:p1", every(0, 30, 5.0))
    rig.judge(60, everything=True)
    assert rig.alerts() == []  # 30 min silent: within the 35 min allowed gap
    rig.judge(66, everything=True)
    assert rig.alerts() == [("no-data", "silence", "alarm", "open", at(65), None)]
    rig.judge(80, everything=True)
    assert len(rig.alerts()) == 1
    rig.write("native:p1", [(90, 5.1)])
    rig.judge(90)
    assert rig.alerts() == [("no-data", "silence", "alarm", "resolved", at(65), at(90))]


def test_low_battery_warns_once(rig):
    rig.write("native:p1", every(0, 20, 5.0), battery=15.0)
    rig.judge(20)
    rig.write("native:p1", every(25, 40, 5.0), battery=14.0)
    rig.judge(40)
    assert [a[:4] for a in rig.alerts()] == [("low-battery", "battery", "warning", "open")]


def test_daily_time_out_of_range_on_the_25_hour_day(rig):
    # Sun 25 Oct 2026 in Berlin lasts 25 hours (22:00 UTC on the 24th to 23:00 UTC on the 25th).
    # Readings every 30 min from 21:00 UTC on the 24th; 8.5 °C for the 2 hours from 01:00 UTC.
    points = [(k * 30 + 60, 8.5 if 300 <= k * 30 + 60 < 420 else 5.0) for k in range(50)]
    rig.write("native:p1", points)
    rig.judge(points[-1][0])  # right after the batch: the alarm, but the daily totals wait for the scheduler
    with rig.engine.connect() as conn:
        assert conn.execute(sa.select(m.FridgeDay)).all() == []
    rig.judge(points[-1][0], everything=True)
    with rig.engine.connect() as conn:
        days = dict(conn.execute(sa.select(m.FridgeDay.day, m.FridgeDay.out_of_range_s)).all())
    assert days[date(2026, 10, 25)] == 2 * 3600
    assert days[date(2026, 10, 24)] == 0


def test_acknowledging_records_who_and_what_once(rig):
    rig.write("native:p1", every(0, 10, 5.0) + [(15, 1.2)])
    rig.judge(15)
    with so.Session(rig.engine) as session, session.begin():
        nurse = accounts.create_user(session, "nina", "nurse", "correct horse battery", actor="test", now=at(15))
        freeze = session.scalar(sa.select(m.Alert).where(m.Alert.rule == "freeze"))
        step = alerts.steps_for("excursion")[1]
        alerts.acknowledge(session, freeze.id, nurse, "Moved vials to fridge B2; probe checked.", [step], at(20))
        freeze_id = freeze.id
    with so.Session(rig.engine) as session, session.begin():
        row = alerts.get_alert(session, freeze_id)
        assert (row.alert.state, row.alert.acknowledged_by, row.alert.acknowledged_at) == (
            "acknowledged", "nina", at(20))
        assert row.alert.action == f"[x] {step}\nMoved vials to fridge B2; probe checked."
        nurse = session.scalar(sa.select(m.User))
        with pytest.raises(alerts.AckError, match="already acknowledged by nina"):
            alerts.acknowledge(session, freeze_id, nurse, "again", [], at(21))
        warning = session.scalar(sa.select(m.Alert.id).where(m.Alert.rule == "out-of-range"))
        with pytest.raises(alerts.AckError, match="describe the action taken"):
            alerts.acknowledge(session, warning, nurse, "  ", [], at(21))
        event = session.scalar(sa.select(m.AuditEvent).where(m.AuditEvent.record_type == "alert"))
        assert (event.actor, event.action, event.record_id) == ("nina", "acknowledge", str(freeze_id))


def test_old_readings_arriving_late_keep_a_silence_open_and_its_start(rig):
    rig.write("native:p1", every(0, 30, 5.0))
    rig.judge(70, everything=True)
    assert rig.alerts() == [("no-data", "silence", "alarm", "open", at(65), None)]
    rig.write("native:p1", [(32, 5.0)])  # buffered, measured 39 minutes before it arrives: still silent now
    rig.judge(71)
    assert rig.alerts() == [("no-data", "silence", "alarm", "open", at(65), None)]
