"""Exercises: scenarios (JSON, YAML, MSEL), runs, their clock, injects, scores and umpiring."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from colsec.crisis import replay
from colsec.errors import Forbidden, InvalidInput, UnsupportedMediaType
from colsec.exercises import delivery, msel, scoring, views
from colsec.exercises import run as runs
from colsec.exercises.scenario import (
    Inject,
    create_scenario,
    dump_yaml,
    get_scenario,
    list_scenarios,
    load_yaml,
    model_of,
    parse_scenario,
)
from colsec.web.api.crisis._common import people_only
from colsec.web.deps import ActorDep, DbDep
from colsec.web.params import IdPath

router = APIRouter(prefix="/api/v1/exercises", tags=["exercises"], dependencies=[Depends(people_only)])

MAX_UPLOAD = 20 * 1024 * 1024


class RunIn(BaseModel):
    scenario_id: int = Field(ge=1)
    name: str | None = Field(default=None, max_length=120)
    speed: float = Field(default=1.0, ge=0.01, le=3600)
    scheduled_start: datetime | None = None


class StateIn(BaseModel):
    to: Literal["running", "paused", "ended", "reviewed"]


class SpeedIn(BaseModel):
    speed: float = Field(ge=0.01, le=3600)


class NoteIn(BaseModel):
    text: str = Field(min_length=1, max_length=20_000)
    kind: Literal["note", "worked", "failed", "recommendation"] = "note"
    owner: str = Field(default="", max_length=120)


class OverrideIn(BaseModel):
    status: Literal["met", "late", "missed"] | None
    reason: str = Field(default="", max_length=5000)


def _run_out(run: Any) -> dict[str, Any]:
    return {
        "id": run.id, "name": run.name, "scenario_id": run.scenario_id, "status": run.status, "speed": run.speed,
        "scheduled_start": run.scheduled_start, "started_at": run.started_at, "paused_at": run.paused_at,
        "ended_at": run.ended_at, "reviewed_at": run.reviewed_at, "crisis_id": run.crisis_id, "exercise": True,
    }  # fmt: skip


def _scenario_out(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "title_en": row.title_en,
        "title_ru": row.title_ru,
        "document": model_of(row).model_dump(mode="json", exclude_none=True),
    }


def _controller(db: Any, actor: Any) -> None:
    if not views.is_controller(db, actor):
        raise Forbidden("only the crisis centre manages exercises")


async def _body(request: Request) -> bytes:
    data = await request.body()
    if len(data) > MAX_UPLOAD:
        raise InvalidInput(f"upload larger than {MAX_UPLOAD} bytes")
    return data


# --- scenarios ------------------------------------------------------------------------------------------


@router.post("/scenarios", status_code=201)
def save_scenario(
    request: Request,
    db: DbDep,
    actor: ActorDep,
    body: Annotated[bytes, Depends(_body)],
    replace: bool = False,
) -> Any:
    """A scenario as JSON or YAML (``Content-Type: application/yaml``)."""
    kind = request.headers.get("content-type", "application/json").split(";")[0].strip()
    if kind in ("application/yaml", "application/x-yaml", "text/yaml"):
        scenario = load_yaml(body)
    elif kind == "application/json":
        from colsec.jsonutil import loads

        scenario = parse_scenario(loads(body))
    else:
        raise UnsupportedMediaType(f"send application/json or application/yaml, not {kind}")
    return _scenario_out(create_scenario(db, actor=actor, scenario=scenario, replace=replace))


@router.get("/scenarios")
def scenarios(db: DbDep, actor: ActorDep) -> Any:
    _controller(db, actor)
    return [
        {"id": r.id, "name": r.name, "title_en": r.title_en, "title_ru": r.title_ru}
        for r in list_scenarios(db)
    ]


@router.get("/scenarios/{scenario_id}")
def scenario(scenario_id: IdPath, db: DbDep, actor: ActorDep) -> Any:
    _controller(db, actor)
    return _scenario_out(get_scenario(db, scenario_id=scenario_id))


@router.get("/scenarios/{scenario_id}/export.{fmt}")
def export(scenario_id: IdPath, fmt: Literal["yaml", "csv", "xlsx"], db: DbDep, actor: ActorDep) -> Response:
    _controller(db, actor)
    sc = model_of(get_scenario(db, scenario_id=scenario_id))
    if fmt == "yaml":
        return Response(dump_yaml(sc), media_type="application/yaml")
    if fmt == "csv":
        return Response(msel.export_csv(sc), media_type="text/csv")
    return Response(
        msel.export_xlsx(sc), media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )


@router.put("/scenarios/{scenario_id}/msel")
def import_msel(
    scenario_id: IdPath, request: Request, db: DbDep, actor: ActorDep, body: Annotated[bytes, Depends(_body)]
) -> Any:
    """Replace the scenario's injects with an MSEL (``text/csv`` or XLSX); all rows or none."""
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    if kind == "text/csv":
        rows = msel.read_csv(body)
    elif kind == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
        rows = msel.read_xlsx(body)
    else:
        raise UnsupportedMediaType(f"send text/csv or an XLSX workbook, not {kind or 'nothing'}")
    row = get_scenario(db, scenario_id=scenario_id)
    sc = msel.scenario_with_msel(model_of(row), rows)
    return _scenario_out(create_scenario(db, actor=actor, scenario=sc, replace=True))


# --- runs -----------------------------------------------------------------------------------------------


@router.post("/runs", status_code=201)
def create_run(data: RunIn, db: DbDep, actor: ActorDep) -> Any:
    return _run_out(
        runs.create_run(
            db,
            actor=actor,
            scenario_id=data.scenario_id,
            name=data.name,
            speed=data.speed,
            scheduled_start=data.scheduled_start,
        )
    )


@router.get("/runs")
def list_runs(db: DbDep, actor: ActorDep) -> Any:
    return [_run_out(r) for r in views.visible_runs(db, actor)]


@router.get("/runs/{run_id}")
def get_run(run_id: IdPath, db: DbDep, actor: ActorDep) -> Any:
    run = views.readable_run(db, actor, run_id)
    out = _run_out(run)
    if views.is_controller(db, actor):
        out["injects"] = views.timeline(db, run)
    return out


@router.post("/runs/{run_id}/state")
def move(run_id: IdPath, data: StateIn, db: DbDep, actor: ActorDep) -> Any:
    return _run_out(runs.move(db, actor=actor, run_id=run_id, to=data.to))


@router.post("/runs/{run_id}/speed")
def speed(run_id: IdPath, data: SpeedIn, db: DbDep, actor: ActorDep) -> Any:
    return _run_out(runs.set_speed(db, actor=actor, run_id=run_id, speed=data.speed))


@router.delete("/runs/{run_id}")
def delete(run_id: IdPath, db: DbDep, actor: ActorDep) -> Any:
    return {"deleted": runs.delete_run(db, actor=actor, run_id=run_id)}


@router.post("/runs/{run_id}/injects", status_code=201)
def add_inject(run_id: IdPath, data: Inject, db: DbDep, actor: ActorDep) -> Any:
    inj = runs.add_inject(db, actor=actor, run_id=run_id, inject=data)
    return {"number": inj.number, "status": inj.status, "due_at": inj.due_at}


@router.post("/runs/{run_id}/injects/{number}/deliver")
def deliver_now(run_id: IdPath, number: IdPath, request: Request, db: DbDep, actor: ActorDep) -> Any:
    how = delivery.Delivery(node_name=request.app.state.settings.node_name)
    inj = delivery.deliver_now(db, actor=actor, run_id=run_id, number=number, how=how)
    return {
        "number": inj.number,
        "status": inj.status,
        "delivered_at": inj.delivered_at,
        "refs": inj.object_ref.split(),
    }


@router.post("/runs/{run_id}/injects/{number}/acknowledge")
def acknowledge(run_id: IdPath, number: IdPath, db: DbDep, actor: ActorDep) -> Any:
    views.readable_run(db, actor, run_id)
    inj = delivery.acknowledge(db, actor=actor, run_id=run_id, number=number)
    return {"number": inj.number, "acknowledged": True}


@router.get("/runs/{run_id}/inbox")
def inbox(run_id: IdPath, db: DbDep, actor: ActorDep) -> Any:
    return views.inbox(db, actor, views.readable_run(db, actor, run_id))


@router.get("/runs/{run_id}/objects")
def objects(run_id: IdPath, db: DbDep, actor: ActorDep) -> Any:
    return views.run_objects(db, actor, views.readable_run(db, actor, run_id))


@router.get("/runs/{run_id}/scores")
def scores(run_id: IdPath, db: DbDep, actor: ActorDep) -> Any:
    run = views.readable_run(db, actor, run_id)
    _controller(db, actor)
    return scoring.summary(db, run)


@router.post("/runs/{run_id}/expectations/{number}/override")
def override(run_id: IdPath, number: IdPath, data: OverrideIn, db: DbDep, actor: ActorDep) -> Any:
    e = scoring.override(
        db, actor=actor, run_id=run_id, number=number, status=data.status, reason=data.reason
    )
    return {"number": e.number, "override": e.override, "reason": e.override_reason}


@router.post("/runs/{run_id}/notes", status_code=201)
def add_note(run_id: IdPath, data: NoteIn, db: DbDep, actor: ActorDep) -> Any:
    n = runs.add_note(db, actor=actor, run_id=run_id, text=data.text, kind=data.kind, owner=data.owner)
    return {"id": n.id, "kind": n.kind, "text": n.text, "owner": n.owner, "author": n.author, "at": n.at}


@router.get("/runs/{run_id}/replay")
def run_replay(run_id: IdPath, db: DbDep, actor: ActorDep, at: datetime | None = None) -> Any:
    """Every crisis the run created as it stood at ``at`` (default: the last recorded change)."""
    run = views.readable_run(db, actor, run_id)
    return replay.run_replay(db, run_id=run.id, at=at)
