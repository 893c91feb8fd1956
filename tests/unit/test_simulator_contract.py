"""What the simulator sends is what the server's parsers understand (and refuse).

The simulator never imports ``fridge_monitor``; this test holds the two to one
contract: valid messages become exactly the readings the device measured, under
the sensor ids ``--list-sensors`` prints, and malformed ones become none.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fridge_monitor.core.parsers import parse
from fridge_monitor.core.readings import ParseContext
from sensors.device import Device, FridgePlan, Publish, plan_sensor_ids
from sensors.formats import FORMATS, Sample, make_format

T0 = 1795600800.0  # 2026-11-25T10:00:00Z
RECEIVED = datetime.fromtimestamp(T0 + 20 * 60, UTC)
CTX = ParseContext(received_at=RECEIVED)


def run_device(scenario: str, fmt: str, slots: int = 20, **plan: float) -> tuple[Device, list[Publish], list[float]]:
    """The device, what it published, and the temperatures it measured."""
    device = Device(FridgePlan("sim-fridge-1", scenario, fmt, **plan), seed=1, sim_start_s=T0, interval_s=60)
    taken = [device.take_slot() for _ in range(slots)]
    actions = [a for slot in taken for a in slot.actions if isinstance(a, Publish)]
    return device, actions, [slot.sample.temperature_c for slot in taken if slot.sample]


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_valid_readings_parse_to_what_was_measured(fmt: str) -> None:
    device, actions, measured = run_device("normal", fmt)
    encoder = make_format(fmt)
    expected_ids = plan_sensor_ids(device.plan)
    readings = []
    battery_reports = 0
    for action in actions:
        result = parse(encoder.sensor_format, action.message.topic, action.message.payload, CTX)
        assert not result.rejections, (action.message, result.rejections)
        readings.extend(result.readings)
        battery_reports += len(result.batteries) + sum(r.battery_pct is not None for r in result.readings)
    assert [r.temperature_c for r in readings] == pytest.approx([round(t, 1) for t in measured])
    assert {r.sensor_id for r in readings} == set(expected_ids)
    assert battery_reports == (20 if encoder.carries_battery else 0)
    if fmt in ("native", "senml"):
        assert [r.measured_at.timestamp() for r in readings] == [T0 + 60 * i for i in range(20)]


@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize("online", [True, False])
def test_availability_parses(fmt: str, online: bool) -> None:
    encoder = make_format(fmt)
    message = encoder.availability("sim-fridge-1", online)
    result = parse(encoder.sensor_format, message.topic, message.payload, CTX)
    assert result.availability is not None
    assert result.availability.online is online
    assert result.availability.device == "sim-fridge-1"


@pytest.mark.parametrize("fmt", ["native", "senml"])
def test_a_backlog_parses_to_every_buffered_reading(fmt: str) -> None:
    _, actions, _ = run_device("backlog", fmt, slots=15, onset_s=120, outage_s=600)
    upload = next(a for a in actions if a.backlog)
    result = parse(fmt, upload.message.topic, upload.message.payload, CTX)
    assert not result.rejections
    assert sorted(r.measured_at.timestamp() for r in result.readings) == [T0 + 60 * i for i in range(2, 13)]


@pytest.mark.parametrize(("fmt", "kind"), [(f, k) for f in FORMATS for k in make_format(f).bad_kinds])
def test_malformed_messages_never_become_readings(fmt: str, kind: str) -> None:
    encoder = make_format(fmt)
    message = encoder.malformed("sim-fridge-1", Sample(T0, 4.3, 88.0), kind)
    result = parse(encoder.sensor_format, message.topic, message.payload, CTX)
    assert result.readings == ()
    assert result.rejections, f"{fmt} {kind} should be rejected"
