"""Form fields the admin pages share: numbers typed as people type them, select options, the reason for a change."""

from __future__ import annotations

import math
from typing import Any

from wtforms import FloatField, SelectChoice, TextAreaField
from wtforms.validators import DataRequired, Length

from fridge_monitor.core import free_text


def options(pairs: Any) -> list[SelectChoice]:
    """(value, label) pairs as select options."""
    return [SelectChoice(value, label) for value, label in pairs]


def strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def number_text(value: float) -> str:
    """``60`` rather than ``60.0``, without losing digits (``%g`` would round)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _parse(text: str) -> float:
    # A decimal comma and the typographic minus are what people paste from documents.
    return float(text.strip().replace(",", ".").replace("−", "-"))


def decimal(text: str | None) -> float | None:
    """A number a person typed (a decimal comma and "−" allowed); None when empty; ValueError when it is not a
    finite number."""
    if text is None or not text.strip():
        return None
    value = _parse(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


class TemperatureField(FloatField):  # type: ignore[misc]  # wtforms and flask_wtf ship no types
    """A temperature in °C; a clear message instead of "Not a valid float value"."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist or not valuelist[0].strip():
            self.data = None
            return
        try:
            self.data = _parse(valuelist[0])
        except ValueError:
            self.data = None
            raise ValueError("Enter a temperature in °C as a number, such as 2.0 or -20.") from None
        if not math.isfinite(self.data):
            self.data = None
            raise ValueError("Enter a finite temperature in °C.")


class NumberField(FloatField):  # type: ignore[misc]  # wtforms and flask_wtf ship no types
    """A plain number (minutes, a percentage, a margin) whose message says what to type; no needless ``.0``."""

    def __init__(self, label: str, example: str, **kwargs: Any) -> None:
        super().__init__(label, **kwargs)
        self.example = example

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = None
        if not valuelist or not valuelist[0].strip():
            return
        try:
            number = _parse(valuelist[0])
        except ValueError:
            raise ValueError(f"Enter a number, such as {self.example}.") from None
        if not math.isfinite(number):
            raise ValueError(f"Enter a finite number, such as {self.example}.")
        self.data = number

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        return "" if self.data is None else number_text(self.data)


def reason_field() -> TextAreaField:
    return TextAreaField(
        "Reason for change", filters=[strip],
        validators=[DataRequired("Give the reason for this change; it is kept in the audit trail."),
                    Length(max=free_text.FREE_TEXT_MAX)])


def sentence(message: str) -> str:
    """A service message as a sentence: capital first letter, full stop."""
    text = message.strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."
