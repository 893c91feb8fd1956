"""The audit page checks the trail from a checkpoint (issue 19, item 4); `audit verify` still reads it all.

A view reads the events added since the last check, re-checks a slice of
the older ones, and moves the checkpoint; someone who edits an event below
the checkpoint is only caught by the page when the slices come round to it,
and at once by `fridge-monitor audit verify`. Both databases; the trail is
written by the application and tampered with by SQL, as in test_audit.py.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so
from test_ack_integrity import acknowledged, change_alert
from test_alert_pages import clinic  # noqa: F401  (a heat alarm and an out-of-range alert)

from fridge_monitor.core.audit import Checkpoint, parse_checkpoint
from fridge_monitor.store import accounts, audit_trail
from fridge_monitor.store import models as m

from support import cli, client_for, drop_triggers, staffed_clinic, web_app

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
SLICE = 2  # older events re-checked per view in these tests, so a small trail is not re-checked whole


@pytest.fixture
def engine(database_url, engine_for):
    return staffed_clinic(engine_for(database_url), T0)


@pytest.fixture
def auditor(engine, database_url):
    return client_for(web_app(engine, database_url), engine, "aldo")


@pytest.fixture
def reads(monkeypatch):
    """How many events the page's check has read; the slice of older events made small."""
    monkeypatch.setattr(audit_trail, "SWEEP", SLICE)
    counted = {"events": 0}
    real = audit_trail.stored_events

    def counting(*args, **kwargs):
        for event in real(*args, **kwargs):
            counted["events"] += 1
            yield event

    monkeypatch.setattr(audit_trail, "stored_events", counting)
    return counted


def add_users(engine: sa.Engine, *names: str) -> list[int]:
    """One audited event per user; the new events' ids."""
    with engine.connect() as conn:
        before = conn.scalar(sa.select(sa.func.max(m.AuditEvent.id))) or 0
    with so.Session(engine) as session, session.begin():
        for minute, name in enumerate(names):
            accounts.create_user(session, name, "nurse", None, actor="ada", now=T0 + timedelta(hours=1, minutes=minute),
                                 reason="new starter")
    return event_ids(engine, after=before)


def event_ids(engine: sa.Engine, after: int = 0) -> list[int]:
    with engine.connect() as conn:
        return list(conn.scalars(sa.select(m.AuditEvent.id).where(m.AuditEvent.id > after).order_by(m.AuditEvent.id)))


def checkpoint(engine: sa.Engine) -> Checkpoint | None:
    with engine.connect() as conn:
        return parse_checkpoint(conn.scalar(sa.select(m.Setting.value)
                                            .where(m.Setting.key == audit_trail.CHECKPOINT_KEY)))


def page(client) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", client.get("/audit").get_data(as_text=True))).split())


def alter(engine: sa.Engine, event_id: int) -> None:
    with engine.begin() as conn:
        drop_triggers(conn)
        conn.execute(sa.update(m.AuditEvent.__table__).where(m.AuditEvent.id == event_id).values(reason="forged"))


def verify(database_url: str):
    return cli("audit", "verify", env={"FRIDGE_MONITOR_DATABASE_URL": database_url})


def test_a_later_view_reads_only_the_newer_events_and_a_slice_of_the_older(engine, auditor, reads):
    ids = event_ids(engine)
    first = page(auditor)
    assert f"Audit trail intact. All {len(ids)} events check out" in first
    assert "Every event was checked from the first one just now." in first
    assert reads["events"] == len(ids)
    assert (checkpoint(engine).id, checkpoint(engine).count) == (ids[-1], len(ids))

    reads["events"] = 0
    newer = add_users(engine, "nico", "nora", "noel")
    second = page(auditor)
    assert reads["events"] == len(newer) + SLICE
    assert f"All {len(ids) + 3} events check out" in second
    assert f"the 3 events added since the last check, and events {ids[0]}–{ids[1]} of the older ones" in second
    assert "verified since the last full check at" in second and "fridge-monitor audit verify" in second
    assert checkpoint(engine).id == newer[-1]

    reads["events"] = 0
    assert "the 0 events added since the last check" in page(auditor)
    assert reads["events"] == SLICE


def test_an_event_appended_after_the_checkpoint_and_then_changed_is_caught(engine, auditor, reads):
    page(auditor)
    before = checkpoint(engine)
    newer = add_users(engine, "nico", "nora")
    alter(engine, newer[0])
    shown = page(auditor)
    assert "Audit trail BROKEN:" in shown and f"event {newer[0]} was altered" in shown
    assert checkpoint(engine) == before  # a check that found a problem does not move it
    assert f"event {newer[0]} was altered" in page(auditor)  # nor the next view


def test_an_event_below_the_checkpoint_is_caught_by_audit_verify_and_by_the_page_when_its_slice_comes(
        engine, auditor, reads, database_url):
    ids = event_ids(engine)
    assert len(ids) > 3 * SLICE
    page(auditor)
    target = ids[2 * SLICE]  # in the third slice from the first event
    alter(engine, target)
    shown = page(auditor)
    assert "Audit trail intact." in shown, shown  # not read by this view: the page says what it checked
    assert f"events {ids[0]}–{ids[SLICE - 1]} of the older ones" in shown
    assert "verified since the last full check at" in shown
    result = verify(database_url)
    assert result.returncode == 1
    assert f"event {target} was altered" in result.stderr
    assert f"events {ids[SLICE]}–{ids[2 * SLICE - 1]} of the older ones" in page(auditor)
    shown = page(auditor)
    assert f"Audit trail BROKEN: event {target} was altered" in shown, shown  # the slice that holds it
    assert f"event {target} was altered" in page(auditor)


def test_a_checkpoint_moved_past_a_changed_event_does_not_fool_audit_verify(engine, auditor, database_url):
    ids = event_ids(engine)
    page(auditor)
    alter(engine, ids[1])
    with engine.connect() as conn:
        newest = conn.execute(sa.select(m.AuditEvent.id, m.AuditEvent.hash).where(m.AuditEvent.id == ids[-1])).one()
    forged = Checkpoint(newest.id, newest.hash, len(ids), newest.id, datetime.now(UTC))
    with engine.begin() as conn:
        conn.execute(sa.update(m.Setting).where(m.Setting.key == audit_trail.CHECKPOINT_KEY)
                     .values(value=forged.to_text()))
    result = verify(database_url)
    assert result.returncode == 1
    assert f"event {ids[1]} was altered" in result.stderr


def test_removing_the_newest_events_is_still_caught(engine, auditor, reads):
    page(auditor)
    newer = add_users(engine, "nico", "nora")  # after the checkpoint
    with engine.begin() as conn:
        drop_triggers(conn)
        conn.execute(sa.delete(m.AuditEvent.__table__).where(m.AuditEvent.id == newer[-1]))
    shown = page(auditor)
    assert f"Audit trail BROKEN: event {newer[-1]} and possibly others before it were removed" in shown

    with engine.begin() as conn:  # and the checkpoint's own event, once it is the newest
        conn.execute(sa.delete(m.AuditEvent.__table__).where(m.AuditEvent.id >= checkpoint(engine).id))
    shown = page(auditor)
    assert f"Audit trail BROKEN: event {checkpoint(engine).id}, verified before, was removed" in shown


def test_two_views_checking_at_once_keep_one_checkpoint(engine, auditor):
    page(auditor)
    with engine.connect() as conn:
        stale = conn.scalar(sa.select(m.Setting.value).where(m.Setting.key == audit_trail.CHECKPOINT_KEY))
    add_users(engine, "nico")
    page(auditor)
    moved = checkpoint(engine)
    # The slower view stores what it found from the checkpoint it read: that one is gone, so nothing changes.
    audit_trail._save_checkpoint(engine, stale, Checkpoint(1, "f" * 64, 1, 0, T0))
    assert checkpoint(engine) == moved
    assert "Audit trail intact." in page(auditor)


def test_an_acknowledgement_changed_after_the_checkpoint_is_caught_without_reading_the_trail(
        clinic, reads, monkeypatch):  # noqa: F811
    app, engine = clinic
    heat, other = acknowledged(app, engine)
    auditor = client_for(app, engine, "aldo")
    assert "Audit trail intact." in page(auditor)
    assert set(checkpoint(engine).acks) == {heat, other}

    def no_scan(*args, **kwargs):
        raise AssertionError("the page read every acknowledgement event")

    monkeypatch.setattr(audit_trail, "_recorded_acks", no_scan)
    assert "Audit trail intact." in page(auditor)
    change_alert(engine, heat, acknowledged_by="ada")
    monkeypatch.undo()  # a suspect is read again from the events after the checkpoint: a short range
    monkeypatch.setattr(audit_trail, "SWEEP", SLICE)
    shown = page(auditor)
    assert f"alert {heat}'s acknowledgement was changed outside the application" in shown
    assert "acknowledged_by is 'ada' but audit event" in shown


def test_the_active_scheduler_keeps_the_checkpoint_fresh_so_a_first_view_reads_nothing_old(
        engine, database_url, auditor, reads):
    """After an upgrade there is no checkpoint: the scheduler's round checks the whole trail once, so the audit
    page's first view reads only what came since, not every event."""
    from fridge_monitor.alerts.scheduler import Scheduler

    from support import clinic_config, wait_until

    def checkpoint() -> Checkpoint | None:
        with engine.connect() as conn:
            return parse_checkpoint(conn.scalar(sa.select(m.Setting.value)
                                                .where(m.Setting.key == audit_trail.CHECKPOINT_KEY)))

    assert checkpoint() is None
    with engine.connect() as conn:
        newest = conn.scalar(sa.select(sa.func.max(m.AuditEvent.id)))
    scheduler = Scheduler(clinic_config([{"name": "A1", "site": "Clinic A", "sensors": ["native:a1-probe"]}],
                                        database_url), engine)
    scheduler.start()
    try:
        wait_until(lambda: (found := checkpoint()) is not None and found.id == newest, 30,
                   what="the scheduler's check of the trail")
    finally:
        scheduler.stop()
    reads["events"] = 0
    page = auditor.get("/audit").get_data(as_text=True)
    assert "intact" in page
    assert reads["events"] <= SLICE + 1  # the checkpoint's event and one slice of older ones, not the trail
