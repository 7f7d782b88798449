"""``colsec crisis``: look at crises, run the ticker, import and issue CAP alerts."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from colsec.cli.common import (
    EXIT_CODES,
    console,
    err_console,
    fail,
    get_node,
    get_settings,
    open_session,
    resolve_actor,
)
from colsec.crisis import alerts, service
from colsec.errors import ColsecError
from colsec.formats.cap_feed import is_feed

__all__ = ["register"]

crisis_app = typer.Typer(
    help="Crisis response: crises, consultations, metrics, CAP alerts.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(crisis_app, name="crisis")


@crisis_app.command("list")
def list_crises(status: Annotated[str | None, typer.Option(help="Only crises in this state")] = None) -> None:
    """Crises with their state and alert level."""
    with open_session(write=False) as s:
        table = Table("id", "title", "status", "alert", "lead", "opened")
        for c in service.list_crises(s, status=status):
            table.add_row(
                str(c.id),
                c.title,
                c.status,
                str(c.alert_level),
                c.lead_username,
                f"{c.opened_at:%Y-%m-%d %H:%M}",
            )
        console.print(table)


@crisis_app.command("show")
def show(crisis_id: int) -> None:
    """One crisis: its timeline, requests and consultations."""
    with open_session(write=False) as s:
        c = service.get_crisis(s, crisis_id=crisis_id)
        console.print(
            f"[bold]#{c.id} {c.title}[/] — {c.status}, alert level {c.alert_level}, lead {c.lead_username}",
            highlight=False,
        )
        table = Table("when", "who", "what", "summary")
        for e in service.timeline(s, crisis_id=crisis_id):
            table.add_row(
                f"{e.at:%Y-%m-%d %H:%M:%S}", f"{e.actor} ({e.organisation or '-'})", e.kind, e.summary
            )
        console.print(table)
        reqs = Table("request", "capability", "qty", "status", "covered", "missing")
        for r in service.list_requests(s, crisis_id=crisis_id):
            cov = service.coverage(s, request_id=r.id)
            reqs.add_row(
                str(r.id), r.capability, str(r.quantity), r.status, str(cov.covered), str(cov.missing)
            )
        console.print(reqs)


@crisis_app.command("consultations")
def consultations(crisis_id: Annotated[int | None, typer.Option("--crisis")] = None) -> None:
    """Consultations with their counts and outcome."""
    with open_session(write=False) as s:
        table = Table(
            "id", "request", "rule", "quorum", "agree", "object", "abstain", "status", "outcome", "deadline"
        )
        for c in service.list_consultations(s, crisis_id=crisis_id):
            table.add_row(
                str(c.id), str(c.request_id), c.rule, f"{c.quorum}/{c.eligible_count}", str(c.agree_count),
                str(c.object_count), str(c.abstain_count), c.status, c.outcome or "-", f"{c.deadline:%Y-%m-%d %H:%M}",
            )  # fmt: skip
        console.print(table)


@crisis_app.command("metrics")
def metrics(crisis_id: Annotated[int | None, typer.Option("--crisis")] = None) -> None:
    """Time to decision, decision to first deployment and coverage (JSON)."""
    with open_session(write=False) as s:
        sys.stdout.write(
            json.dumps(service.crisis_metrics(s, crisis_id=crisis_id), indent=2, default=str) + "\n"
        )


@crisis_app.command("lessons")
def lessons(query: str) -> None:
    """Search the lessons learned of every crisis."""
    with open_session(write=False) as s:
        table = Table("crisis", "kind", "text", "owner")
        for lesson in service.search_lessons(s, query=query):
            table.add_row(str(lesson.crisis_id), lesson.kind, lesson.text, lesson.owner)
        console.print(table)


@crisis_app.command("tick")
def tick() -> None:
    """Close consultations past their deadline and send reminders (queued for the outbox)."""
    from colsec.crisis.ticker import tick as run_tick

    node = get_node()
    report = run_tick(node.database, node.settings)
    sys.stdout.write(json.dumps(report.to_dict(), indent=2) + "\n")


@crisis_app.command("cap-import")
def cap_import(
    path: Path,
    as_user: Annotated[str, typer.Option("--as", help="Import as this user (their organisation and role)")],
    crisis_id: Annotated[int | None, typer.Option("--crisis", help="Attach to this crisis")] = None,
) -> None:
    """Import a CAP 1.2 (or 1.0/1.1, stored as 1.2) alert file, or an Atom/RSS feed of inline alerts.

    Hostile or invalid documents are refused; in a feed each alert stands alone.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}", 2)
    if is_feed(data):
        _import_feed(data, as_user, crisis_id)
        return
    with open_session() as s:
        try:
            row = alerts.import_alert(s, actor=resolve_actor(s, as_user), data=data, crisis_id=crisis_id)
        except ColsecError as exc:  # one line (never wrapped), as the API's 422 body names the first problem
            err_console.print(f"[bold red]error:[/] {exc.message}", highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_CODES.get(exc.status, 1)) from None
        console.print(
            f"CAP alert {row.identifier} from {row.sender} imported (id {row.id}): {row.event}",
            highlight=False,
        )


def _import_feed(data: bytes, as_user: str, crisis_id: int | None) -> None:
    """A feed's alerts each imported on their own; exit 1 when one was refused (the rest are kept)."""
    with open_session() as s:
        try:
            outcomes = alerts.import_feed(s, actor=resolve_actor(s, as_user), data=data, crisis_id=crisis_id)
        except ColsecError as exc:
            err_console.print(f"[bold red]error:[/] {exc.message}", highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_CODES.get(exc.status, 1)) from None
    for o in outcomes:
        line = f"{o.outcome}: {o.entry_id}: {o.message}" + (f" (id {o.alert_id})" if o.alert_id else "")
        (err_console if o.outcome == "refused" else console).print(line, highlight=False, soft_wrap=True)
    imported = sum(o.outcome == "imported" for o in outcomes)
    console.print(f"CAP feed: {imported} of {len(outcomes)} entries imported", highlight=False)
    if any(o.outcome == "refused" for o in outcomes):
        raise typer.Exit(1)


@crisis_app.command("cap-issue")
def cap_issue(
    crisis_id: int,
    as_user: Annotated[str, typer.Option("--as", help="A crisis-centre coordinator")],
    status: Annotated[str, typer.Option(help="Actual | Exercise | Test")] = "Actual",
    out: Annotated[Path | None, typer.Option(help="Write the XML here (default: stdout)")] = None,
) -> None:
    """Issue the crisis's current state as a CAP 1.2 alert."""
    settings = get_settings()
    with open_session() as s:
        row = alerts.crisis_alert(
            s,
            actor=resolve_actor(s, as_user),
            crisis_id=crisis_id,
            node_name=settings.node_name,
            status=status,
        )
        xml = row.xml
    if out is None:
        sys.stdout.write(xml)
    else:
        out.write_text(xml, encoding="utf-8")
