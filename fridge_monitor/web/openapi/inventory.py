"""The OpenAPI description of the inventory: scans, GTINs, stock movements, lots and products."""

from __future__ import annotations

from typing import Any

from fridge_monitor.core.free_text import FREE_TEXT_MAX
from fridge_monitor.web.openapi.common import DAY, NAME, SIGNATURE, TIME, errors, ok

_LOT_ID = {"name": "lot_id", "in": "path", "required": True, "description": "The lot's id.",
           "schema": {"type": "integer"}}
_STATUSES = ["usable", "expiring", "expired", "under_review", "released", "discarded", "beyond_use"]
_WHICH_LOT = {
    "lot_id": {"type": "integer", "description": "The lot; or name it by `product` (or `gtin`) and `lot`."},
    "product": {"type": ["integer", "string"], "description": "The product's id or exact name."},
    "gtin": {"type": "string", "description": "A GTIN linked to the product (instead of `product`)."},
    "lot": {"type": "string", "description": "The lot number printed on the pack."},
}
_OPENED = {"opened_vial_id": {"type": "integer", "description": "Units of this opened vial group instead of "
                                                                 "sealed ones."}}
_NOTE = {"note": {"type": "string", "maxLength": FREE_TEXT_MAX, "description": "Free text kept with the movement."}}


def _stock_change(operation: str, summary: str, required: list[str], properties: dict[str, Any],
                  refused: str, description: str | None = None) -> dict[str, Any]:
    return {"post": {
        "operationId": operation, "summary": summary, **({"description": description} if description else {}),
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": required, "properties": properties}}}},
        "responses": {"200": ok("StockChange", "The movement and the lot's new quantities."),
                      **errors(400, 401, 403),
                      "404": {"$ref": "#/components/responses/Error",
                              "description": "No such fridge, product, lot or opened vial (or the GTIN is not "
                                             "linked to a product)."},
                      "409": {"$ref": "#/components/responses/Error", "description": refused}},
    }}


def paths() -> dict[str, Any]:
    quantity = {"type": "integer", "minimum": 1}
    return {
        "/api/v1/scan": {"post": {
            "operationId": "readScan", "summary": "Read what a barcode scanner typed for a vial's GS1 code "
                                                  "(changes nothing; every role)",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["code"], "properties": {"code": {
                    "type": "string",
                    "description": "The scan as typed, with GS (0x1D) or U+241D separators and an optional `]d2` "
                                   "prefix, or the printed `(01)…(17)…(10)…`."}}}}}},
            "responses": {"200": ok("Scan", "What the code holds and the product its GTIN is linked to."),
                          **errors(401, 403),
                          "400": {"$ref": "#/components/responses/Error",
                                  "description": "The code cannot be read safely (the message says why)."}},
        }},
        "/api/v1/gtins": {"post": {
            "operationId": "linkGtin", "summary": "Link a GTIN to its product, once (nurse or admin; audited)",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["gtin", "product"], "properties": {
                    "gtin": {"type": "string", "description": "GTIN-8, -12, -13 or -14 (check digit verified)."},
                    "product": _WHICH_LOT["product"]}}}}},
            "responses": {"200": {"description": "The link (linking again to the same product changes nothing).",
                                  "content": {"application/json": {"schema": {"type": "object", "properties": {
                                      "gtin": {"type": "string"}, "product": {"$ref": "#/components/schemas/Product"},
                                      "linked_at": TIME, "linked_by": {"type": "string"}}}}}},
                          **errors(400, 401, 403, 404),
                          "409": {"$ref": "#/components/responses/Error",
                                  "description": "The GTIN is linked to another product already."}},
        }},
        "/api/v1/stock/receive": _stock_change(
            "receiveStock", "Units arrive in a fridge; the lot is created the first time it is seen",
            ["fridge", "quantity"],
            {"fridge": {"type": "string"}, "product": _WHICH_LOT["product"], "gtin": _WHICH_LOT["gtin"],
             "code": {"type": "string", "description": "A raw scan instead of `gtin`, `lot`, `expiry` and "
                                                       "`serial` (typed fields fill what it lacks)."},
             "lot": _WHICH_LOT["lot"], "expiry": DAY, "quantity": quantity,
             "serial": {"type": "string", "description": "The pack's serial (AI 21); a pack is received once."},
             **_NOTE},
            "Refused: expired lot, another expiry recorded for this lot, a serial received before, retired fridge.",
            "Give `fridge` and `quantity`, and either `code` or `product` (or `gtin`), `lot` and `expiry`."),
        "/api/v1/stock/use": _stock_change(
            "useStock", "Units taken out to administer", ["fridge"],
            {"fridge": {"type": "string"}, **_WHICH_LOT, "quantity": {**quantity, "default": 1}, **_OPENED,
             **_NOTE},
            "Refused: not enough units (the message says how many are left), lot expired, under review, "
            "discarded, or the opened vial is past its beyond-use time."),
        "/api/v1/stock/transfer": _stock_change(
            "transferStock", "Units moved between fridges (whatever the lot's status)", ["from", "to", "quantity"],
            {"from": {"type": "string"}, "to": {"type": "string"}, **_WHICH_LOT, "quantity": quantity, **_OPENED,
             **_NOTE},
            "Refused: not enough units in `from`, the same fridge twice, `to` retired."),
        "/api/v1/stock/reconstitute": _stock_change(
            "reconstituteStock", "Sealed vials reconstituted or opened: they become an opened vial group with a "
                                 "beyond-use time", ["fridge"],
            {"fridge": {"type": "string"}, **_WHICH_LOT, "quantity": {**quantity, "default": 1}, **_NOTE},
            "Refused: not enough sealed units, lot not usable."),
        "/api/v1/stock/discard": _stock_change(
            "discardStock", "Units thrown away, with a reason", ["fridge", "quantity", "reason_code"],
            {"fridge": {"type": "string"}, **_WHICH_LOT, "quantity": quantity,
             "reason_code": {"type": "string", "enum": ["expired", "excursion", "damaged", "beyond_use", "other"]},
             "reason": {"type": "string", "maxLength": FREE_TEXT_MAX, "description": "Required with `other`."},
             **_OPENED},
            "Refused: not enough units."),
        "/api/v1/stock/correct": _stock_change(
            "correctStock", "A count that differs from the records: a new movement of the difference",
            ["fridge", "counted", "reason"],
            {"fridge": {"type": "string"}, **_WHICH_LOT, "counted": {"type": "integer", "minimum": 0},
             "reason": {"type": "string", "maxLength": FREE_TEXT_MAX}, "corrects_id": {"type": "integer",
                                                           "description": "The movement that was wrong."},
             **_OPENED},
            "Refused: the count matches the records."),
        "/api/v1/lots": {"get": {
            "operationId": "listLots", "summary": "Lots held, with status and quantities, soonest expiry first",
            "parameters": [
                {"name": "fridge", "in": "query", "required": False, "schema": {"type": "string"},
                 "description": "Only lots held in this fridge, with its quantities (404 if no such fridge)."},
                {"name": "status", "in": "query", "required": False, "schema": {"type": "string"},
                 "description": "Only lots in these statuses, comma-separated: " + ", ".join(_STATUSES) + "."},
                {"name": "all", "in": "query", "required": False, "schema": {"type": "boolean"},
                 "description": "Also lots with nothing left."},
            ],
            "responses": {"200": ok("LotList", "The lots."), **errors(400, 401, 403, 404)},
        }},
        "/api/v1/lots/{lot_id}": {"get": {
            "operationId": "getLot", "summary": "One lot: holdings per fridge, where it was, movements, reviews "
                                                "and dispositions",
            "parameters": [_LOT_ID],
            "responses": {"200": ok("LotDetail", "The lot."), **errors(401, 403, 404)},
        }},
        "/api/v1/lots/{lot_id}/disposition": {"post": {
            "operationId": "recordDisposition",
            "summary": "Record the manufacturer's answer for the lot's open reviews (nurse or admin; audited). "
                       "`discarded` discards every unit still held.",
            "parameters": [_LOT_ID],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["decision"], "properties": {
                    "decision": {"type": "string", "enum": ["released", "discarded"]},
                    "reference": {"type": "string", "maxLength": 200,
                                  "description": "The manufacturer's case or letter number; required to release."},
                    "note": {"type": "string", "maxLength": FREE_TEXT_MAX},
                    "signature": SIGNATURE}}}}},
            "responses": {"200": ok("LotDetail", "The lot after the disposition, with `recorded` (the new "
                                                  "dispositions' ids)."),
                          **errors(400, 401, 403, 404),
                          "409": {"$ref": "#/components/responses/Error",
                                  "description": "No review of this lot waits for a disposition."}},
        }},
        "/api/v1/fridges/{name}/next": {"get": {
            "operationId": "nextUnits", "summary": "First-expiry-first-out: which units of a product to take from "
                                                   "this fridge now",
            "parameters": [NAME, {"name": "product", "in": "query", "required": True,
                                   "schema": {"type": "string"}, "description": "The product's id or exact name."}],
            "responses": {"200": ok("NextUnits", "The units to take."), **errors(400, 401, 403),
                          "404": {"$ref": "#/components/responses/Error",
                                  "description": "No such fridge or product, or nothing usable of it there (the "
                                                 "message lists what is held and why it may not be used)."}},
        }},
        "/api/v1/products": {"get": {
            "operationId": "listProducts", "summary": "Every product with its storage ranges and linked GTINs",
            "responses": {"200": ok("ProductList", "Products by name."), **errors(401, 403)},
        }},
    }


def schemas() -> dict[str, Any]:
    integer, text = {"type": "integer"}, {"type": "string"}
    nullable_text = {"type": ["string", "null"]}
    status = {"type": "string", "enum": _STATUSES,
              "description": "usable, expiring (within the widest `[inventory] expiry_warning_days`, 90 by "
                             "default), expired (after local midnight ending the expiry "
                             "day), under_review (after an excursion), released, discarded, beyond_use (opened "
                             "vials past their beyond-use time)."}
    movement = {"type": "object", "properties": {
        "id": integer, "kind": {"type": "string", "enum": ["receive", "use", "transfer", "reconstitute",
                                                           "discard", "correct"]},
        "at": TIME, "lot": {"type": "object", "properties": {"id": integer, "number": text, "product": text,
                                                              "expiry": DAY}},
        "quantity": {"type": "integer", "description": "Units moved (a correction: the difference)."},
        "actor": text, "reason_code": nullable_text, "reason": nullable_text,
        "counted": {"type": ["integer", "null"]}, "corrects_id": {"type": ["integer", "null"]},
        "fridge": {"type": ["string", "null"], "description": "The fridge (null for a transfer)."},
        "from": nullable_text, "to": nullable_text, "fridges": {"type": "array", "items": text},
        "entries": {"type": "array", "items": {"type": "object", "properties": {
            "fridge": text, "delta": integer, "opened_vial_id": {"type": ["integer", "null"]}}}},
        "opened_vial": {"type": ["object", "null"], "properties": {
            "id": integer, "opened_at": TIME, "beyond_use_at": TIME}},
    }}
    product = {"type": "object", "properties": {
        "id": integer, "name": text, "form": text, "unit": text,
        "ranges": {"type": "array", "items": {"type": "object", "properties": {
            "low_c": {"type": "number"}, "high_c": {"type": "number"}}}},
        "gtins": {"type": "array", "items": text},
        "freezing_allowed": {"type": "boolean"}, "protect_from_light": {"type": "boolean"},
        "beyond_use_hours": {"type": ["number", "null"]},
        "opened_range": {"type": ["object", "null"], "properties": {"low_c": {"type": "number"},
                                                                   "high_c": {"type": "number"}}},
        "permitted_excursions": {
            "type": ["object", "null"],
            "description": "USP <659>-style allowance: unopened units between low_c and high_c are not put under "
                           "review while the mean kinetic temperature of their stay is at most mkt_max_c.",
            "properties": {"low_c": {"type": "number"}, "high_c": {"type": "number"},
                           "mkt_max_c": {"type": "number"}}},
        "notes": nullable_text, "retired_at": TIME,
    }}
    lot = {"type": "object", "properties": {
        "id": integer, "product": text, "product_id": integer, "lot": text, "expiry": DAY, "gtin": nullable_text,
        "status": status, "review": {"type": "string", "enum": ["none", "open", "released", "discarded"]},
        "quantity": {"type": "integer", "description": "Units held (in the fridge asked for, else everywhere)."},
        "opened": {"type": "integer", "description": "Of which in opened vials."},
        "fridges": {"type": "array", "items": {"type": "object", "properties": {
            "fridge": text, "quantity": integer, "opened": integer}}},
    }}
    return {
        "Product": product,
        "ProductList": {"type": "object", "properties": {"products": {"type": "array", "items": product}}},
        "Scan": {"type": "object", "properties": {
            "gtin": text, "lot": nullable_text, "expiry": {"type": ["string", "null"], "format": "date"},
            "serial": nullable_text,
            "product": {"oneOf": [product, {"type": "null"}],
                        "description": "null when the GTIN is not linked to a product yet (see `message`)."},
            "lot_id": {"type": ["integer", "null"], "description": "The lot, when it is known already."},
            "message": {"type": ["string", "null"], "description": "What to do when the code is not enough."},
        }},
        "Movement": movement,
        "StockChange": {"type": "object", "properties": {
            "movement": movement,
            "quantities": {"type": "object", "additionalProperties": integer,
                           "description": "The lot's units now in each fridge the movement touched."},
            "lot_quantity": {"type": "integer", "description": "The lot's units now in all fridges."},
        }},
        "Lot": lot,
        "LotList": {"type": "object", "properties": {
            "lots": {"type": "array", "items": lot}, "fridge": nullable_text,
            "status": {"type": ["array", "null"], "items": text}, "generated_at": TIME}},
        "LotDetail": {"allOf": [lot, {"type": "object", "properties": {
            "holdings": {"type": "array", "items": {"type": "object", "properties": {
                "fridge": text, "quantity": integer, "opened_vial_id": {"type": ["integer", "null"]},
                "opened_at": TIME, "beyond_use_at": TIME, "status": status}}},
            "history": {"type": "array", "items": {"type": "object", "properties": {
                "fridge": text, "quantity": integer, "opened": integer, "since": TIME, "until": TIME}}},
            "movements": {"type": "array", "items": movement},
            "reviews": {"type": "array", "items": {"type": "object", "properties": {
                "id": integer, "fridge": text, "excursion_id": {"type": ["integer", "null"]},
                "started_at": TIME, "ended_at": TIME, "exposure_s": {"type": "number"},
                "peak_c": {"type": ["number", "null"]}, "low_c": {"type": ["number", "null"]},
                "mkt_c": {"type": ["number", "null"]}, "reason": text, "created_at": TIME, "created_by": text,
                "decision": {"type": ["string", "null"], "enum": ["released", "discarded", None]},
                "dispositions": {"type": "array", "items": {"type": "object", "properties": {
                    "id": integer, "decision": text, "reference": nullable_text, "note": nullable_text,
                    "decided_at": TIME, "decided_by": text, "supersedes_id": {"type": ["integer", "null"]}}}},
            }}},
            "recorded": {"type": "array", "items": integer, "description": "Only after a disposition."},
        }}]},
        "NextUnits": {"type": "object", "properties": {
            "fridge": text, "product": text, "product_id": integer, "lot_id": integer, "lot": text,
            "expiry": DAY, "quantity": integer, "opened_vial_id": {"type": ["integer", "null"]},
            "beyond_use_at": TIME, "usable_until": TIME, "status": status}},
    }
