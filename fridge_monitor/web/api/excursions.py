"""The API's excursion troubleshooting records (read; they are completed and signed on the web page)."""

from __future__ import annotations

import dataclasses
from typing import Any, cast

from flask import abort, jsonify, url_for

from fridge_monitor.core.signatures import EXCURSION_RECORD
from fridge_monitor.core.times import iso_utc
from fridge_monitor.core.troubleshooting import Facts, missing, since_in_range
from fridge_monitor.store import models as m
from fridge_monitor.store import signatures, troubleshooting
from fridge_monitor.web.access import EVERYONE, allow
from fridge_monitor.web.api import bp, iso
from fridge_monitor.web.api.contract import operation
from fridge_monitor.web.api.schemas.excursions import ExcursionPath, ExcursionRecord, LotFacts
from fridge_monitor.web.context import db, settings
from fridge_monitor.web.scope import names


@bp.route("/excursions/<int:excursion_id>/record")
@allow(*EVERYONE)
@names(excursion_id="excursion")
@operation("getExcursionRecord", "An excursion's troubleshooting record: what Fridge Monitor recorded, what staff "
           "filled in, whether it is complete and its signatures (an alarm rule's excursion gives its episode's "
           "record)", path=ExcursionPath, answers={200: (ExcursionRecord, "The record (its newest version).")})
def excursion_record(excursion_id: int) -> Any:
    found = db().get(m.Excursion, excursion_id)
    if found is None:
        abort(404, f"there is no excursion {excursion_id}")
    excursion = troubleshooting.anchor(db(), found)
    row = troubleshooting.current(db(), excursion.id)
    facts = Facts.from_json(row.facts) if row else troubleshooting.facts(db(), excursion, settings())
    entry = troubleshooting.entry_of(row)
    since = since_in_range(facts)
    shown = signatures.of_records(db(), EXCURSION_RECORD, [row.id]).get(str(row.id), []) if row else []
    staff = dataclasses.asdict(entry)
    staff["found_at"] = iso(entry.found_at) if entry.found_at else None
    answer: ExcursionRecord = {
        "excursion_id": excursion.id, "fridge": facts.fridge, "site": facts.site,
        "complete": bool(row and row.complete), "missing": missing(entry, facts),
        "version": row.version if row else None, "saved_by": row.saved_by if row else None,
        "saved_at": iso(row.saved_at) if row else None, "confirmed_by": row.confirmed_by if row else None,
        "signatures": [s.shown() for s in shown],
        "facts": {"allowed": facts.allowed, "rules": list(facts.rules), "started_at": iso_utc(facts.started_at),
                  "ended_at": iso(facts.ended_at) if facts.ended_at else None,
                  "alarm_at": iso(facts.alarm_at) if facts.alarm_at else None,
                  "time_beyond_s": facts.time_beyond_s, "unknown_s": facts.unknown_s, "peak_c": facts.peak_c,
                  "low_c": facts.low_c, "mkt_c": facts.mkt_c, "readings": facts.readings,
                  "last_in_range_at": iso(facts.last_in_range_at) if facts.last_in_range_at else None,
                  "since_in_range_s": since.total_seconds() if since is not None else None,
                  "lots": [cast(LotFacts, dataclasses.asdict(lot)) for lot in facts.lots],
                  "earlier": list(facts.earlier),
                  "acknowledgements": list(facts.acknowledgements)},
        "entry": staff,
        "pdf_url": url_for("troubleshooting.pdf", excursion_id=excursion.id),
    }
    return jsonify(answer)
