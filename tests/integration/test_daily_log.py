"""The daily log and period statistics from stored readings, on SQLite and PostgreSQL, across DST days.

Two fridges, one in Berlin and one in New York, report every hour over the
nights the clocks change in 2026 (Europe: 29 March and 25 October; America:
8 March and 1 November). Their alarm profile lets a reading hold for 65
minutes, so hourly readings leave no unknown time. Readings are written the
way ingest writes them, judged by the evaluator, one alert acknowledged; then
the command line exports the log.
"""

from __future__ import annotations

import csv
import io
import tomllib
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.alerts import handling as alerts
from fridge_monitor.alerts.evaluate import Evaluator
from fridge_monitor.config import build_config
from fridge_monitor.core.readings import Reading
from fridge_monitor.ingest.batches import Batch, Store
from fridge_monitor.reports.temperature_log import daily_log, fridge_stats
from fridge_monitor.store import accounts
from fridge_monitor.store import models as m
from fridge_monitor.store.sync import sync_config

from support import cli, render_toml

BERLIN, NEW_YORK = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")
HOUR = timedelta(hours=1)
NOW = datetime(2026, 11, 5, tzinfo=UTC)
HEADER = ("fridge,day,timezone,day_length_h,min_c,max_c,mean_c,mkt_c,first_reading_at_utc,first_reading_c,"
          "time_out_of_range_s,coverage,readings,excursions,excursion_rules,acknowledged_by")
# Berlin, 25 October: 02:00-03:00 local happens twice (00:00-02:00 UTC); the fridge is at 9 °C through both.
WARM = (datetime(2026, 10, 25, 0, tzinfo=UTC), datetime(2026, 10, 25, 2, tzinfo=UTC))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tz).astimezone(UTC)


class Clinics:
    def __init__(self, database_url: str, engine: sa.Engine, tmp_path: Path) -> None:
        self.engine = engine
        doc = {
            "database": {"url": database_url, "retry_max_s": 2.0},
            "sites": [{"name": "Berlin", "timezone": "Europe/Berlin"},
                      {"name": "New York", "timezone": "America/New_York"}],
            "alarm_profiles": [{"name": "hourly", "low_c": 2.0, "high_c": 8.0, "allowed_gap_min": 65}],
            "fridges": [{"name": "B1", "site": "Berlin", "sensors": ["native:b1"], "alarm_profile": "hourly"},
                        {"name": "N1", "site": "New York", "sensors": ["native:n1"], "alarm_profile": "hourly"}],
        }
        self.path = tmp_path / "clinics.toml"
        self.path.write_text(render_toml(doc))
        self.config = build_config(tomllib.loads(self.path.read_text()), {}, {}, str(self.path))
        with so.Session(engine) as session, session.begin():
            sync_config(session, self.config, utc(2026, 3, 1))
            self.ids = dict(session.execute(sa.select(m.Fridge.name, m.Fridge.id)).all())

    def hourly(self, sensor: str, first: date, last: date, tz: ZoneInfo) -> None:
        """A reading at every UTC hour from local midnight of ``first`` to the end of ``last``."""
        fmt, device = sensor.split(":")
        start, end = local_midnight(first, tz), local_midnight(last + timedelta(days=1), tz)
        times = [start + n * HOUR for n in range(int((end - start) / HOUR))]
        Store(self.engine).write(Batch(readings=[
            (Reading(sensor, fmt, device, at, 9.0 if sensor == "native:b1" and WARM[0] <= at < WARM[1] else 5.0),
             at) for at in times]))

    def rows(self, *args: str, env: dict[str, str] | None = None) -> list[dict[str, str]]:
        result = cli("--config", str(self.path), "export", "daily", *args, env=env)
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines()[0].startswith(HEADER)
        return list(csv.DictReader(io.StringIO(result.stdout)))


@pytest.fixture
def clinics(database_url, engine_for, tmp_path) -> Clinics:
    clinics = Clinics(database_url, engine_for(database_url), tmp_path)
    for first, last in ((date(2026, 3, 28), date(2026, 3, 30)), (date(2026, 10, 24), date(2026, 10, 26))):
        clinics.hourly("native:b1", first, last, BERLIN)
    for first, last in ((date(2026, 3, 7), date(2026, 3, 9)), (date(2026, 10, 31), date(2026, 11, 2))):
        clinics.hourly("native:n1", first, last, NEW_YORK)
    evaluator = Evaluator(clinics.engine, clinics.config, clock=lambda: NOW)
    evaluator.everything()
    evaluator.outbox.close()
    with so.Session(clinics.engine) as session, session.begin():
        nurse = accounts.create_user(session, "nina", "nurse", "correct horse battery", actor="test", now=NOW)
        warm = session.scalar(sa.select(m.Alert).where(m.Alert.kind == "excursion", m.Alert.rule == "out-of-range"))
        alerts.acknowledge(session, warm.id, nurse, "Checked the door; vials fine per the label.", [], NOW)
    return clinics


def shape(rows: list[dict[str, str]]) -> list[tuple[str, ...]]:
    return [(r["day"], r["timezone"], r["day_length_h"], r["readings"], r["coverage"], r["first_reading_at_utc"])
            for r in rows]


@pytest.mark.parametrize(("fridge", "first", "last", "expected"), [
    ("B1", "2026-03-28", "2026-03-30", [
        ("2026-03-28", "Europe/Berlin", "24", "24", "1", "2026-03-27T23:00:00Z"),
        ("2026-03-29", "Europe/Berlin", "23", "23", "1", "2026-03-28T23:00:00Z"),  # spring forward
        ("2026-03-30", "Europe/Berlin", "24", "24", "1", "2026-03-29T22:00:00Z")]),
    ("B1", "2026-10-24", "2026-10-26", [
        ("2026-10-24", "Europe/Berlin", "24", "24", "1", "2026-10-23T22:00:00Z"),
        ("2026-10-25", "Europe/Berlin", "25", "25", "1", "2026-10-24T22:00:00Z"),  # fall back
        ("2026-10-26", "Europe/Berlin", "24", "24", "1", "2026-10-25T23:00:00Z")]),
    ("N1", "2026-03-07", "2026-03-09", [
        ("2026-03-07", "America/New_York", "24", "24", "1", "2026-03-07T05:00:00Z"),
        ("2026-03-08", "America/New_York", "23", "23", "1", "2026-03-08T05:00:00Z"),
        ("2026-03-09", "America/New_York", "24", "24", "1", "2026-03-09T04:00:00Z")]),
    ("N1", "2026-10-31", "2026-11-02", [
        ("2026-10-31", "America/New_York", "24", "24", "1", "2026-10-31T04:00:00Z"),
        ("2026-11-01", "America/New_York", "25", "25", "1", "2026-11-01T04:00:00Z"),
        ("2026-11-02", "America/New_York", "24", "24", "1", "2026-11-02T05:00:00Z")]),
])
def test_dst_days_last_23_or_25_hours_with_no_hour_missing_or_doubled(clinics, fridge, first, last, expected):
    assert shape(clinics.rows("--fridge", fridge, "--from", first, "--to", last)) == expected


def test_the_long_night_counts_both_warm_hours_and_names_the_excursion_and_who_acknowledged(clinics):
    rows = clinics.rows("--from", "2026-10-25", "--to", "2026-10-25")
    assert [list(r.values()) for r in rows] == [
        # 23 hours at 5 °C and the repeated 02:00-03:00 at 9 °C, both times.
        ["B1", "2026-10-25", "Europe/Berlin", "25", "5.0", "9.0", "5.32", "5.40", "2026-10-24T22:00:00Z", "5.0",
         "7200", "1", "25", "1", "out-of-range", "nina"],
        # No readings in New York that day: empty figures, no coverage.
        ["N1", "2026-10-25", "America/New_York", "24", "", "", "", "", "", "", "0", "0", "0", "0", "", ""],
    ]


def test_workday_start_and_another_zone(clinics):
    rows = clinics.rows("--fridge", "B1", "--from", "2026-10-25", "--to", "2026-10-25",
                        env={"FRIDGE_MONITOR_REPORTS_WORKDAY_START": "08:00"})
    assert (rows[0]["first_reading_at_utc"], rows[0]["first_reading_c"]) == ("2026-10-25T07:00:00Z", "5.0")
    # --tz: New York's days, with the first reading's local time added.
    [row] = clinics.rows("--fridge", "B1", "--from", "2026-10-25", "--to", "2026-10-25", "--tz", "America/New_York")
    assert (row["timezone"], row["day_length_h"], row["first_reading_at_local"]) == (
        "America/New_York", "24", "2026-10-25T00:00:00-04:00")
    # The warm hours (00:00-02:00 UTC) were 20:00-22:00 on the 24th in New York: not on this day.
    assert (row["time_out_of_range_s"], row["max_c"], row["readings"]) == ("0", "5.0", "24")


def test_bad_options_say_what_to_do(clinics):
    result = cli("--config", str(clinics.path), "export", "daily", "--from", "2026-10", "--to", "2026-10-31")
    assert result.returncode != 0 and "--from '2026-10': the daily log needs a date (YYYY-MM-DD)" in result.stderr
    result = cli("--config", str(clinics.path), "export", "daily", "--from", "2026-10-02", "--to", "2026-10-01")
    assert result.returncode != 0 and "the period is empty" in result.stderr
    result = cli("--config", str(clinics.path), "export", "daily", "--from", "2026-10-01", "--to", "2026-10-02",
                 "--fridge", "Nope")
    assert result.returncode != 0 and "--fridge: no fridge named 'Nope'" in result.stderr


def test_daily_log_from_a_session_or_a_connection(clinics):
    b1 = clinics.ids["B1"]
    with so.Session(clinics.engine) as session:
        from_session = daily_log(session, b1, date(2026, 10, 24), date(2026, 10, 26), config=clinics.config, now=NOW)
    with clinics.engine.connect() as conn:
        from_conn = daily_log(conn, b1, date(2026, 10, 24), date(2026, 10, 26), config=clinics.config, now=NOW)
    assert from_session == from_conn
    assert [(d.day.day, d.length / HOUR, d.stats.readings, d.excursion_rules) for d in from_conn] == [
        (24, 24, 24, ()), (25, 25, 25, ("out-of-range",)), (26, 24, 24, ())]
    with clinics.engine.connect() as conn:
        # Before the fridge was set up (1 March) and after now: no days; an unknown fridge: no log.
        early = daily_log(conn, b1, date(2026, 2, 27), date(2026, 3, 2), config=clinics.config, now=NOW)
        assert [d.day for d in early] == [date(2026, 3, 1), date(2026, 3, 2)]
        assert daily_log(conn, b1, date(2026, 11, 6), date(2026, 11, 8), config=clinics.config, now=NOW) == []
        assert daily_log(conn, 999, date(2026, 10, 24), date(2026, 10, 26), config=clinics.config, now=NOW) == []


def test_fridge_statistics(clinics):
    b1 = clinics.ids["B1"]
    with clinics.engine.connect() as conn:
        day = fridge_stats(conn, b1, utc(2026, 10, 24, 22), utc(2026, 10, 25, 23), config=clinics.config, now=NOW)
        assert day is not None
        assert (day.min_c, day.max_c, day.time_out_of_range_s, day.coverage, day.readings) == (
            5.0, 9.0, 7200.0, 1.0, 25)
        assert (round(day.mean_c, 2), round(day.mkt_c, 2)) == (5.32, 5.4)
        # A period starting between readings (00:30 UTC) takes the 9 °C reading of 00:00 holding into it.
        part = fridge_stats(conn, b1, utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 3), config=clinics.config, now=NOW)
        assert (part.max_c, part.time_out_of_range_s, part.coverage) == (9.0, 5400.0, 1.0)
