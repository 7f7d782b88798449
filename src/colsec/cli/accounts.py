"""Organisation, user and token commands: the CLI acts as the node operator."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from colsec.accounts import service
from colsec.accounts.models import User
from colsec.cli.common import console, fail, open_session, resolve_actor

__all__ = ["register"]

org_app = typer.Typer(help="Organisations (member agencies).", no_args_is_help=True)
user_app = typer.Typer(help="User accounts.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(org_app, name="org")
    app.add_typer(user_app, name="user")
    app.add_typer(token_app, name="token")


@org_app.command("add")
def org_add(
    short_name: str,
    name: Annotated[str, typer.Option(help="Full name")],
    country: Annotated[str | None, typer.Option(help="Country code")] = None,
    kind: Annotated[str, typer.Option(help="member | crisis_centre | external")] = "member",
    sector: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Create an organisation (and its STIX identity)."""
    with open_session() as s:
        org = service.create_organisation(
            s,
            actor=resolve_actor(s, None),
            name=name,
            short_name=short_name,
            country=country,
            kind=kind,
            sector=sector,
        )
        console.print(f"organisation {org.short_name} created ({org.identity_id})")


@org_app.command("list")
def org_list() -> None:
    with open_session(write=False) as s:
        table = Table()
        for col in ("short name", "name", "kind", "country", "identity"):
            table.add_column(col)
        for o in service.list_organisations(s):
            table.add_row(o.short_name, o.name, o.kind, o.country or "", o.identity_id)
        console.print(table)


@user_app.command("add")
def user_add(
    username: str,
    org: Annotated[str, typer.Option(help="Organisation short name")],
    role: Annotated[
        str, typer.Option(help="admin|coordinator|analyst|representative|viewer|peer")
    ] = "analyst",
    password: Annotated[str | None, typer.Option(help="Password (prompted if omitted)")] = None,
    language: Annotated[str, typer.Option(help="en or ru")] = "en",
    no_password: Annotated[bool, typer.Option(help="Token-only account (e.g. peer)")] = False,
    email: Annotated[str | None, typer.Option(help="E-mail address for notifications")] = None,
) -> None:
    """Create a user in an organisation."""
    from colsec.accounts.email import normalise_email
    from colsec.errors import ColsecError

    try:
        address = normalise_email(email) if email else None
    except ColsecError as exc:
        fail(exc.message, 2)
    if password is None and not no_password:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    with open_session() as s:
        o = service.get_org_by_name(s, org)
        u = service.create_user(
            s,
            actor=resolve_actor(s, None),
            username=username,
            password=password,
            role=role,
            org=o,
            language=language,
            email=address,
        )
        console.print(f"user {u.username} ({u.role}) created in {o.short_name}")


@user_app.command("set-email")
def user_set_email(
    username: str,
    email: Annotated[str, typer.Argument(help="The address; an empty string clears it")],
) -> None:
    """Set or clear the e-mail address a user's notifications go to."""
    from colsec.accounts.email import get_user, set_email

    with open_session() as s:
        user = set_email(s, actor=resolve_actor(s, None), user=get_user(s, username), email=email)
        shown = user.email or "none"
        console.print(f"user {user.username}: e-mail {shown}", highlight=False)


@user_app.command("list")
def user_list() -> None:
    with open_session(write=False) as s:
        table = Table()
        for col in ("username", "role", "organisation id", "e-mail", "language", "active"):
            table.add_column(col)
        for u in service.list_users(s, actor=resolve_actor(s, None)):
            table.add_row(
                u.username,
                u.role,
                str(u.organisation_id),
                u.email or "",
                u.language,
                "yes" if u.is_active else "no",
            )
        console.print(table)


@token_app.command("create")
def token_create(
    username: str,
    name: Annotated[str, typer.Option(help="Token label")] = "cli",
    days: Annotated[int | None, typer.Option(help="Expires after N days")] = None,
) -> None:
    """Create an API token; printed once, stored hashed."""
    with open_session() as s:
        actor = resolve_actor(s, None)
        user = _user(s, username)
        token = service.create_token(s, actor=actor, user=user, name=name, expires_days=days)
    typer.echo(token)


def _user(s: Session, username: str) -> User:
    user = s.execute(select(User).where(User.username == username.strip().lower())).scalar_one_or_none()
    if user is None:
        fail(f"user {username!r} not found", 4)
    return user


@user_app.command("operator")
def user_operator(
    username: str, revoke: Annotated[bool, typer.Option(help="Withdraw the right instead")] = False
) -> None:
    """Make an admin account a node operator (manages every organisation, peers and groups)."""
    with open_session() as s:
        service.set_node_operator(
            s, actor=resolve_actor(s, None), user=_user(s, username), operator=not revoke
        )
    console.print(f"{username}: node operator {'withdrawn' if revoke else 'granted'}")


@user_app.command("disable")
def user_disable(username: str, enable: Annotated[bool, typer.Option(help="Enable instead")] = False) -> None:
    """Disable (or re-enable) an account; its sessions end and its tokens stop working."""
    with open_session() as s:
        service.set_active(s, actor=resolve_actor(s, None), user=_user(s, username), active=enable)
    console.print(f"{username}: {'enabled' if enable else 'disabled'}")


@user_app.command("password")
def user_password(username: str) -> None:
    """Set a new password (prompted); every session of the user ends."""
    password = typer.prompt("new password", hide_input=True, confirmation_prompt=True)
    with open_session() as s:
        service.set_password(s, actor=resolve_actor(s, None), user=_user(s, username), password=password)
    console.print(f"{username}: password changed")
