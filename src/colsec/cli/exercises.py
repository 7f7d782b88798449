"""``colsec exercise``: scenarios (YAML, MSEL), runs and their clock, delivery, scores and the report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from colsec.cli.common import console, fail, get_database, get_settings, open_session, resolve_actor
from colsec.exercises import delivery, msel, scoring
from colsec.exercises import run as runs
from colsec.exercises.scenario import (
    create_scenario,
    dump_yaml,
    get_scenario,
    list_scenarios,
    load_yaml,
    model_of,
)

__all__ = ["register"]

exercise_app = typer.Typer(help="Exercises: scenarios, runs, injects, scores.", no_args_is_help=True)
AsUser = Annotated[str, typer.Option("--as", help="A crisis-centre coordinator")]


def register(app: typer.Typer) -> None:
    app.add_typer(exercise_app, name="exercise")


@exercise_app.command("import")
def import_scenario(
    path: Path,
    as_user: AsUser,
    replace: Annotated[bool, typer.Option(help="Replace a scenario of the same name")] = False,
    msel_file: Annotated[
        Path | None, typer.Option("--msel", help="Injects from an MSEL (.csv or .xlsx)")
    ] = None,
) -> None:
    """Import a scenario from YAML (its injects optionally from an MSEL spreadsheet)."""
    if not path.is_file():
        fail(f"no such file: {path}")
    sc = load_yaml(path.read_bytes())
    if msel_file is not None:
        if not msel_file.is_file():
            fail(f"no such file: {msel_file}")
        data = msel_file.read_bytes()
        rows = msel.read_file(data, msel_file.name)
        sc = msel.scenario_with_msel(sc, rows)
    with open_session() as s:
        row = create_scenario(s, actor=resolve_actor(s, as_user), scenario=sc, replace=replace)
        console.print(f"scenario {row.id} '{row.name}': {len(sc.injects)} injects")


@exercise_app.command("export")
def export(
    scenario_id: int,
    out: Path,
    fmt: Annotated[str, typer.Option("--format", help="yaml, csv or xlsx")] = "yaml",
) -> None:
    """Write a scenario as YAML or its MSEL as CSV/XLSX."""
    if fmt not in ("yaml", "csv", "xlsx"):
        fail("format is yaml, csv or xlsx")
    with open_session(write=False) as s:
        sc = model_of(get_scenario(s, scenario_id=scenario_id))
    data = (
        dump_yaml(sc).encode()
        if fmt == "yaml"
        else (msel.export_csv(sc) if fmt == "csv" else msel.export_xlsx(sc))
    )
    out.write_bytes(data)
    console.print(f"wrote {out} ({len(data)} bytes)")


@exercise_app.command("scenarios")
def scenarios() -> None:
    """Stored scenarios."""
    with open_session(write=False) as s:
        table = Table("id", "name", "title")
        for r in list_scenarios(s):
            table.add_row(str(r.id), r.name, r.title_en)
        console.print(table)


@exercise_app.command("run")
def create_run(scenario_id: int, as_user: AsUser, name: Annotated[str | None, typer.Option()] = None,
               speed: Annotated[float, typer.Option(help="Clock ×N")] = 1.0) -> None:  # fmt: skip
    """Schedule a run of a scenario (a frozen copy)."""
    with open_session() as s:
        run = runs.create_run(
            s, actor=resolve_actor(s, as_user), scenario_id=scenario_id, name=name, speed=speed
        )
        console.print(f"run {run.id} '{run.name}' scheduled")


@exercise_app.command("state")
def state(run_id: int, to: str, as_user: AsUser) -> None:
    """Move a run: running, paused, ended, reviewed."""
    with open_session() as s:
        run = runs.move(s, actor=resolve_actor(s, as_user), run_id=run_id, to=to)
        console.print(f"run {run.id}: {run.status}")


@exercise_app.command("runs")
def list_runs() -> None:
    """Runs with their state and clock speed."""
    with open_session(write=False) as s:
        table = Table("id", "name", "status", "speed", "started")
        for r in runs.list_runs(s):
            table.add_row(
                str(r.id),
                r.name,
                r.status,
                f"×{r.speed:g}",
                f"{r.started_at:%Y-%m-%d %H:%M}" if r.started_at else "-",
            )
        console.print(table)


@exercise_app.command("deliver")
def deliver() -> None:
    """Deliver what is due now (what the worker's job does every half second)."""
    n = delivery.deliver_pass(get_database(), node_name=get_settings().node_name)
    console.print(f"{n} inject(s) delivered")


@exercise_app.command("scores")
def scores(run_id: int) -> None:
    """Scores of a run as JSON (the figures of the API and the report)."""
    with open_session(write=False) as s:
        typer.echo(json.dumps(scoring.summary(s, runs.get_run(s, run_id=run_id)), indent=2, default=str))


@exercise_app.command("delete")
def delete(run_id: int, as_user: AsUser) -> None:
    """Delete a run and everything it created."""
    with open_session() as s:
        counts = runs.delete_run(s, actor=resolve_actor(s, as_user), run_id=run_id)
        console.print(f"run {run_id} deleted: {counts}")
