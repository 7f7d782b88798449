"""Who a command acts for: ``--as USER`` or ``--org ORG``, the same on every intelligence command.

Without either, a command that reads or stores intelligence refuses and names the
options: the node itself owns nothing and sees only TLP:CLEAR, so guessing would
store objects no organisation sees, or match against almost nothing, in silence.
"""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from colsec.accounts.roles import Actor, Role
from colsec.cli.common import err_console, fail, resolve_actor

__all__ = ["AsOption", "OrgOption", "acting_for"]

AsOption = Annotated[str | None, typer.Option("--as", help="Act as this user (their organisation and role)")]
OrgOption = Annotated[
    str | None, typer.Option("--org", help="Act for this organisation (short name): owner and viewer")
]


def acting_for(session: Session, *, as_user: str | None, org: str | None) -> Actor:
    """The acting user, or the named organisation acting as its own administrator."""
    from colsec.accounts.models import Organisation
    from colsec.accounts.service import get_org_by_name

    if as_user:
        actor = resolve_actor(session, as_user)
        if org and (actor.org_short_name or "").lower() != org.lower():
            fail(f"--as {as_user} acts for {actor.org_short_name}, not --org {org}: give one of them", 2)
        return actor
    if org:
        found = get_org_by_name(session, org)
        return Actor(
            username=f"cli@{found.short_name}",
            role=Role.ADMIN,
            org_id=found.id,
            org_short_name=found.short_name,
        )
    if not session.execute(select(func.count()).select_from(Organisation)).scalar():
        message = (
            "no organisation on this node yet: create one (colsec org add SHORT --name NAME), "
            "then give --org SHORT"
        )
    else:
        message = "say who acts: give --org ORG (an organisation's short name) or --as USER"
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)
