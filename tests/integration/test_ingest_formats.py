"""Every payload format end to end: published to the real broker, stored, exported."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from fridge_monitor.ingest.subscriber import Ingest
from fridge_monitor.store import models as m

from support import Publisher, cli, wait_until


def messages(p: str, TS: datetime) -> list[tuple[str, bytes | str]]:
    """One good message per format (plus availability), then malformed ones."""
    TS_ISO = TS.isoformat().replace("+00:00", "Z")
    return [
        (f"{p}fridge-monitor/readings/a1-probe", json.dumps({"temperature_c": 4.3, "ts": TS_ISO, "battery_pct": 88})),
        (f"{p}fridge-monitor/availability/a1-probe", "offline"),
        (f"{p}fridge-monitor/senml/b1", json.dumps(
            [{"bn": "b1:", "bt": TS.timestamp(), "bu": "Cel", "n": "temp", "v": 5.25},
             {"n": "battery", "u": "%EL", "v": 71}])),
        (f"{p}zigbee2mqtt/c1_backup",
         json.dumps({"temperature": 6.1, "humidity": 40, "battery": 64, "linkquality": 120})),
        (f"{p}tele/d1/SENSOR", json.dumps({"Time": TS.strftime("%Y-%m-%dT%H:%M:%S"),
                                           "DS18B20": {"Id": "01144A0CB2AA", "Temperature": 39.2},
                                           "TempUnit": "F"})),
        (f"{p}e1/sensor/fridge_temp/state", "3.9"),
        (f"{p}shellies/f1/sensor/temperature", "7.5"),
        (f"{p}g1/status/temperature:0", json.dumps({"id": 0, "tC": 2.5, "tF": 36.5})),
        # malformed
        (f"{p}fridge-monitor/readings/a1-probe", b"{not json"),
        (f"{p}fridge-monitor/readings/a1-probe", json.dumps({"temperature_c": 150.0})),
        (f"{p}e1/sensor/fridge_temp/state", "nan"),
        (f"{p}zigbee2mqtt/c1_backup", json.dumps({"temperature": "warm"})),
        (f"{p}fridge-monitor/readings/a1-probe", json.dumps({"temperature_c": 4.0, "ts": "2035-01-01T00:00:00Z"})),
        (f"{p}fridge-monitor/readings/a1-probe", json.dumps({"temperature_c": 4.0, "pad": "x" * 70000})),
    ]


EXPECTED = {
    # sensor id: (°C, measured at the payload's own time?)
    "native:a1-probe": (4.3, True),
    "senml:b1:temp": (5.25, True),
    "zigbee2mqtt:c1_backup": (6.1, False),
    "tasmota:d1:01144A0CB2AA": (4.0, True),
    "esphome:e1:fridge_temp": (3.9, False),
    "shelly:f1": (7.5, False),
    "shelly:g1:0": (2.5, False),
}


def test_every_format_is_stored_and_exported(database_url, make_config, engine_for, mqtt_url, mqtt_protocol, prefix):
    NOW = datetime.now(UTC).replace(microsecond=0)
    TS = NOW - timedelta(minutes=3)  # within Tasmota's clock tolerance, so its own Time counts
    config, path = make_config(database_url)
    engine = engine_for(database_url)
    ingest = Ingest(config)
    ingest.start()
    publisher = Publisher(mqtt_url, f"pub-{prefix.strip('/')}", mqtt_protocol)
    try:
        assert ingest.wait_connected(10)
        publisher.publish(messages(prefix, TS))

        def stored() -> bool:
            with engine.connect() as conn:
                readings = conn.scalar(sa.select(sa.func.count()).select_from(m.Reading))
                rejected = conn.scalar(sa.select(sa.func.count()).select_from(m.RejectedMessage))
            return readings == len(EXPECTED) and rejected == 6

        wait_until(stored, 30, what="7 readings and 6 rejected messages")
    finally:
        publisher.close()
        ingest.stop()

    day = NOW.date().isoformat()
    result = cli("--config", str(path), "export", "readings", "--from", (NOW.date() - timedelta(days=1)).isoformat(),
                 "--to", day)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == ["measured_at_utc", "fridge", "sensor", "temperature_c", "received_at_utc",
                            "calibrated_device"]
    by_sensor = {row["sensor"]: row for row in rows}
    assert set(by_sensor) == set(EXPECTED)
    for sensor, (celsius, own_time) in EXPECTED.items():
        row = by_sensor[sensor]
        assert float(row["temperature_c"]) == pytest.approx(celsius, abs=1e-3), sensor
        measured = datetime.fromisoformat(row["measured_at_utc"].replace("Z", "+00:00"))
        received = datetime.fromisoformat(row["received_at_utc"].replace("Z", "+00:00"))
        if own_time:
            assert measured == TS, sensor
        else:
            assert measured == received, sensor
        assert abs(received - datetime.now(UTC)) < timedelta(minutes=2)

    with engine.connect() as conn:
        row = conn.execute(
            sa.select(m.Sensor.online, m.Sensor.battery_pct).where(m.Sensor.id == "native:a1-probe")).one()
        assert row.online is False and row.battery_pct == 88
        assert conn.scalar(sa.select(m.Sensor.battery_pct).where(m.Sensor.id == "senml:b1:temp")) == 71
        assert conn.scalar(sa.select(m.Sensor.fridge_id).where(m.Sensor.id == "native:a1-probe")) is None

    result = cli("--config", str(path), "export", "rejected", "--from", day, "--to", day)
    assert result.returncode == 0, result.stderr
    rejected = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rejected[0]) == ["received_at_utc", "topic", "reason", "payload"]
    reasons = " | ".join(r["reason"] for r in rejected)
    for fragment in ("JSON", "outside the plausible range", "nan", "ahead", "over the 65536-byte limit"):
        assert fragment in reasons, fragment
    assert any(r["payload"] == "{not json" for r in rejected)
