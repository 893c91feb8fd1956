"""Anchors of the audit chain outside the database, and checking the chain against them.

The hash chain catches an edited or removed event, but someone who can drop
the triggers can recompute every hash after an edit and the chain verifies
again. An anchor (the newest event's sequence number and hash, with the time
and the database's name) written where that person cannot reach -- a retained
MQTT message on ``[audit] anchor_topic`` and a line in ``[audit] anchor_file``,
and any copy an operator keeps -- pins the chain as it was: after a rewrite or
a truncation the event an earlier anchor names is missing or hashes otherwise,
and ``fridge-monitor audit verify --anchors FILE`` says which.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from fridge_monitor.config import Config
from fridge_monitor.config.redact import redact
from fridge_monitor.core.times import iso_utc
from fridge_monitor.store import files as storage
from fridge_monitor.store import models as m

log = logging.getLogger(__name__)

ANCHOR_FILE = "audit-anchors.log"
PUBLISH_TIMEOUT_S = 10.0
_LOOKUP_CHUNK = 500  # event ids per query when checking anchors


@dataclasses.dataclass(frozen=True, slots=True)
class Anchor:
    """The head of the audit chain at one moment: event ``seq`` had hash ``hash``."""

    seq: int
    hash: str
    at: datetime
    database: str

    def to_json(self) -> str:
        """One line of JSON, the same in the anchor file and the MQTT message."""
        return json.dumps({"seq": self.seq, "hash": self.hash,
                           "at": iso_utc(self.at),
                           "database": self.database}, sort_keys=True)


@dataclasses.dataclass(frozen=True, slots=True)
class Check:
    """What checking the trail against anchor lines found."""

    anchors: int  # anchor lines read
    problems: list[str]  # one sentence each, naming the line


def anchor_file(config: Config) -> Path:
    """``[audit] anchor_file``, or audit-anchors.log in the data directory."""
    configured = config.audit["anchor_file"]
    return Path(configured) if configured else storage.data_dir(config) / ANCHOR_FILE


def current(engine: sa.Engine, database_url: str, now: datetime) -> Anchor | None:
    """The anchor of the chain as it is now; None while the trail is empty."""
    a = m.AuditEvent
    with engine.connect() as conn:
        row = conn.execute(sa.select(a.id, a.hash).order_by(a.id.desc()).limit(1)).first()
    if row is None:
        return None
    return Anchor(row.id, row.hash, now, redact(database_url))


def write(engine: sa.Engine, config: Config, now: datetime | None = None, *,
          cancel: threading.Event | None = None) -> Anchor | None:
    """Append the current anchor to the anchor file (fsync'd, mode 0600) and publish it, retained, over MQTT.

    The file is written first: a broker that is down costs the MQTT copy of
    this anchor only (logged), and the next one is published again.
    """
    anchor = current(engine, config.database["url"], now or datetime.now(UTC))
    if anchor is None:
        log.info("the audit trail is empty: nothing to anchor yet")
        return None
    path = anchor_file(config)
    storage.private_dir(path.parent)
    storage.append_line(path, anchor.to_json())
    topic = config.audit["anchor_topic"]
    if topic:
        problem = publish_retained(config.mqtt, topic, anchor.to_json(), cancel=cancel)
        if problem is not None:
            log.warning("audit anchor (event %d) written to %s but not published: %s", anchor.seq, path, problem)
            return anchor
    log.info("audit anchor: event %d %s written to %s%s", anchor.seq, anchor.hash, path,
             f" and published to {topic} (retained)" if topic else "")
    return anchor


def publish_retained(settings: Mapping[str, Any], topic: str, payload: str,
                     timeout_s: float = PUBLISH_TIMEOUT_S, *, cancel: threading.Event | None = None) -> str | None:
    """Publish one retained QoS 1 message and wait for the broker's PUBACK; None, or what went wrong.

    ``cancel`` (set when the process stops) ends the wait for a broker that does not answer.
    """
    stopping = cancel or threading.Event()
    from fridge_monitor.mqtt import client as mqtt  # paho only for the roles that publish

    where = redact(settings["url"])
    connected, done = threading.Event(), threading.Event()
    outcome: dict[str, Any] = {}

    def on_connect(_client: Any, _userdata: Any, _flags: Any, reason_code: Any, _properties: Any) -> None:
        outcome["connect"] = reason_code
        (done if reason_code.is_failure else connected).set()

    def on_connect_fail(_client: Any, _userdata: Any) -> None:
        outcome.setdefault("connect", "connection failed")
        done.set()

    def on_publish(_client: Any, _userdata: Any, _mid: int, reason_code: Any, _properties: Any) -> None:
        outcome["puback"] = reason_code
        done.set()

    client = mqtt.make_client(settings, f"fridge-monitor-anchor-{uuid.uuid4().hex[:12]}", persistent=False)
    client.on_connect, client.on_connect_fail, client.on_publish = on_connect, on_connect_fail, on_publish
    try:
        mqtt.connect(client, settings, persistent=False)
        client.loop_start()
        for _ in range(int(timeout_s * 20) + 1):
            if connected.wait(0.05) or done.is_set() or stopping.is_set():
                break
        if not connected.is_set() and stopping.is_set():
            return "stopping before the broker answered"
        if not connected.is_set():
            refusal = outcome.get("connect", f"no answer within {timeout_s:g} s")
            return f"cannot connect to MQTT broker {where}: {refusal}"
        client.publish(topic, payload, qos=1, retain=True)
        for _ in range(int(timeout_s * 20) + 1):
            if done.wait(0.05) or stopping.is_set():
                break
        if not done.is_set():
            return f"MQTT broker {where} did not acknowledge {topic} within {timeout_s:g} s"
        if outcome["puback"].is_failure:
            return f"MQTT broker {where} refused {topic}: {outcome['puback']}"
        return None
    finally:
        mqtt.shut_down(client)


def parse_line(text: str) -> tuple[int, str]:
    """(seq, hash) of one anchor line: the anchor file's JSON, or a saved MQTT message (with or without
    the topic before it, as ``mosquitto_sub -v`` prints it). Raises ValueError saying what is wrong."""
    start = text.find("{")
    if start < 0:
        raise ValueError("no JSON object on it")
    try:
        document = json.loads(text[start:])
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg})") from None
    seq, digest = (document.get("seq"), document.get("hash")) if isinstance(document, dict) else (None, None)
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        raise ValueError("no event sequence number (\"seq\")")
    if not isinstance(digest, str) or len(digest) != 64 or any(c not in "0123456789abcdefABCDEF" for c in digest):
        raise ValueError("no 64-character event hash (\"hash\")")
    return seq, digest.lower()


def check(engine: sa.Engine, lines: Iterable[str]) -> Check:
    """Check each anchor line against the trail: the event it names must exist with the hash it records.

    A missing event means the chain was truncated or rebuilt; another hash
    means it was rewritten -- whatever the chain's own verification says.
    """
    entries: list[tuple[int, tuple[int, str] | str]] = []  # (line number, (seq, hash) or what is wrong)
    for number, text in enumerate(lines, start=1):
        if text.strip():
            try:
                entries.append((number, parse_line(text)))
            except ValueError as exc:
                entries.append((number, str(exc)))
    found = _hashes(engine, sorted({entry[0] for _n, entry in entries if isinstance(entry, tuple)}))
    problems: list[str] = []
    for number, entry in entries:
        if isinstance(entry, str):
            problems.append(f"line {number}: not an audit anchor: {entry}")
            continue
        seq, digest = entry
        actual = found.get(seq)
        if actual is None:
            problems.append(f"line {number}: event {seq} (hash {digest}) is no longer in the trail: "
                            f"the chain was truncated or rebuilt")
        elif actual != digest:
            problems.append(f"line {number}: event {seq} should have hash {digest} but has {actual}: "
                            f"the chain was rewritten")
    return Check(len(entries), problems)


def _hashes(engine: sa.Engine, seqs: list[int]) -> dict[int, str]:
    a = m.AuditEvent
    found: dict[int, str] = {}
    with engine.connect() as conn:
        for i in range(0, len(seqs), _LOOKUP_CHUNK):
            chunk = seqs[i:i + _LOOKUP_CHUNK]
            found.update({row.id: row.hash for row in conn.execute(sa.select(a.id, a.hash).where(a.id.in_(chunk)))})
    return found
