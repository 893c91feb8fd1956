"""``fridge-monitor users``: people who sign in, their passwords and their API tokens.

Registered by :mod:`fridge_monitor.cli`; the shared helpers come from :mod:`fridge_monitor.cli.common`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from fridge_monitor.cli.common import CliError, load, open_database
from fridge_monitor.core.roles import ROLES


@click.group()
def users() -> None:
    """People who sign in: nurses, supervisors, auditors, admins."""


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin instead of prompting.")
@click.option("--full-name", default=None, help="The person's name as their signature prints it.")
@click.option("--site", "sites", multiple=True, metavar="SITE",
              help="A site they work at (repeat for several); none: every site. Admins see every site.")
@click.pass_context
def users_add(ctx: click.Context, name: str, role: str, password_stdin: bool, full_name: str | None,
              sites: tuple[str, ...]) -> None:
    """Create a user."""
    import sqlalchemy.orm as so

    from fridge_monitor.store import accounts

    config = load(ctx)
    engine = open_database(config)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        with so.Session(engine) as session, session.begin():
            user = accounts.create_user(session, name, role, password, actor="cli", now=datetime.now(UTC),
                                        reason="created with fridge-monitor users add", full_name=full_name)
            _set_sites(session, user, sites, "created with fridge-monitor users add")
    except accounts.AccountError as exc:
        raise CliError(str(exc)) from None
    click.echo(f"user {name!r} created with role {role}" + (f" at {', '.join(sites)}" if sites else ""))


def _set_sites(session: Any, user: Any, sites: tuple[str, ...], reason: str) -> None:
    """List ``user`` at the sites named (one line and exit 2 for a name that is no site)."""
    import sqlalchemy as sa

    from fridge_monitor.store import models as m
    from fridge_monitor.store import site_access

    known = {name: site_id for name, site_id in session.execute(sa.select(m.Site.name, m.Site.id))}
    unknown = [name for name in sites if name not in known]
    if unknown:
        raise CliError(f"no site named {unknown[0]!r} (sites: {', '.join(sorted(known)) or 'none declared'})")
    site_access.set_sites(session, user, {known[name] for name in sites}, actor="cli", now=datetime.now(UTC),
                          reason=reason)


@users.command("sites")
@click.argument("name")
@click.option("--site", "sites", multiple=True, metavar="SITE",
              help="A site they work at (repeat for several); give none to let them see every site.")
@click.option("--reason", default="set with fridge-monitor users sites", show_default=True,
              help="Why (recorded in the audit trail).")
@click.pass_context
def users_sites(ctx: click.Context, name: str, sites: tuple[str, ...], reason: str) -> None:
    """Set the sites a nurse, supervisor or auditor works at: they see and change only those sites' records."""
    with _user_session(ctx, name) as (session, user):
        _set_sites(session, user, sites, reason)
        role = user.role
    where = ", ".join(sites) if sites else "every site"
    click.echo(f"user {name!r} works at {where}" + (" (admins see every site)" if role == "admin" else ""))


class _TokenGroup(click.Group):
    """``users token NAME`` (the older spelling) still means ``users token create NAME``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["create", *args]
        return super().parse_args(ctx, args)


@users.group("token", cls=_TokenGroup)
def users_token() -> None:
    """API tokens: create (shown once; only its hash is stored), list, revoke."""


@users_token.command("create")
@click.argument("name")
@click.option("--expires-days", type=click.IntRange(min=1), default=None,
              help="Refuse the token after this many days (default: valid until revoked).")
@click.pass_context
def users_token_create(ctx: click.Context, name: str, expires_days: int | None) -> None:
    """Print a new API token for NAME as the last line (shown once; only its hash is stored)."""
    from fridge_monitor.store import accounts

    now = datetime.now(UTC)
    expires_at = now + timedelta(days=expires_days) if expires_days else None
    with _user_session(ctx, name) as (session, user):
        if user.disabled_at is not None:
            raise CliError(f"user {name!r} is disabled")
        token = accounts.new_token(session, user, actor="cli", now=now, expires_at=expires_at)
        role = user.role
    until = f"until {expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else "until revoked"
    click.echo(f"API token for {name} ({role}), valid {until}; send it as 'Authorization: Bearer <token>':",
               err=True)
    click.echo(token)


@users_token.command("list")
@click.argument("name")
@click.pass_context
def users_token_list(ctx: click.Context, name: str) -> None:
    """List NAME's tokens that still open the API: id, created, last used, expiry."""
    from fridge_monitor.store import accounts

    def when(at: datetime | None, none: str) -> str:
        return f"{at:%Y-%m-%d %H:%M} UTC" if at else none

    with _user_session(ctx, name) as (session, user):
        tokens = accounts.live_tokens(session, user, datetime.now(UTC))
        for token in tokens:
            click.echo(f"#{token.id}  created {when(token.created_at, '?')}  last used "
                       f"{when(token.last_used_at, 'never')}  expires {when(token.expires_at, 'never')}")
    if not tokens:
        click.echo(f"{name} has no live API token", err=True)


@users_token.command("revoke")
@click.argument("name")
@click.option("--id", "token_id", type=int, default=None, help="Revoke only this token (see 'users token list').")
@click.option("--all", "revoke_all", is_flag=True, help="Revoke every live token of NAME.")
@click.option("--reason", default="revoked with fridge-monitor users token revoke",
              help="Why (recorded in the audit trail).")
@click.pass_context
def users_token_revoke(ctx: click.Context, name: str, token_id: int | None, revoke_all: bool, reason: str) -> None:
    """Revoke NAME's API token: the only one, the one given by --id, or --all of them."""
    from fridge_monitor.store import accounts

    if token_id is not None and revoke_all:
        raise CliError("give --id or --all, not both")
    now = datetime.now(UTC)
    with _user_session(ctx, name) as (session, user):
        live = accounts.live_tokens(session, user, now)
        if token_id is None and not revoke_all and len(live) > 1:
            raise CliError(f"{name!r} has {len(live)} live API tokens: name one with --id "
                           f"(see 'fridge-monitor users token list {name}') or revoke them all with --all")
        try:
            revoked = accounts.revoke_tokens(session, user, actor="cli", now=now, token_id=token_id, reason=reason)
        except accounts.AccountError as exc:
            raise CliError(str(exc)) from None
    if not revoked:
        click.echo(f"{name} had no live API token; nothing revoked")
    else:
        click.echo(f"revoked {len(revoked)} API token(s) of {name}: {', '.join(f'#{i}' for i in revoked)}")


@users.command("password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the new password from stdin instead of prompting.")
@click.option("--reason", default="reset with fridge-monitor users password",
              help="Why (recorded in the audit trail).")
@click.pass_context
def users_password(ctx: click.Context, name: str, password_stdin: bool, reason: str) -> None:
    """Set NAME's password: unlocks the account and signs out every session it has."""
    from fridge_monitor.store import accounts

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    try:
        accounts.check_new_password(password)
        with _user_session(ctx, name) as (session, user):
            accounts.set_password(session, user, password, actor="cli", now=datetime.now(UTC),
                                  reason=reason)
            name = user.name
    except accounts.AccountError as exc:
        raise CliError(str(exc)) from None
    click.echo(f"password of {name!r} set; their sessions are signed out")


@users.command("disable")
@click.argument("name")
@click.option("--reason", required=True, help="Why (recorded in the audit trail).")
@click.pass_context
def users_disable(ctx: click.Context, name: str, reason: str) -> None:
    """Disable a user (users are never deleted: history keeps their name); revokes their tokens."""
    from fridge_monitor.store import accounts

    with _user_session(ctx, name) as (session, user):
        accounts.set_disabled(session, user, True, actor="cli", now=datetime.now(UTC), reason=reason)
    click.echo(f"user {name!r} disabled")


@contextmanager
def _user_session(ctx: click.Context, name: str) -> Iterator[tuple[Any, Any]]:
    """A transaction and the user called ``name`` (ignoring case and width) in it (one line and exit 2 if none)."""
    import sqlalchemy.orm as so

    from fridge_monitor.store import accounts

    engine = open_database(load(ctx))
    with so.Session(engine) as session, session.begin():
        user = accounts.find_user(session, name)
        if user is None:
            raise CliError(f"no user named {name!r}")
        yield session, user
