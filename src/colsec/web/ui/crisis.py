"""Crisis workspace: incidents, crises with their timeline, roles, sitreps, lessons and CAP alerts.

Requests for assistance, the resource board, offers and consultations have their pages in
``assistance.py``; both read their forms through ``forms.py``.

Every verb is the crisis domain's own (``colsec.crisis.service``), so roles,
organisation checks, state machines and audit rows are exactly the API's; what each
page offers comes from the same checks (``colsec.crisis.views.permissions``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

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
from colsec.formats.cap_feed import is_feed
from colsec.web.deps import DbDep, get_settings
from colsec.web.params import IdPath
from colsec.web.ui.forms import back_on_error, field, local_next, see_other, validated, when
from colsec.web.ui.render import FormActor, PageActor, WriteDb, form_data, page

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_RUNNING = ("opened", "active", "stabilising")


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
    back_on_error(request, "/crisis#incidents")
    form = await form_data(request)
    body = validated(
        IncidentIn,
        {"title": field(form, "title"), "description": field(form, "description"),
         "category": field(form, "category"), "severity": field(form, "severity") or "0",
         "sector": field(form, "sector"), "critical_infrastructure": field(form, "critical_infrastructure") == "1"},
    )  # fmt: skip
    svc.report_incident(db, actor=actor, data=body)
    return see_other("/crisis#incidents")


@router.post("/crisis/incidents/{incident_id}/advance")
async def advance_incident(request: Request, db: WriteDb, actor: FormActor, incident_id: IdPath) -> Response:
    back_on_error(request, "/crisis#incidents")
    form = await form_data(request)
    body = validated(TransitionIn, {"note": field(form, "note")})
    verbs = {"triaged": svc.triage_incident, "escalated": svc.escalate_incident, "closed": svc.close_incident}
    verb = verbs.get(field(form, "to"))
    if verb is None:
        raise InvalidInput(f"unknown incident step {field(form, 'to')!r}", details={"field": "to"})
    verb(db, actor=actor, incident_id=incident_id, data=body)
    return see_other("/crisis#incidents")


@router.post("/crisis/open")
async def open_crisis(request: Request, db: WriteDb, actor: FormActor) -> Response:
    back_on_error(request, "/crisis#open-crisis")
    form = await form_data(request)
    body = validated(
        CrisisIn,
        {"title": field(form, "title"), "description": field(form, "description"),
         "alert_level": field(form, "alert_level") or "3",
         "incident_ids": [v for v in form.getlist("incident_ids") if isinstance(v, str)]},
    )  # fmt: skip
    crisis = svc.open_crisis(db, actor=actor, data=body)
    return see_other(f"/crisis/{crisis.id}")


@router.post("/crisis/resources")
async def register_resource(request: Request, db: WriteDb, actor: FormActor) -> Response:
    form = await form_data(request)
    back = local_next(field(form, "next"), prefix="/crisis", default="/crisis#resources")
    back_on_error(request, back)
    body = validated(
        ResourceIn,
        {"kind": field(form, "kind"), "name": field(form, "name"), "capability": field(form, "capability"),
         "size": field(form, "size") or "0", "readiness_hours": field(form, "readiness_hours") or "0",
         "location": field(form, "location")},
    )  # fmt: skip
    svc.register_resource(db, actor=actor, data=body)
    return see_other(back)


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
    back_on_error(request, f"/crisis/{crisis_id}")
    form = await form_data(request)
    svc.advance_crisis(db, actor=actor, crisis_id=crisis_id, to=field(form, "to"), note=field(form, "note"))
    return see_other(f"/crisis/{crisis_id}")


@router.post("/crisis/{crisis_id}/alert-level")
async def alert_level(request: Request, db: WriteDb, actor: FormActor, crisis_id: IdPath) -> Response:
    back_on_error(request, f"/crisis/{crisis_id}")
    form = await form_data(request)
    level = field(form, "level")
    if not level.isdigit():
        raise InvalidInput("alert level is 1 to 5", details={"field": "level"})
    svc.set_alert_level(db, actor=actor, crisis_id=crisis_id, level=int(level), note=field(form, "note"))
    return see_other(f"/crisis/{crisis_id}")


@router.post("/crisis/{crisis_id}/roles")
async def assign_role(request: Request, db: WriteDb, actor: FormActor, crisis_id: IdPath) -> Response:
    back_on_error(request, f"/crisis/{crisis_id}#roles")
    form = await form_data(request)
    svc.assign_role(
        db, actor=actor, crisis_id=crisis_id, username=field(form, "username"), role=field(form, "role")
    )
    return see_other(f"/crisis/{crisis_id}#roles")


@router.post("/crisis/{crisis_id}/roles/remove")
async def remove_role(request: Request, db: WriteDb, actor: FormActor, crisis_id: IdPath) -> Response:
    back_on_error(request, f"/crisis/{crisis_id}#roles")
    form = await form_data(request)
    svc.remove_role(
        db, actor=actor, crisis_id=crisis_id, username=field(form, "username"), role=field(form, "role")
    )
    return see_other(f"/crisis/{crisis_id}#roles")


@router.post("/crisis/{crisis_id}/sitreps")
async def add_sitrep(request: Request, db: WriteDb, actor: FormActor, crisis_id: IdPath) -> Response:
    back_on_error(request, f"/crisis/{crisis_id}#sitreps")
    form = await form_data(request)
    body = validated(
        SitrepIn,
        {"summary": field(form, "summary"), "needs": field(form, "needs"), "actions": field(form, "actions"),
         "next_report_due": when(field(form, "next_report_due"))},
    )  # fmt: skip
    svc.add_sitrep(db, actor=actor, crisis_id=crisis_id, data=body)
    return see_other(f"/crisis/{crisis_id}#sitreps")


@router.post("/crisis/{crisis_id}/lessons")
async def add_lesson(request: Request, db: WriteDb, actor: FormActor, crisis_id: IdPath) -> Response:
    back_on_error(request, f"/crisis/{crisis_id}#lessons")
    form = await form_data(request)
    body = validated(
        LessonIn, {"kind": field(form, "kind"), "text": field(form, "text"), "owner": field(form, "owner")}
    )
    svc.add_lesson(db, actor=actor, crisis_id=crisis_id, data=body)
    return see_other(f"/crisis/{crisis_id}#lessons")


@router.post("/crisis/{crisis_id}/cap")
async def issue_cap(request: Request, db: WriteDb, actor: FormActor, crisis_id: IdPath) -> Response:
    back_on_error(request, f"/crisis/{crisis_id}#cap")
    form = await form_data(request)
    alerts.crisis_alert(
        db, actor=actor, crisis_id=crisis_id, node_name=get_settings(request).node_name,
        status=field(form, "status") or "Actual",
    )  # fmt: skip
    return see_other(f"/crisis/{crisis_id}#cap")


@router.post("/crisis/{crisis_id}/cap/import")
async def import_cap(request: Request, db: WriteDb, actor: FormActor, crisis_id: IdPath) -> Response:
    """An agency's CAP alert, or its feed, uploaded by the crisis staff and attached to this crisis."""
    back_on_error(request, f"/crisis/{crisis_id}#cap")
    form = await form_data(request)
    upload = form.get("file")
    data = await upload.read() if isinstance(upload, UploadFile) else b""
    if not data.strip():
        raise InvalidInput("choose a CAP alert or feed file to import", kind="choose_cap_file")
    if not is_feed(data):
        alerts.import_alert(db, actor=actor, data=data, crisis_id=crisis_id)
        return see_other(f"/crisis/{crisis_id}#cap")
    outcomes = alerts.import_feed(db, actor=actor, data=data, crisis_id=crisis_id)
    ctx = {
        "crisis_id": crisis_id, "outcomes": outcomes, "total": len(outcomes),
        "imported": sum(o.outcome == "imported" for o in outcomes),
    }  # fmt: skip
    return page(request, "ui/cap_feed.html", ctx, actor=actor)


@router.get("/crisis/cap/{alert_id}.xml")
def cap_xml(db: DbDep, actor: PageActor, alert_id: IdPath) -> Response:
    """The CAP message as issued (XML), to hand to warning systems."""
    row = alerts.get_alert(db, alert_id=alert_id)
    return Response(row.xml, media_type="application/xml")


@router.get("/crisis/cap/{alert_id}", response_class=HTMLResponse)
def cap_page(request: Request, db: DbDep, actor: PageActor, alert_id: IdPath) -> HTMLResponse:
    """A CAP alert read in the UI (the crisis page links here), its XML one click away."""
    row, msg = alerts.read_alert(db, alert_id=alert_id)
    return page(request, "ui/cap_alert.html", {"a": row, "msg": msg}, actor=actor)


@router.post("/crisis/{crisis_id}/requests")
async def create_request(request: Request, db: WriteDb, actor: FormActor, crisis_id: IdPath) -> Response:
    back_on_error(request, f"/crisis/{crisis_id}#requests")
    form = await form_data(request)
    body = validated(
        RequestIn,
        {"capability": field(form, "capability"), "quantity": field(form, "quantity") or "0",
         "location": field(form, "location"), "description": field(form, "description"),
         "needed_by": when(field(form, "needed_by"))},
    )  # fmt: skip
    req = svc.create_request(db, actor=actor, crisis_id=crisis_id, data=body)
    if field(form, "submit") == "1":
        svc.submit_for_consultation(db, actor=actor, request_id=req.id)
    return see_other(f"/crisis/requests/{req.id}")
