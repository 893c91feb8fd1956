"""A hospital group's data for the dashboard benchmark: many sites, a year of hourly rollups, a day of minute readings.

``build`` migrates the database with the project's migrations, declares the
sites, fridges and their primary sensors through ``sync_config`` (as a
configuration file would), adds an admin and a nurse listed at two sites, and
generates the data inside the database (``INSERT … SELECT`` over a small table
of integers and a table of temperature profiles, on SQLite and PostgreSQL
alike), so that 44 million rollups take minutes rather than hours:

- every sensor follows a daily cycle with 40-minute compressor cycles (its own
  offset and phase; every tenth fridge is a freezer); the hourly rollups before
  the last 24 hours are what that cycle's minute readings would have given,
  held figures included (60 readings held 60 s each); the last 24 hours are
  minute readings, their rollups computed from them and their held figures by
  ``fridge_monitor.store.rollups.refresh_all``, as the scheduler does;
- 2 % of the fridges are out of range (their last two hours 6 °C warmer, an
  open excursion alert), 2 % silent (nothing for three hours, an open no-data
  alert), 2 % have an alert waiting for an acknowledgement on a fine
  temperature, one in 37 a weak battery; every refrigerator holds a lot;
- ``sensors.last_measured_at``, ``last_seen_at`` and the battery are what
  ingest would have left.

``top_up`` brings a reused database up to now the same way (readings since
the last build, and rollups for a gap longer than a day), so that a database
built hours ago still shows live fridges.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.config import build_config
from fridge_monitor.core.mkt import arrhenius_weight
from fridge_monitor.inventory import catalog, ledger
from fridge_monitor.store import accounts, migrate, partitions, rollups, site_access
from fridge_monitor.store import models as m
from fridge_monitor.store.sensors import reading_at_last
from fridge_monitor.store.sync import sync_config

LAYOUT = 1  # bump when the generated data changes, so that --reuse rebuilds
FINGERPRINT_KEY = "benchmark.dashboard_sites"
TIMEZONES = ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Sydney", "Europe/London",
             "America/Los_Angeles", "Asia/Tokyo"]
DAY_MIN = 1440
CYCLE_MIN = 40  # a compressor cycle; divides the day, so every day repeats
READINGS_SPAN = timedelta(hours=24)
WARM_SPAN, WARM_BUMP_C = timedelta(hours=2), 6.0
SILENT_SPAN = timedelta(hours=3)
BATTERY_LOW, BATTERY_OK = 15.0, 88.0
SENSOR_BATCH = 250  # sensors per generating statement (progress lines between them)
ADMIN, NURSE = "bench-admin", "bench-nurse"
PASSWORD = "benchmark-password"
# Temperature profiles: (base °C, daily swing, compressor swing); refrigerators then freezers.
FRIDGE_PROFILES = [(4.4, 0.9, 0.5), (4.8, 0.7, 0.6), (5.2, 0.8, 0.4), (5.6, 0.6, 0.5)]
FREEZER_PROFILES = [(-21.0, 1.2, 1.0), (-19.5, 1.0, 1.2)]


@dataclasses.dataclass(frozen=True, slots=True)
class Scale:
    sites: int
    fridges: int
    days: int = 365  # of hourly rollups, the last of them from minute readings
    big_site: int = 50  # fridges of site 1, the site page measured

    def fingerprint(self) -> dict[str, int]:
        return {"layout": LAYOUT, **dataclasses.asdict(self)}


@dataclasses.dataclass(frozen=True, slots=True)
class FridgePlan:
    index: int
    name: str
    site: int  # 1-based
    kind: str
    sensor: str
    variant: int  # row of PROFILES
    phase: int  # hours its daily cycle is shifted by
    warm: bool
    silent: bool
    waiting: bool
    weak: bool


def site_name(number: int) -> str:
    return f"Site {number:03d}"


def plan(scale: Scale) -> list[FridgePlan]:
    """Which fridge lies where and what it shows: site 1 has ``big_site`` fridges, the rest are dealt out."""
    big = min(scale.big_site, max(1, scale.fridges // 2))
    out, per_site = [], {}
    for index in range(scale.fridges):
        site = 1 if index < big or scale.sites == 1 else 2 + (index - big) % (scale.sites - 1)
        per_site[site] = per_site.get(site, 0) + 1
        freezer = index % 10 == 9
        variant = (len(FRIDGE_PROFILES) + index % len(FREEZER_PROFILES)) if freezer else index % len(FRIDGE_PROFILES)
        odd = index % 50  # each site of 50 has one of each
        out.append(FridgePlan(index, f"S{site:03d}-F{per_site[site]:03d}", site,
                              "freezer" if freezer else "refrigerator", f"native:bench{index:05d}", variant,
                              index % 24, warm=odd == 7, silent=odd == 13, waiting=odd == 21, weak=index % 37 == 5))
    return out


def config(url: str, scale: Scale, fridges: list[FridgePlan] | None = None) -> Any:  # noqa: ANN401
    fridges = plan(scale) if fridges is None else fridges
    return build_config({
        "database": {"url": url},
        "web": {"secret_key": "b" * 40},
        "sites": [{"name": site_name(n), "timezone": TIMEZONES[(n - 1) % len(TIMEZONES)]}
                  for n in range(1, scale.sites + 1)],
        "fridges": [{"name": f.name, "site": site_name(f.site), "kind": f.kind, "sensors": [f.sensor]}
                    for f in fridges],
    }, {}, {}, "benchmark")


# -- the temperature profiles ---------------------------------------------------------------------------------


def _profiles() -> list[tuple[float, float, float]]:
    return [*FRIDGE_PROFILES, *FREEZER_PROFILES]


def minute_temperature(variant: int, slot: int) -> float:
    """The profile's temperature at minute ``slot`` of its day."""
    base, daily, cycle = _profiles()[variant]
    return round(base + daily * math.sin(2 * math.pi * slot / DAY_MIN)
                 + cycle * math.sin(2 * math.pi * slot / CYCLE_MIN), 2)


def _profile_rows() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(minute rows, hour rows) of every profile; an hour's are what its 60 minute readings, each held 60 s, give."""
    minutes, hours = [], []
    for variant in range(len(_profiles())):
        temps = [minute_temperature(variant, slot) for slot in range(DAY_MIN)]
        minutes += [{"variant": variant, "slot": slot, "temperature_c": t} for slot, t in enumerate(temps)]
        for hour in range(24):
            part = temps[hour * 60:(hour + 1) * 60]
            low, high = min(part), max(part)
            hours.append({"variant": variant, "slot": hour, "min_c": low, "max_c": high, "sum_c": sum(part),
                          "held_c_s": 60 * sum(part), "arrhenius_s": 60 * sum(arrhenius_weight(t) for t in part),
                          "min_at_s": 60 * part.index(low), "max_at_s": 60 * part.index(high)})
    return minutes, hours


def _scratch_tables(conn: sa.Connection, fridges: list[FridgePlan], count: int) -> None:
    """Temporary tables the generating statements join: integers, profiles, and the sensors' plans."""
    for ddl in ("CREATE TEMPORARY TABLE bench_numbers (k INTEGER PRIMARY KEY)",
                "CREATE TEMPORARY TABLE bench_minutes (variant INTEGER, slot INTEGER, temperature_c FLOAT, "
                "PRIMARY KEY (variant, slot))",
                "CREATE TEMPORARY TABLE bench_hours (variant INTEGER, slot INTEGER, min_c FLOAT, max_c FLOAT, "
                "sum_c FLOAT, held_c_s FLOAT, arrhenius_s FLOAT, min_at_s INTEGER, max_at_s INTEGER, "
                "PRIMARY KEY (variant, slot))",
                "CREATE TEMPORARY TABLE bench_sensors (n INTEGER PRIMARY KEY, sensor_id VARCHAR(300), "
                "variant INTEGER, phase INTEGER, warm INTEGER, silent INTEGER)"):
        conn.exec_driver_sql(ddl)
    minutes, hours = _profile_rows()
    conn.execute(sa.text("INSERT INTO bench_numbers (k) VALUES (:k)"), [{"k": k} for k in range(count)])
    conn.execute(sa.text("INSERT INTO bench_minutes VALUES (:variant, :slot, :temperature_c)"), minutes)
    conn.execute(sa.text("INSERT INTO bench_hours VALUES (:variant, :slot, :min_c, :max_c, :sum_c, :held_c_s, "
                         ":arrhenius_s, :min_at_s, :max_at_s)"), hours)
    conn.execute(sa.text("INSERT INTO bench_sensors VALUES (:n, :sensor_id, :variant, :phase, :warm, :silent)"),
                 [{"n": f.index, "sensor_id": f.sensor, "variant": f.variant, "phase": f.phase,
                   "warm": int(f.warm), "silent": int(f.silent)} for f in fridges])


def _at(dialect: str, seconds: str) -> str:
    """SQL for the moment ``seconds`` (an SQL expression) after the bound ``:base``, as the column type stores it."""
    if dialect == "sqlite":
        return f"strftime('%Y-%m-%d %H:%M:%f', :base, '+' || ({seconds}) || ' seconds') || '000'"
    return f"(CAST(:base AS TIMESTAMP WITH TIME ZONE) + ({seconds}) * INTERVAL '1 second')"


def _hour_of(dialect: str, column: str) -> str:
    if dialect == "sqlite":
        return f"substr({column}, 1, 13) || ':00:00.000000'"
    return f"date_trunc('hour', {column}, 'UTC')"


def _base(dialect: str, moment: datetime) -> Any:  # noqa: ANN401
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if dialect == "sqlite" else moment


# -- generating -----------------------------------------------------------------------------------------------


def floor_hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def _batches(count: int) -> list[tuple[int, int]]:
    return [(lo, min(count, lo + SENSOR_BATCH)) for lo in range(0, count, SENSOR_BATCH)]


def _synthetic_hours(conn: sa.Connection, start: datetime, end: datetime, sensors: int,
                     say: Callable[[str], None]) -> int:
    """Rollups, held figures included, of the hours [start, end) as the profiles' minute readings would give."""
    hours = int((end - start).total_seconds() // 3600)
    if hours <= 0:
        return 0
    dialect = conn.dialect.name
    hour = _at(dialect, "n.k * 3600")
    statement = sa.text(
        "INSERT INTO hourly_rollups (sensor_id, hour, min_c, max_c, sum_c, count, held_s, held_c_s, arrhenius_s, "
        "held_min_c, held_min_at, held_max_c, held_max_at, longest_step_s, revision) "
        f"SELECT s.sensor_id, {hour}, p.min_c, p.max_c, p.sum_c, 60, 3600.0, p.held_c_s, p.arrhenius_s, "
        f"p.min_c, {_at(dialect, 'n.k * 3600 + p.min_at_s')}, p.max_c, {_at(dialect, 'n.k * 3600 + p.max_at_s')}, "
        "60.0, 0 "
        "FROM bench_sensors s JOIN bench_numbers n ON n.k < :hours "
        "JOIN bench_hours p ON p.variant = s.variant AND p.slot = (:first_slot + n.k + s.phase) % 24 "
        "WHERE s.n >= :lo AND s.n < :hi ORDER BY s.sensor_id, n.k")
    written = 0
    for lo, hi in _batches(sensors):
        written += conn.execute(statement, {"base": _base(dialect, start), "hours": hours, "first_slot": start.hour,
                                            "lo": lo, "hi": hi}).rowcount
        say(f"{written:,} hourly rollups")
    return written


def _minute_readings(conn: sa.Connection, start: datetime, end: datetime, sensors: int,
                     say: Callable[[str], None]) -> int:
    """Minute readings [start, end): the profiles, the warm fridges' last 2 h warmer, the silent ones' last 3 h
    missing; received 2 s after they were measured."""
    minutes = int((end - start).total_seconds() // 60)
    if minutes <= 0:
        return 0
    dialect = conn.dialect.name
    statement = sa.text(
        "INSERT INTO readings (sensor_id, measured_at, received_at, temperature_c) "
        f"SELECT s.sensor_id, {_at(dialect, 'n.k * 60')}, {_at(dialect, 'n.k * 60 + 2')}, "
        "p.temperature_c + CASE WHEN s.warm = 1 AND n.k >= :warm_from THEN :bump ELSE 0 END "
        "FROM bench_sensors s JOIN bench_numbers n ON n.k < :minutes AND (s.silent = 0 OR n.k < :silent_from) "
        "JOIN bench_minutes p ON p.variant = s.variant "
        f"AND p.slot = (:first_slot + n.k + 60 * s.phase) % {DAY_MIN} "
        "WHERE s.n >= :lo AND s.n < :hi ORDER BY n.k, s.sensor_id")
    params = {"base": _base(dialect, start), "minutes": minutes, "bump": WARM_BUMP_C,
              "warm_from": minutes - int(WARM_SPAN.total_seconds() // 60),
              "silent_from": minutes - int(SILENT_SPAN.total_seconds() // 60),
              "first_slot": start.hour * 60 + start.minute}
    written = 0
    for lo, hi in _batches(sensors):
        written += conn.execute(statement, {**params, "lo": lo, "hi": hi}).rowcount
        say(f"{written:,} minute readings")
    return written


def _rollups_of_readings(conn: sa.Connection, since: datetime) -> int:
    """The taken figures of every hour with readings from ``since``'s hour on, from the readings; held figures
    marked stale (as ingest's ``Keeper`` does) for ``refresh_all``."""
    dialect = conn.dialect.name
    hour = _hour_of(dialect, "measured_at")
    return conn.execute(sa.text(
        "INSERT INTO hourly_rollups (sensor_id, hour, min_c, max_c, sum_c, count) "
        f"SELECT sensor_id, {hour}, min(temperature_c), max(temperature_c), sum(temperature_c), count(*) "
        f"FROM readings WHERE measured_at >= :since GROUP BY sensor_id, {hour} "
        "ON CONFLICT (sensor_id, hour) DO UPDATE SET min_c = excluded.min_c, max_c = excluded.max_c, "
        "sum_c = excluded.sum_c, count = excluded.count, held_s = NULL, "
        "revision = hourly_rollups.revision + 1"), {"since": _base(dialect, floor_hour(since))}).rowcount


def _sensor_state(conn: sa.Connection, fridges: list[FridgePlan], first: datetime) -> None:
    """What ingest leaves on each sensor: first seen, last measured (its newest reading), last seen (2 s later),
    battery."""
    r, s = m.Reading, m.Sensor.__table__
    newest = dict(conn.execute(sa.select(s.c.id, sa.select(sa.func.max(r.measured_at)).where(r.sensor_id == s.c.id)
                                         .scalar_subquery())).all())
    conn.execute(
        sa.update(s).where(s.c.id == sa.bindparam("sid")).values(
            first_seen_at=sa.func.coalesce(s.c.first_seen_at, sa.bindparam("first", type_=m.UTCDateTime())),
            last_measured_at=sa.bindparam("measured", type_=m.UTCDateTime()),
            last_temperature_c=reading_at_last(s.c.id, sa.bindparam("measured", type_=m.UTCDateTime())),
            last_seen_at=sa.bindparam("seen", type_=m.UTCDateTime()),
            battery_pct=sa.bindparam("battery"), battery_at=sa.bindparam("measured", type_=m.UTCDateTime())),
        [{"sid": f.sensor, "first": first, "measured": newest[f.sensor],
          "seen": newest[f.sensor] + timedelta(seconds=2) if newest[f.sensor] else None,
          "battery": BATTERY_LOW if f.weak else BATTERY_OK} for f in fridges])


def extend(engine: sa.Engine, scale: Scale, since: datetime, until: datetime,
           say: Callable[[str], None]) -> dict[str, int]:
    """Data for [since, until) (both whole minutes): rollups of the profiles up to the last 24 h, minute readings
    within them, their rollups, the held figures and the sensors' state. Rows written, by table."""
    fridges = plan(scale)
    readings_from = max(since, floor_hour(until - READINGS_SPAN))
    partitions.ensure_partitions(engine, readings_from)  # the months the scheduler would have made (PostgreSQL)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
            conn.exec_driver_sql("SET LOCAL work_mem = '256MB'")
        first_hour = since if since == floor_hour(since) else floor_hour(since) + timedelta(hours=1)
        needed = max((readings_from - first_hour) // timedelta(hours=1),
                     (until - readings_from) // timedelta(minutes=1))
        _scratch_tables(conn, fridges, needed + 1)
        synthetic = _synthetic_hours(conn, first_hour, readings_from, len(fridges), say)
        readings = _minute_readings(conn, readings_from, until, len(fridges), say)
        from_readings = _rollups_of_readings(conn, min(readings_from, since - timedelta(minutes=1)))
        say(f"{from_readings:,} hourly rollups from the readings; their held figures (refresh_all)")
        held = rollups.refresh_all(conn)  # what the scheduler does as readings arrive
        _sensor_state(conn, fridges, since)
        for table in ("bench_numbers", "bench_minutes", "bench_hours", "bench_sensors"):
            conn.exec_driver_sql(f"DROP TABLE {table}")
        _set_fingerprint(conn, scale, until)
    return {"synthetic_rollups": synthetic, "readings": readings, "rollups_from_readings": from_readings,
            "held_refreshed": held}


# -- the records around the data ------------------------------------------------------------------------------


def declare(engine: sa.Engine, url: str, scale: Scale, start: datetime, now: datetime) -> None:
    """Sites, fridges, sensors and assignments as a configuration declares them; users, stock and alerts.

    The stock goes in small transactions: one session holding thousands of objects makes each flush slower.
    """
    fridges = plan(scale)
    with so.Session(engine) as session, session.begin():
        sync_config(session, config(url, scale, fridges), start)
    with so.Session(engine) as session, session.begin():
        accounts.create_user(session, ADMIN, "admin", PASSWORD, actor="benchmark", now=now)
        nurse = accounts.create_user(session, NURSE, "nurse", PASSWORD, actor="benchmark", now=now)
        ids = dict(session.execute(sa.select(m.Site.name, m.Site.id)).all())
        listed = [ids[site_name(n)] for n in (1, 2) if site_name(n) in ids]
        site_access.set_sites(session, nurse, listed, actor="benchmark", now=now, reason="benchmark")
        fridge_ids = dict(session.execute(sa.select(m.Fridge.name, m.Fridge.id)).all())
        _alerts(session, fridges, fridge_ids, now)
    _stock(engine, [fridge_ids[f.name] for f in fridges if f.kind == "refrigerator"], now)


def _stock(engine: sa.Engine, fridge_ids: list[int], now: datetime, per_transaction: int = 200) -> None:
    """One lot of a refrigerated catalogue product received into each refrigerator, a week ago."""
    received = now - timedelta(days=7)
    with so.Session(engine) as session, session.begin():
        products = session.scalars(sa.select(m.Product.id).where(m.Product.catalogue_key.is_not(None))
                                   .order_by(m.Product.id).limit(3)).all()
        lots = [catalog.lot_for(session, product_id=pid, lot_number=f"BENCH-{k}", expiry=date(now.year + 2, 1, 31),
                                actor="benchmark", now=received).id for k, pid in enumerate(products)]
    for first in range(0, len(fridge_ids), per_transaction):
        with so.Session(engine) as session, session.begin():
            for k in range(first, min(len(fridge_ids), first + per_transaction)):
                ledger.receive(session, lot_id=lots[k % len(lots)], fridge_id=fridge_ids[k], quantity=10 + k % 20,
                               actor="benchmark", now=received)


def _alerts(session: so.Session, fridges: list[FridgePlan], fridge_ids: dict[str, int], now: datetime) -> None:
    """Open alerts: an excursion on each warm fridge, no data on each silent one, and one waiting elsewhere."""
    excursion = ("excursion", "out-of-range", "Temperature out of range")
    for f in fridges:
        if f.warm:
            (kind, rule, title), started = excursion, now - WARM_SPAN
        elif f.silent:
            (kind, rule, title), started = ("no-data", "no-data", "No data"), now - SILENT_SPAN + timedelta(minutes=30)
        elif f.waiting:
            (kind, rule, title), started = excursion, now - timedelta(hours=20)
        else:
            continue
        session.add(m.Alert(fridge_id=fridge_ids[f.name], kind=kind, rule=rule, subject="", severity="alarm",
                            state="open", title=title, detail="benchmark", started_at=started,
                            ended_at=started + timedelta(minutes=40) if f.waiting else None,
                            created_at=started, updated_at=started))
    session.flush()


# -- build or reuse -------------------------------------------------------------------------------------------


def _set_fingerprint(conn: sa.Connection, scale: Scale, until: datetime) -> None:
    value = json.dumps({**scale.fingerprint(), "until": until.isoformat()})
    s = m.Setting.__table__
    conn.execute(sa.delete(s).where(s.c.key == FINGERPRINT_KEY))
    conn.execute(sa.insert(s).values(key=FINGERPRINT_KEY, value=value))


def fingerprint(engine: sa.Engine) -> dict[str, Any] | None:
    """What a previous build left (its scale and up to when it generated), or None."""
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("settings"):
            return None
        found = conn.scalar(sa.select(m.Setting.value).where(m.Setting.key == FINGERPRINT_KEY))
    return None if found is None else dict(json.loads(found))


def build(engine: sa.Engine, url: str, scale: Scale, now: datetime, say: Callable[[str], None]) -> dict[str, int]:
    """Everything, into an empty database: migrations, records, a year of data up to ``now`` (a whole minute)."""
    migrate.upgrade(engine)
    start = floor_hour(now - timedelta(days=scale.days))
    began = time.perf_counter()
    declare(engine, url, scale, start, now)
    say(f"declared {scale.sites} sites, {scale.fridges} fridges, users, stock and alerts in "
        f"{time.perf_counter() - began:.0f} s")
    return extend(engine, scale, start, now, say)


def top_up(engine: sa.Engine, scale: Scale, now: datetime, say: Callable[[str], None]) -> dict[str, int]:
    """A reused database brought up to ``now`` (and to the newest migration): what the fridges would have sent
    since its last build."""
    migrate.upgrade(engine)
    found = fingerprint(engine)
    assert found is not None
    since = datetime.fromisoformat(found["until"])
    if now <= since:
        return {}
    return extend(engine, scale, since, now, say)
