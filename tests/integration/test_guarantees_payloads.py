"""Guarantees about what arrives: late data counts, and bad payloads never stop ingest.

The ingest runs as a real process (`fridge-monitor ingest`) on a private
Mosquitto and a real database (SQLite and PostgreSQL).
"""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from fridge_monitor.store import models as m

from guarantees import assert_exactly, count_readings, stored_readings, stream_expected
from support import Publisher, cli, native, wait_until

pytestmark = [pytest.mark.mosquitto]


def _iso_z(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"


def test_backlog_list_is_stored_at_its_own_times_and_exported_in_order(database_url, ingest_rig, prefix):
    rig = ingest_rig(database_url)
    broker, path, ingest, engine = rig.broker, rig.config_path, rig.ingest, rig.engine
    now = datetime.now(UTC).replace(microsecond=0)
    live_at = now - timedelta(seconds=30)
    # A logger's buffer after a Wi-Fi outage: 5 to 2 hours old, every 15 minutes, uploaded out of order,
    # with times as epoch seconds, as UTC ("Z") and with another offset.
    buffered = [now - timedelta(hours=5) + timedelta(minutes=15 * i) for i in range(13)]
    shuffled = buffered[:]
    random.Random(7).shuffle(shuffled)
    assert shuffled != sorted(shuffled)
    items = []
    for i, at in enumerate(shuffled):
        ts: float | str
        if i % 3 == 0:
            ts = at.timestamp()
        elif i % 3 == 1:
            ts = _iso_z(at)
        else:
            ts = at.astimezone(timezone(timedelta(hours=-5))).isoformat()
        items.append({"temperature_c": round(3.0 + i / 10, 1), "ts": ts})
    temperature_at = {at: round(3.0 + i / 10, 1) for i, at in enumerate(shuffled)}

    publisher = Publisher(broker.url, f"pub-{prefix.strip('/')}", "5")
    try:
        # The live reading arrives first; the backlog after it, late.
        publisher.publish([native(prefix, "logger1", 4.4, _iso_z(live_at))])
        publisher.publish([(f"{prefix}fridge-monitor/readings/logger1", json.dumps(items).encode())])
        wait_until(lambda: count_readings(engine, "native:logger1") >= len(buffered) + 1, 30,
                   what="the live reading and the backlog stored")
    finally:
        publisher.close()

    expected = {("native:logger1", round(at.timestamp())) for at in [*buffered, live_at]}
    assert_exactly(engine, expected, sensor_prefix="native:logger1", context=ingest.log_tail())
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(m.RejectedMessage)) == 0
        # Late data does not move the sensor's latest measurement back in time.
        last = conn.scalar(sa.select(m.Sensor.last_measured_at).where(m.Sensor.id == "native:logger1"))
    assert last == live_at

    result = cli("--config", str(path), "export", "readings",
                 "--from", (now - timedelta(days=1)).date().isoformat(), "--to", now.date().isoformat())
    assert result.returncode == 0, result.stderr
    rows = [r for r in csv.DictReader(io.StringIO(result.stdout)) if r["sensor"] == "native:logger1"]
    measured = [datetime.fromisoformat(r["measured_at_utc"].replace("Z", "+00:00")) for r in rows]
    assert measured == sorted([*buffered, live_at]), "export is not the readings in time order at their own times"
    for row, at in zip(rows, measured, strict=False):
        received = datetime.fromisoformat(row["received_at_utc"].replace("Z", "+00:00"))
        assert abs(received - now) < timedelta(minutes=2), row
        if at != live_at:
            assert float(row["temperature_c"]) == pytest.approx(temperature_at[at]), row
            assert received - at > timedelta(hours=1), "a backlog reading was stored at its arrival time"
    assert ingest.running(), ingest.log_tail()


def _bad_messages(prefix: str, now: datetime) -> list[tuple[str, bytes, str | tuple[str, ...]]]:
    """(topic, payload, fragment of the expected reason); each on a topic of its own."""
    topic = f"{prefix}fridge-monitor/readings/bad-{{}}"
    ts = int(now.timestamp()) - 120
    bad = [
        (b"{not json", "not valid JSON"),
        (json.dumps({"temperature_c": 4.0, "ts": ts, "pad": "x" * (70 * 1024)}).encode(), "over the 65536-byte limit"),
        (b'\xff\xfe{"temperature_c": 4.0}', "not UTF-8"),
        (b'{"temperature_c": NaN, "ts": %d}' % ts, "not a number"),
        (b'{"temperature_c": Infinity, "ts": %d}' % ts, "not a number"),
        # NUL in a string: the reason quotes it, and PostgreSQL refuses NUL in a text column, so there
        # the row is kept by the writer's one-by-one fallback with the database's complaint as reason.
        (b'{"temperature_c": "\\u0000", "ts": %d}' % ts, ("expected a number", "could not be stored")),
        (b"", "empty"),
        (b"[" * 60_000, "nested too deeply"),
        (json.dumps({"temperature_c": 4.0, "ts": ts + 86_400}).encode(), "ahead"),
        (json.dumps({"temperature_c": 4.0, "ts": "1970-01-01T00:00:00Z"}).encode(), "before 2000"),
        (b"42", "expected a JSON object"),
    ]
    return [(topic.format(i), payload, reason) for i, (payload, reason) in enumerate(bad)]


def test_malformed_payloads_are_rejected_and_do_not_stop_ingest(database_url, ingest_rig, prefix):
    rig = ingest_rig(database_url)
    broker, ingest, engine = rig.broker, rig.ingest, rig.engine
    now = datetime.now(UTC)
    good, expected = stream_expected(prefix, 400)
    bad = _bad_messages(prefix, now)
    stream: list[tuple[str, bytes]] = []
    every = len(good) // (len(bad) + 1)
    for k, message in enumerate(good):
        stream.append(message)
        if k % every == every - 1 and (k // every) < len(bad):
            topic, payload, _ = bad[k // every]
            stream.append((topic, payload))
    assert len(stream) == len(good) + len(bad) and stream[-1] in good

    publisher = Publisher(broker.url, f"pub-{prefix.strip('/')}", "5")
    try:
        publisher.publish(stream)

        def rejected_count() -> int:
            with engine.connect() as conn:
                return conn.scalar(sa.select(sa.func.count()).select_from(m.RejectedMessage))

        wait_until(lambda: count_readings(engine) >= len(good) and rejected_count() >= len(bad), 30,
                   what=f"{len(good)} readings and {len(bad)} rejected messages "
                        f"(so far {count_readings(engine)} and {rejected_count()})")
        assert ingest.running(), f"the ingest died:\n{ingest.log_tail()}"
        # Still working after all that: one more good reading goes through.
        after = native(prefix, "after-bad", 5.0, int(now.timestamp()) - 60)
        publisher.publish([after])
        wait_until(lambda: count_readings(engine, "native:after-bad") == 1, 20, what="a reading after the bad ones")
    finally:
        publisher.close()

    assert_exactly(engine, expected, context=ingest.log_tail())
    assert stored_readings(engine, "native:bad-") == [], "a malformed message produced a reading"
    with engine.connect() as conn:
        rows = conn.execute(sa.select(m.RejectedMessage.topic, m.RejectedMessage.reason,
                                      m.RejectedMessage.payload, m.RejectedMessage.payload_size)).all()
    by_topic: dict[str, list] = {}
    for row in rows:
        by_topic.setdefault(row.topic, []).append(row)
    assert sorted(by_topic) == sorted(t for t, _, _ in bad), "rejected messages are not exactly the bad ones"
    for topic, payload, fragment in bad:
        [row] = by_topic[topic]  # exactly one row each
        fragments = (fragment,) if isinstance(fragment, str) else fragment
        assert any(f in row.reason for f in fragments), (topic, row.reason)
        assert row.payload_size == len(payload), (topic, row.payload_size)
        assert bytes(row.payload) == payload[: 64 * 1024], topic
    assert ingest.running(), ingest.log_tail()
    assert "writer process exited" not in ingest.log(), ingest.log_tail()
    print("rejection reasons:", *(f"{t.rsplit('/', 1)[-1]}: {by_topic[t][0].reason}" for t, _, _ in bad), sep="\n  ")
