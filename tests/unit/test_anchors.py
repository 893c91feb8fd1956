"""Reading audit anchors: the anchor file's lines and saved MQTT messages (no database)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from fridge_monitor.store.anchors import Anchor, parse_line

HASH = "ab" * 32


def test_an_anchor_is_one_line_of_json_with_its_sequence_hash_time_and_database():
    at = datetime(2026, 12, 6, 7, 0, tzinfo=timezone(timedelta(hours=1)))
    line = Anchor(42, HASH, at, "sqlite:////var/lib/fridge-monitor/fridge-monitor.db").to_json()
    assert "\n" not in line
    assert json.loads(line) == {"seq": 42, "hash": HASH, "at": "2026-12-06T06:00:00Z",
                                "database": "sqlite:////var/lib/fridge-monitor/fridge-monitor.db"}
    assert parse_line(line) == (42, HASH)


@pytest.mark.parametrize("text", [
    f'{{"seq": 7, "hash": "{HASH}"}}',
    f'fridge-monitor/audit/anchor {{"seq": 7, "hash": "{HASH.upper()}", "at": "x"}}',  # mosquitto_sub -v
    f'  {{"hash": "{HASH}", "seq": 7}}\r\n',
])
def test_saved_mqtt_messages_are_read_as_well(text):
    assert parse_line(text) == (7, HASH)


@pytest.mark.parametrize(("text", "problem"), [
    ("hello", "no JSON object on it"),
    ('{"seq": 7,', "not valid JSON"),
    (f'{{"seq": "7", "hash": "{HASH}"}}', 'no event sequence number ("seq")'),
    (f'{{"seq": true, "hash": "{HASH}"}}', 'no event sequence number ("seq")'),
    (f'{{"seq": 0, "hash": "{HASH}"}}', 'no event sequence number ("seq")'),
    ('{"seq": 7, "hash": "abc"}', 'no 64-character event hash ("hash")'),
    ("[1, 2]", "no JSON object on it"),
])
def test_a_line_that_is_no_anchor_says_why(text, problem):
    with pytest.raises(ValueError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        parse_line(text)
