"""Text on the monthly log's page: temperatures, spans of time, and what the standard PDF fonts can show."""

from __future__ import annotations

import functools


def celsius(value: float | None) -> str:
    """A temperature as the page prints it ("-" when unknown)."""
    return "-" if value is None else f"{value:.1f} °C"


# Helvetica (a standard PDF font, nothing embedded) covers Latin-1 and "°", not "−" or "≥": keep to those.
_PLAIN = str.maketrans({"\u2212": "-", "\u2264": "<=", "\u2265": ">=", "\u2713": "x", "\u2192": "->",
                        "\u2026": "...", "\u2013": "-", "\u2014": "-"})


def plain(text: str) -> str:
    """Text the standard fonts can show (their WinAnsi encoding); anything else becomes "?"."""
    return "".join(ch if _shows(ch) else "?" for ch in text.translate(_PLAIN))


@functools.cache
def _shows(ch: str) -> bool:
    try:
        ch.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return ch in "\n\t" or ch.isprintable()


def decimal(value: float | None) -> str:
    """A number to one decimal ("" when unknown)."""
    return "" if value is None else f"{value:.1f}"


def duration(seconds: float | None) -> str:
    """A length of time in hours and minutes ("" when unknown)."""
    if seconds is None:
        return ""
    minutes = int(round(seconds / 60))
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"
