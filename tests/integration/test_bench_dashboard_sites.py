"""The dashboard benchmark's hospital-group builder (``benchmarks/dashboard_sites.py``) on a small scale, on SQLite:
what it generates is what it says, the held figures of its made-up hours are those its minute readings give,
and a reused database is brought up to now."""

from __future__ import annotations

import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.alerts import handling as alerts
from fridge_monitor.core.status import State, status
from fridge_monitor.store import models as m
from fridge_monitor.store import site_overview
from fridge_monitor.store.db import create_engine
from fridge_monitor.store.series import profiles_of

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import dashboard_sites as group  # noqa: E402

SCALE = group.Scale(sites=4, fridges=20, days=2)
SETTINGS = {"sqlite_synchronous": "normal", "busy_timeout_s": 30.0, "retry_max_s": 2.0}


def test_builds_a_small_group_and_tops_it_up(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    engine = create_engine({**SETTINGS, "url": url})
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    written = group.build(engine, url, SCALE, now, lambda _line: None)

    with engine.connect() as conn:
        def count(table: str) -> int:
            return int(conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one())

        assert (count("sites"), count("fridges"), count("sensors")) == (4, 20, 20)
        sensors = conn.execute(sa.select(m.Sensor.fridge_id, m.Sensor.role)).all()
        assert all(fridge_id is not None and role == "primary" for fridge_id, role in sensors)
        # 19 sensors with 24 h of minute readings (from the hour a day ago), one silent for the last 3 h
        minutes = (now - group.floor_hour(now - timedelta(hours=24))) // timedelta(minutes=1)
        assert written["readings"] == count("readings") == 20 * minutes - 180
        assert count("hourly_rollups") == written["synthetic_rollups"] + written["rollups_from_readings"]
        assert conn.scalar(sa.select(sa.func.count()).where(m.HourlyRollup.held_s.is_(None))) == 0
        # A made-up hour is what the same hour of the profile's readings gave a day later
        h = m.HourlyRollup
        figures = (h.min_c, h.max_c, h.sum_c, h.count, h.held_s, h.held_c_s, h.arrhenius_s, h.longest_step_s)
        day_ago = group.floor_hour(now - timedelta(hours=23))
        made_up, measured = (conn.execute(sa.select(*figures).where(h.sensor_id == "native:bench00003",
                                                                    h.hour == hour)).one()
                             for hour in (day_ago - timedelta(days=1), day_ago))
        assert made_up[:5] == measured[:5] and made_up[5:] == pytest.approx(measured[5:], rel=1e-12)
        last = conn.scalar(sa.select(m.Sensor.last_measured_at).where(m.Sensor.id == "native:bench00003"))
        assert last == now - timedelta(minutes=1)

    with so.Session(engine) as session:
        waiting = alerts.waiting_by_fridge(session)
        states = Counter(status(f.latest, now, f.max_gap, f.low_battery_pct, alerts_waiting=waiting.get(f.id, 0))
                         for f in site_overview.fridge_states(session.connection(), now, within=None,
                                                                   profile_of=profiles_of(session)))
    assert states[State.OUT_OF_RANGE] == states[State.NO_DATA] == states[State.LOW_BATTERY] == 1
    assert states[State.OK] == 17

    later = now + timedelta(minutes=5)
    assert group.top_up(engine, SCALE, later, lambda _line: None)["readings"] == 19 * 5
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.max(m.Sensor.last_measured_at))) == later - timedelta(minutes=1)
    assert group.fingerprint(engine) == {**SCALE.fingerprint(), "until": later.isoformat()}
    engine.dispose()
