"""Names: hidden characters refused with one sentence, look-alikes in case or width share one key."""

from __future__ import annotations

import pytest

from fridge_monitor.core.names import hidden_character, name_key, refuse_hidden_characters


@pytest.mark.parametrize(("text", "code"), [
    ("adm\u202ein", "U+202E"),      # right-to-left override
    ("admin\u2066", "U+2066"),      # left-to-right isolate
    ("ad\u200bmin", "U+200B"),      # zero-width space
    ("ad\u200dmin", "U+200D"),      # zero-width joiner
    ("ad\u00admin", "U+00AD"),      # soft hyphen
    ("\ufeffadmin", "U+FEFF"),      # byte order mark
    ("admin\u200f", "U+200F"),      # right-to-left mark
    ("admin\u061c", "U+061C"),      # Arabic letter mark
    ("ad\x00min", "U+0000"),
    ("ad\tmin", "U+0009"),
    ("ad\nmin", "U+000A"),
    ("ad\x7fmin", "U+007F"),
    ("ad\u2028min", "U+2028"),      # line separator
])
def test_hidden_characters_are_refused_with_their_code_point(text: str, code: str) -> None:
    with pytest.raises(ValueError) as caught:
        refuse_hidden_characters("a user name", text)
    assert str(caught.value) == (
        f"a user name must not contain control, format or bidirectional characters (found {code})")


@pytest.mark.parametrize("text", ["admin", "Dr. Müller", "Zoë O'Brien", "fridge-2/probe_1", "看護師", "José García",
                                  "ward 3", "سارة"])
def test_visible_names_pass(text: str) -> None:
    refuse_hidden_characters("a user name", text)
    assert hidden_character(text) is None


def test_the_kind_names_the_field() -> None:
    with pytest.raises(ValueError, match="^a sensor id must not contain"):
        refuse_hidden_characters("a sensor id", "probe\u200b1")


@pytest.mark.parametrize(("a", "b"), [
    ("Admin", "admin"),
    ("ADMIN", "admin"),
    ("ａｄｍｉｎ", "admin"),         # full-width letters
    ("Straße", "STRASSE"),
    ("ﬁona", "fiona"),              # ligature
    (" admin ", "admin"),
    ("Å", "Å"),                      # A + combining ring, precomposed
])
def test_look_alikes_share_one_key(a: str, b: str) -> None:
    assert name_key(a) == name_key(b)


def test_different_names_keep_different_keys() -> None:
    assert name_key("admin") != name_key("admin2")
    assert name_key("nurse") != name_key("nurses")
