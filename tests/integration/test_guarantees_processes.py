"""Guarantee "no reading lost, none duplicated" across process failures (DESIGN.md, Guarantees).

Each test runs `fridge-monitor ingest` as a real process against a private
Mosquitto (persistent, so a restart keeps sessions and queued messages) and a
real database, publishes a stream of distinguishable QoS 1 readings from a
thread, breaks something in the middle of the stream, and then requires the
database to hold exactly the published set: every reading once, nothing else.
"""

from __future__ import annotations

import os
import re
import signal
import time

import pytest

from guarantees import (
    StreamPublisher,
    WriteLock,
    alive,
    assert_exactly,
    cmdline,
    count_readings,
    stream_expected,
    wait_stored_exactly,
)
from support import broker_log, wait_until

STATS = re.compile(r"ingest stopped: IngestStats\(messages_received=(\d+), messages_acked=(\d+), "
                   r"readings_written=(\d+)")

pytestmark = [pytest.mark.mosquitto]


def _wait_all_gone(procs: dict[int, int], timeout: float, what: str) -> None:
    wait_until(lambda: not any(alive(pid, started) for pid, started in procs.items()), timeout, what=what)


@pytest.mark.slow
def test_kill_9_mid_stream_loses_and_duplicates_nothing(database_url, ingest_rig, prefix):
    """Two kills in one stream: one while the ingest keeps up, one while it holds a backlog of messages
    received but not committed (the database is held locked by the test, so the writer waits)."""
    n, rate = 10_000, 800.0
    rig = ingest_rig(database_url)
    broker, engine, ingest = rig.broker, rig.engine, rig.ingest
    ingest.wait_for_writer()

    def kill_and_check_children(release=None) -> int:
        children, writers = ingest.kill9()
        assert writers, f"no writer child found among {children}"
        if release is not None:
            release()
        # Nothing else ends the writer: it must notice its pipe closed and exit by itself.
        _wait_all_gone(writers, 10, "the orphaned writer to exit by itself")
        _wait_all_gone(children, 10, "every child of the killed ingest to exit")
        return count_readings(engine)

    messages, expected = stream_expected(prefix, n)
    publisher = StreamPublisher(broker.url, f"pub-{prefix.strip('/')}", messages, rate).start()
    try:
        # Kill 1: steady flow.
        publisher.wait_handed(n * 3 // 10)
        wait_until(lambda: count_readings(engine) > 0, 20, what="the ingest to store part of the stream")
        stored = kill_and_check_children()
        assert 0 < stored < n, f"the kill did not land mid-stream ({stored} of {n} stored)"
        time.sleep(1.0)  # the stream goes on with no ingest running
        ingest.start()
        ingest.wait_for_writer()

        # Kill 2: the ingest has taken messages it could not store yet.
        publisher.wait_handed(n * 6 // 10)
        with WriteLock(database_url) as lock:
            before = count_readings(engine)
            time.sleep(2.0)
            assert count_readings(engine) == before, "the test's lock did not stall the ingest"
            stored = kill_and_check_children(release=lock.release)
        assert publisher.acknowledged > stored, "nothing was left to deliver again after the second kill"
        ingest.start()

        publisher.join(120)
        wait_stored_exactly(engine, expected, context=rig.context)
        assert ingest.running(), ingest.log_tail()
        assert "Traceback" not in ingest.log(), ingest.log_tail()
    finally:
        publisher.close()


@pytest.mark.slow
@pytest.mark.parametrize("backlog", [False, True], ids=["flowing", "backlog"])
def test_killed_writer_process_is_restarted_and_loses_nothing(backlog, sqlite_url, ingest_rig, prefix):
    """kill -9 of the writer child alone, while messages flow or while it holds unanswered batches:
    the ingest process starts a new writer, ships it what the dead one had not answered for, and
    goes on; nothing is lost or stored twice, and the ingest keeps ingesting."""
    n, rate = 5_000, 800.0
    rig = ingest_rig(sqlite_url)
    broker, engine, ingest = rig.broker, rig.engine, rig.ingest
    children = ingest.wait_for_writer()
    [writer] = [pid for pid in children if "spawn_main" in cmdline(pid)]

    messages, expected = stream_expected(prefix, n)
    publisher = StreamPublisher(broker.url, f"pub-{prefix.strip('/')}", messages, rate).start()
    try:
        publisher.wait_handed(n * 4 // 10)
        with WriteLock(sqlite_url) as lock:
            if backlog:
                time.sleep(1.0)  # the writer holds unanswered batches when it dies
            else:
                lock.release()
            os.kill(writer, signal.SIGKILL)
            _wait_all_gone({writer: children[writer]}, 5, "the killed writer to be gone")
        ingest.wait_log("ingest writer process exited", timeout=10)
        new_writers = ingest.wait_for_writer()
        assert writer not in new_writers
        publisher.join(120)
        wait_stored_exactly(engine, expected, context=rig.context)
        assert ingest.running() and ingest.runs == 1, ingest.log_tail()
    finally:
        publisher.close()


@pytest.mark.slow
def test_broker_restart_mid_stream_loses_and_duplicates_nothing(database_url, ingest_rig, prefix):
    n, rate = 6_000, 600.0
    rig = ingest_rig(database_url)
    broker, engine, ingest = rig.broker, rig.engine, rig.ingest

    messages, expected = stream_expected(prefix, n)
    publisher = StreamPublisher(broker.url, f"pub-{prefix.strip('/')}", messages, rate).start()
    try:
        publisher.wait_handed(n * 4 // 10)
        broker.stop()  # clean: Mosquitto writes sessions and queued messages to its persistence file
        stopped_at = time.monotonic()
        assert "Saving in-memory database" in broker_log(broker), "the broker did not persist its state"
        time.sleep(1.5)
        broker.start()  # same port, same persistence file
        assert publisher.handed > int(n * 4 // 10), "the publisher did not go on while the broker was down"
        # Both clients reconnect by themselves; the ingest's session (and what was queued for it) survived.
        ingest.wait_log("connected to MQTT broker", timeout=40, count=2)
        assert "lost connection to MQTT broker" in ingest.log()
        publisher.join(120)
        wait_stored_exactly(engine, expected, context=rig.context)
        assert ingest.running(), ingest.log_tail()
        assert time.monotonic() - stopped_at < 120
    finally:
        publisher.close()


@pytest.mark.slow
def test_shared_group_splits_the_stream_and_stops_cleanly(database_url, ingest_rig, ingest_processes, prefix):
    n, rate = 4_000, 800.0
    rig = ingest_rig(database_url, start=False)
    broker, engine = rig.broker, rig.engine
    tag = prefix.strip("/")
    ids = [f"fm-a-{tag}", f"fm-b-{tag}"]
    ingests = [ingest_processes(rig.config_path, "--shared-group", "g1", "--client-id", cid, name=cid) for cid in ids]
    for ingest, cid in zip(ingests, ids, strict=False):
        rig.start(ingest, cid)
    assert "$share/g1/" in broker_log(broker)

    messages, expected = stream_expected(prefix, n)
    publisher = StreamPublisher(broker.url, f"pub-{tag}", messages, rate).start()
    try:
        publisher.join(60)
        wait_until(lambda: count_readings(engine) >= n, 60,
                   what=f"all {n} readings stored (so far {count_readings(engine)})")
        time.sleep(0.5)
    finally:
        publisher.close()

    stats = []
    for ingest in ingests:
        children = ingest.children()
        began = time.monotonic()
        code = ingest.terminate(timeout=20)
        took = time.monotonic() - began
        assert code == 0, f"{ingest.log_path.name} exited with {code} after SIGTERM:\n{ingest.log_tail()}"
        assert took < 8, f"{ingest.log_path.name} took {took:.1f} s to stop after SIGTERM"
        _wait_all_gone(children, 5, f"the children of {ingest.log_path.name} to exit with it")
        found = STATS.search(ingest.log())
        assert found, f"no final stats line in {ingest.log_path.name}:\n{ingest.log_tail()}"
        stats.append(tuple(map(int, found.groups())))

    (recv_a, acked_a, written_a), (recv_b, acked_b, written_b) = stats
    assert written_a > 0 and written_b > 0, f"the group did not share the stream: {stats}"
    # Split, not copied: each message went to one member of the group (no reconnects here, so no redeliveries).
    assert recv_a + recv_b == n, f"{recv_a} + {recv_b} messages received by the group for {n} published"
    assert written_a + written_b == n, stats
    assert acked_a + acked_b >= n, stats
    assert_exactly(engine, expected, context=rig.context(*ingests))
