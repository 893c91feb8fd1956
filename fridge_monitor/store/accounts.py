"""People and API tokens: roles, names compared by look, password checks with lockout, revocable sessions,
tokens stored as hashes."""

from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so
from werkzeug.security import check_password_hash, generate_password_hash

from fridge_monitor.core import names
from fridge_monitor.core.roles import ROLES
from fridge_monitor.store import audit_trail
from fridge_monitor.store import models as m

MIN_PASSWORD = 10
# werkzeug's scrypt at its default cost (N = 2**15, r = 8, p = 1). The test suite lowers it for the hashes it
# makes; a stored hash names its own method, so each one is checked at the cost it was made with.
PASSWORD_METHOD = "scrypt"


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=PASSWORD_METHOD)


@functools.cache
def _dummy_hash(method: str) -> str:
    """Checked against when the user does not exist, so a wrong name takes as long as a wrong password.
    Made on first use, not at import: every command-line process would pay for it."""
    return generate_password_hash("not a real password", method=method)


class AccountError(ValueError):
    """A request about accounts that cannot be honoured; the message says why."""


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must be at least {MIN_PASSWORD} characters long")


def check_user_name(name: str) -> str:
    """The name as it will be stored (trimmed), or AccountError saying what is wrong with it."""
    name = name.strip()
    if not name or len(name) > 100:
        raise AccountError("a user name must be 1 to 100 characters")
    try:
        names.refuse_hidden_characters("a user name", name)
    except ValueError as exc:
        raise AccountError(str(exc)) from None
    return name


FULL_NAME_MAX = 200


def check_full_name(full_name: str | None) -> str | None:
    """A person's printed name as it will be stored (trimmed; empty is None), or AccountError saying why not."""
    full_name = (full_name or "").strip()
    if not full_name:
        return None
    if len(full_name) > FULL_NAME_MAX:
        raise AccountError(f"a full name may be at most {FULL_NAME_MAX} characters")
    try:
        names.refuse_hidden_characters("a full name", full_name)
    except ValueError as exc:
        raise AccountError(str(exc)) from None
    return full_name


def set_full_name(session: so.Session, user: m.User, full_name: str | None, *, actor: str, now: datetime,
                  reason: str | None) -> bool:
    """Record the user's printed name (audited, old → new); False when it is unchanged."""
    full_name = check_full_name(full_name)
    if full_name == user.full_name:
        return False
    audit_trail.record(session, at=now, actor=actor, action="update", record_type="user", record_id=user.name,
                       field="full_name", old=user.full_name, new=full_name, reason=reason)
    user.full_name = full_name
    return True


def find_user(session: so.Session, name: str) -> m.User | None:
    """The user called ``name``: compared ignoring case and width (``ADMIN`` finds ``admin``).

    The exact name is tried first: two look-alike users created before names were compared this way
    (migration 0010 keeps both) each still sign in by their own exact name.
    """
    name = name.strip()
    user = session.scalar(sa.select(m.User).where(m.User.name == name))
    if user is None:
        user = session.scalar(sa.select(m.User).where(m.User.name_key == names.name_key(name)))
    return user


def create_user(session: so.Session, name: str, role: str, password: str | None, *, actor: str,
                now: datetime, reason: str | None = None, full_name: str | None = None) -> m.User:
    name = check_user_name(name)
    full_name = check_full_name(full_name)
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    existing = session.scalar(sa.select(m.User.name).where(m.User.name_key == names.name_key(name)))
    if existing == name:
        raise AccountError(f"a user named {name!r} already exists")
    if existing is not None:
        raise AccountError(f"{name!r} is too like the existing user {existing!r}: user names are compared "
                           "ignoring case and character width; choose another name")
    if password is not None:
        check_new_password(password)
    user = m.User(name=name, role=role, password_hash=hash_password(password) if password else None,
                  display_unit="C", failed_logins=0, created_at=now)
    session.add(user)
    session.flush()
    audit_trail.record(session, at=now, actor=actor, action="create", record_type="user", record_id=name,
                       field="role", new=role, reason=reason)
    if full_name is not None:
        set_full_name(session, user, full_name, actor=actor, now=now, reason=reason)
    return user


def refusal_message(max_failed: int, lockout: timedelta) -> str:
    """The one answer to every refused sign-in: a wrong password, an unknown name, a locked or disabled account.

    Telling them apart would tell an attacker which names exist and which are worth guessing at.
    """
    minutes = max(1, round(lockout.total_seconds() / 60))
    return (f"wrong user name or password (after {max_failed} wrong passwords in a row an account is locked "
            f"for {minutes} minutes; an administrator can reset the password)")


def authenticate(session: so.Session, name: str, password: str, *, now: datetime, max_failed: int,
                 lockout: timedelta) -> m.User | str:
    """The user, or :func:`refusal_message` -- the same words and the same password-hashing work
    whether the name is unknown, the account locked or disabled, or the password wrong."""
    refused = refusal_message(max_failed, lockout)
    user = find_user(session, name)
    if user is None or user.password_hash is None:
        check_password_hash(_dummy_hash(PASSWORD_METHOD), password)
        return refused
    password_ok = check_password_hash(user.password_hash, password)
    if user.disabled_at is not None or (user.locked_until is not None and user.locked_until > now):
        return refused
    if not password_ok:
        _count_failure(session, user, now=now, max_failed=max_failed, lockout=lockout)
        return refused
    user.failed_logins = 0
    user.locked_until = None
    return user


def _count_failure(session: so.Session, user: m.User, *, now: datetime, max_failed: int,
                   lockout: timedelta) -> None:
    """Count one wrong password in the database itself, so parallel guesses cannot all slip under the limit.

    Each request adds one with ``UPDATE ... RETURNING`` (the row is locked until its transaction ends):
    exactly one request sees the count reach ``max_failed``, and only that one locks the account and writes
    the ``lock`` event. Guesses that raced past the lock check count on harmlessly. A count at or over the
    limit whose lock has run out starts afresh.
    """
    u = m.User
    quiet = {"synchronize_session": False}
    session.execute(
        sa.update(u).where(u.id == user.id, u.failed_logins >= max_failed,
                           sa.or_(u.locked_until.is_(None), u.locked_until <= now))
        .values(failed_logins=0, locked_until=None), execution_options=quiet)
    count = session.execute(sa.update(u).where(u.id == user.id).values(failed_logins=u.failed_logins + 1)
                            .returning(u.failed_logins), execution_options=quiet).scalar_one()
    if count == max_failed:
        session.execute(sa.update(u).where(u.id == user.id).values(locked_until=now + lockout),
                        execution_options=quiet)
        audit_trail.record(session, at=now, actor=user.name, action="lock", record_type="user",
                           record_id=user.name, reason=f"{max_failed} wrong passwords in a row")
    session.expire(user, ["failed_logins", "locked_until"])


def end_sessions(session: so.Session, user: m.User) -> None:
    """Make every session cookie of ``user`` worthless, copies included (see ``User.session_version``)."""
    user.session_version = m.User.session_version + 1  # counted by the database
    session.flush()


def set_password(session: so.Session, user: m.User, password: str, *, actor: str, now: datetime,
                 reason: str | None) -> None:
    """Set a new password: the account is unlocked, and every session signed in with the old one ends."""
    check_new_password(password)
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    end_sessions(session, user)
    # The audit trail records that the password changed, never the password.
    audit_trail.record(session, at=now, actor=actor, action="update", record_type="user", record_id=user.name,
                       field="password", new="(reset)", reason=reason)


def set_role(session: so.Session, user: m.User, role: str, *, actor: str, now: datetime, reason: str | None) -> None:
    """Give a user another role (audited, old → new)."""
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    audit_trail.record(session, at=now, actor=actor, action="update", record_type="user", record_id=user.name,
                       field="role", old=user.role, new=role, reason=reason)
    user.role = role


def new_token(session: so.Session, user: m.User, *, actor: str, now: datetime,
              expires_at: datetime | None = None) -> str:
    """A new API token for ``user``, refused after ``expires_at`` (None: until revoked); only its hash is kept,
    so this is the only time it is seen."""
    token = "fm_" + secrets.token_urlsafe(32)
    row = m.ApiToken(user_id=user.id, token_hash=token_hash(token), created_at=now, expires_at=expires_at)
    session.add(row)
    session.flush()
    audit_trail.record(session, at=now, actor=actor, action="create", record_type="api_token",
                       record_id=f"{user.name} #{row.id}", field="expires_at",
                       new=expires_at.isoformat() if expires_at else "never")
    return token


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def user_for_token(session: so.Session, token: str, now: datetime) -> m.User | None:
    """The user a bearer token stands for, or None if it is unknown, revoked, expired, or its user disabled."""
    t = m.ApiToken
    row = session.execute(
        sa.select(t, m.User).join(m.User, t.user_id == m.User.id)
        .where(t.token_hash == token_hash(token), t.revoked_at.is_(None),
               sa.or_(t.expires_at.is_(None), t.expires_at > now))
    ).first()
    if row is None:
        return None
    api_token, user = row
    if user.disabled_at is not None:
        return None
    if api_token.last_used_at is None or now - api_token.last_used_at > timedelta(minutes=5):
        api_token.last_used_at = now
    return user


def live_tokens(session: so.Session, user: m.User, now: datetime) -> list[m.ApiToken]:
    """The user's tokens that still open the API (neither revoked nor expired), oldest first."""
    t = m.ApiToken
    return list(session.scalars(
        sa.select(t).where(t.user_id == user.id, t.revoked_at.is_(None),
                           sa.or_(t.expires_at.is_(None), t.expires_at > now)).order_by(t.id)))


def revoke_tokens(session: so.Session, user: m.User, *, actor: str, now: datetime, token_id: int | None = None,
                  reason: str | None = None) -> list[int]:
    """Revoke one live token of ``user`` (``token_id``) or, with None, all of them; one audit event each.

    The ids revoked, oldest first; AccountError if ``token_id`` is not a live token of this user.
    """
    tokens = live_tokens(session, user, now)
    if token_id is not None:
        tokens = [token for token in tokens if token.id == token_id]
        if not tokens:
            raise AccountError(f"{user.name!r} has no live API token #{token_id}")
    for token in tokens:
        token.revoked_at = now
        audit_trail.record(session, at=now, actor=actor, action="revoke", record_type="api_token",
                           record_id=f"{user.name} #{token.id}", reason=reason)
    session.flush()
    return [token.id for token in tokens]


def set_disabled(session: so.Session, user: m.User, disabled: bool, *, actor: str, now: datetime,
                 reason: str | None) -> None:
    """Disable an account (its sessions end, its tokens are revoked) or enable it again (unlocked, count reset).

    Enabling brings back no session: every cookie from before the disabling stays refused.
    """
    before = user.disabled_at is not None
    if before == disabled:
        return
    user.disabled_at = now if disabled else None
    if disabled:
        session.execute(sa.update(m.ApiToken).where(m.ApiToken.user_id == user.id, m.ApiToken.revoked_at.is_(None))
                        .values(revoked_at=now))
        end_sessions(session, user)
    else:
        user.failed_logins = 0
        user.locked_until = None
    audit_trail.record(session, at=now, actor=actor, action="update", record_type="user", record_id=user.name,
                       field="disabled", old=before, new=disabled, reason=reason)
