"""Anchors of the audit chain outside the database (issue 12, item 4).

Someone who can drop the triggers can edit an event and recompute every hash
after it: the chain then verifies again. The scheduler's anchors -- a retained
MQTT message and a line in the anchor file -- still hold the old head, and
`audit verify --anchors` catches the rewrite from either copy.
"""

from __future__ import annotations

import dataclasses
import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.alerts.scheduler import Scheduler
from fridge_monitor.core.audit import GENESIS, entry_hash
from fridge_monitor.store import accounts, anchors, audit_trail
from fridge_monitor.store import models as m

from support import cli, drop_triggers, retained, wait_until

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def populate(engine: sa.Engine) -> None:
    """A few events written by the application."""
    with so.Session(engine) as session, session.begin():
        for minute, name in enumerate(("nina", "nico", "nora")):
            accounts.create_user(session, name, "nurse", f"{name}-password-1", actor="ada",
                                 now=T0 + timedelta(minutes=minute), reason="new starter")


def rewrite_chain(engine: sa.Engine, event_id: int, **changes: str) -> None:
    """Change one event and recompute every hash from it on, and the recorded head: a valid chain again."""
    with engine.connect() as reader:  # (stored_events makes its connection stream results)
        events = list(audit_trail.stored_events(reader))
    with engine.begin() as conn:
        drop_triggers(conn)
        table = m.AuditEvent.__table__
        prev = GENESIS
        for event in events:
            if event.id < event_id:
                prev = event.hash
                continue
            entry = dataclasses.replace(event.entry, **changes) if event.id == event_id else event.entry
            digest = entry_hash(prev, entry)
            values = {"prev_hash": prev, "hash": digest}
            if event.id == event_id:
                values.update(changes)
            conn.execute(sa.update(table).where(table.c.id == event.id).values(**values))
            prev = digest
        conn.execute(sa.update(m.Setting).where(m.Setting.key == audit_trail.HEAD_KEY)
                     .values(value=f"{events[-1].id}:{prev}"))


def verify(database_url: str, *args: str):
    return cli("audit", "verify", *args, env={"FRIDGE_MONITOR_DATABASE_URL": database_url})


def test_a_full_chain_rewrite_verifies_alone_but_not_against_the_schedulers_anchors(
        database_url, engine_for, make_config, prefix, mqtt_url, tmp_path):
    engine = engine_for(database_url)
    populate(engine)
    topic = prefix + "audit/anchor"
    data = tmp_path / "data"
    config, _ = make_config(database_url, sections={
        "audit": {"anchor_topic": topic, "anchor_interval_min": 60.0},
        "storage": {"data_dir": str(data)},
        "scheduler": {"interval_s": 3600.0},
    })
    with engine.connect() as conn:
        head_id, head_hash = conn.execute(sa.select(m.AuditEvent.id, m.AuditEvent.hash)
                                          .order_by(m.AuditEvent.id.desc()).limit(1)).one()

    scheduler = Scheduler(config, engine)
    scheduler.start()  # anchors once it holds the lease
    log_file = data / "audit-anchors.log"
    try:
        wait_until(lambda: log_file.exists() and log_file.read_text().endswith("\n"), 20, what="the first anchor")
    finally:
        scheduler.stop()  # waits for the anchor's PUBACK
    message = retained(mqtt_url, topic)

    line = log_file.read_text().splitlines()[0]
    anchor = json.loads(line)
    assert (anchor["seq"], anchor["hash"]) == (head_id, head_hash)
    assert json.loads(message) == anchor and "at" in anchor and anchor["database"]
    assert mode(log_file) == 0o600 and mode(data) == 0o700
    saved = tmp_path / "mosquitto_sub.out"  # what `mosquitto_sub -t TOPIC -C 1 > FILE` keeps
    saved.write_bytes(message + b"\n")

    result = verify(database_url, "--anchors", str(log_file))
    assert result.returncode == 0, result.stderr
    assert f"1 anchor(s) in {log_file} match the trail" in result.stdout

    with engine.connect() as conn:
        first = conn.scalar(sa.select(sa.func.min(m.AuditEvent.id)))
    rewrite_chain(engine, first + 1, actor="mallory")

    alone = verify(database_url)
    assert alone.returncode == 0, "the rewrite was meant to leave a valid chain: " + alone.stderr
    for anchor_file in (log_file, saved):
        result = verify(database_url, "--anchors", str(anchor_file))
        assert result.returncode == 1, result.stdout + result.stderr
        assert f"line 1: event {head_id} should have hash {head_hash} but has " in result.stderr
        assert "the chain was rewritten" in result.stderr


def test_an_anchor_catches_a_truncated_chain_and_names_each_broken_line(database_url, engine_for, make_config,
                                                                       tmp_path):
    engine = engine_for(database_url)
    populate(engine)
    anchor_file = tmp_path / "anchors" / "audit.log"
    config, _ = make_config(database_url, sections={"audit": {"anchor_topic": "", "anchor_file": str(anchor_file)}})
    early = anchors.write(engine, config)
    with so.Session(engine) as session, session.begin():
        accounts.create_user(session, "olga", "nurse", "olga-password-1", actor="ada", now=T0 + timedelta(hours=1))
    late = anchors.write(engine, config)
    assert late.seq > early.seq
    with anchor_file.open("a") as fh:
        fh.write(f"fridge-monitor/audit/anchor {early.to_json()}\n")  # as `mosquitto_sub -v` prints it
        fh.write("not an anchor\n")

    # Remove the newest event and move the recorded head back: the chain alone still verifies.
    with engine.begin() as conn:
        drop_triggers(conn)
        conn.execute(sa.delete(m.AuditEvent).where(m.AuditEvent.id == late.seq))
        conn.execute(sa.update(m.Setting).where(m.Setting.key == audit_trail.HEAD_KEY)
                     .values(value=f"{early.seq}:{early.hash}"))
    assert verify(database_url).returncode == 0

    result = verify(database_url, "--anchors", str(anchor_file))
    assert result.returncode == 1
    broken = [line for line in result.stderr.splitlines() if "anchor BROKEN" in line]
    assert len(broken) == 2, result.stderr
    assert f"line 2: event {late.seq} (hash {late.hash}) is no longer in the trail" in broken[0]
    assert "line 4: not an audit anchor: no JSON object on it" in broken[1]
    assert "REWRITTEN: 2 anchor(s)" in result.stderr and "match the trail" not in result.stdout


def test_only_the_active_scheduler_anchors_and_a_standby_taking_over_anchors_at_once(database_url, engine_for,
                                                                                    make_config, tmp_path):
    engine = engine_for(database_url)
    populate(engine)
    anchor_file = tmp_path / "audit-anchors.log"
    config, _ = make_config(database_url, sections={
        "audit": {"anchor_topic": "", "anchor_file": str(anchor_file), "anchor_interval_min": 60.0},
        "scheduler": {"interval_s": 3600.0, "lease_s": 3.0},
    })

    def lines() -> list[str]:
        return anchor_file.read_text().splitlines() if anchor_file.exists() else []

    first, second = Scheduler(config, engine, holder="first"), Scheduler(config, engine, holder="second")
    first.start()
    try:
        wait_until(lambda: len(lines()) == 1, 20, what="the active scheduler's first anchor")
        second.start()
        wait_until(lambda: second.started, 5, what="the standby to start")
        wait_until(lambda: not second.active and second.lease.current_holder() == "first", 5, what="a standby")
        second._anchor()  # what its anchor job does every few seconds: nothing, as a standby
        assert len(lines()) == 1
    finally:
        first.stop()  # releases the lease: the standby takes over
    try:
        wait_until(lambda: len(lines()) == 2, 20, what="the new active scheduler's anchor")
        assert second.active
    finally:
        second.stop()
    assert json.loads(lines()[0])["seq"] == json.loads(lines()[1])["seq"]
