"""``fridge-monitor demo``: the whole system on one machine with nothing installed.

An embedded MQTT broker, SQLite in a data directory, ingest, and simulated
fridges in several payload formats: most are fine, one has a compressor that
fails (it drifts out of range; its smart plug sees the compressor stop), one
loses power (its sensor goes silent), one is switched off at the socket (its
smart plug says so at once), and one has its door left open (its door
contact says so): the early warnings come before the excursions.
The simulation starts a few hours in the past and runs fast until it reaches
the present, so there is history at once; then it continues in real time.
"""

from __future__ import annotations

import logging
import math
import shutil
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.alerts.handling import waiting_count
from fridge_monitor.alerts.scheduler import Scheduler
from fridge_monitor.config import Config, build_config
from fridge_monitor.core.status import State, age, state
from fridge_monitor.demo.certificates import seed_certificates
from fridge_monitor.demo.stock import LOTS, example_scan, seed_stock
from fridge_monitor.ingest.subscriber import Ingest
from fridge_monitor.launch import Roles
from fridge_monitor.mqtt.broker import free_port, port_in_use
from fridge_monitor.store import accounts, migrate
from fridge_monitor.store import models as m
from fridge_monitor.store.db import create_engine
from fridge_monitor.store.overview import fridges_now
from fridge_monitor.store.series import profiles_of
from fridge_monitor.store.sync import sync_declarations

log = logging.getLogger(__name__)

SITE = "Demo Clinic"
TIMEZONE = "Europe/Berlin"
HISTORY = timedelta(hours=3)
SPEED = 90.0
INTERVAL_S = 15.0

# (fridge name, device, payload format, scenario, fault onset after the simulation start, its door contact
# and smart plug besides the probe)
FRIDGES = (
    ("Vaccines A", "vaccines-a", "tasmota", "normal", None, ""),
    ("Botox B", "botox-b", "native", "compressor-failure", timedelta(hours=2), "plug"),
    ("Insulin C", "insulin-c", "senml", "power-outage", timedelta(hours=2, minutes=40), ""),
    ("Dysport D", "dysport-d", "zigbee2mqtt", "door-open", None, "door"),
    ("Xeomin E", "xeomin-e", "senml", "power-cut", timedelta(hours=2, minutes=20), "plug"),
    ("Vaccines F", "vaccines-f", "native", "door-left-open", timedelta(hours=2, minutes=35), "door"),
)
# Judged by the CDC preset with the simulated compressor's off-cycle: at most 16 minutes, and 2 more (what a plug
# learns from 3 days of it; the demo has 3 hours).
DEMO_PROFILE = {"name": "demo-refrigerator", "low_c": 2.0, "high_c": 8.0, "off_cycle_max_min": 18,
                "rules": [{"name": "heat", "direction": "high", "threshold_c": 8.0, "inclusive": False,
                           "mode": "continuous", "duration_min": 60},
                          {"name": "freeze", "direction": "low", "threshold_c": 2.0, "inclusive": False}]}
OUTAGES = {"power-outage": timedelta(days=1), "power-cut": timedelta(days=1)}


# A fridge watched by a stand-alone data logger only: its download is imported at start (see _import_logger).
LOGGER_FRIDGE = "Outreach G"
LOGGER_SERIAL = "130500109088"
LOGGER_DAYS = 5

# Name, role, password, and the full name their signatures print.
DEMO_USERS = (("admin", "admin", "demo-admin-pw", "Ada Admin"), ("nurse", "nurse", "demo-nurse-pw", "Nina Nurse"),
              ("supervisor", "supervisor", "demo-supervisor-pw", "Sam Supervisor"),
              ("auditor", "auditor", "demo-auditor-pw", "Aldo Auditor"))


def demo_config(data_dir: Path, mqtt_port: int, web_port: int, sensor_ids: dict[str, list[str]],
                aux_ids: dict[str, list[str]] | None = None) -> Config:
    raw = {
        "web": {"host": "127.0.0.1", "port": web_port},
        "database": {"url": f"sqlite:///{(data_dir / 'fridge-monitor.db').resolve()}"},
        "mqtt": {"url": f"mqtt://127.0.0.1:{mqtt_port}", "protocol": "3.1.1", "client_id": "fridge-monitor-demo"},
        "sites": [{"name": SITE, "timezone": TIMEZONE, "checks": ["08:00", "16:00"]}],
        "alarm_profiles": [DEMO_PROFILE],
        "fridges": [
            *({"name": name, "site": SITE, "kind": "refrigerator", "sensors": sensor_ids[device],
               "aux_sensors": (aux_ids or {}).get(device, []), "alarm_profile": DEMO_PROFILE["name"]}
              for name, device, *_ in FRIDGES),
            {"name": LOGGER_FRIDGE, "site": SITE, "kind": "refrigerator", "sensors": []},
        ],
    }
    return build_config(raw, {}, {}, "demo")


def write_config_file(path: Path, config: Config) -> None:
    """So the user can run other commands (export, parse) against the demo's data."""
    lines = [
        "# Written by `fridge-monitor demo`; use it with --config for other commands.",
        "[database]",
        f'url = "{config.database["url"]}"',
        "[mqtt]",
        f'url = "{config.mqtt["url"]}"',
        'protocol = "3.1.1"',
        'client_id = "fridge-monitor-demo-cli"',
        "[web]",
        f'port = {config.web["port"]}',
    ]
    path.write_text("\n".join(lines) + "\n")


def run_demo(
    data_dir: Path,
    stop: threading.Event,
    *,
    fresh: bool = False,
    mqtt_port: int | None = None,
    web_port: int | None = None,
    status_every: float = 5.0,
    out: TextIO,
) -> None:
    from sensors.device import FridgePlan, plan_aux_sensor_ids
    from sensors.simulation import Simulation

    if fresh and data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    if mqtt_port is None:
        mqtt_port = 1883 if not port_in_use("127.0.0.1", 1883) else free_port()
    if web_port is None:
        web_port = 8000 if not port_in_use("127.0.0.1", 8000) else free_port()

    now = time.time()
    start = now - HISTORY.total_seconds()
    plans = [
        FridgePlan(device, scenario=scenario, fmt=fmt, device_tz=TIMEZONE,
                   onset_s=onset.total_seconds() if onset else None,
                   outage_s=OUTAGES[scenario].total_seconds() if scenario in OUTAGES else None,
                   door_contact="door" in aux, plug="plug" in aux)
        for _name, device, fmt, scenario, onset, aux in FRIDGES
    ]
    simulation = Simulation(f"mqtt://127.0.0.1:{mqtt_port}", plans, interval_s=INTERVAL_S, speed=SPEED,
                            seed=7, start=start, client_id="fridge-monitor-demo-sim")
    config = demo_config(data_dir, mqtt_port, web_port, simulation.sensor_ids(),
                         {plan.name: plan_aux_sensor_ids(plan) for plan in plans})
    write_config_file(data_dir / "fridge-monitor.toml", config)

    engine = create_engine(config.database)
    migrate.upgrade(engine)
    _create_demo_users(engine)
    # The fridges must exist before stock is received into them (ingest would sync them too).
    sync_declarations(engine, config, datetime.now(UTC))
    seed_stock(engine, datetime.fromtimestamp(start, UTC) - timedelta(minutes=30))
    logger_file = _import_logger(engine, config, data_dir)
    with engine.connect() as conn:  # the logger's sensor exists once its file is imported
        assigned = conn.execute(sa.select(m.Fridge.name, m.Sensor.id).join(m.Sensor, m.Sensor.fridge_id == m.Fridge.id)
                                .order_by(m.Sensor.role.desc(), m.Sensor.id)).all()
    by_fridge: dict[str, list[str]] = {}
    for fridge, sensor_id in assigned:
        by_fridge.setdefault(fridge, []).append(sensor_id)
    seed_certificates(engine, by_fridge, datetime.now(UTC))

    roles = Roles()
    scheduler: Scheduler | None = None
    sim_thread = threading.Thread(target=_simulate, args=(simulation, stop), name="demo-simulator", daemon=True)
    try:
        roles.start_broker(config)
        ingest = roles.start_ingest(config, stop)
        if ingest is None:
            return
        web = roles.start_web(config, engine)
        if not ingest.wait_connected(15):
            raise RuntimeError("ingest could not connect to the embedded broker")
        sim_thread.start()
        _banner(out, data_dir, mqtt_port, web.url, logger_file)
        max_gap = timedelta(seconds=INTERVAL_S * 3 + 15)
        printed = time.monotonic()
        while not stop.wait(min(status_every, 1.0)):
            # Started once the replayed history has caught up with the present: until then the
            # timestamped sensors' newest readings are hours old, which is not a silence.
            if scheduler is None and _live(simulation):
                scheduler = roles.start_scheduler(config, engine)
            if time.monotonic() - printed >= status_every:
                printed = time.monotonic()
                _print_status(out, engine, config, ingest, max_gap, simulation)
    finally:
        print("\nstopping…", file=out, flush=True)
        stop.set()
        sim_thread.join(15) if sim_thread.is_alive() else None
        roles.stop()
        engine.dispose()
        print("stopped cleanly; data kept in", data_dir, file=out, flush=True)


def _live(simulation: object) -> bool:
    clock = getattr(simulation, "clock", None)
    now = time.time()
    return clock is None or clock.sim_at(now) >= now - 1


def _simulate(simulation: object, stop: threading.Event) -> None:
    try:
        simulation.run(stop)  # type: ignore[attr-defined]
    except Exception:
        log.exception("the fridge simulator stopped")


def _create_demo_users(engine: sa.Engine) -> None:
    with so.Session(engine) as session, session.begin():
        for name, role, password, full_name in DEMO_USERS:
            user = session.scalar(sa.select(m.User).where(m.User.name == name))
            if user is None:
                accounts.create_user(session, name, role, password, actor="demo", now=datetime.now(UTC),
                                     reason="demo login", full_name=full_name)
            elif user.full_name is None:  # a data directory from a version before full names
                accounts.set_full_name(session, user, full_name, actor="demo", now=datetime.now(UTC),
                                       reason="demo login")


def _import_logger(engine: sa.Engine, config: Config, data_dir: Path) -> Path:
    """A simulated Fridge-tag 2 L download of the last days, with one warm afternoon (its own alarm fires),
    imported into the logger-only fridge once; the file stays in the data directory to import again."""
    from fridge_monitor.loggers.importing import Importer, Request
    from fridge_monitor.store.logger_files import files
    from sensors.logger_files import fridge_tag_report

    folder = data_dir / "loggers"
    folder.mkdir(exist_ok=True)
    kept = sorted(folder.glob(f"{LOGGER_SERIAL}_*.txt"))
    with engine.connect() as conn:
        fridge_id = conn.scalar(sa.select(m.Fridge.id).where(m.Fridge.name == LOGGER_FRIDGE))
        if kept and fridge_id is not None and files(conn, fridge_id=fridge_id):
            return kept[-1]  # imported at an earlier start
    zone = ZoneInfo(TIMEZONE)
    first = datetime.now(zone).replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0) - \
        timedelta(days=LOGGER_DAYS)
    minutes = int((datetime.now(zone).replace(tzinfo=None) - first).total_seconds() // 60)
    warm = range((LOGGER_DAYS - 2) * 1440 + 9 * 60, (LOGGER_DAYS - 2) * 1440 + 20 * 60)  # 11 h above 8 °C
    trace = [9.4 if i in warm else round(4.8 + 0.8 * math.sin(i / 90), 1) for i in range(minutes)]
    path = folder / f"{LOGGER_SERIAL}_{datetime.now(zone):%Y%m%d%H%M}.txt"
    path.write_bytes(fridge_tag_report(LOGGER_SERIAL, first, trace))
    Importer(engine, config).import_file(LOGGER_FRIDGE, Request(path.name, path.read_bytes()), "demo")
    return path


def _banner(out: TextIO, data_dir: Path, port: int, web_url: str, logger_file: Path) -> None:
    config_file = data_dir / "fridge-monitor.toml"
    logins = "\n".join(f"                {name:<10} {password:<18} ({role})" for name, role, password, _ in DEMO_USERS)
    print(
        f"""Fridge Monitor demo
  dashboard     {web_url}
  logins
{logins}
  MQTT broker   mqtt://127.0.0.1:{port} (embedded; publish your own readings, e.g.
                mosquitto_pub -p {port} -q 1 -t fridge-monitor/readings/my-probe -m '{{"temperature_c": 4.2}}')
  database      {data_dir / 'fridge-monitor.db'} (SQLite)
  simulator     {len(FRIDGES)} fridges, {HISTORY.total_seconds() / 3600:.0f} h of history replayed at {SPEED:.0f}x, \
then live
  early warning Botox B's compressor stops (its smart plug sees it), Xeomin E is switched off at the
                socket (power-lost at once), Vaccines F's door is left open (door-open): each warns
                before its excursion, which names the cause (Alerts)
  data logger   {LOGGER_FRIDGE} is watched by a Fridge-tag only: its download {logger_file.name} is
                imported (device days and its own alarm on the fridge's page); import files there, or
                fridge-monitor --config {config_file} import FILE --fridge "{LOGGER_FRIDGE}"
  stock         {len(LOTS)} lots in the fridges; try the scan box (Inventory → Receive) with
                {example_scan("botox", "C7500ZZ", datetime.now().date() + timedelta(days=365))}
  export        fridge-monitor --config {config_file} export readings --from {datetime.now().date()} \
--to {datetime.now().date()}
  Ctrl-C stops everything.
""",
        file=out,
        flush=True,
    )


def _print_status(out: TextIO, engine: sa.Engine, config: Config, ingest: Ingest, max_gap: timedelta,
                  simulation: object) -> None:
    now = datetime.now(UTC)
    clock = getattr(simulation, "clock", None)
    with so.Session(engine) as session:
        overview = fridges_now(session.connection(), now, profile_of=profiles_of(session, config), history=timedelta(0))
        waiting, alarms = waiting_count(session)
    lines = [f"{now.astimezone().strftime('%H:%M:%S')}  {SITE} ({TIMEZONE})"]
    for fridge in overview:
        latest = fridge.latest
        current = state(latest, now, max_gap)  # the simulator's cadence, not the profiles' gap: silence shows soon
        temp = f"{latest.temperature_c:5.1f} °C" if latest.temperature_c is not None else "    — °C"
        today = (f"today {latest.min_c:.1f}…{latest.max_c:.1f}" if latest.min_c is not None else "today —").ljust(18)
        flag = {State.OK: "✓", State.OUT_OF_RANGE: "✗", State.NO_DATA: "?", State.NO_SENSOR: "?"}[current]
        lines.append(
            f"  {latest.fridge:<12} {temp}  {today} {age(now, latest.measured_at) + ' ago':>11}  "
            f"{flag} {current.value}"
            + (f" (allowed {latest.low_c:g}…{latest.high_c:g} °C)" if current is State.OUT_OF_RANGE else "")
        )
    stats = ingest.stats
    lines.append(
        f"  ingest: {stats.readings_written} readings stored, {stats.rejected_messages} rejected, "
        f"{ingest.backlog} waiting, broker {'connected' if ingest.connected else 'DISCONNECTED'}"
    )
    if waiting:
        lines.append(f"  alerts: {waiting} need acknowledgement ({alarms} alarms) — see /alerts on the dashboard")
    if clock is not None and clock.sim_at(now.timestamp()) < now.timestamp() - 1:
        simulated = datetime.fromtimestamp(clock.sim_at(now.timestamp()), UTC)
        lines.append(
            f"  simulator: replaying history, its clock is at {simulated.astimezone().strftime('%H:%M')} "
            "(timestamped sensors look silent until it is live)"
        )
    print("\n".join(lines) + "\n", file=out, flush=True)
