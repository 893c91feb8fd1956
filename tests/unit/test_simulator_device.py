"""One simulated device, slot by slot: plans, prefixes, outages, backlogs, bad payloads."""

from __future__ import annotations

import json

import pytest

from sensors.device import Device, Drop, FridgePlan, Publish, Rejoin, plan_sensor_ids
from sensors.formats import FORMATS, make_format

T0 = 1795600800.0  # 2026-11-25T10:00:00Z


def device(scenario: str = "normal", fmt: str = "native", seed: int = 1, prefix: str = "", **plan: float) -> Device:
    plan_ = FridgePlan("sim-fridge-1", scenario, fmt, **plan)
    return Device(plan_, seed=seed, sim_start_s=T0, interval_s=60, prefix=prefix)


def publishes(actions) -> list[Publish]:  # noqa: ANN001
    return [a for a in actions if isinstance(a, Publish)]


# -- plans -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "ids"),
    [
        ("native", ["native:sim-fridge-1"]),
        ("senml", ["senml:sim-fridge-1:temp"]),
        ("zigbee2mqtt", ["zigbee2mqtt:sim-fridge-1"]),
        ("tasmota", ["tasmota:sim-fridge-1:E8BE043EE818"]),
        ("esphome", ["esphome:sim-fridge-1:temperature"]),
        ("shelly", ["shelly:sim-fridge-1:0"]),
        ("shelly-gen1", ["shelly:sim-fridge-1"]),
    ],
)
def test_plan_sensor_ids(fmt: str, ids: list[str]) -> None:
    assert plan_sensor_ids(FridgePlan("sim-fridge-1", "normal", fmt)) == ids


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        (dict(name="fridge/1"), "device name 'fridge/1' must be letters"),
        (dict(scenario="meltdown"), "unknown scenario 'meltdown'; choose one of normal, door-open"),
        (dict(fmt="homie"), "unknown format 'homie'"),
        (
            dict(scenario="backlog", fmt="tasmota"),
            "scenario backlog uploads a list of readings, which format tasmota cannot carry; use native, senml",
        ),
        (dict(scenario="backlog", fmt="esphome"), "which format esphome cannot carry"),
        (
            dict(scenario="low-battery", fmt="tasmota"),
            "scenario low-battery needs a battery level, which format tasmota does not report",
        ),
        (dict(set_point_c=9.0), "set point 9.0 °C must lie between the limits 2.0 and 8.0 °C"),
        (dict(onset_s=-1.0), "onset must not be negative"),
    ],
)
def test_bad_plans_are_refused_with_a_clear_sentence(plan: dict, message: str) -> None:
    fields = {"name": "sim-fridge-1", "scenario": "normal", "fmt": "native", **plan}
    with pytest.raises(ValueError, match=message):
        FridgePlan(**fields)


# -- slots -----------------------------------------------------------------------


def test_every_topic_gets_the_prefix() -> None:
    dev = device(fmt="shelly", prefix="t42/")
    topics = [p.message.topic for p in publishes(dev.take_slot().actions)]
    topics += [dev.availability(True).topic, dev.availability(False).topic]
    assert topics == [
        "t42/sim-fridge-1/status/temperature:0",
        "t42/sim-fridge-1/status/devicepower:0",
        "t42/sim-fridge-1/online",
        "t42/sim-fridge-1/online",
    ]


def test_slots_are_one_interval_apart_in_simulated_time() -> None:
    dev = device()
    stamps = []
    for _ in range(3):
        slot = dev.take_slot()
        stamps.append(json.loads(publishes(slot.actions)[0].message.payload)["ts"])
    assert stamps == ["2026-11-25T10:00:00Z", "2026-11-25T10:01:00Z", "2026-11-25T10:02:00Z"]
    assert dev.slots_taken == 3 and dev.next_time_s == T0 + 180


def test_the_same_seed_gives_the_same_messages_and_fridges_are_independent() -> None:
    def messages(dev: Device) -> list[bytes]:
        return [p.message.payload for _ in range(30) for p in publishes(dev.take_slot().actions)]

    assert messages(device(seed=5)) == messages(device(seed=5))
    assert messages(device(seed=5)) != messages(device(seed=6))
    other = Device(FridgePlan("sim-fridge-2", "normal", "native"), seed=5, sim_start_s=T0, interval_s=60)
    assert [json.loads(m)["temperature_c"] for m in messages(other)] != [
        json.loads(m)["temperature_c"] for m in messages(device(seed=5))
    ]


def test_power_outage_drops_off_goes_silent_and_rejoins() -> None:
    dev = device("power-outage", onset_s=300, outage_s=180)
    slots = [dev.take_slot() for _ in range(10)]
    kinds = [[type(a).__name__ for a in s.actions] for s in slots]
    assert kinds == [
        ["Publish"], ["Publish"], ["Publish"], ["Publish"], ["Publish"],
        ["Drop"], [], [],
        ["Rejoin", "Publish"], ["Publish"],
    ]
    assert [s.sample is None for s in slots] == [False] * 5 + [True] * 3 + [False] * 2


def test_backlog_buffers_then_uploads_one_shuffled_list() -> None:
    dev = device("backlog", onset_s=120, outage_s=300)
    slots = [dev.take_slot() for _ in range(9)]
    assert [s.buffered for s in slots] == [False, False, True, True, True, True, True, False, False]
    assert isinstance(slots[2].actions[0], Drop)
    rejoin, upload = slots[7].actions
    assert isinstance(rejoin, Rejoin)
    assert upload.backlog and upload.readings == 6
    stamps = [r["ts"][11:16] for r in json.loads(upload.message.payload)]
    assert sorted(stamps) == ["10:02", "10:03", "10:04", "10:05", "10:06", "10:07"]
    assert stamps != sorted(stamps), "uploaded out of order"
    assert publishes(slots[8].actions)[0].readings == 1


def test_senml_backlog_is_one_pack() -> None:
    dev = device("backlog", fmt="senml", onset_s=0, outage_s=240)
    upload = [a for _ in range(5) for a in dev.take_slot().actions if isinstance(a, Publish)][0]
    pack = json.loads(upload.message.payload)
    assert pack[0]["bn"] == "sim-fridge-1:" and pack[0]["bt"] == T0 + 240
    assert sorted(r["t"] for r in pack if r["n"] == "temp") == [-240, -180, -120, -60, 0]


def test_a_backlog_still_buffered_at_the_end_is_flushed() -> None:
    dev = device("backlog", onset_s=0)
    for _ in range(4):
        dev.take_slot()
    rejoin, upload = dev.flush()
    assert isinstance(rejoin, Rejoin)
    assert upload.readings == 4
    assert dev.flush() == ()


def test_backlog_contains_the_excursion_from_the_door_left_ajar() -> None:
    dev = device("backlog", seed=2)
    upload = next(a for _ in range(90) for a in dev.take_slot().actions if isinstance(a, Publish) and a.backlog)
    temperatures = [r["temperature_c"] for r in json.loads(upload.message.payload)]
    assert len(temperatures) == 46  # 45 minutes buffered plus the reading on return
    assert max(temperatures) > 8.0


def test_low_battery_falls_below_20_and_keeps_falling_to_zero() -> None:
    dev = device("low-battery", fmt="zigbee2mqtt")
    levels = [json.loads(publishes(dev.take_slot().actions)[0].message.payload)["battery"] for _ in range(300)]
    assert levels[0] == 21
    assert levels[30] < 20
    assert levels == sorted(levels, reverse=True)
    assert levels[-1] == 0


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_bad_payloads_mix_every_kind_in_turn_with_valid_readings(fmt: str) -> None:
    dev = device("bad-payloads", fmt=fmt, seed=3)
    kinds: list[str] = []
    valid = 0
    for _ in range(200):
        temperature_message = publishes(dev.take_slot().actions)[0]
        if temperature_message.bad_kind:
            kinds.append(temperature_message.bad_kind)
        else:
            valid += temperature_message.readings
    bad_kinds = make_format(fmt).bad_kinds
    assert sorted(kinds[: len(bad_kinds)]) == sorted(bad_kinds), "each kind once before any repeats"
    assert 40 <= len(kinds) <= 80, "about 30 % bad"
    assert valid + len(kinds) == 200


def test_bad_payloads_are_reproducible_from_the_seed() -> None:
    def kinds(seed: int) -> list[str | None]:
        dev = device("bad-payloads", seed=seed)
        return [publishes(dev.take_slot().actions)[0].bad_kind for _ in range(20)]

    assert kinds(1) == kinds(1)
    assert kinds(1) != kinds(2)


# -- door contacts and plugs --------------------------------------------------------


def channel_reports(dev: Device, slots: int, name: str) -> list[dict]:
    """The ``native:sim-fridge-1-<name>`` reports of the next ``slots`` slots."""
    out = []
    for _ in range(slots):
        for publish in publishes(dev.take_slot().actions):
            if publish.message.topic == f"fridge-monitor/readings/sim-fridge-1-{name}":
                out.append(json.loads(publish.message.payload))
    return out


def test_aux_sensor_ids_name_the_door_contact_and_the_plug():
    from sensors.device import plan_aux_sensor_ids

    plan = FridgePlan("sim-fridge-1", "normal", door_contact=True, plug=True)
    assert plan_aux_sensor_ids(plan) == ["native:sim-fridge-1-door", "native:sim-fridge-1-plug"]
    assert plan_aux_sensor_ids(FridgePlan("sim-fridge-1")) == []


def test_plug_reports_the_compressor_running_and_resting():
    powers = [r["power_w"] for r in channel_reports(device(plug=True), 240, "plug")]
    assert len(powers) == 240
    assert {round(p) for p in powers} <= {2, 3, 4, 84, 85, 86}
    assert any(p > 80 for p in powers) and any(p < 5 for p in powers)


def test_power_cut_switches_the_plug_off_while_the_probe_reports_on():
    dev = device("power-cut", plug=True, onset_s=600)
    reports = channel_reports(dev, 20, "plug")
    assert [r["switch_on"] for r in reports[:10]] == [True] * 10
    assert [(r["switch_on"], r["power_w"]) for r in reports[11:20]] == [(False, 0.0)] * 9
    # The probe (battery-powered) still reports during the cut.
    assert any(p.readings for p in publishes(dev.take_slot().actions))


def test_door_left_open_is_reported_open_until_shut():
    doors = [r["door_open"] for r in channel_reports(device("door-left-open", door_contact=True, onset_s=600), 30,
                                                        "door")]
    assert doors[11:25] == [True] * 14
    assert doors[27:] == [False] * 3
