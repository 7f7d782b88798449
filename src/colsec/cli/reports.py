"""``colsec report``: draft, review, approve, publish and render bulletins; schedules and their catch-up."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from colsec.cli.common import console, fail, open_session, resolve_actor
from colsec.reports import service
from colsec.reports.audience import audience_level
from colsec.reports.schedule import run_due, set_schedule
from colsec.reports.series import parse_day
from colsec.stix.tlp import TLP

__all__ = ["register"]

report_app = typer.Typer(
    help="Bulletins: drafts, review, publication, rendering, schedules.", no_args_is_help=True
)
AsUser = Annotated[str | None, typer.Option("--as", help="Act as this user (default: the node operator)")]


def register(app: typer.Typer) -> None:
    app.add_typer(report_app, name="report")


@report_app.command("draft")
def draft_cmd(
    kind: Annotated[str, typer.Argument(help="daily, weekly, monthly, crisis_digest or joint_advisory")],
    audience: Annotated[str, typer.Option(help="clear, green or amber")] = "green",
    end: Annotated[str | None, typer.Option(help="the day after the period (YYYY-MM-DD)")] = None,
    as_user: AsUser = None,
) -> None:
    """Generate a draft from stored data for the period."""
    with open_session() as s:
        last = parse_day(end, "--end") if end else None
        b = service.create_draft(
            s, actor=resolve_actor(s, as_user), kind=kind, audience=audience_level(audience), end=last
        )
        console.print(f"bulletin {b.id} drafted ({b.kind}, TLP:{TLP(b.audience).name})")


@report_app.command("list")
def list_cmd(status: Annotated[str | None, typer.Option()] = None, as_user: AsUser = None) -> None:
    """Bulletins, newest first."""
    with open_session(write=False) as s:
        table = Table("id", "kind", "audience", "status", "version", "period", "author")
        for b in service.list_bulletins(s, actor=resolve_actor(s, as_user), status=status):
            table.add_row(
                str(b.id), b.kind, TLP(b.audience).name, b.status, str(b.version),
                f"{b.period_start:%Y-%m-%d}..{b.period_end:%Y-%m-%d}", b.author,
            )  # fmt: skip
        console.print(table)


def _step(step: str, bulletin_id: int, as_user: str | None) -> None:
    from colsec.web.ui.reports import mail_text

    with open_session() as s:
        actor = resolve_actor(s, as_user)
        if step == "submit":
            b = service.submit(s, actor=actor, bulletin_id=bulletin_id)
        elif step == "approve":
            b = service.approve(s, actor=actor, bulletin_id=bulletin_id)
        elif step == "publish":
            b = service.publish(s, actor=actor, bulletin_id=bulletin_id, mailer=mail_text)
        else:
            b = service.correct(s, actor=actor, bulletin_id=bulletin_id)
        console.print(f"bulletin {b.id} (version {b.version}) is {b.status}")


@report_app.command("submit")
def submit_cmd(bulletin_id: int, as_user: AsUser = None) -> None:
    """Send a draft for review."""
    _step("submit", bulletin_id, as_user)


@report_app.command("approve")
def approve_cmd(bulletin_id: int, as_user: AsUser = None) -> None:
    """Approve a bulletin in review (not its author)."""
    _step("approve", bulletin_id, as_user)


@report_app.command("publish")
def publish_cmd(bulletin_id: int, as_user: AsUser = None) -> None:
    """Publish an approved bulletin and queue its e-mails."""
    _step("publish", bulletin_id, as_user)


@report_app.command("correct")
def correct_cmd(bulletin_id: int, as_user: AsUser = None) -> None:
    """Start a correction of a published bulletin (a new version; the old one stays)."""
    _step("correct", bulletin_id, as_user)


@report_app.command("render")
def render_cmd(
    bulletin_id: int,
    out: Annotated[Path, typer.Option("--out", "-o", help="file to write (.html, .pdf or .json)")],
    lang: Annotated[str, typer.Option(help="en or ru")] = "en",
    as_user: AsUser = None,
) -> None:
    """Write a bulletin as HTML, PDF or JSON (by the file's extension)."""
    import orjson

    from colsec.web.api.reports import bulletin_json
    from colsec.web.ui.reports import render_html, render_pdf

    if lang not in service.LANGUAGES:
        fail(f"--lang {lang!r}: one of {', '.join(service.LANGUAGES)}")
    suffix = out.suffix.lower()
    if suffix not in (".html", ".pdf", ".json"):
        fail(f"{out}: the file name must end in .html, .pdf or .json")
    with open_session(write=False) as s:
        b = service.get(s, actor=resolve_actor(s, as_user), bulletin_id=bulletin_id)
        if suffix == ".html":
            out.write_text(render_html(b, lang), encoding="utf-8")
        elif suffix == ".pdf":
            out.write_bytes(render_pdf(b, lang))
        else:
            out.write_bytes(orjson.dumps(bulletin_json(b, lang), option=orjson.OPT_INDENT_2))
    console.print(f"wrote {out}")


@report_app.command("schedule")
def schedule_cmd(
    kind: str,
    audience: Annotated[str, typer.Option(help="clear, green or amber")] = "green",
    at: Annotated[str, typer.Option(help="HH:MM node time (UTC)")] = "07:00",
    commentary: Annotated[bool, typer.Option(help="drafts wait for analysts' commentary")] = False,
    auto_publish: Annotated[
        bool, typer.Option(help="publish each draft at once (data-only TLP:CLEAR bulletins only)")
    ] = False,
) -> None:
    """Generate drafts of this type on a schedule (daily; weekly on Mondays; monthly on the 1st)."""
    hh, _, mm = at.partition(":")
    if not (hh.isdigit() and mm.isdigit()):
        fail(f"--at {at!r}: a time of day as HH:MM")
    with open_session() as s:
        row = set_schedule(
            s, kind=kind, audience=audience_level(audience), hour=int(hh), minute=int(mm),
            commentary=commentary, auto_publish=auto_publish,
        )  # fmt: skip
        console.print(
            f"{row.kind}: drafts at {row.hour:02d}:{row.minute:02d} for TLP:{TLP(row.audience).name}"
            + (", published automatically" if row.auto_publish else "")
        )


@report_app.command("run-schedules")
def run_schedules_cmd() -> None:
    """Generate the drafts that are due now (a worker does this every minute)."""
    from colsec.web.ui.reports import mail_text

    with open_session() as s:
        made = run_due(s, mailer=mail_text)
        console.print(f"{len(made)} draft(s) generated")
