"""The ingest writer process: parses shipped MQTT messages and commits them, then judges what they touched.

The MQTT side (paho's network loop) and the parse-and-store side each need a
whole CPU core at full rate; in one Python process they would share one
interpreter lock. So :class:`fridge_monitor.ingest.subscriber.Ingest` ships batches of
raw messages here over a pipe and acknowledges them to the broker when this
process answers that the batch is committed. Here a thread parses each batch
while the one before it commits (:class:`ParseAhead`).
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from multiprocessing.connection import Connection

import sqlalchemy as sa

from fridge_monitor.config import Config, redact_log_handlers
from fridge_monitor.core.heartbeat import Heartbeat
from fridge_monitor.ingest.writer import Prepared, Writer
from fridge_monitor.store.db import first_line
from fridge_monitor.store.ingest_state import record_heartbeat

log = logging.getLogger(__name__)


def prepare(engine: sa.Engine, config: Config, parent_alive: Callable[[], bool]) -> str | None:
    """Wait for the database, check its schema and sync the declared fridges.

    Returns a one-line reason this version cannot run on the database, or
    None when ready. A database that is down is waited for, not an error.
    """
    from fridge_monitor.store.migrate import schema_problem
    from fridge_monitor.store.sync import sync_declarations

    delay = 0.5
    while parent_alive():
        try:
            problem = schema_problem(engine)
            if problem is None:
                sync_declarations(engine, config, datetime.now(UTC))
            return problem
        except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
            log.warning("database unavailable at start (%s); retrying in %.1f s", first_line(exc), delay)
            time.sleep(delay)
            delay = min(delay * 2, config.database["retry_max_s"])
    return "the ingest process went away"


def writer_main(conn: Connection, beats: Connection, config: Config, log_level: int) -> None:
    """Entry point of the writer process: answer each shipped batch once committed.

    The first message back is ``("ready", None)`` or ``("error", reason)``.
    """
    from fridge_monitor.store.db import create_engine

    # The ingest process decides when to stop (Ctrl-C and service managers
    # signal the whole process group); it ends this process by closing the pipe.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(level=log_level, format="%(asctime)s %(levelname)-7s %(name)s[writer]: %(message)s")
    redact_log_handlers()
    logging.getLogger("alembic").setLevel(logging.WARNING)
    parent = os.getppid()

    def parent_alive() -> bool:
        return os.getppid() == parent

    engine = create_engine(config.database)
    try:
        problem = prepare(engine, config, parent_alive)
        try:
            conn.send(("error", problem) if problem else ("ready", None))
        except OSError:
            return
        if problem:
            return
        writer = Writer(config, engine, should_stop=lambda: not parent_alive())
        evaluations = Evaluations(engine, config)
        # Heartbeats have a pipe and a thread of their own: a long judgement or a slow commit must not
        # make a draining ingest look gone.
        beater = threading.Thread(target=Beats(engine).run, args=(beats,), name="ingest-heartbeats", daemon=True)
        beater.start()
        ahead = ParseAhead(conn, writer)
        try:
            while True:
                if evaluations.pending and ahead.idle:
                    evaluations.run()  # nothing more arrived: evaluate what the last batches touched
                batch = ahead.next()
                if batch is None:
                    return  # stopped, or the ingest process is gone (unacknowledged messages will be redelivered)
                batch_id, prepared = batch
                counts = writer.commit(prepared)
                if counts is None:
                    return
                try:
                    conn.send((batch_id, counts))
                except OSError:
                    return
                evaluations.pending = True
                if evaluations.due():
                    evaluations.run()  # a steady stream: evaluate at least every EVALUATE_EVERY_S
        finally:
            evaluations.close()
            beater.join(2)  # the last heartbeat (ingest closes its end before this one's)
    finally:
        engine.dispose()


class ParseAhead:
    """Receives the shipped batches and parses each while the batch before it is being committed.

    Parsing is Python's work and committing mostly waiting for the database, so a thread of its own reads
    the pipe and parses (at most one batch ahead) while the main thread commits: parsing then adds nothing
    to a drain. Batches are committed in the order they came, each answered only once committed, as before.
    """

    def __init__(self, conn: Connection, writer: Writer) -> None:
        self._conn, self._writer = conn, writer
        self._ready: queue.Queue[tuple[int, Prepared] | BaseException | None] = queue.Queue(maxsize=1)
        self._received = self._handed = 0
        threading.Thread(target=self._run, name="ingest-parse-ahead", daemon=True).start()

    @property
    def idle(self) -> bool:
        """No batch received that is not yet handed on: nothing more arrived."""
        return self._received == self._handed

    def next(self) -> tuple[int, Prepared] | None:
        """The next batch, parsed: (its id, what it amounts to); None when there are no more."""
        item = self._ready.get()
        if isinstance(item, BaseException):
            raise item
        if item is not None:
            self._handed += 1
        return item

    def _run(self) -> None:
        while True:
            try:
                message = self._conn.recv()
            except (EOFError, OSError):
                message = None  # the ingest process is gone
            if message is None:
                self._ready.put(None)
                return
            self._received += 1
            batch_id, messages = message
            try:
                self._ready.put((batch_id, self._writer.prepare(messages)))
            except BaseException as exc:  # noqa: BLE001 - raised in the main thread, which ends this process
                self._ready.put(exc)
                return


class Beats:
    """Stores the ingest process's heartbeats as they come; a database outage costs beats, never a batch."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self._failing = False

    def run(self, pipe: Connection) -> None:
        while True:
            try:
                beat = pipe.recv()
            except (EOFError, OSError):
                return  # the ingest process closed its end (or is gone)
            while pipe.poll(0):  # only the newest of beats that queued up matters
                try:
                    beat = pipe.recv()
                except (EOFError, OSError):
                    break
            self.write(beat)

    def write(self, beat: Heartbeat) -> None:
        try:
            record_heartbeat(self._engine, beat)
        except sa.exc.SQLAlchemyError as exc:
            if not self._failing:
                log.warning("cannot store ingest's heartbeat (%s); silence is judged as of now until it is back",
                            first_line(exc))
            self._failing = True
            return
        self._failing = False


EVALUATE_EVERY_S = 0.2
# While batches keep coming (a backlog, or more than ingest keeps up with), judging takes at most this share of
# the writer: judging 50 fridges takes a second or two whatever the batch, and the readings it holds back are
# the ones that make the next judgement current. Once the writer has caught up it judges at once.
JUDGING_SHARE = 1 / 8


class Evaluations:
    """Runs the rules over the fridges the committed batches touched, right after they are acknowledged.

    A backlog that arrives in many batches is judged every ``EVALUATE_EVERY_S``
    rather than after each batch, and then for at most ``JUDGING_SHARE`` of the
    time. Failures are logged; the fridges stay marked in the database for the
    next run (or the scheduler).
    """

    def __init__(self, engine: sa.Engine, config: Config) -> None:
        from fridge_monitor.alerts.evaluate import Evaluator

        self.evaluator = Evaluator(engine, config)
        self.pending = False
        self._last = float("-inf")
        self._took = 0.0

    def due(self) -> bool:
        return time.monotonic() - self._last >= max(EVALUATE_EVERY_S, self._took * (1 / JUDGING_SHARE - 1))

    def run(self) -> None:
        self.pending = False
        began = time.monotonic()
        try:
            self.evaluator.marked()
        except Exception:  # noqa: BLE001 - judging must never stop ingest; the marks stay
            log.exception("evaluating the rules after a batch failed; the scheduler will try again")
        self._last = time.monotonic()
        self._took = self._last - began

    def close(self) -> None:
        self.evaluator.outbox.wait_idle(15)
        self.evaluator.outbox.close()
