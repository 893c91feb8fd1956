"""What the API fuzzer (schemathesis) is told beyond openapi.json: how to write a GTIN and a vial's GS1 code, and
which records exist, so that generated requests reach the inventory's logic and not only its 404s.

Loaded by tests/integration/test_api_fuzz.py, and by the command line as
``SCHEMATHESIS_HOOKS=tests/api_fuzz.py schemathesis run ...`` from the repository's root (see README).
``KNOWN`` holds what the example data names (fridge A1 and B2, product 1, lot 1); a test may replace it.
"""

from __future__ import annotations

import zlib
from typing import Any

import schemathesis
from hypothesis import strategies as st

KNOWN: dict[str, list[Any]] = {"fridge": ["A1", "B2"], "product": [1], "lot_id": [1], "lot": ["C3709C3"]}
# Where those records are named: body fields and path parameters.
NAMED_BY = {"fridge": "fridge", "from": "fridge", "to": "fridge", "name": "fridge", "product": "product",
            "lot_id": "lot_id", "lot": "lot"}


def check_digit(digits: str) -> str:
    """GS1's mod-10 check digit of the digits before it."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str((10 - total % 10) % 10)


def _gtin(length: int) -> st.SearchStrategy[str]:
    return st.text("0123456789", min_size=length - 1, max_size=length - 1).map(lambda d: d + check_digit(d))


GTINS = st.one_of(*(_gtin(n) for n in (8, 12, 13, 14)))
_LOTS = st.text("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", min_size=1, max_size=20)
_EXPIRIES = st.dates().filter(lambda d: 2000 <= d.year <= 2049).map(lambda d: d.strftime("%y%m%d"))
SCANS = st.builds(lambda gtin, expiry, lot, serial, prefix: f"{prefix}01{gtin}17{expiry}10{lot}\x1d21{serial}",
                  _gtin(14), _EXPIRIES, _LOTS, _LOTS, st.sampled_from(["", "]d2"]))

schemathesis.openapi.format("gtin", GTINS)
schemathesis.openapi.format("gs1", SCANS)


def _name_known_records(values: dict[str, Any], pick: int) -> None:
    """Replace, in place, the fields of ``values`` that name a record by one that exists."""
    for field, kind in NAMED_BY.items():
        if field in values and KNOWN.get(kind):
            values[field] = KNOWN[kind][pick % len(KNOWN[kind])]


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    """Half of the valid requests name records that exist; invalid ones stay as they were made. The choice is a
    checksum of the case, so a run with a fixed seed repeats itself."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return case
    pick = zlib.crc32(repr((case.path_parameters, case.query, case.body)).encode())
    if pick % 2:
        _name_known_records(case.path_parameters or {}, pick // 2)
        if isinstance(case.body, dict):
            _name_known_records(case.body, pick // 2)
    return case
