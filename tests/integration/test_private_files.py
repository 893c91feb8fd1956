"""Keys and files outside the database: who can read them (issue 12, item 3).

The session signing key lives in a file of its own (mode 0600), never in the
database, so reading the database is not enough to sign someone's session;
the SQLite database, exports and bundles are created mode 0600 in directories
mode 0700, whatever the process umask.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.config import build_config
from fridge_monitor.reports import bundle, export_jobs
from fridge_monitor.store import files as storage
from fridge_monitor.store import migrate
from fridge_monitor.store import models as m
from fridge_monitor.store.db import create_engine
from fridge_monitor.web import create_app

from support import add_users, cli, signed_in

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
OLD_KEY = "a-key-an-older-version-kept-in-the-database-0123456789"


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The usual umask (022), under which a file made without care is readable by everyone."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def with_admin(engine: sa.Engine) -> None:
    add_users(engine, {"ada": "admin"}, NOW)


def signed_in_cookie(app) -> str:
    return signed_in(app, "ada").get_cookie("fridge_monitor_session").value


def dashboard_with(app, cookie: str):
    client = app.test_client()
    client.set_cookie("fridge_monitor_session", cookie)
    return client.get("/")


def test_the_session_key_file_is_made_once_mode_0600_and_shared_by_web_processes(database_url, engine_for,
                                                                                 tmp_path, loose_umask):
    engine = engine_for(database_url)
    with_admin(engine)
    data = tmp_path / "data"
    config = build_config({"database": {"url": database_url}, "storage": {"data_dir": str(data)}}, {}, {}, "test")
    first = create_app(config, engine=engine, testing=True)
    second = create_app(config, engine=engine, testing=True)

    key_file = data / "secret_key"
    assert mode(key_file) == 0o600 and mode(data) == 0o700
    assert first.secret_key == second.secret_key == key_file.read_text().strip()
    assert len(first.secret_key) >= 32
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(m.Setting)
                           .where(m.Setting.value == first.secret_key)) == 0
    # A session signed by one web process is good on the other.
    response = dashboard_with(second, signed_in_cookie(first))
    assert response.status_code == 200


def test_a_session_signed_with_the_key_once_kept_in_the_database_is_refused(database_url, engine_for, tmp_path):
    engine = engine_for(database_url)
    with_admin(engine)
    with so.Session(engine) as session, session.begin():
        session.add(m.Setting(key="web_secret_key", value=OLD_KEY))
    # Someone who read the database signs a session with the key they found there.
    forger = build_config({"database": {"url": database_url}, "web": {"secret_key": OLD_KEY}}, {}, {}, "test")
    forged = signed_in_cookie(create_app(forger, engine=engine, testing=True))

    config = build_config({"database": {"url": database_url}, "storage": {"data_dir": str(tmp_path / "data")}},
                          {}, {}, "test")
    app = create_app(config, engine=engine, testing=True)
    response = dashboard_with(app, forged)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    with engine.connect() as conn:
        assert conn.scalar(sa.select(m.Setting.value).where(m.Setting.key == "web_secret_key")) is None


def test_an_unsafe_or_empty_key_file_stops_the_web_role_with_one_line(sqlite_url, tmp_path):
    key_file = tmp_path / "keys" / "session.key"
    key_file.parent.mkdir()
    key_file.write_text("k" * 64)
    key_file.chmod(0o644)
    env = {"FRIDGE_MONITOR_DATABASE_URL": sqlite_url, "FRIDGE_MONITOR_WEB_SECRET_KEY_FILE": str(key_file),
           "FRIDGE_MONITOR_WEB_PORT": "1"}
    result = cli("web", env=env, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        f"fridge-monitor: error: the session key file {key_file} is readable by other users (mode 644): "
        f"run `chmod 600 {key_file}`, or delete it to make a new key (everyone then signs in again)")

    key_file.write_text("")
    key_file.chmod(0o600)
    config = build_config({"database": {"url": sqlite_url}, "web": {"secret_key_file": str(key_file)}}, {}, {}, "t")
    with pytest.raises(storage.StorageError, match="holds no key"):
        create_app(config, testing=True)


def test_processes_racing_to_make_the_key_file_all_get_the_winners_key(tmp_path):
    path = tmp_path / "data" / "secret_key"
    keys: list[str] = []
    start = threading.Barrier(8)

    def make() -> None:
        start.wait()
        keys.append(storage.secret_from_file(path))

    threads = [threading.Thread(target=make) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 8 and len(set(keys)) == 1 and keys[0] == path.read_text().strip()
    assert sorted(p.name for p in path.parent.iterdir()) == ["secret_key"]  # no temporary file left


def test_a_new_sqlite_database_and_its_wal_files_are_mode_0600(tmp_path, loose_umask):
    directory = tmp_path / "new" / "place"
    path = directory / "fridge-monitor.db"
    engine = create_engine({"url": f"sqlite:///{path}", "sqlite_synchronous": "normal", "busy_timeout_s": 5.0})
    try:
        migrate.upgrade(engine)
        with engine.connect() as conn:
            conn.scalar(sa.select(sa.func.count()).select_from(m.Setting))
            files = sorted(p.name for p in directory.iterdir())
            assert files == ["fridge-monitor.db", "fridge-monitor.db-shm", "fridge-monitor.db-wal"]
            assert {name: mode(directory / name) for name in files} == dict.fromkeys(files, 0o600)
    finally:
        engine.dispose()
    assert mode(directory) == 0o700


def test_export_bundles_wait_in_the_data_directory_mode_0600(database_url, engine_for, tmp_path, loose_umask):
    engine = engine_for(database_url)
    data = tmp_path / "data"
    config = build_config({"database": {"url": database_url}, "storage": {"data_dir": str(data)}}, {}, {}, "test")
    with so.Session(engine, expire_on_commit=False) as session, session.begin():
        job = export_jobs.queue(session, bundle.Request(NOW - timedelta(days=1), NOW, None), actor="aldo", now=NOW)
    runner = export_jobs.Runner(engine, config)
    runner.run(job.id)
    with so.Session(engine) as session:
        done = session.get(m.ExportJob, job.id)
        assert done.state == "done", done.error
        made = data / "exports" / done.file_name
    assert export_jobs.exports_dir(config) == data / "exports"
    assert mode(data / "exports") == 0o700 and mode(made) == 0o600


def test_exports_written_by_the_command_line_are_mode_0600(database_url, tmp_path, loose_umask):
    env = {"FRIDGE_MONITOR_DATABASE_URL": database_url}
    readings, zipped = tmp_path / "readings.csv", tmp_path / "bundle.zip"
    result = cli("export", "readings", "--from", "2026-11-01", "--to", "2026-11-02", "--out", str(readings), env=env)
    assert result.returncode == 0, result.stderr
    result = cli("export", "bundle", "--from", "2026-11-01", "--to", "2026-11-02", "--out", str(zipped), env=env)
    assert result.returncode == 0, result.stderr
    assert mode(readings) == 0o600 and mode(zipped) == 0o600
