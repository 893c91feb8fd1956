"""Alert channels scoped to sites (``[[alerts.channels]] sites = [...]``), on SQLite and PostgreSQL: a site's
alerts reach its own channels and the unscoped ones, never another site's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from fridge_monitor.alerts.evaluate import Evaluator
from fridge_monitor.config import build_config
from fridge_monitor.core.readings import Reading
from fridge_monitor.ingest.batches import Batch, Store
from fridge_monitor.store import models as m
from fridge_monitor.store.sync import sync_declarations

NOW = datetime.now(UTC).replace(microsecond=0)


def test_a_site_s_alerts_reach_its_channels_and_the_unscoped_ones_only(database_url, engine_for, hooks):
    engine = engine_for(database_url)
    config = build_config({
        "database": {"url": database_url},
        "sites": [{"name": "North", "timezone": "Europe/Berlin"}, {"name": "South", "timezone": "Europe/Berlin"}],
        "fridges": [{"name": "N1", "site": "North", "sensors": ["native:n1"]},
                    {"name": "S1", "site": "South", "sensors": ["native:s1"]}],
        "alerts": {"channels": [
            {"name": "north-ward", "type": "webhook", "url": hooks.url, "sites": ["North"]},
            {"name": "south-ward", "type": "webhook", "url": hooks.url, "sites": ["South"]},
            {"name": "pharmacy", "type": "webhook", "url": hooks.url}]},
    }, {}, {}, "test")
    sync_declarations(engine, config, NOW - timedelta(days=1))
    warm = [(NOW - timedelta(minutes=k), 9.5) for k in (3, 2, 1)]
    Store(engine).write(Batch(readings=[(Reading(f"native:{sid}", "native", sid, at, c), at)
                                        for sid in ("n1", "s1") for at, c in warm]))
    evaluator = Evaluator(engine, config, clock=lambda: NOW)
    evaluator.everything()
    evaluator.outbox.send_due(NOW, wait=True)
    evaluator.outbox.close()

    a, f, n = m.Alert, m.Fridge, m.Notification
    with engine.connect() as conn:
        told = {(fridge, channel) for fridge, channel in conn.execute(
            sa.select(f.name, n.channel).join(a, n.alert_id == a.id).join(f, a.fridge_id == f.id))}
    assert told == {("N1", "north-ward"), ("N1", "pharmacy"), ("S1", "south-ward"), ("S1", "pharmacy")}
    assert len(hooks.events()) == 4
