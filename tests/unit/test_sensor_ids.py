"""Sensor ids and rejection texts that every database can store."""

from datetime import datetime, timezone

from fridge_monitor.parsers import parse
from fridge_monitor.readings import ParseContext
from fridge_monitor.store import printable

CTX = ParseContext(received_at=datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc))


def test_an_overlong_sensor_id_is_rejected_not_stored():
    result = parse("native", "fridge-monitor/readings/" + "p" * 300, b'{"temperature_c": 4.0}', CTX)
    assert result.readings == ()
    assert [r.reason for r in result.rejections] == ["sensor id is 307 characters long; the limit is 250"]


def test_a_sensor_id_with_control_characters_is_rejected():
    result = parse("senml", "fridge-monitor/senml/x", b'[{"bn": "dev\\u0000:", "n": "t", "u": "Cel", "v": 4}]', CTX)
    assert result.readings == ()
    assert result.rejections[0].reason == "item 1: sensor id senml:dev\\x00:t contains control characters"


def test_printable_escapes_what_postgresql_refuses():
    assert printable('"temperature_c" is a string ("\x00")') == '"temperature_c" is a string ("\\x00")'
    assert printable("tab\tand newline\nstay") == "tab\tand newline\nstay"
