"""Where Fridge Monitor keeps its own files, created so that only the service's user can read them.

The data directory (``[storage] data_dir``) holds the session signing key, the
audit anchor log and export bundles waiting for download; the SQLite database
lives there by default too. Whoever can read those files can forge a session or
take the clinic's records home, so directories are made mode 0700 and files
mode 0600 at creation, never widened afterwards by the process umask.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa

from fridge_monitor.config import Config, ConfigError

log = logging.getLogger(__name__)

DIR_MODE = 0o700
FILE_MODE = 0o600
POSTGRES_DATA_DIR = "fridge-monitor-data"
SECRET_BYTES = 48  # random bytes of a generated key (64 URL-safe characters)
MIN_SECRET_CHARS = 32  # a shorter key file is refused: it was truncated or typed by hand


class StorageError(ConfigError):
    """A file the service needs is unsafe or unreadable; one line naming it and what to do."""


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL; None for PostgreSQL or an in-memory database."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file:") or parsed.query.get("mode") == "memory":
        return None
    return Path(database)


def data_dir(config: Config) -> Path:
    """``[storage] data_dir``, or the SQLite database's directory, or ./fridge-monitor-data; created mode 0700."""
    configured = config.storage["data_dir"]
    if configured:
        path = Path(configured)
    else:
        database = sqlite_path(config.database["url"])
        path = database.parent if database is not None else Path(POSTGRES_DATA_DIR)
    return private_dir(path)


def private_dir(path: Path) -> Path:
    """Make ``path`` (mode 0700) unless it exists; an existing directory keeps the mode its owner gave it."""
    try:
        path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot create directory {path}: {exc.strerror}") from None
    return path


def is_private(mode: int) -> bool:
    """Whether neither group nor others may read or write a file of this mode."""
    return stat.S_IMODE(mode) & 0o077 == 0


@contextmanager
def open_private(path: Path, mode: str = "wb", **kwargs: Any) -> Iterator[IO[Any]]:
    """Open ``path`` for writing (created or truncated) with mode 0600, whatever the umask or its old mode."""
    if "r" in mode or "+" in mode or "a" in mode:
        raise ValueError(f"open_private writes a whole file; mode {mode!r} is not supported")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)  # an existing file keeps its mode through O_CREAT
        fh = os.fdopen(fd, mode, **kwargs)
    except BaseException:
        os.close(fd)
        raise
    with fh:
        yield fh


def append_line(path: Path, line: str) -> None:
    """Append one line to ``path`` (created mode 0600) and fsync it: a log that must survive a power cut."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
    try:
        os.write(fd, (line.rstrip("\n") + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


def create_sqlite_file(path: Path) -> None:
    """Create an empty database file mode 0600 before SQLite does (SQLite gives its -wal and -shm the same mode)."""
    if path.exists():
        return
    try:
        path.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        pass  # another process made it first; SQLite opens theirs
    except OSError as exc:
        # SQLite's own error on connecting names the problem better than a half-done check here.
        log.debug("could not create %s ahead of SQLite: %s", path, exc)


def secret_from_file(path: Path) -> str:
    """The key kept in ``path``, creating the file with a random key (mode 0600) on first start.

    Creation is atomic: the key is written to a private temporary file and then
    linked to ``path``, which fails if another process got there first; the
    loser then reads the winner's complete file instead of a half-written one.
    Refuses a file others may read, and an empty or short one.
    """
    if not path.exists():
        try:
            _create_secret(path)
        except OSError as exc:
            raise StorageError(f"cannot create the session key file {path}: {exc.strerror}") from None
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise StorageError(f"cannot read the session key file {path}: {exc.strerror}") from None
    if not is_private(mode):
        raise StorageError(f"the session key file {path} is readable by other users (mode "
                           f"{stat.S_IMODE(mode):o}): run `chmod 600 {path}`, or delete it to make a new key "
                           f"(everyone then signs in again)")
    if len(text) < MIN_SECRET_CHARS:
        raise StorageError(f"the session key file {path} holds {'no key' if not text else 'too short a key'} "
                           f"(at least {MIN_SECRET_CHARS} characters): delete it to have a new one made at start")
    return text


def _create_secret(path: Path) -> None:
    private_dir(path.parent)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        try:
            os.write(fd, (secrets.token_urlsafe(SECRET_BYTES) + "\n").encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(temporary, path)
        except FileExistsError:
            return  # another process created it meanwhile: theirs is the key
        log.info("made a new session signing key in %s (mode 0600)", path)
    finally:
        temporary.unlink(missing_ok=True)
