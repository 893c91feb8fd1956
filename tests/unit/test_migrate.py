"""The schema version every process checks at start is the migrations' head."""

from fridge_monitor.store import migrate


def test_the_head_every_process_checks_is_the_newest_migration():
    assert migrate.head_revision() == migrate.HEAD
