"""``colsec group``: working groups from the command line (list, create, decisions register, sweep)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.table import Table

from colsec.cli.common import console, fail, get_node, open_session, resolve_actor
from colsec.errors import ColsecError
from colsec.groups import service, views
from colsec.groups.jobs import sweep
from colsec.groups.schemas import GroupIn
from colsec.jsonutil import load_file

__all__ = ["register"]

group_app = typer.Typer(
    help="Working groups: members, decisions register, action items.", no_args_is_help=True
)
AsUser = Annotated[str | None, typer.Option("--as", help="Act as this user (default: the node operator)")]


def register(app: typer.Typer) -> None:
    app.add_typer(group_app, name="group")


@group_app.command("list")
def list_cmd(as_user: AsUser = None) -> None:
    """The groups this user sees (all of them for the node operator)."""
    with open_session(write=False) as s:
        table = Table("id", "code", "kind", "name (en)", "name (ru)", "TLP")
        for g in service.list_groups(s, actor=resolve_actor(s, as_user)):
            table.add_row(str(g.id), g.code, g.kind, g.name_en, g.name_ru, str(g.default_tlp))
        console.print(table)


@group_app.command("create")
def create_cmd(
    file: Annotated[
        Path, typer.Argument(help="JSON file: code, name_en, name_ru, members, chair, secretary ...")
    ],
    as_user: AsUser = None,
) -> None:
    """Create a group from a JSON description (as a crisis-centre coordinator, or the node operator)."""
    try:
        data = GroupIn.model_validate(load_file(file))
    except ColsecError as exc:
        fail(exc.message, 2)
    except ValidationError as exc:
        first = exc.errors()[0]
        fail(f"{file}: {'.'.join(str(p) for p in first['loc'])}: {first['msg']}", 2)
    with open_session() as s:
        g = service.create_group(s, actor=resolve_actor(s, as_user), data=data)
        console.print(f"group {g.id} {g.code} created")


@group_app.command("decisions")
def decisions_cmd(
    query: Annotated[str, typer.Argument(help="Text or number to look for")] = "",
    group_id: Annotated[int | None, typer.Option("--group", help="Only this group")] = None,
    csv_out: Annotated[
        Path | None, typer.Option("--csv", help="Write the matches as CSV to this file")
    ] = None,
    as_user: AsUser = None,
) -> None:
    """Search the decisions register (number, English or Russian text)."""
    with open_session(write=False) as s:
        actor = resolve_actor(s, as_user)
        if csv_out is not None:
            csv_out.write_text(views.decisions_csv(s, actor=actor, group_id=group_id, q=query), "utf-8")
            console.print(f"written {csv_out}")
            return
        table = Table("number", "adopted", "how", "text (en)")
        for d in views.search_decisions(s, actor=actor, q=query, group_id=group_id):
            table.add_row(d.number, d.adopted_on.isoformat(), d.how, d.text_en[:100])
        console.print(table)


@group_app.command("sweep")
def sweep_cmd() -> None:
    """Close due written procedures and send action-item reminders and escalations now (a job does this every 5 min)."""
    report = sweep(get_node().database)
    console.print(
        f"{len(report.closed_procedures)} procedure(s) closed, {report.procedure_reminders} procedure reminder(s), "
        f"{report.actions_reminded} action item(s) reminded, {report.actions_escalated} escalated"
    )
