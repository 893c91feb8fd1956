"""Malformed messages for the ``bad-payloads`` scenario, built from valid ones.

Each kind is something real devices send now and then: a truncated upload, a
Latin-1 degree sign, a failed probe's ``nan``, a wild value, a clock years
off, a missing field, a runaway payload. The server must store each as a
rejected message, never as a reading.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sensors.formats import JsonFormat, Sample

BAD_KINDS = (
    "invalid-json",
    "not-utf8",
    "text-temperature",
    "nan",
    "out-of-range",
    "future-timestamp",
    "missing-field",
    "oversize",
)
"""Every kind of malformed message the ``bad-payloads`` scenario can send."""

PLAIN_KINDS = ("not-utf8", "text-temperature", "nan", "out-of-range", "missing-field", "oversize")
"""The kinds a bare-number payload (ESPHome, Shelly Gen1) can express."""

OVERSIZE_BYTES = 70 * 1024
OUT_OF_RANGE_C = 150.0
FUTURE_S = 3 * 365 * 86400.0
"""How far ahead a ``future-timestamp`` message claims to be (three years)."""


def _dumps(document: Any) -> str:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def json_payload(encoder: JsonFormat, device: str, sample: Sample, kind: str) -> bytes:
    """The format's valid document for ``sample``, spoilt in the way ``kind`` names."""
    document = encoder.document(device, sample)
    if kind == "invalid-json":
        valid = _dumps(document).encode()
        return valid[: len(valid) // 2]
    if kind == "not-utf8":
        holder = document[0] if isinstance(document, list) else document
        holder["unit"] = "°C"
        return _dumps(document).encode("latin-1")
    if kind == "text-temperature":
        encoder.set_temperature(document, "warm")
    elif kind == "nan":
        encoder.set_temperature(document, math.nan)
    elif kind == "out-of-range":
        slots = encoder.temperature_slots(document)
        slots[0][0][slots[0][1]] = OUT_OF_RANGE_C
        for holder, key in slots[1:]:  # the same value in °F, where the format repeats it
            holder[key] = round(OUT_OF_RANGE_C * 9 / 5 + 32, 1)
    elif kind == "future-timestamp":
        encoder.set_time(document, sample.time_s + FUTURE_S)
    elif kind == "missing-field":
        for holder, key in encoder.temperature_slots(document):
            del holder[key]
    elif kind == "oversize":
        return _padded(document, OVERSIZE_BYTES)
    else:
        raise ValueError(f"unknown bad payload kind {kind!r}")
    return _dumps(document).encode()


def plain_payload(value: str, kind: str) -> bytes:
    """A bare-number payload (``value`` is the valid one, e.g. ``"4.3"``) spoilt by ``kind``."""
    payloads = {
        "not-utf8": (value + "°C").encode("latin-1"),
        "text-temperature": b"warm",
        "nan": b"nan",
        "out-of-range": f"{OUT_OF_RANGE_C:.1f}".encode(),
        "missing-field": b"",
        "oversize": value.encode().ljust(OVERSIZE_BYTES),
    }
    if kind not in payloads:
        raise ValueError(f"a bare-number payload has no bad kind {kind!r}")
    return payloads[kind]


def _padded(document: Any, size: int) -> bytes:
    """The document with a filler field added, exactly ``size`` bytes long."""
    if isinstance(document, list):
        filler: dict[str, Any] = {"n": "padding", "vs": ""}
        document.append(filler)
        key = "vs"
    else:
        filler, key = document, "padding"
        filler[key] = ""
    filler[key] = "x" * (size - len(_dumps(document).encode()))
    return _dumps(document).encode()
