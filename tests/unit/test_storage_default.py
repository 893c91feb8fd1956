"""Where Fridge Monitor keeps its own files when [storage] data_dir is empty."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from fridge_monitor.config import build_config
from fridge_monitor.store import files as storage


def config_for(url: str):
    return build_config({"database": {"url": url}, "storage": {"data_dir": ""}}, {}, {}, "test")


def test_with_sqlite_it_is_the_database_files_directory(tmp_path: Path) -> None:
    path = storage.data_dir(config_for(f"sqlite:///{tmp_path / 'clinic' / 'fridge-monitor.db'}"))
    assert path == tmp_path / "clinic"


def test_with_postgresql_it_is_fridge_monitor_data_in_the_working_directory_made_0700(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = storage.data_dir(config_for("postgresql+psycopg://fridge@db.example/fridge_monitor"))
    assert path.resolve() == tmp_path / "fridge-monitor-data"
    assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0


def test_a_configured_directory_wins(tmp_path: Path) -> None:
    config = build_config({"database": {"url": "sqlite:///x.db"}, "storage": {"data_dir": str(tmp_path / "d")}},
                          {}, {}, "test")
    assert storage.data_dir(config) == tmp_path / "d"
