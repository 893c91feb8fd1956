"""The API's monthly reviews: reading a fridge-month's review (or its open items), and signing it."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, jsonify, url_for

from fridge_monitor.reports import reviews
from fridge_monitor.reports.monthly import ReportError, parse_month
from fridge_monitor.store import signatures
from fridge_monitor.web import signing
from fridge_monitor.web.access import EVERYONE, REVIEWERS, allow, signed_in
from fridge_monitor.web.api import bp, fields, iso
from fridge_monitor.web.api.contract import operation
from fridge_monitor.web.api.schemas.reviews import Review, ReviewBody, ReviewPath
from fridge_monitor.web.context import db, now_utc
from fridge_monitor.web.scope import names


def _month(fridge: str, text: str) -> reviews.Month:
    fields.fridge_named(fridge)  # 404 for an unknown fridge
    try:
        year, month = parse_month(text)
        return reviews.look(db(), fridge, year, month, config=current_app.extensions["fridge_monitor"]["config"],
                            now=now_utc())
    except ReportError as exc:
        abort(400, f"parameter 'month': {exc}")


def review_json(found: reviews.Month) -> Review:
    r = found.review
    out: Review = {
        "fridge": found.fridge, "month": found.text, "ended": found.ended, "signed": r is not None,
        "open_items": list(found.open_items),
        "pdf_url": url_for("reports.monthly", name=found.fridge, month=found.text)}
    if r is not None:
        out.update({"id": r.id, "reviewed_by": r.reviewed_by, "reviewed_at": iso(r.reviewed_at),
                    "comment": r.comment, "pdf_sha256": r.pdf_sha256,
                    "signatures": [s.shown() for s in found.signatures], "changes_since_signing": list(found.changes),
                    "addendum_url": (url_for("reviews.addendum_pdf", name=found.fridge, month=found.text)
                                     if found.changes else None)})
    return out


@bp.route("/reviews/<fridge>/<month>")
@allow(*EVERYONE)
@names(fridge="fridge")
@operation("getReview", "A fridge-month's review: signed (with the changes since), or its open items",
           path=ReviewPath, answers={200: (Review, "The review, or the open items of a month not reviewed yet.")})
def review_get(fridge: str, month: str) -> Any:
    return jsonify(review_json(_month(fridge, month)))


@bp.route("/reviews/<fridge>/<month>", methods=["POST"])
@allow(*REVIEWERS)
@names(fridge="fridge")
@operation("signReview", "Review and sign a fridge-month that has ended (audited; signed where `[signatures] "
           "require_for` lists `monthly-review`): its PDF is frozen", path=ReviewPath, body=ReviewBody,
           answers={201: (Review, "The signed review."),
                    403: "The role may not sign reviews, or the signature is missing, wrong or not over HTTPS.",
                    409: "The month has not ended yet, or it was reviewed already."})
def review_sign(fridge: str, month: str, body: ReviewBody) -> Any:
    found = _month(fridge, month)
    comment = fields.stripped(body.comment)
    now = now_utc()
    meaning = (signing.api_signer(body.signature, "a monthly review", now) if signing.needs("monthly-review")
               else None)
    session = db()
    try:
        reviews.sign(session, signed_in(), found.fridge, found.year, found.month, comment=comment, meaning=meaning,
                     config=current_app.extensions["fridge_monitor"]["config"], now=now)
    except reviews.ReviewError as exc:
        session.rollback()
        if exc.field == "month":
            abort(409, str(exc))
        fields.bad(exc.field, str(exc))
    except signatures.SignatureError as exc:
        session.rollback()
        abort(403, f"field 'signature': {exc}")
    session.commit()
    return jsonify(review_json(_month(fridge, month))), 201
