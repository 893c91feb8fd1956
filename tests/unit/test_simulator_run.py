"""The simulation loop with an in-memory transport, and the command line without a broker."""

from __future__ import annotations

import io
import json
import threading
import time
from datetime import UTC, datetime

import pytest

from sensors import FridgePlan, Simulation
from sensors.cli import build_parser, main
from sensors.formats import Message
from sensors.mqtt import BrokerAddress
from sensors.simulation import Stats, dry_run

from support import wait_until


class RecordingLink:
    """Stands in for a device's MQTT connection; remembers what happened, and when."""

    def __init__(self, log: list[tuple], plan: FridgePlan, birth: Message, will: Message) -> None:
        self.log, self.name, self.birth, self.will = log, plan.name, birth, will
        self.published = 0
        self.dropped = False

    def connect(self, timeout_s: float) -> None:
        self.log.append(("connect", self.name))
        self.publish(self.birth)

    def publish(self, message: Message) -> None:
        self.published += 1
        self.log.append(("publish", message.topic, message.payload, time.time()))

    def drop(self) -> None:
        self.dropped = True
        self.log.append(("drop", self.name))
        self.log.append(("publish", self.will.topic, self.will.payload, time.time()))  # the broker's doing

    def rejoin(self) -> None:
        self.dropped = False
        self.log.append(("rejoin", self.name))
        self.publish(self.birth)

    def say_goodbye(self) -> None:
        if not self.dropped:
            self.publish(self.will)

    def wait_acked(self, timeout_s: float) -> int:
        return 0

    def disconnect(self) -> None:
        self.log.append(("disconnect", self.name))


def simulate(plans: list[FridgePlan], **options) -> tuple[list[tuple], object]:  # noqa: ANN003
    log: list[tuple] = []
    options = {"interval_s": 60, "speed": 60_000, "count": 20, **options}
    simulation = Simulation(
        "mqtt://broker.invalid:1883", plans, transport=lambda *args: RecordingLink(log, *args), **options
    )
    stats = simulation.run(threading.Event())
    return log, stats


def published(log: list[tuple], topic_part: str = "") -> list[tuple]:
    return [entry for entry in log if entry[0] == "publish" and topic_part in entry[1]]


def test_count_run_publishes_every_interval_then_says_offline() -> None:
    plans = [FridgePlan("sim-fridge-1", "normal", "native"), FridgePlan("sim-fridge-2", "normal", "esphome")]
    log, stats = simulate(plans, prefix="p/")
    assert len(published(log, "p/fridge-monitor/readings/sim-fridge-1")) == 20
    assert len(published(log, "p/sim-fridge-2/sensor/temperature/state")) == 20
    assert len(published(log, "p/sim-fridge-2/sensor/battery/state")) == 20
    availability = [e[2] for e in published(log, "p/fridge-monitor/availability/")]
    assert availability == [b"online", b"offline"]
    assert log[-2:] == [("disconnect", "sim-fridge-1"), ("disconnect", "sim-fridge-2")]
    assert stats.readings == 40
    assert stats.messages == 2 + 20 + 40 + 2
    assert dict(stats.readings_by_sensor) == {"native:sim-fridge-1": 20, "esphome:sim-fridge-2:temperature": 20}
    assert stats.unacknowledged == 0


def test_timestamps_catch_up_with_the_wall_clock_but_never_pass_it() -> None:
    start = time.time() - 1.0
    log, _ = simulate([FridgePlan("sim-fridge-1", "normal", "native")], speed=3, count=8, interval_s=0.25, start=start)
    lags = []
    for _, _, payload, sent_at in published(log, "readings/"):
        measured = datetime.fromisoformat(json.loads(payload)["ts"]).timestamp()
        assert measured <= sent_at
        lags.append(sent_at - measured)
    assert lags[0] == pytest.approx(1.0, abs=0.1)
    assert lags[-1] < 0.1, "caught up after half a second, then real time"


def test_power_outage_drops_the_link_and_rejoins() -> None:
    log, stats = simulate([FridgePlan("sim-fridge-1", "power-outage", "native", onset_s=300, outage_s=600)])
    events = [e[0] if e[0] != "publish" else e[2].decode()[:7] for e in log]
    assert events[:8] == ["connect", "online", *["{\"tempe"] * 5, "drop"]
    assert events[8:11] == ["offline", "rejoin", "online"]
    assert events[-2:] == ["offline", "disconnect"]
    assert stats.readings == 10 and stats.dark_slots == 10 and stats.drops == 1


def test_bad_payload_stats_count_each_kind() -> None:
    _, stats = simulate([FridgePlan("sim-fridge-1", "bad-payloads", "native")], count=100, seed=4)
    assert stats.bad_total + stats.readings == 100
    assert set(stats.bad_payloads) == {
        "invalid-json", "not-utf8", "text-temperature", "nan",
        "out-of-range", "future-timestamp", "missing-field", "oversize",
    }
    assert "bad payloads" in stats.summary()


def test_a_stop_event_ends_the_run_cleanly() -> None:
    stop = threading.Event()
    log: list[tuple] = []
    simulation = Simulation(
        "mqtt://broker.invalid", [FridgePlan("sim-fridge-1", "normal", "native")], interval_s=3600, speed=1,
        transport=lambda *args: RecordingLink(log, *args),
    )
    outcome: list[Stats] = []
    runner = threading.Thread(target=lambda: outcome.append(simulation.run(stop)), daemon=True)
    runner.start()
    wait_until(lambda: published(log, "readings/"), 10, interval=0.01, what="the first reading")
    stop.set()  # the next reading is an hour away: only the stop event can end the run now
    runner.join(10)
    assert not runner.is_alive(), "the run did not end when asked to stop"
    (stats,) = outcome
    assert stats.readings == 1, "the first reading goes out at once, the next is an hour away"
    assert [e[2] for e in published(log, "availability")] == [b"online", b"offline"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"plans": []}, "at least one fridge"),
        ({"plans": [FridgePlan("a", "normal", "native")] * 2}, "device names must be unique"),
        ({"interval_s": 0}, "interval must be a positive number"),
        ({"speed": -1}, "speed must be a positive factor"),
        ({"count": 0}, "count must be at least 1"),
        ({"qos": 3}, "QoS must be 0, 1 or 2"),
        ({"prefix": "a/#/"}, "must not contain"),
        ({"start": datetime(2999, 1, 1, tzinfo=UTC)}, "start time is in the future"),
        ({"broker_url": "mqtts://host"}, "must start with mqtt://"),
    ],
)
def test_simulation_refuses_bad_settings(options: dict, message: str) -> None:
    arguments = {"broker_url": "mqtt://localhost", "plans": [FridgePlan("a", "normal", "native")], **options}
    with pytest.raises(ValueError, match=message):
        Simulation(**arguments)


def test_broker_urls() -> None:
    assert BrokerAddress.parse("mqtt://127.0.0.1:1884") == BrokerAddress("127.0.0.1", 1884)
    assert BrokerAddress.parse("broker.lan") == BrokerAddress("broker.lan", 1883)
    assert BrokerAddress.parse("mqtt://u%40x:p@h", password="q") == BrokerAddress("h", 1883, "u@x", "q")
    assert str(BrokerAddress("h", 1884)) == "mqtt://h:1884"
    with pytest.raises(ValueError, match="invalid port"):
        BrokerAddress.parse("mqtt://h:99999")


def test_dry_run_prints_topic_and_payload_lines() -> None:
    out = io.StringIO()
    stats = dry_run(
        [FridgePlan("sim-fridge-1", "normal", "native")], interval_s=60, count=2, out=out, wall_now_s=1795600920.0
    )
    assert out.getvalue().splitlines() == [
        "fridge-monitor/availability/sim-fridge-1 online",
        'fridge-monitor/readings/sim-fridge-1 {"temperature_c":5.7,"ts":"2026-11-25T10:00:00Z","battery_pct":88}',
        'fridge-monitor/readings/sim-fridge-1 {"temperature_c":5.7,"ts":"2026-11-25T10:01:00Z","battery_pct":88}',
        "fridge-monitor/availability/sim-fridge-1 offline",
    ]
    assert stats.readings == 2


# -- command line -------------------------------------------------------------------


def test_list_sensors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--list-sensors", "--fridges", "3", "--format", "senml"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "senml:sim-fridge-1:temp",
        "senml:sim-fridge-2:temp",
        "senml:sim-fridge-3:temp",
    ]
    assert main(["--list-sensors", "--freezer", "--format", "shelly-gen1"]) == 0
    assert capsys.readouterr().out == "shelly:sim-freezer-1\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--fridges", "0"], "argument --fridges: '0' must be greater than 0"),
        (["--interval", "soon"], "argument --interval: 'soon' is not a number"),
        (["--scenario", "normal,meltdown"], "unknown scenario 'meltdown'"),
        (["--format", "homie"], "argument --format: invalid choice: 'homie'"),
        (["--start", "yesterday"], "is not an ISO 8601 time"),
        (["--scenario", "backlog", "--format", "zigbee2mqtt"], "format zigbee2mqtt cannot carry; use native, senml"),
        (["--broker", "ws://host"], "must start with mqtt://"),
        (["--dry-run"], "--dry-run needs --count"),
    ],
)
def test_bad_options_give_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err


def test_help_documents_scenarios_formats_and_sensor_ids() -> None:
    text = build_parser().format_help()
    for word in (
        "normal", "door-open", "compressor-failure", "freeze", "power-outage", "flapping", "low-battery",
        "backlog", "bad-payloads", "defrost", "senml:<device>:temp", "tasmota:<device>:<DS18B20 id>",
        "shelly:<device>:0",
        "esphome:<device>:temperature", "zigbee2mqtt:<device>", "native:<device>", "shelly-gen1",
    ):
        assert word in text


def test_scenarios_are_dealt_to_fridges_in_turn(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--dry-run", "--count", "1", "--fridges", "3", "--scenario", "normal,bad-payloads", "-q"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len([line for line in lines if "/readings/" in line]) == 3
