"""Working groups API (``/api/v1/groups``): thin routes over ``colsec.groups``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile
from fastapi.responses import Response

from colsec.accounts.roles import Role
from colsec.errors import Forbidden
from colsec.groups import actions, meetings, minutes, papers, procedure, service, views
from colsec.groups.ics import invitation
from colsec.groups.models import AgendaItem
from colsec.groups.schemas import (
    ActionIn,
    ActionOut,
    AgendaIn,
    AnswerIn,
    AttendanceIn,
    CommentIn,
    CommentOut,
    DecisionIn,
    DecisionOut,
    DelegationIn,
    GroupIn,
    GroupOut,
    LessonActionIn,
    MeetingIn,
    MeetingOut,
    MemberIn,
    MinutesIn,
    OfficersIn,
    PersonIn,
    ProcedureIn,
    ProcedureOut,
)
from colsec.web.deps import ActorDep, DbDep
from colsec.web.params import IdPath, IdQuery

__all__ = ["router"]


def people_only(actor: ActorDep) -> None:
    """Sync accounts (role ``peer``) exchange intelligence; committee work is for people."""
    if actor.role == Role.PEER:
        raise Forbidden("peer (sync) accounts have no access to working groups")


router = APIRouter(prefix="/api/v1/groups", tags=["groups"], dependencies=[Depends(people_only)])
Q = Annotated[str, Query(max_length=200)]


@router.get("", response_model=list[GroupOut])
def list_groups(db: DbDep, actor: ActorDep) -> Any:
    return service.list_groups(db, actor=actor)


@router.post("", status_code=201, response_model=GroupOut)
def create_group(data: GroupIn, db: DbDep, actor: ActorDep) -> Any:
    return service.create_group(db, actor=actor, data=data)


# --- decisions register ---------------------------------------------------------------------------


@router.get("/decisions", response_model=list[DecisionOut])
def search_decisions(
    db: DbDep, actor: ActorDep, q: Q = "", group_id: IdQuery = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100, offset: Annotated[int, Query(ge=0)] = 0,
) -> Any:  # fmt: skip
    return views.search_decisions(db, actor=actor, q=q, group_id=group_id, limit=limit, offset=offset)


@router.get("/decisions.csv")
def decisions_csv(db: DbDep, actor: ActorDep, q: Q = "", group_id: IdQuery = None) -> Response:
    body = views.decisions_csv(db, actor=actor, group_id=group_id, q=q)
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="decisions.csv"'})  # fmt: skip


# --- meetings --------------------------------------------------------------------------------------


@router.get("/meetings/{meeting_id}")
def get_meeting(meeting_id: IdPath, db: DbDep, actor: ActorDep) -> dict[str, Any]:
    from sqlalchemy import select

    m, _ = meetings.get_meeting(db, actor=actor, meeting_id=meeting_id)
    agenda = db.execute(
        select(AgendaItem).where(AgendaItem.meeting_id == m.id).order_by(AgendaItem.position)
    ).scalars()
    return {**MeetingOut.model_validate(m).model_dump(mode="json"),
            "agenda": [{"id": a.id, "position": a.position, "title": a.title, "presenter": a.presenter,
                        "decision_sought": a.decision_sought, "action_item_id": a.action_item_id} for a in agenda]}  # fmt: skip


@router.post("/meetings/{meeting_id}/agenda", status_code=201)
def add_agenda_item(meeting_id: IdPath, data: AgendaIn, db: DbDep, actor: ActorDep) -> dict[str, Any]:
    from colsec.groups.access import require_officer

    m, g = meetings.get_meeting(db, actor=actor, meeting_id=meeting_id)
    require_officer(g, actor, doing="change the agenda")
    item = meetings.add_agenda_item(db, meeting=m, data=data)
    return {"id": item.id, "position": item.position, "title": item.title}


@router.post("/meetings/{meeting_id}/invitations")
def send_invitations(meeting_id: IdPath, db: DbDep, actor: ActorDep) -> dict[str, int]:
    return {"queued": meetings.send_invitations(db, actor=actor, meeting_id=meeting_id)}


@router.get("/meetings/{meeting_id}/invite.ics")
def meeting_ics(meeting_id: IdPath, db: DbDep, actor: ActorDep) -> Response:
    from sqlalchemy import select

    m, g = meetings.get_meeting(db, actor=actor, meeting_id=meeting_id)
    agenda = list(
        db.execute(
            select(AgendaItem).where(AgendaItem.meeting_id == m.id).order_by(AgendaItem.position)
        ).scalars()
    )
    return Response(invitation(g, m, agenda, attendees=()), media_type="text/calendar; charset=utf-8")


@router.post("/meetings/{meeting_id}/held", response_model=MeetingOut)
def hold_meeting(meeting_id: IdPath, data: AttendanceIn, db: DbDep, actor: ActorDep) -> Any:
    return meetings.hold_meeting(db, actor=actor, meeting_id=meeting_id, present=data.present)


@router.post("/meetings/{meeting_id}/minutes", response_model=MeetingOut)
def draft_minutes(meeting_id: IdPath, data: MinutesIn, db: DbDep, actor: ActorDep) -> Any:
    return minutes.draft_minutes(db, actor=actor, meeting_id=meeting_id, minutes_en=data.minutes_en,
                                 minutes_ru=data.minutes_ru, comments_until=data.comments_until)  # fmt: skip


@router.post("/meetings/{meeting_id}/minutes/comments", response_model=CommentOut, status_code=201)
def comment_minutes(meeting_id: IdPath, data: CommentIn, db: DbDep, actor: ActorDep) -> Any:
    """An attendee's comment on draft minutes, until the comment deadline."""
    return minutes.comment_minutes(db, actor=actor, meeting_id=meeting_id, text=data.text)


@router.get("/meetings/{meeting_id}/minutes/comments", response_model=list[CommentOut])
def minutes_comments(meeting_id: IdPath, db: DbDep, actor: ActorDep) -> Any:
    return minutes.minutes_comments(db, actor=actor, meeting_id=meeting_id)


@router.post("/meetings/{meeting_id}/minutes/approve", response_model=MeetingOut)
def approve_minutes(meeting_id: IdPath, db: DbDep, actor: ActorDep) -> Any:
    return minutes.approve_minutes(db, actor=actor, meeting_id=meeting_id)


@router.get("/meetings/{meeting_id}/minutes.pdf")
def minutes_pdf(meeting_id: IdPath, db: DbDep, actor: ActorDep) -> Response:
    return Response(views.minutes_pdf(db, actor=actor, meeting_id=meeting_id), media_type="application/pdf")


@router.post("/meetings/{meeting_id}/decisions", status_code=201, response_model=DecisionOut)
def record_decision(meeting_id: IdPath, data: DecisionIn, db: DbDep, actor: ActorDep) -> Any:
    return meetings.record_meeting_decision(db, actor=actor, meeting_id=meeting_id, data=data)


# --- written procedures ----------------------------------------------------------------------------


@router.get("/procedures/{procedure_id}", response_model=ProcedureOut)
def get_procedure(procedure_id: IdPath, db: DbDep, actor: ActorDep) -> Any:
    return procedure.get_procedure(db, actor=actor, procedure_id=procedure_id)[0]


@router.post("/procedures/{procedure_id}/answers", status_code=201)
def answer(procedure_id: IdPath, data: AnswerIn, db: DbDep, actor: ActorDep) -> dict[str, Any]:
    a = procedure.answer(db, actor=actor, procedure_id=procedure_id, data=data)
    return {"id": a.id, "stance": a.stance, "by_deputy": a.by_deputy}


# --- action items ----------------------------------------------------------------------------------


@router.post("/actions/{action_id}/{to}", response_model=ActionOut)
def move_action(action_id: IdPath, to: str, db: DbDep, actor: ActorDep) -> Any:
    return actions.move_action(db, actor=actor, action_id=action_id, to=to)


# --- papers ----------------------------------------------------------------------------------------


def _paper_out(p: Any, versions: list[Any]) -> dict[str, Any]:
    return {"id": p.id, "group_id": p.group_id, "title": p.title, "language": p.language, "tlp": p.tlp,
            "meeting_id": p.meeting_id, "agenda_item_id": p.agenda_item_id,
            "versions": [{"version": v.version, "filename": v.filename, "size": v.size, "sha256": v.sha256,
                          "content_type": v.content_type} for v in versions]}  # fmt: skip


@router.get("/papers/{paper_id}")
def get_paper(paper_id: IdPath, db: DbDep, actor: ActorDep) -> dict[str, Any]:
    return _paper_out(*papers.get_paper(db, actor=actor, paper_id=paper_id))


@router.get("/papers/{paper_id}/versions/{version}/file")
def paper_file(paper_id: IdPath, version: IdPath, db: DbDep, actor: ActorDep) -> Response:
    from colsec.errors import NotFound

    _, versions = papers.get_paper(db, actor=actor, paper_id=paper_id)
    v = next((v for v in versions if v.version == version), None)
    if v is None:
        raise NotFound(f"paper {paper_id} has no version {version}")
    return Response(v.content, media_type=v.content_type,
                    headers={"Content-Disposition": "attachment", "X-Content-SHA256": v.sha256})  # fmt: skip


@router.post("/papers/{paper_id}/versions", status_code=201)
async def add_paper_version(
    paper_id: IdPath, db: DbDep, actor: ActorDep, file: Annotated[UploadFile, File()]
) -> dict[str, Any]:
    content = await file.read(papers.MAX_PAPER_BYTES + 1)
    v = papers.add_paper_version(
        db, actor=actor, paper_id=paper_id, filename=file.filename or "", content=content
    )
    return {"version": v.version, "sha256": v.sha256, "size": v.size}


# --- one group -------------------------------------------------------------------------------------


@router.get("/{group_id}")
def get_group(group_id: IdPath, db: DbDep, actor: ActorDep) -> dict[str, Any]:
    pg = views.group_page(db, actor=actor, group_id=group_id)
    return {**GroupOut.model_validate(pg.group).model_dump(mode="json"),
            "members": [{"organisation": s, "kind": k} for s, k in pg.members], "chair": pg.chair,
            "secretary": pg.secretary, "open_actions": pg.open_actions,
            "people": [{"organisation": o, "username": u, "function": f} for o, u, f in pg.people],
            "meetings": [MeetingOut.model_validate(m).model_dump(mode="json") for m in pg.meetings],
            "procedures": [ProcedureOut.model_validate(p).model_dump(mode="json") for p in pg.procedures],
            "decisions": [DecisionOut.model_validate(d).model_dump(mode="json") for d in pg.decisions],
            "actions": [ActionOut.model_validate(a).model_dump(mode="json") for a in pg.actions],
            "papers": [{"id": p.id, "title": p.title, "tlp": p.tlp, "language": p.language} for p in pg.papers]}  # fmt: skip


@router.post("/{group_id}/members", status_code=201)
def add_member(group_id: IdPath, data: MemberIn, db: DbDep, actor: ActorDep) -> dict[str, Any]:
    m = service.add_member(db, actor=actor, group_id=group_id, data=data)
    return {"id": m.id, "organisation_id": m.organisation_id, "kind": m.kind}


@router.delete("/{group_id}/members/{organisation}", status_code=204)
def remove_member(group_id: IdPath, organisation: str, db: DbDep, actor: ActorDep) -> None:
    service.remove_member(db, actor=actor, group_id=group_id, organisation=organisation)


@router.post("/{group_id}/people", status_code=201)
def add_person(group_id: IdPath, data: PersonIn, db: DbDep, actor: ActorDep) -> dict[str, Any]:
    p = service.add_person(db, actor=actor, group_id=group_id, data=data)
    return {"id": p.id, "organisation_id": p.organisation_id, "user_id": p.user_id, "function": p.function}


@router.delete("/{group_id}/people/{username}", status_code=204)
def remove_person(group_id: IdPath, username: str, db: DbDep, actor: ActorDep) -> None:
    service.remove_person(db, actor=actor, group_id=group_id, username=username)


@router.patch("/{group_id}/officers", response_model=GroupOut)
def set_officers(group_id: IdPath, data: OfficersIn, db: DbDep, actor: ActorDep) -> Any:
    """Only the offices sent change; ``null`` leaves one vacant."""
    return service.set_officers(db, actor=actor, group_id=group_id, data=data)


@router.post("/{group_id}/delegations", status_code=201)
def delegate(group_id: IdPath, data: DelegationIn, db: DbDep, actor: ActorDep) -> dict[str, Any]:
    d = service.delegate(db, actor=actor, group_id=group_id, data=data)
    return {"id": d.id, "starts_at": d.starts_at.isoformat(), "ends_at": d.ends_at.isoformat()}


@router.post("/{group_id}/meetings", status_code=201, response_model=MeetingOut)
def create_meeting(group_id: IdPath, data: MeetingIn, db: DbDep, actor: ActorDep) -> Any:
    return meetings.create_meeting(db, actor=actor, group_id=group_id, data=data)


@router.post("/{group_id}/procedures", status_code=201, response_model=ProcedureOut)
def open_procedure(group_id: IdPath, data: ProcedureIn, db: DbDep, actor: ActorDep) -> Any:
    return procedure.open_procedure(db, actor=actor, group_id=group_id, data=data)


@router.post("/{group_id}/actions", status_code=201, response_model=ActionOut)
def create_action(group_id: IdPath, data: ActionIn, db: DbDep, actor: ActorDep) -> Any:
    return actions.create_action(db, actor=actor, group_id=group_id, data=data)


@router.post("/{group_id}/actions/from-lesson", status_code=201, response_model=ActionOut)
def action_from_lesson(group_id: IdPath, data: LessonActionIn, db: DbDep, actor: ActorDep) -> Any:
    return actions.action_from_lesson(db, actor=actor, group_id=group_id, data=data)


@router.get("/{group_id}/decisions.pdf")
def decisions_pdf(group_id: IdPath, db: DbDep, actor: ActorDep) -> Response:
    return Response(views.decisions_pdf(db, actor=actor, group_id=group_id), media_type="application/pdf")


@router.post("/{group_id}/papers", status_code=201)
async def upload_paper(
    group_id: IdPath, db: DbDep, actor: ActorDep, file: Annotated[UploadFile, File()],
    title: Annotated[str, Form(max_length=300)], language: Annotated[str, Form(max_length=8)] = "en",
    tlp: Annotated[str | None, Form(max_length=20)] = None,
    recipients: Annotated[str, Form(max_length=2000, description="comma-separated organisation short names")] = "",
    meeting_id: Annotated[int | None, Form(ge=1)] = None, agenda_item_id: Annotated[int | None, Form(ge=1)] = None,
) -> dict[str, Any]:  # fmt: skip
    content = await file.read(papers.MAX_PAPER_BYTES + 1)
    p = papers.upload_paper(
        db, actor=actor, group_id=group_id, title=title, language=language, tlp=tlp, filename=file.filename or "",
        content=content, recipients=[r.strip() for r in recipients.split(",") if r.strip()] or None,
        meeting_id=meeting_id, agenda_item_id=agenda_item_id,
    )  # fmt: skip
    return _paper_out(*papers.get_paper(db, actor=actor, paper_id=p.id))
