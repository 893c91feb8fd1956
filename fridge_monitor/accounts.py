"""People and API tokens: roles, password checks with lockout, tokens stored as hashes."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so
from werkzeug.security import check_password_hash, generate_password_hash

from fridge_monitor import audit_trail
from fridge_monitor import models as m

ROLES = ("nurse", "auditor", "admin")
MIN_PASSWORD = 10
# Checked against when the user does not exist, so a wrong name takes as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not a real password")


class AccountError(ValueError):
    """A request about accounts that cannot be honoured; the message says why."""


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must be at least {MIN_PASSWORD} characters long")


def create_user(session: so.Session, name: str, role: str, password: str | None, *, actor: str,
                now: datetime, reason: str | None = None) -> m.User:
    name = name.strip()
    if not name or len(name) > 100:
        raise AccountError("a user name must be 1 to 100 characters")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if session.scalar(sa.select(m.User.id).where(m.User.name == name)) is not None:
        raise AccountError(f"a user named {name!r} already exists")
    if password is not None:
        check_new_password(password)
    user = m.User(name=name, role=role, password_hash=generate_password_hash(password) if password else None,
                  display_unit="C", failed_logins=0, created_at=now)
    session.add(user)
    session.flush()
    audit_trail.record(session, at=now, actor=actor, action="create", record_type="user", record_id=name,
                       field="role", new=role, reason=reason)
    return user


def authenticate(session: so.Session, name: str, password: str, *, now: datetime, max_failed: int,
                 lockout: timedelta) -> m.User | str:
    """The user, or a message safe to show (it does not reveal whether the name exists)."""
    user = session.scalar(sa.select(m.User).where(m.User.name == name.strip()))
    if user is None or user.password_hash is None:
        check_password_hash(_DUMMY_HASH, password)
        return "wrong user name or password"
    if user.disabled_at is not None:
        return "this account is disabled; ask an administrator"
    if user.locked_until is not None and user.locked_until > now:
        minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
        return f"too many wrong passwords: this account is locked for {minutes} more minute(s)"
    if not check_password_hash(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= max_failed:
            user.locked_until = now + lockout
            user.failed_logins = 0
            audit_trail.record(session, at=now, actor=user.name, action="lock", record_type="user",
                               record_id=user.name, reason=f"{max_failed} wrong passwords in a row")
        return "wrong user name or password"
    user.failed_logins = 0
    user.locked_until = None
    return user


def new_token(session: so.Session, user: m.User, *, actor: str, now: datetime) -> str:
    """A new API token for ``user``; only its hash is kept, so this is the only time it is seen."""
    token = "fm_" + secrets.token_urlsafe(32)
    session.add(m.ApiToken(user_id=user.id, token_hash=token_hash(token), created_at=now))
    session.flush()
    audit_trail.record(session, at=now, actor=actor, action="create", record_type="api_token",
                       record_id=user.name)
    return token


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def user_for_token(session: so.Session, token: str, now: datetime) -> m.User | None:
    row = session.execute(
        sa.select(m.ApiToken, m.User).join(m.User, m.ApiToken.user_id == m.User.id)
        .where(m.ApiToken.token_hash == token_hash(token), m.ApiToken.revoked_at.is_(None))
    ).first()
    if row is None or row.User.disabled_at is not None:
        return None
    if row.ApiToken.last_used_at is None or now - row.ApiToken.last_used_at > timedelta(minutes=5):
        row.ApiToken.last_used_at = now
    return row.User


def set_disabled(session: so.Session, user: m.User, disabled: bool, *, actor: str, now: datetime,
                 reason: str | None) -> None:
    before = user.disabled_at is not None
    if before == disabled:
        return
    user.disabled_at = now if disabled else None
    if disabled:
        session.execute(sa.update(m.ApiToken).where(m.ApiToken.user_id == user.id, m.ApiToken.revoked_at.is_(None))
                        .values(revoked_at=now))
    audit_trail.record(session, at=now, actor=actor, action="update", record_type="user", record_id=user.name,
                       field="disabled", old=before, new=disabled, reason=reason)
