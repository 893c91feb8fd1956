"""`fridge-monitor check`: every scheduled check once, as cron or an operator runs it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from fridge_monitor.core.readings import Reading
from fridge_monitor.ingest.batches import Batch, Store
from fridge_monitor.store import models as m

from support import cli


def test_check_raises_a_silence_once_and_says_so(database_url, make_config, engine_for):
    _config, path = make_config(database_url, sites=[{"name": "Ward 3", "timezone": "Europe/Berlin"}],
                                fridges=[{"name": "Insulin", "site": "Ward 3", "sensors": ["native:ins-1"]}])
    engine = engine_for(database_url)
    # The first run syncs the declared fridge (its sensor has never reported: not silent for long yet).
    first = cli("--config", str(path), "check")
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "checks done: 0 alert(s) opened, 0 updated"
    last = datetime.now(UTC) - timedelta(hours=2)
    Store(engine).write(Batch(readings=[(Reading("native:ins-1", "native", "ins-1", last, 4.9), last)]))

    second = cli("--config", str(path), "check")
    assert second.stdout.strip() == "checks done: 1 alert(s) opened, 0 updated", second.stderr
    third = cli("--config", str(path), "check")
    assert third.stdout.strip() == "checks done: 0 alert(s) opened, 0 updated"
    with engine.connect() as conn:
        rows = conn.execute(sa.select(m.Alert.kind, m.Alert.rule, m.Alert.started_at)).all()
    assert [(kind, rule) for kind, rule, _ in rows] == [("no-data", "silence")]
    assert abs(rows[0][2] - (last + timedelta(minutes=35))) < timedelta(seconds=1)


def test_check_on_an_old_schema_is_one_line(tmp_path):
    config = tmp_path / "fm.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "empty.db"}"\n')
    result = cli("--config", str(config), "check")
    assert result.returncode == 2
    assert result.stderr.strip().endswith("run `fridge-monitor db upgrade`")
    assert len(result.stderr.strip().splitlines()) == 1
