"""Exercise pages: the runs, a scenario (imported here from YAML or JSON, as the API and the CLI
take it), a run's controller view (clock, injects, scores, notes), a participant's inbox, and the
after-action report (HTML, a CSV annex, and PDF when WeasyPrint is installed)."""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from colsec.crisis.access import allows
from colsec.errors import Forbidden, InvalidInput
from colsec.exercises import delivery, msel, scoring, views
from colsec.exercises import run as runs
from colsec.exercises.msel import hms
from colsec.exercises.scenario import (
    MAX_YAML_BYTES,
    create_scenario,
    get_scenario,
    list_scenarios,
    load_json,
    load_yaml,
    model_of,
    require_author,
)
from colsec.web.deps import DbDep
from colsec.web.i18n import N_
from colsec.web.params import IdPath
from colsec.web.ui.forms import back_on_error, field, see_other
from colsec.web.ui.render import (
    FormActor,
    PageActor,
    WriteDb,
    form_data,
    language_of,
    page,
    ui_environment,
)

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

FILE_LABEL = N_("Scenario file (YAML or JSON)")  # the upload's label on the exercises page


@router.get("/exercises", response_class=HTMLResponse)
def exercises_page(request: Request, db: DbDep, actor: PageActor) -> HTMLResponse:
    controller = views.is_controller(db, actor)
    ctx = {
        "runs": views.visible_runs(db, actor),
        "scenarios": list_scenarios(db) if controller else [],
        "controller": controller,
        "author": allows(lambda: require_author(db, actor)),
        "max_bytes": MAX_YAML_BYTES,
        "lang": language_of(request, actor),
    }
    return page(request, "ui/exercises.html", ctx, actor=actor)


@router.post("/exercises/scenarios")
async def scenario_import(request: Request, db: WriteDb, actor: FormActor) -> Response:
    """A scenario file from the browser: YAML, or JSON by its name, read as the API reads each; its
    injects optionally from an MSEL spreadsheet (CSV or XLSX), as the command line takes them."""
    back_on_error(request, "/exercises#scenario-import")
    require_author(db, actor)  # before the file is read: a refused role learns nothing about it
    form = await form_data(request)
    upload = form.get("file")
    # one byte beyond the cap is enough for the loaders to refuse the file as too large
    raw = await upload.read(MAX_YAML_BYTES + 1) if isinstance(upload, UploadFile) else b""
    if not raw.strip():
        raise InvalidInput(
            "choose a scenario file (YAML or JSON) to import",
            details={
                "field": "file",
                "problems": [{"field": "file", "type": "missing", "label": FILE_LABEL}],
            },
        )
    name = (upload.filename or "").lower() if isinstance(upload, UploadFile) else ""
    scenario = load_json(raw) if name.endswith(".json") else load_yaml(raw)
    sheet = form.get("msel")
    if isinstance(sheet, UploadFile) and sheet.filename:
        # the injects from an MSEL, as ``colsec exercise import --msel`` takes them (one reader)
        data = await sheet.read(msel.MAX_BYTES + 1)
        scenario = msel.scenario_with_msel(scenario, msel.read_file(data, sheet.filename))
    row = create_scenario(db, actor=actor, scenario=scenario, replace=field(form, "replace") == "1")
    return see_other(f"/exercises/scenarios/{row.id}")


@router.get("/exercises/scenarios/{scenario_id}", response_class=HTMLResponse)
def scenario_page(scenario_id: IdPath, request: Request, db: DbDep, actor: PageActor) -> HTMLResponse:
    """What a scenario plays, for the crisis centre that schedules its runs (as the API shows it)."""
    if not views.is_controller(db, actor):
        raise Forbidden("only the crisis centre manages exercises", kind="exercises_centre_only")
    row = get_scenario(db, scenario_id=scenario_id)
    sc = model_of(row)
    injects = [{"inject": i, "at": hms(i.offset or 0)} for i in views.scenario_timeline(sc)]
    ctx = {"row": row, "scenario": sc, "injects": injects, "lang": language_of(request, actor)}
    return page(request, "ui/exercise_scenario.html", ctx, actor=actor)


@router.post("/exercises/runs")
async def run_create(request: Request, db: WriteDb, actor: FormActor) -> Response:
    """A run of a scenario, scheduled from its row on the exercises page; started on the run's page."""
    form = await form_data(request)
    try:
        scenario_id = int(field(form, "scenario_id"))
        speed = float(field(form, "speed") or "1")
    except ValueError:
        raise InvalidInput(
            "choose a scenario, and a speed as a number (1 = real time)", kind="choose_scenario_speed"
        ) from None
    run = runs.create_run(
        db, actor=actor, scenario_id=scenario_id, name=field(form, "name") or None, speed=speed
    )
    return _back(run.id)


@router.get("/exercises/runs/{run_id}", response_class=HTMLResponse)
def run_page(run_id: IdPath, request: Request, db: DbDep, actor: PageActor) -> HTMLResponse:
    run = views.readable_run(db, actor, run_id)
    controller = views.is_controller(db, actor)
    ctx: dict[str, Any] = {
        "run": run, "controller": controller, "inbox": views.inbox(db, actor, run),
        "scenario": runs.frozen(run), "lang": language_of(request, actor),
    }  # fmt: skip
    if controller:
        ctx |= {"timeline": views.timeline(db, run), "figures": scoring.summary(db, run), "notes": views.notes(db, run),
                "moves": [to for to, sources in runs.RUN.items() if run.status in sources]}  # fmt: skip
    return page(request, "ui/exercise_run.html", ctx, actor=actor)


def _back(run_id: int) -> Response:
    return see_other(f"/exercises/runs/{run_id}")


@router.post("/exercises/runs/{run_id}/state")
async def run_state(run_id: IdPath, request: Request, db: WriteDb, actor: FormActor) -> Response:
    runs.move(db, actor=actor, run_id=run_id, to=field(await form_data(request), "to"))
    return _back(run_id)


@router.post("/exercises/runs/{run_id}/speed")
async def run_speed(run_id: IdPath, request: Request, db: WriteDb, actor: FormActor) -> Response:
    try:
        speed = float(field(await form_data(request), "speed"))
    except ValueError:
        raise InvalidInput("speed must be a number", kind="speed_not_number") from None
    runs.set_speed(db, actor=actor, run_id=run_id, speed=speed)
    return _back(run_id)


@router.post("/exercises/runs/{run_id}/injects/{number}/deliver")
def run_deliver(run_id: IdPath, number: IdPath, request: Request, db: WriteDb, actor: FormActor) -> Response:
    try:
        delivery.deliver_now(
            db,
            actor=actor,
            run_id=run_id,
            number=number,
            how=delivery.Delivery(node_name=request.app.state.settings.node_name),
        )
    except delivery.AlreadyDelivered:  # a stale page's button: the run page shows it delivered
        pass
    return _back(run_id)


@router.post("/exercises/runs/{run_id}/injects/{number}/acknowledge")
def run_acknowledge(run_id: IdPath, number: IdPath, db: WriteDb, actor: FormActor) -> Response:
    views.readable_run(db, actor, run_id)
    delivery.acknowledge(db, actor=actor, run_id=run_id, number=number)
    return _back(run_id)


@router.post("/exercises/runs/{run_id}/notes")
async def run_note(run_id: IdPath, request: Request, db: WriteDb, actor: FormActor) -> Response:
    form = await form_data(request)
    runs.add_note(db, actor=actor, run_id=run_id, text=field(form, "text"), kind=field(form, "kind") or "note",
                  owner=field(form, "owner"))  # fmt: skip
    return _back(run_id)


@router.post("/exercises/runs/{run_id}/expectations/{number}/override")
async def run_override(
    run_id: IdPath, number: IdPath, request: Request, db: WriteDb, actor: FormActor
) -> Response:
    form = await form_data(request)
    scoring.override(
        db,
        actor=actor,
        run_id=run_id,
        number=number,
        status=field(form, "status") or None,
        reason=field(form, "reason"),
    )
    return _back(run_id)


@router.get("/exercises/runs/{run_id}/report", response_class=HTMLResponse)
def run_report(
    run_id: IdPath, request: Request, db: DbDep, actor: PageActor, format: str = "html"
) -> Response:
    """The page (every inject and action), the PDF (aggregates) or the CSV annex (every action)."""
    run = views.readable_run(db, actor, run_id)
    if not views.is_controller(db, actor):
        raise Forbidden("the after-action report is the crisis centre's", kind="exercises_centre_only")
    if format not in ("html", "pdf", "csv"):
        raise InvalidInput("format is one of html, pdf, csv")
    lang = language_of(request, actor)
    data = views.report(db, run)
    if format == "csv":
        return Response(
            report_csv(data),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="exercise-{run.id}-actions.csv"'},
        )
    if format == "html":
        return page(request, "ui/exercise_report.html", {**data, "lang": lang}, actor=actor)
    return Response(
        report_pdf(report_document(data, lang)),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="exercise-{run.id}.pdf"'},
    )


def report_document(data: dict[str, Any], lang: str) -> str:
    """The printable report: one standalone document of aggregated tables (no page chrome)."""
    ctx = {**data, "digest": views.digest(data), "lang": lang}
    return ui_environment(lang).get_template("ui/exercise_report_doc.html").render(ctx)


def report_csv(data: dict[str, Any]) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(views.ACTION_COLUMNS)
    for a in data["figures"]["actions"]:
        w.writerow([_cell(a[k]) for k in views.ACTION_COLUMNS])
    return out.getvalue().encode()


def _cell(value: Any) -> Any:
    """A spreadsheet opens the annex: free text (an umpire's reason) never starts a formula."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def report_pdf(html: str) -> bytes:
    """The report as PDF (WeasyPrint); refused clearly when the node has no PDF engine."""
    try:
        from weasyprint import HTML
    except ImportError:  # pragma: no cover - depends on the installation
        raise InvalidInput(
            "PDF output needs WeasyPrint on this node; the HTML report is available", kind="pdf_unavailable"
        ) from None
    out: bytes = HTML(string=html).write_pdf()
    return out
