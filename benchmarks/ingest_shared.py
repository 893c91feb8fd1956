"""Two ingest processes in one shared-subscription group drain one backlog into one database: the combined rate,
and nothing lost or doubled.

How the backlog is made real: Mosquitto 2 hands each message of a shared
subscription to one member of the group, round robin over the members'
sessions, whether the member is connected or not; a persistent session queues
what it is handed while its client is offline (the MQTT 5 specification allows
this: a message waits for the member it was sent to). So both members first
connect with their own client ids and persistent sessions, subscribe to
``$share/<group>/…`` and go offline; then N QoS 1 messages are published (each
member's session queues about half); then both ``fridge-monitor ingest
--shared-group <group> --client-id <id>`` processes start at once and drain
their halves. (Checked with Mosquitto 2.0.11: 1,000 published to two offline
members queue 500 each.) The rate counts from the first reading stored to the
last, in the database both write to.

Afterwards the database must hold exactly N distinct readings (one per
message: each carries its own sensor and time) and no reading twice; the
benchmark prints how many each process stored, how many were lost and how
many doubled, and fails if either is not zero. For reference it also drains
the same backlog with one bare paho subscriber (the baseline of
``ingest_throughput.py``).

    python benchmarks/ingest_shared.py [--messages 200000] [--assigned]
                                       [--database postgresql://postgres@127.0.0.1:5432/test]

``--database`` is a PostgreSQL server: a scratch database is made on it for the
run (migrated with ``fridge-monitor db upgrade``) and dropped afterwards.
Without it the two processes share one SQLite file.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from ingest_throughput import (
    FM,
    TOPIC,
    Database,
    bare_subscriber_rate,
    payloads,
    publish_all,
    start_mosquitto,
    subscribe_session,
    time_drain,
    write_config,
)

GROUP = "bench"
MEMBERS = ("bench-ingest-a", "bench-ingest-b")
PROTOCOL = "5"
STATS = re.compile(r"ingest stopped: IngestStats\(messages_received=(\d+), messages_acked=(\d+), "
                   r"readings_written=(\d+)")


def drain(port: int, n: int, workdir: Path, assigned: bool, database: Database) -> tuple[float, list[int]]:
    """Both members drain the queued backlog; the combined rate and each one's readings written."""
    env = write_config(workdir / "fridge-monitor.toml", database, port, PROTOCOL, MEMBERS[0], assigned,
                       ingest=f'shared_group = "{GROUP}"\n')
    env["FRIDGE_MONITOR_LOGGING_LEVEL"] = "INFO"  # each process's final counts
    subprocess.run([*FM, "db", "upgrade"], env=env, check=True, capture_output=True)
    for member in MEMBERS:
        subscribe_session(port, member, f"$share/{GROUP}/{TOPIC}+", PROTOCOL)
    publish_all(port, payloads(n), PROTOCOL)

    logs = [workdir / f"{member}.log" for member in MEMBERS]
    procs = []
    for member, log in zip(MEMBERS, logs, strict=True):
        with log.open("wb") as out:
            procs.append(subprocess.Popen([*FM, "ingest", "--shared-group", GROUP, "--client-id", member],
                                          env=env, stdout=out, stderr=subprocess.STDOUT))
    try:
        first_count, first, last = time_drain(database, n, lambda: all(proc.poll() is None for proc in procs))
        time.sleep(2)  # a redelivery still on its way would show as a doubled reading
    except SystemExit:
        print("\n".join(log.read_text(errors="replace")[-2000:] for log in logs))
        raise
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(60)
    written = []
    for log in logs:
        found = STATS.findall(log.read_text(errors="replace"))
        written.append(int(found[-1][2]) if found else -1)
    return (n - first_count) / (last - first), written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--assigned", action="store_true", help="probes belong to fridges: the rules run too")
    parser.add_argument("--database", default=None, metavar="URL",
                        help="PostgreSQL server to write to (a scratch database is made on it); default: SQLite")
    args = parser.parse_args()
    if shutil.which("mosquitto") is None:
        raise SystemExit("this benchmark needs the mosquitto binary")
    n = args.messages
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        broker, port = start_mosquitto(workdir)
        database = Database(workdir, args.database)
        try:
            bare = bare_subscriber_rate(port, n, PROTOCOL)
            combined, written = drain(port, n, workdir, args.assigned, database)
            stored = database.count()
            distinct = database.count("SELECT count(*) FROM (SELECT DISTINCT sensor_id, measured_at FROM readings) d")
        finally:
            database.close()
            broker.terminate()
            broker.wait(10)
    lost, doubled = n - distinct, stored - distinct
    print(f"messages:                 {n} (MQTT {PROTOCOL}, QoS 1, backlog queued for two offline members of "
          f"$share/{GROUP}/…{f', {50} fridges judged' if args.assigned else ', unassigned probes'})")
    print(f"bare paho subscriber:     {bare:,.0f} msg/s (one subscriber, the same backlog)")
    print(f"two ingest processes:     {combined:,.0f} readings/s committed to {database.kind} "
          f"({combined / bare:.2f} of the bare subscriber)")
    print(f"readings written:         {' + '.join(f'{w:,}' for w in written)} (each process's own count)")
    print(f"stored:                   {stored:,} readings, {distinct:,} distinct: {lost} lost, {doubled} doubled")
    if lost or doubled:
        raise SystemExit("readings were lost or doubled")


if __name__ == "__main__":
    main()
