"""Many wrong passwords at once lock the account once, with one ``lock`` event (issue 12, item 8).

Counting in Python (read the count, add one, write it back) let every
parallel guess read the same count: the review saw 40 guesses all checked
and 7 ``lock`` events. The count is now raised by the database itself
(``UPDATE ... RETURNING``), so exactly one request sees it reach the limit.
Each thread has its own engine and connection, as parallel web requests do;
24 of them, so that the test stays well inside PostgreSQL's connection limit
while other tests run beside it.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.store import accounts, audit_trail
from fridge_monitor.store import models as m

from support import add_users

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
GUESSES = 24
MAX_FAILED = 5
LOCKOUT = timedelta(minutes=15)


def test_parallel_wrong_passwords_write_exactly_one_lock_event(database_url, engine_for):
    engine = engine_for(database_url)
    add_users(engine, {"nina": "nurse"}, NOW)
    engines = [engine_for(database_url) for _ in range(GUESSES)]
    start = threading.Barrier(GUESSES)

    def guess(own_engine: sa.Engine) -> str:
        with so.Session(own_engine) as session:
            start.wait()
            result = accounts.authenticate(session, "nina", "not-her-password", now=NOW, max_failed=MAX_FAILED,
                                           lockout=LOCKOUT)
            session.commit()
        assert isinstance(result, str)
        return result

    with ThreadPoolExecutor(GUESSES) as pool:
        answers = list(pool.map(guess, engines))

    assert set(answers) == {accounts.refusal_message(MAX_FAILED, LOCKOUT)}
    with engine.connect() as conn:
        locks = conn.execute(sa.select(m.AuditEvent.actor, m.AuditEvent.reason)
                             .where(m.AuditEvent.action == "lock")).all()
        user = conn.execute(sa.select(m.User.failed_logins, m.User.locked_until)
                            .where(m.User.name == "nina")).one()
    assert [tuple(lock) for lock in locks] == [("nina", "5 wrong passwords in a row")]
    assert user.locked_until is not None and user.locked_until > NOW
    assert MAX_FAILED <= user.failed_logins <= GUESSES
    assert audit_trail.check_database(engine).intact


def test_a_lock_that_ran_out_counts_afresh_and_locks_again_once(database_url, engine_for):
    engine = engine_for(database_url)
    add_users(engine, {"nina": "nurse"}, NOW)

    def attempt(password: str, at: datetime) -> m.User | str:
        with so.Session(engine) as session:
            result = accounts.authenticate(session, "nina", password, now=at, max_failed=MAX_FAILED,
                                           lockout=LOCKOUT)
            session.commit()
        return result

    for _ in range(MAX_FAILED + 2):
        attempt("wrong-password-x", NOW)
    assert isinstance(attempt("nina-password-1", NOW + timedelta(minutes=5)), str)  # still locked
    later = NOW + LOCKOUT + timedelta(minutes=1)
    for _ in range(MAX_FAILED):
        attempt("wrong-password-x", later)
    assert isinstance(attempt("nina-password-1", later), str)  # locked a second time
    after = later + LOCKOUT + timedelta(minutes=1)
    assert isinstance(attempt("nina-password-1", after), m.User)
    with engine.connect() as conn:
        locks = conn.scalars(sa.select(m.AuditEvent.at).where(m.AuditEvent.action == "lock")
                             .order_by(m.AuditEvent.id)).all()
        failed = conn.scalar(sa.select(m.User.failed_logins).where(m.User.name == "nina"))
    assert locks == [NOW, later]
    assert failed == 0
