"""Crisis workspace: incidents, crises with their timeline, roles, sitreps, lessons and CAP alerts.

Requests for assistance, the resource board, offers and consultations have their pages in
``assistance.py``, which shares the form helpers here.

Every verb is the crisis domain's own (``colsec.crisis.service``), so roles,
organisation checks, state machines and audit rows are exactly the API's; what each
page offers comes from the same checks (``colsec.crisis.views.permissions``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from colsec.accounts.service import organisations_by_id
from colsec.crisis import alerts, views
from colsec.crisis import service as svc
from colsec.crisis.schemas import (
    Capability,
    CategoryName,
    CrisisIn,
    IncidentIn,
    LessonIn,
    RequestIn,
    ResourceIn,
    SitrepIn,
    TransitionIn,
)
from colsec.crisis.staff import CRISIS_ROLES
from colsec.crisis.ticker import SITREP_INTERVAL
from colsec.errors import InvalidInput
from colsec.web.deps import DbDep, get_settings
from colsec.web.params import IdPath
from colsec.web.ui.render import FormActor, PageActor, WriteDb, form_data, page

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_RUNNING = ("opened", "active", "stabilising")


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _when(value: str) -> str | None:
    """A ``datetime-local`` field (minutes, no zone) read as UTC."""
    return value + ":00Z" if len(value) == 16 else (value or None)


def _validated(model: Any, values: dict[str, Any]) -> Any:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidInput(
            f"{'.'.join(str(x) for x in first['loc'])}: {first['msg']}",
            details={"field": ".".join(str(x) for x in first["loc"])},
        ) from None


def _back(request: Request, path: str) -> None:
    request.state.error_back = path


def metric_figures(figures: dict[str, Any]) -> dict[str, Any]:
    """The domain's figures (seconds) as durations the page formats in its language."""

    def span(key: str) -> timedelta | None:
        median = figures[key]["median_s"]
        return None if median is None else timedelta(seconds=median)

    cover = figures["coverage"]
    return {
        "ttd": span("time_to_decision"), "ttdep": span("decision_to_first_deployment"),
        "decided": figures["time_to_decision"]["count"], "ratio": cover["ratio"], "covered": cover["covered"],
        "needed": cover["needed"],
    }  # fmt: skip


def _to(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


# --- the workspace: incidents, crises, own resources ---------------------------------------------


@router.get("/crisis", response_class=HTMLResponse)
def crisis_list(request: Request, db: DbDep, actor: PageActor) -> HTMLResponse:
    perms = views.permissions(db, actor)
    incidents = svc.list_incidents(db, actor=actor)
    ctx = {
        "crises": svc.list_crises(db),
        "awaiting": views.awaiting_consultations(db, actor=actor),
        "consultations": svc.list_consultations(db, status="open"),
        "perms": perms,
        "incidents": [(i, views.incident_steps(actor, i)) for i in incidents],
        "escalated": [i for i in incidents if i.status == "escalated" and i.crisis_id is None],
        "categories": [c.value for c in CategoryName],
        "capabilities": [c.value for c in Capability],
        "my_resources": svc.list_resources(db, org_id=actor.org_id) if perms.national else [],
        "orgs": organisations_by_id(db),
        "metrics": metric_figures(svc.crisis_metrics(db)),
    }
    return page(request, "ui/crisis_list.html", ctx, actor=actor)


@router.post("/crisis/incidents")
async def report_incident(request: Request, db: WriteDb, actor: FormActor) -> Response:
    _back(request, "/crisis#incidents")
    form = await form_data(request)
    body = _validated(
        IncidentIn,
        {"title": _text(form, "title"), "description": _text(form, "description"),
         "category": _text(form, "category"), "severity": _text(form, "severity") or "0",
         "sector": _text(form, "sector"), "critical_infrastructure": _text(form, "critical_infrastructure") == "1"},
    )  # fmt: skip
    svc.report_incident(db, actor=actor, data=body)
    return _to("/crisis#incidents")


@router.post("/crisis/incidents/{incident_id}/advance")
async def advance_incident(request: Request, db: WriteDb, actor: FormActor, incident_id: IdPath) -> Response:
    _back(request, "/crisis#incidents")
    form = await form_data(request)
    body = _validated(TransitionIn, {"note": _text(form, "note")})
    verbs = {"triaged": svc.triage_incident, "escalated": svc.escalate_incident, "closed": svc.close_incident}
    verb = verbs.get(_text(form, "to"))
    if verb is None:
        raise InvalidInput(f"unknown incident step {_text(form, 'to')!r}", details={"field": "to"})
    verb(db, actor=actor, incident_id=incident_id, data=body)
    return _to("/crisis#incidents")


@router.post("/crisis/open")
async def open_crisis(request: Request, db: WriteDb, actor: FormActor) -> Response:
    _back(request, "/crisis#open-crisis")
    form = await form_data(request)
    body = _validated(
        CrisisIn,
        {"title": _text(form, "title"), "description": _text(form, "description"),
         "alert_level": _text(form, "alert_level") or "3",
         "incident_ids": [v for v in form.getlist("incident_ids") if isinstance(v, str)]},
    )  # fmt: skip
    crisis = svc.open_crisis(db, actor=actor, data=body)
    return _to(f"/crisis/{crisis.id}")


@router.post("/crisis/resources")
async def register_resource(request: Request, db: WriteDb, actor: FormActor) -> Response:
    form = await form_data(request)
    back = _text(form, "next")
    back = back if back.startswith("/crisis") and "//" not in back else "/crisis#resources"
    _back(request, back)
    body = _validated(
        ResourceIn,
        {"kind": _text(form, "kind"), "name": _text(form, "name"), "capability": _text(form, "capability"),
         "size": _text(form, "size") or "0", "readiness_hours": _text(form, "readiness_hours") or "0",
         "location": _text(form, "location")},
    )  # fmt: skip
    svc.register_resource(db, actor=actor, data=body)
    return _to(back)


# --- one crisis ----------------------------------------------------------------------------------


@router.get("/crisis/{crisis_id}", response_class=HTMLResponse)
def crisis_page(request: Request, db: DbDep, actor: PageActor, crisis_id: IdPath) -> HTMLResponse:
    crisis = svc.get_crisis(db, crisis_id=crisis_id)
    perms = views.permissions(db, actor)
    ctx = {
        "crisis": crisis,
        "perms": perms,
        "steps": views.crisis_steps(perms, crisis),
        "running": crisis.status in _RUNNING,
        "events": svc.timeline(db, crisis_id=crisis_id),
        "sitreps": svc.list_sitreps(db, crisis_id=crisis_id),
        "sitrep_every_h": int(
            SITREP_INTERVAL.get(crisis.alert_level, SITREP_INTERVAL[3]).total_seconds() // 3600
        ),
        "requests": svc.list_requests(db, crisis_id=crisis_id),
        "consultations": svc.list_consultations(db, crisis_id=crisis_id),
        "lessons": svc.list_lessons(db, crisis_id=crisis_id),
        "roles": svc.list_roles(db, crisis_id=crisis_id),
        "role_names": CRISIS_ROLES,
        "cap": alerts.list_alerts(db, crisis_id=crisis_id),
        "metrics": metric_figures(svc.crisis_metrics(db, crisis_id=crisis_id)),
        "capabilities": [c.value for c in Capability],
        "orgs": organisations_by_id(db),
    }
    return page(request, "ui/crisis.html", ctx, actor=actor)


@router.post("/crisis/{crisis_id}/advance")
async def advance_crisis(request: Request, db: WriteDb, actor: FormActor, crisis_id: IdPath) -> Response:
    _back(request, f"/crisis/{crisis_id}")
    form = await form_data(request)
    svc.advance_crisis(db, actor=actor, crisis_id=crisis_id, to=_text(form, "to"), note=_text(form, "note"))
    return _to(f"/crisis/{crisis_id}")


@router.post("/crisis/{crisis_id}/alert-level")
async def alert_level(request: Request, db: WriteDb, actor: FormActor, crisis_id: IdPath) -> Response:
    _back(request, f"/crisis/{crisis_id}")
    form = await form_data(request)
    level = _text(form, "level")
    if not level.isdigit():
        raise InvalidInput("alert level is 1 to 5", details={"field": "level"})
    svc.set_alert_level(db, actor=actor, crisis_id=crisis_id, level=int(level), note=_text(form, "note"))
    return _to(f"/crisis/{crisis_id}")


@router.post("/crisis/{crisis_id}/roles")
async def assign_role(request: Request, db: WriteDb, actor: FormActor, crisis_id: IdPath) -> Response:
    _back(request, f"/crisis/{crisis_id}#roles")
    form = await form_data(request)
    svc.assign_role(
        db, actor=actor, crisis_id=crisis_id, username=_text(form, "username"), role=_text(form, "role")
    )
    return _to(f"/crisis/{crisis_id}#roles")


@router.post("/crisis/{crisis_id}/roles/remove")
async def remove_role(request: Request, db: WriteDb, actor: FormActor, crisis_id: IdPath) -> Response:
    _back(request, f"/crisis/{crisis_id}#roles")
    form = await form_data(request)
    svc.remove_role(
        db, actor=actor, crisis_id=crisis_id, username=_text(form, "username"), role=_text(form, "role")
    )
    return _to(f"/crisis/{crisis_id}#roles")


@router.post("/crisis/{crisis_id}/sitreps")
async def add_sitrep(request: Request, db: WriteDb, actor: FormActor, crisis_id: IdPath) -> Response:
    _back(request, f"/crisis/{crisis_id}#sitreps")
    form = await form_data(request)
    body = _validated(
        SitrepIn,
        {"summary": _text(form, "summary"), "needs": _text(form, "needs"), "actions": _text(form, "actions"),
         "next_report_due": _when(_text(form, "next_report_due"))},
    )  # fmt: skip
    svc.add_sitrep(db, actor=actor, crisis_id=crisis_id, data=body)
    return _to(f"/crisis/{crisis_id}#sitreps")


@router.post("/crisis/{crisis_id}/lessons")
async def add_lesson(request: Request, db: WriteDb, actor: FormActor, crisis_id: IdPath) -> Response:
    _back(request, f"/crisis/{crisis_id}#lessons")
    form = await form_data(request)
    body = _validated(
        LessonIn, {"kind": _text(form, "kind"), "text": _text(form, "text"), "owner": _text(form, "owner")}
    )
    svc.add_lesson(db, actor=actor, crisis_id=crisis_id, data=body)
    return _to(f"/crisis/{crisis_id}#lessons")


@router.post("/crisis/{crisis_id}/cap")
async def issue_cap(request: Request, db: WriteDb, actor: FormActor, crisis_id: IdPath) -> Response:
    _back(request, f"/crisis/{crisis_id}#cap")
    form = await form_data(request)
    alerts.crisis_alert(
        db, actor=actor, crisis_id=crisis_id, node_name=get_settings(request).node_name,
        status=_text(form, "status") or "Actual",
    )  # fmt: skip
    return _to(f"/crisis/{crisis_id}#cap")


@router.get("/crisis/cap/{alert_id}")
def cap_xml(db: DbDep, actor: PageActor, alert_id: IdPath) -> Response:
    """The CAP message as issued (XML), to hand to warning systems."""
    row = alerts.get_alert(db, alert_id=alert_id)
    return Response(row.xml, media_type="application/xml")


@router.post("/crisis/{crisis_id}/requests")
async def create_request(request: Request, db: WriteDb, actor: FormActor, crisis_id: IdPath) -> Response:
    _back(request, f"/crisis/{crisis_id}#requests")
    form = await form_data(request)
    body = _validated(
        RequestIn,
        {"capability": _text(form, "capability"), "quantity": _text(form, "quantity") or "0",
         "location": _text(form, "location"), "description": _text(form, "description"),
         "needed_by": _when(_text(form, "needed_by"))},
    )  # fmt: skip
    req = svc.create_request(db, actor=actor, crisis_id=crisis_id, data=body)
    if _text(form, "submit") == "1":
        svc.submit_for_consultation(db, actor=actor, request_id=req.id)
    return _to(f"/crisis/requests/{req.id}")
