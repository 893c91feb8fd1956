"""The one rule for names people choose and compare (user names, sensor ids): no hidden characters, one key per look.

A name is evidence: it is written into the audit trail and shown to whoever
reads it. A right-to-left override, a zero-width joiner or a control
character makes two different names look the same (or one name look like
another), so such characters are refused outright. Names that differ only in
case or in compatibility form (``Admin`` and ``admin``, ``ａｄｍｉｎ`` and
``admin``) are one name: :func:`name_key` gives the form they are compared by.
Pure functions, no I/O.
"""

from __future__ import annotations

import unicodedata

# Control (Cc), format (Cf: zero-width, bidi marks and overrides, soft hyphen), line and paragraph
# separators and lone surrogates: none has a visible shape of its own.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
# Explicit bidirectional controls; all are Cf today, listed by class so a future Unicode recategorising one
# cannot let it through.
_BIDI_CONTROLS = frozenset({"LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"})


def hidden_character(text: str) -> str | None:
    """The first control, format or bidirectional character in ``text``, or None."""
    for char in text:
        if unicodedata.category(char) in _HIDDEN_CATEGORIES or unicodedata.bidirectional(char) in _BIDI_CONTROLS:
            return char
    return None


def refuse_hidden_characters(kind: str, text: str) -> None:
    """Raise ValueError naming ``kind`` (e.g. "a user name") if ``text`` holds a character one cannot see."""
    char = hidden_character(text)
    if char is not None:
        raise ValueError(
            f"{kind} must not contain control, format or bidirectional characters (found U+{ord(char):04X})")


def name_key(text: str) -> str:
    """The form two names are compared by: NFKC, case-folded, NFKC again (folding can undo normalisation)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text.strip()).casefold())
