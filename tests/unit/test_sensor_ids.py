"""Sensor ids and rejection texts that every database can store."""

from datetime import UTC, datetime

import pytest

from fridge_monitor.core.parsers import parse
from fridge_monitor.core.readings import ParseContext
from fridge_monitor.ingest.batches import printable

CTX = ParseContext(received_at=datetime(2026, 11, 25, 10, 0, tzinfo=UTC))


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


@pytest.mark.parametrize("hidden", ["\u202e", "\u200b", "\u2066", "\u00ad"])
def test_a_sensor_id_with_a_format_or_bidi_character_is_rejected(hidden):
    # "probe" + RIGHT-TO-LEFT OVERRIDE + "1": on screen it may pass for another sensor's id.
    result = parse("native", f"fridge-monitor/readings/probe{hidden}1", b'{"temperature_c": 4.0}', CTX)
    assert result.readings == ()
    escaped = f"native:probe{hidden}1".encode("unicode_escape").decode()
    reason = (f"sensor id {escaped}: a sensor id must not contain control, format or bidirectional characters "
              f"(found U+{ord(hidden):04X})")
    assert [r.reason for r in result.rejections] == [reason]


def test_a_sensor_id_in_another_script_is_accepted():
    result = parse("native", "fridge-monitor/readings/kühlschrank-プローブ", b'{"temperature_c": 4.0}', CTX)
    assert [r.sensor_id for r in result.readings] == ["native:kühlschrank-プローブ"]
