"""Signing on the web pages and in the API (21 CFR 11.200): the signature's fields, and checking the signer.

A page's form adds the fields of :class:`SignatureFields` (the meaning, the
password, and the user name the first time in a session); :func:`signer_ok`
puts an error next to the field at fault and keeps a wrong password's count.
An API call signs with ``"signature": {"password": ..., "meaning": ...}`` in
its body: the token says who calls, the password that the person signs.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import abort, request
from flask import session as flask_session
from wtforms import PasswordField, SelectField, StringField

from fridge_monitor.core.signatures import MEANINGS
from fridge_monitor.store import signatures
from fridge_monitor.web.access import signed_in
from fridge_monitor.web.api.schemas.common import Signature
from fridge_monitor.web.context import db, settings
from fridge_monitor.web.forms import options

SIGNED_IN_SESSION = "signed_in_this_session"  # set once a signature was made in this session
FIELDS = {"name": "sign_name", "password": "sign_password", "meaning": "meaning"}


class SignatureFields:
    """Mixed into a page's form: what a signature asks."""

    meaning = SelectField("Your signature means", choices=options((m_, m_) for m_ in MEANINGS), default="performed")
    sign_name = StringField("Your user name")
    sign_password = PasswordField("Your password")


def needs(action: str) -> bool:
    """Whether ``[signatures] require_for`` lists this action (``dispositions``, ``checks``, …)."""
    return action in settings().signatures["require_for"]


def ask_name() -> bool:
    """Whether this session has not signed yet: then the user name is asked too."""
    return not flask_session.get(SIGNED_IN_SESSION)


def _limits() -> dict[str, Any]:
    web = settings().web
    return {"max_failed": web["max_failed_logins"], "lockout": timedelta(minutes=web["lockout_minutes"])}


def signer_ok(form: Any, now: datetime) -> bool:
    """The meaning, and the password (the user name too, the first time in this session); errors go next to their
    fields. A wrong password is counted toward the lockout, and that count is kept."""
    if form.meaning.data not in MEANINGS:
        form.meaning.errors = [*form.meaning.errors, "Choose what your signature means."]
        return False
    try:
        signatures.check_signer(db(), signed_in(), form.sign_password.data or "",
                                typed_name=(form.sign_name.data or "") if ask_name() else None, now=now, **_limits())
    except signatures.SignatureError as exc:
        db().commit()  # a wrong password counts, though nothing is signed
        error(form, exc)
        return False
    return True


def error(form: Any, exc: signatures.SignatureError) -> None:
    """The sentence next to its field (whether or not the form was validated before: a list either way)."""
    field = getattr(form, FIELDS[exc.field])
    field.errors = [*field.errors, str(exc)]


def signed() -> None:
    """Remember that this session has signed (later signatures ask the password only)."""
    flask_session[SIGNED_IN_SESSION] = True


def api_signer(given: Signature | None, what: str, now: datetime) -> str:
    """An API call's signature (its shape checked by the route's contract): its meaning, once the password in
    the body is the caller's (else 403). Over HTTPS only, when the site runs on HTTPS."""
    if given is None:
        abort(403, f"{what} is signed ([signatures] require_for): send \"signature\": {{\"password\": ..., "
                   f"\"meaning\": one of {', '.join(MEANINGS)}}} with the person's own password")
    if settings().web["https"] and not request.is_secure:
        abort(403, "a signature's password is sent over HTTPS only")
    try:
        signatures.check_signer(db(), signed_in(), given.password, typed_name=None, now=now, **_limits())
    except signatures.SignatureError as exc:
        db().commit()  # counted toward the lockout
        abort(403, f"field 'signature': {exc}")
    return str(given.meaning)
