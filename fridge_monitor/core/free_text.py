"""The one limit on free text people type (notes, reasons, actions, references): forms, the API and the domain use it.

Such text is copied into the audit trail and every CSV export; unbounded, one
200 KB note would exceed what a CSV reader accepts and break offline
verification of every bundle that holds it.
"""

from __future__ import annotations

FREE_TEXT_MAX = 2000


def too_long(text: str | None, limit: int = FREE_TEXT_MAX) -> bool:
    return text is not None and len(text) > limit


def limit_message(what: str, limit: int = FREE_TEXT_MAX) -> str:
    """The sentence for a text over the limit, e.g. ``limit_message("the note")``."""
    return f"{what} may be at most {limit} characters"


class FieldError(ValueError):
    """Input that cannot be taken: one sentence for the person, and the form field (or JSON field) it is about.

    Each kind of record has its own subclass, so that a caller catches what it can show next to its form."""

    field_default = ""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field if field is not None else self.field_default
