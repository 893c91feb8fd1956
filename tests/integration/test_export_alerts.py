"""`export alerts` and `export excursions`: what an inspector gets, on SQLite and PostgreSQL.

The records are made the real way: readings written as ingest writes them,
judged by the evaluator, one alert acknowledged by a nurse; then the command
line exports them.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.alerts import handling as alerts
from fridge_monitor.alerts.evaluate import Evaluator
from fridge_monitor.core.readings import Reading
from fridge_monitor.ingest.batches import Batch, Store
from fridge_monitor.store import accounts
from fridge_monitor.store import models as m
from fridge_monitor.store.sync import sync_config

from support import cli

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)  # 09:00 in Berlin
ALERTS_HEADER = ("id,fridge,kind,rule,severity,started_at_utc,ended_at_utc,state,peak_c,low_c,"
                 "acknowledged_by,acknowledged_at_utc,action,subject,title")
EXCURSIONS_HEADER = ("id,fridge,rule,started_at_utc,ended_at_utc,duration_s,peak_c,low_c,mkt_c,"
                     "severity,alarm_at_utc,time_beyond_s,unknown_s")
ACTION = "Moved the vials to B2 and labelled them DO NOT USE.\nCalled Allergan, case 4711."


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def every(start: int, end: int, temp: float, step: int = 5) -> list[tuple[int, float]]:
    return [(minute, temp) for minute in range(start, end + 1, step)]


class Clinic:
    """Two refrigerators (cdc-refrigerator profile) in Berlin, and the config file the CLI reads."""

    def __init__(self, database_url: str, engine: sa.Engine, make_config) -> None:
        self.engine = engine
        self.config, self.path = make_config(
            database_url,
            sites=[{"name": "Clinic A", "timezone": "Europe/Berlin"}],
            fridges=[{"name": "A1", "site": "Clinic A", "sensors": ["native:a1"]},
                     {"name": "B2", "site": "Clinic A", "sensors": ["native:b2"]}],
        )
        with so.Session(engine) as session, session.begin():
            sync_config(session, self.config, T0 - timedelta(days=1))

    def write(self, sensor: str, points: list[tuple[int, float]]) -> None:
        fmt, device = sensor.split(":")
        Store(self.engine).write(Batch(readings=[(Reading(sensor, fmt, device, at(minute), temp), at(minute))
                                                 for minute, temp in points]))

    def judge(self, now_minutes: float) -> None:
        evaluator = Evaluator(self.engine, self.config, clock=lambda: at(now_minutes))
        evaluator.marked()
        evaluator.outbox.close()

    def export(self, *args: str) -> tuple[int, str, str]:
        result = cli("--config", str(self.path), "export", *args)
        return result.returncode, result.stdout, result.stderr

    def rows(self, *args: str) -> list[dict[str, str]]:
        result = cli("--config", str(self.path), "export", *args)
        assert result.returncode == 0, result.stderr
        return list(csv.DictReader(io.StringIO(result.stdout)))


@pytest.fixture
def clinic(database_url, engine_for, make_config) -> Clinic:
    clinic = Clinic(database_url, engine_for(database_url), make_config)
    # A1: a compressor failure on 20 November, 09:00-10:10 UTC: above 8 °C for 70 minutes.
    clinic.write("native:a1", every(0, 55, 5.0))
    clinic.write("native:a1", every(60, 85, 9.5) + [(90, 10.5)] + every(95, 125, 9.5))
    clinic.write("native:a1", every(130, 170, 4.8))
    clinic.judge(170)
    # B2: a freeze the next day, 21 November 08:00 UTC: one reading at 1.5 °C.
    clinic.write("native:b2", every(1440, 1470, 5.0) + [(1475, 1.5)] + every(1480, 1520, 5.0))
    clinic.judge(1520)
    # A1 again, on 22 November: still above 8 °C when exported (ongoing, not yet 60 minutes).
    clinic.write("native:a1", every(2880, 2900, 5.0) + every(2905, 2920, 8.4))
    clinic.judge(2920)
    with so.Session(clinic.engine) as session, session.begin():
        nurse = accounts.create_user(session, "nina", "nurse", "correct horse battery", actor="test", now=at(180))
        heat = session.scalar(sa.select(m.Alert).where(m.Alert.rule == "heat"))
        alerts.acknowledge(session, heat.id, nurse, ACTION, [], at(185))
    return clinic


HEAT_ROW = ('2,A1,excursion,heat,alarm,2026-11-20T09:00:00Z,2026-11-20T10:10:00Z,resolved,10.5,9.5,'
            'nina,2026-11-20T11:05:00Z,"Moved the vials to B2 and labelled them DO NOT USE.\n'
            'Called Allergan, case 4711.",,Heat alarm: above 8.0 °C for 60 min')


def test_alerts_export_shows_each_episode_and_who_acknowledged_it(clinic):
    code, out, err = clinic.export("alerts", "--from", "2026-11-20", "--to", "2026-11-22")
    assert code == 0, err
    assert out == "\n".join([
        ALERTS_HEADER,
        "1,A1,excursion,out-of-range,warning,2026-11-20T09:00:00Z,2026-11-20T10:10:00Z,resolved,10.5,9.5,,,,,"
        "Out of range: above 8.0 °C (allowed 2.0 to 8.0 °C)",
        HEAT_ROW,
        "3,B2,excursion,out-of-range,warning,2026-11-21T08:35:00Z,2026-11-21T08:40:00Z,resolved,1.5,1.5,,,,,"
        "Out of range: below 2.0 °C (allowed 2.0 to 8.0 °C)",
        "4,B2,excursion,freeze,alarm,2026-11-21T08:35:00Z,2026-11-21T08:40:00Z,resolved,1.5,1.5,,,,,"
        "Freeze alarm: below 2.0 °C",
        "5,A1,excursion,out-of-range,warning,2026-11-22T08:25:00Z,,open,8.4,8.4,,,,,"
        "Out of range: above 8.0 °C (allowed 2.0 to 8.0 °C)",
    ]) + "\n"
    # The two-line action is one field: a CSV reader gets it back whole.
    heat = list(csv.DictReader(io.StringIO(out)))[1]
    assert heat["action"] == ACTION


def test_excursions_export_has_duration_extremes_and_mkt(clinic):
    rows = clinic.rows("excursions", "--from", "2026-11-20", "--to", "2026-11-22")
    assert list(rows[0]) == EXCURSIONS_HEADER.split(",")
    assert [list(r.values()) for r in rows] == [
        ["1", "A1", "out-of-range", "2026-11-20T09:00:00Z", "2026-11-20T10:10:00Z", "4200", "10.5", "9.5", "9.58",
         "warning", "2026-11-20T09:00:00Z", "4200", "0"],
        ["2", "A1", "heat", "2026-11-20T09:00:00Z", "2026-11-20T10:10:00Z", "4200", "10.5", "9.5", "9.58",
         "alarm", "2026-11-20T10:00:00Z", "4200", "0"],
        ["3", "B2", "out-of-range", "2026-11-21T08:35:00Z", "2026-11-21T08:40:00Z", "300", "1.5", "1.5", "1.50",
         "warning", "2026-11-21T08:35:00Z", "300", "0"],
        ["4", "B2", "freeze", "2026-11-21T08:35:00Z", "2026-11-21T08:40:00Z", "300", "1.5", "1.5", "1.50",
         "alarm", "2026-11-21T08:35:00Z", "300", "0"],
        # Still going on when judged: no end and no duration yet; 15 minutes beyond so far.
        ["5", "A1", "out-of-range", "2026-11-22T08:25:00Z", "", "", "8.4", "8.4", "8.40",
         "warning", "2026-11-22T08:25:00Z", "900", "0"],
    ]


@pytest.mark.parametrize(("start", "end", "ids"), [
    ("2026-11-21", "2026-11-21", ["3", "4"]),
    # Ended exactly when the period starts: it still overlaps.
    ("2026-11-20T10:10:00Z", "2026-11-20T12:00:00Z", ["1", "2"]),
    # Ended just before the start, or starting exactly at the (excluded) end: outside.
    ("2026-11-20T10:10:01Z", "2026-11-21T08:35:00Z", []),
    ("2026-11-20T10:10:01Z", "2026-11-21T08:35:01Z", ["3", "4"]),
    # An episode still going on belongs to every period after its start.
    ("2026-11-23", "2026-11-30", ["5"]),
    ("2026-11-01", "2026-11-19", []),
])
def test_a_record_belongs_to_each_period_it_overlaps(clinic, start, end, ids):
    assert [r["id"] for r in clinic.rows("alerts", "--from", start, "--to", end)] == ids
    assert [r["id"] for r in clinic.rows("excursions", "--from", start, "--to", end)] == ids


def test_fridge_filter_and_an_unknown_fridge(clinic):
    only_b2 = clinic.rows("alerts", "--from", "2026-11-20", "--to", "2026-11-22", "--fridge", "B2")
    assert [(r["id"], r["fridge"], r["rule"]) for r in only_b2] == [("3", "B2", "out-of-range"), ("4", "B2", "freeze")]
    only_a1 = clinic.rows("excursions", "--from", "2026-11-20", "--to", "2026-11-22", "--fridge", "A1")
    assert [(r["id"], r["rule"]) for r in only_a1] == [("1", "out-of-range"), ("2", "heat"), ("5", "out-of-range")]
    for kind in ("alerts", "excursions"):
        code, out, err = clinic.export(kind, "--from", "2026-11-20", "--to", "2026-11-22", "--fridge", "Z9")
        assert (code, out) == (2, "")
        assert err == "fridge-monitor: error: --fridge: no fridge named 'Z9'\n"


def test_tz_reads_the_dates_there_and_adds_local_times(clinic):
    # 21 November in Berlin is 20 Nov 23:00 to 21 Nov 23:00 UTC.
    rows = clinic.rows("alerts", "--from", "2026-11-21", "--to", "2026-11-21", "--tz", "Europe/Berlin")
    assert list(rows[0])[-3:] == ["started_at_local", "ended_at_local", "acknowledged_at_local"]
    assert [(r["id"], r["started_at_local"], r["ended_at_local"], r["acknowledged_at_local"]) for r in rows] == [
        ("3", "2026-11-21T09:35:00+01:00", "2026-11-21T09:40:00+01:00", ""),
        ("4", "2026-11-21T09:35:00+01:00", "2026-11-21T09:40:00+01:00", ""),
    ]
    heat = clinic.rows("alerts", "--from", "2026-11-20", "--to", "2026-11-20", "--tz", "Europe/Berlin",
                       "--fridge", "A1")[1]
    assert (heat["started_at_local"], heat["acknowledged_at_local"]) == ("2026-11-20T10:00:00+01:00",
                                                                         "2026-11-20T12:05:00+01:00")
    excursions = clinic.rows("excursions", "--from", "2026-11-22", "--to", "2026-11-22", "--tz", "Europe/Berlin")
    assert [(r["id"], r["started_at_local"], r["ended_at_local"], r["alarm_at_local"]) for r in excursions] == [
        ("5", "2026-11-22T09:25:00+01:00", "", "2026-11-22T09:25:00+01:00"),
    ]
    assert "started_at_local" not in clinic.rows("excursions", "--from", "2026-11-22", "--to", "2026-11-22")[0]


def test_out_writes_the_file_and_says_how_many_rows(clinic, tmp_path):
    target = tmp_path / "alerts.csv"
    code, out, err = clinic.export("alerts", "--from", "2026-11-20", "--to", "2026-11-20", "--out", str(target))
    assert (code, out) == (0, "")
    assert f"2 rows written to {target}" in err
    assert target.read_text(encoding="utf-8").splitlines()[0] == ALERTS_HEADER
    assert HEAT_ROW in target.read_text(encoding="utf-8")
    assert not (tmp_path / "alerts.csv.partial").exists()
