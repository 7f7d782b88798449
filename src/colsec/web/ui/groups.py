"""Working group pages: the list with the decisions search, and one group's page with role-aware actions.

Each person sees only the buttons they may use: the owner organisation moves its action items,
the chair verifies them and approves minutes, the secretary drafts minutes, a representative (or a
deputy under an active delegation) answers written procedures and delegates, the officers (and the
node operator) change the membership, record attendance and decisions and set action items, and the
crisis centre appoints the officers.  The domain checks again on every post.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from colsec.accounts.roles import Actor
from colsec.crisis.access import allows, require_centre
from colsec.crisis.states import now
from colsec.errors import InvalidInput
from colsec.groups import actions, meetings, minutes, papers, procedure, service, views
from colsec.groups.access import is_officer, sees
from colsec.groups.models import Delegation, Person, ProcedureAnswer
from colsec.groups.schemas import (
    ActionIn,
    AgendaIn,
    AnswerIn,
    DecisionIn,
    DelegationIn,
    GroupIn,
    MeetingIn,
    MemberIn,
    OfficersIn,
    PersonIn,
    ProcedureIn,
    Stance,
)
from colsec.web.deps import DbDep
from colsec.web.i18n import N_
from colsec.web.params import IdPath
from colsec.web.ui.forms import back_on_error, field, see_other, validated, when
from colsec.web.ui.render import FormActor, PageActor, WriteDb, form_data, language_of, page

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/groups", response_class=HTMLResponse)
def groups_page(request: Request, db: DbDep, actor: PageActor, q: str = "") -> HTMLResponse:
    q = q.strip()[:200]
    groups = service.list_groups(db, actor=actor)
    found = views.search_decisions(db, actor=actor, q=q, limit=100) if q else []
    codes = {g.id: g.code for g in groups}
    lang = language_of(request, actor)
    can_create = allows(lambda: require_centre(db, actor, doing="create working groups"))
    ctx = {"groups": groups, "q": q, "found": found, "codes": codes, "lang": lang, "can_create": can_create}
    return page(request, "ui/groups_list.html", ctx, actor=actor, lang=lang)


@router.post("/groups")
async def create_group(request: Request, db: WriteDb, actor: FormActor) -> Response:
    """The crisis centre sets a group up: its names, kind, officers and member organisations (the
    chair or secretary then plans its meetings and written procedures on its page)."""
    back_on_error(request, "/groups")
    form = await form_data(request)
    members = [{"organisation": o.strip()} for o in field(form, "members").split(",") if o.strip()]
    data = validated(GroupIn, {"code": field(form, "code"), "name_en": field(form, "name_en"),
                               "name_ru": field(form, "name_ru") or field(form, "name_en"),
                               "kind": field(form, "kind") or "working_group", "chair": field(form, "chair") or None,
                               "secretary": field(form, "secretary") or None, "members": members})  # fmt: skip
    g = service.create_group(db, actor=actor, data=data)
    officer = actor.user_id is not None and actor.user_id in (g.chair_user_id, g.secretary_user_id)
    return see_other(f"/groups/{g.id}" if officer or actor.is_operator else "/groups")


def _voice(db: Session, actor: Actor, group_id: int, my_kind: str | None) -> bool:
    """May this person answer written procedures for their organisation right now?"""
    if my_kind != "member" or actor.user_id is None:
        return False
    fn = db.execute(
        select(Person.function).where(Person.group_id == group_id, Person.user_id == actor.user_id)
    ).scalar()
    if fn == "representative":
        return True
    at = now()
    return fn == "deputy" and db.execute(
        select(Delegation.id).where(Delegation.group_id == group_id, Delegation.deputy_user_id == actor.user_id,
                                    Delegation.starts_at <= at, Delegation.ends_at > at)
    ).first() is not None  # fmt: skip


@router.get("/groups/{group_id}", response_class=HTMLResponse)
def group_page(request: Request, db: DbDep, actor: PageActor, group_id: IdPath) -> HTMLResponse:
    pg = views.group_page(db, actor=actor, group_id=group_id)
    lang = language_of(request, actor)
    answered: set[int] = set()
    if actor.org_id is not None and pg.procedures:
        answered = set(db.execute(select(ProcedureAnswer.procedure_id).where(
            ProcedureAnswer.organisation_id == actor.org_id,
            ProcedureAnswer.procedure_id.in_([p.id for p in pg.procedures])
        )).scalars())  # fmt: skip
    mine = {(f, o) for o, u, f in pg.people if u == actor.username}
    ctx: dict[str, Any] = {
        "pg": pg, "g": pg.group, "lang": lang, "answered": answered,
        "may_answer": _voice(db, actor, pg.group.id, pg.my_kind), "my_org": actor.org_id,
        "now": now(), "officer": is_officer(pg.group, actor),
        "may_appoint": allows(lambda: service.require_appointer(db, actor)),
        # a representative delegates to the deputies of their own organisation
        "my_deputies": [u for o, u, f in pg.people if f == "deputy" and ("representative", o) in mine],
    }  # fmt: skip
    return page(request, "ui/group.html", ctx, actor=actor, lang=lang)


@router.post("/groups/procedures/{procedure_id}/answer")
async def answer(request: Request, db: WriteDb, actor: FormActor, procedure_id: IdPath) -> Response:
    form = await form_data(request)
    try:
        stance = Stance(field(form, "stance"))
    except ValueError:
        raise InvalidInput("choose agree, object or abstain", kind="choose_stance") from None
    p, _ = procedure.get_procedure(db, actor=actor, procedure_id=procedure_id)
    procedure.answer(db, actor=actor, procedure_id=procedure_id,
                     data=AnswerIn(stance=stance, comment=field(form, "comment")[:5000]))  # fmt: skip
    return see_other(f"/groups/{p.group_id}#procedures")


@router.post("/groups/actions/{action_id}/move")
async def move_action(request: Request, db: WriteDb, actor: FormActor, action_id: IdPath) -> Response:
    form = await form_data(request)
    a = actions.move_action(db, actor=actor, action_id=action_id, to=field(form, "to"))
    return see_other(f"/groups/{a.group_id}#actions")


@router.post("/groups/meetings/{meeting_id}/minutes")
async def draft_minutes(request: Request, db: WriteDb, actor: FormActor, meeting_id: IdPath) -> Response:
    m = minutes.draft_minutes(db, actor=actor, meeting_id=meeting_id)
    return see_other(f"/groups/{m.group_id}#meetings")


@router.post("/groups/meetings/{meeting_id}/comments")
async def comment_minutes(request: Request, db: WriteDb, actor: FormActor, meeting_id: IdPath) -> Response:
    form = await form_data(request)
    minutes.comment_minutes(db, actor=actor, meeting_id=meeting_id, text=field(form, "text"))
    m, _ = meetings.get_meeting(db, actor=actor, meeting_id=meeting_id)
    return see_other(f"/groups/{m.group_id}#meetings")


@router.post("/groups/meetings/{meeting_id}/approve")
async def approve_minutes(request: Request, db: WriteDb, actor: FormActor, meeting_id: IdPath) -> Response:
    m = minutes.approve_minutes(db, actor=actor, meeting_id=meeting_id)
    return see_other(f"/groups/{m.group_id}#meetings")


def _local(value: str) -> str:
    """A datetime-local field (YYYY-MM-DDTHH:MM) as ISO seconds."""
    return value + ":00" if len(value) == 16 else value


@router.post("/groups/{group_id}/meetings")
async def plan_meeting(request: Request, db: WriteDb, actor: FormActor, group_id: IdPath) -> Response:
    """The chair or secretary plans a meeting (local time in its own zone), one agenda item per line."""
    back_on_error(request, f"/groups/{group_id}#meetings")
    form = await form_data(request)
    agenda = [
        AgendaIn(title=line.strip()[:300], presenter="")
        for line in field(form, "agenda").splitlines()
        if line.strip()
    ]
    data = validated(MeetingIn, {"title": field(form, "title"), "starts_at": _local(field(form, "starts_at")),
                                  "tz": field(form, "tz") or "UTC", "place": field(form, "place"), "agenda": agenda},
                     labels={"starts_at": N_("Start (local time)")})  # fmt: skip
    meetings.create_meeting(db, actor=actor, group_id=group_id, data=data)
    return see_other(f"/groups/{group_id}#meetings")


@router.post("/groups/{group_id}/procedures")
async def open_procedure(request: Request, db: WriteDb, actor: FormActor, group_id: IdPath) -> Response:
    back_on_error(request, f"/groups/{group_id}#procedures")
    form = await form_data(request)
    deadline = _local(field(form, "deadline"))
    data = validated(ProcedureIn, {"question": field(form, "question"), "text_en": field(form, "text_en"),
                                    "text_ru": field(form, "text_ru"), "rule": field(form, "rule") or "consensus",
                                    "deadline": deadline + "Z" if deadline and deadline[-1].isdigit() else deadline},
                     labels={"deadline": N_("Deadline (UTC)")})  # fmt: skip
    procedure.open_procedure(db, actor=actor, group_id=group_id, data=data)
    return see_other(f"/groups/{group_id}#procedures")


@router.post("/groups/{group_id}/papers")
async def table_paper(request: Request, db: WriteDb, actor: FormActor, group_id: IdPath) -> Response:
    from starlette.datastructures import UploadFile

    back_on_error(request, f"/groups/{group_id}#papers")
    form = await form_data(request)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise InvalidInput("choose a file to upload", kind="choose_file")
    content = await upload.read(papers.MAX_PAPER_BYTES + 1)
    recipients = [r.strip() for r in field(form, "recipients").split(",") if r.strip()]
    papers.upload_paper(db, actor=actor, group_id=group_id, title=field(form, "title"), language=field(form, "language") or "en",
                         tlp=field(form, "tlp") or None, filename=upload.filename, content=content, recipients=recipients or None)  # fmt: skip
    return see_other(f"/groups/{group_id}#papers")


@router.post("/groups/{group_id}/members")
async def add_member(request: Request, db: WriteDb, actor: FormActor, group_id: IdPath) -> Response:
    """An officer adds a member or observer organisation, with its representative if named."""
    back_on_error(request, f"/groups/{group_id}#members")
    form = await form_data(request)
    data = validated(MemberIn, {"organisation": field(form, "organisation"), "kind": field(form, "kind") or "member",
                                "representative": field(form, "representative") or None})  # fmt: skip
    service.add_member(db, actor=actor, group_id=group_id, data=data)
    return see_other(f"/groups/{group_id}#members")


def _removal_confirmed(form: FormData) -> None:
    """A removal takes the organisation's people and their delegations with it, and cannot be
    undone from the page: the form asks for a ticked box first (the CSP allows no inline script
    for a confirm() dialog), and a post without it is refused rather than acted on."""
    if field(form, "confirm") != "1":
        raise InvalidInput("tick the box to confirm the removal", kind="removal_not_confirmed")


@router.post("/groups/{group_id}/members/remove")
async def remove_member(request: Request, db: WriteDb, actor: FormActor, group_id: IdPath) -> Response:
    back_on_error(request, f"/groups/{group_id}#members")
    form = await form_data(request)
    _removal_confirmed(form)
    service.remove_member(db, actor=actor, group_id=group_id, organisation=field(form, "organisation"))
    return see_other(f"/groups/{group_id}#members")


@router.post("/groups/{group_id}/people")
async def add_person(request: Request, db: WriteDb, actor: FormActor, group_id: IdPath) -> Response:
    back_on_error(request, f"/groups/{group_id}#members")
    form = await form_data(request)
    data = validated(PersonIn, {"organisation": field(form, "organisation"), "username": field(form, "username"),
                                "function": field(form, "function") or "deputy"})  # fmt: skip
    service.add_person(db, actor=actor, group_id=group_id, data=data)
    return see_other(f"/groups/{group_id}#members")


@router.post("/groups/{group_id}/people/remove")
async def remove_person(request: Request, db: WriteDb, actor: FormActor, group_id: IdPath) -> Response:
    back_on_error(request, f"/groups/{group_id}#members")
    form = await form_data(request)
    _removal_confirmed(form)
    service.remove_person(db, actor=actor, group_id=group_id, username=field(form, "username"))
    return see_other(f"/groups/{group_id}#members")


@router.post("/groups/{group_id}/officers")
async def set_officers(request: Request, db: WriteDb, actor: FormActor, group_id: IdPath) -> Response:
    """Both offices are posted; an empty one is left vacant. Whoever hands over an office they held
    and is otherwise not in the group goes back to the list, where the group is no longer theirs."""
    back_on_error(request, f"/groups/{group_id}#members")
    form = await form_data(request)
    data = validated(
        OfficersIn, {"chair": field(form, "chair") or None, "secretary": field(form, "secretary") or None}
    )
    service.set_officers(db, actor=actor, group_id=group_id, data=data)
    return see_other(f"/groups/{group_id}#members" if sees(db, actor, group_id) else "/groups")


@router.post("/groups/{group_id}/delegations")
async def delegate(request: Request, db: WriteDb, actor: FormActor, group_id: IdPath) -> Response:
    """The representative lets a deputy answer for the organisation between two UTC times."""
    back_on_error(request, f"/groups/{group_id}#members")
    form = await form_data(request)
    data = validated(DelegationIn, {"deputy": field(form, "deputy"), "starts_at": when(field(form, "starts_at")),
                                    "ends_at": when(field(form, "ends_at"))},
                     labels={"starts_at": N_("From (UTC)")})  # fmt: skip
    service.delegate(db, actor=actor, group_id=group_id, data=data)
    return see_other(f"/groups/{group_id}#members")


@router.post("/groups/{group_id}/actions")
async def create_action(request: Request, db: WriteDb, actor: FormActor, group_id: IdPath) -> Response:
    """An officer sets an action item outside minutes, optionally following one of the group's decisions."""
    back_on_error(request, f"/groups/{group_id}#actions")
    form = await form_data(request)
    data = validated(ActionIn, {"title": field(form, "title"), "owner_organisation": field(form, "owner_organisation"),
                                "owner_user": field(form, "owner_user") or None, "due_on": field(form, "due_on"),
                                "decision_id": field(form, "decision_id") or None},
                     labels={"title": N_("Action")})  # fmt: skip
    actions.create_action(db, actor=actor, group_id=group_id, data=data)
    return see_other(f"/groups/{group_id}#actions")


@router.post("/groups/meetings/{meeting_id}/held")
async def hold_meeting(request: Request, db: WriteDb, actor: FormActor, meeting_id: IdPath) -> Response:
    """An officer records which organisations attended; the quorum follows, and with it whether
    the meeting may decide."""
    form = await form_data(request)
    present = [p.strip() for p in form.getlist("present") if isinstance(p, str) and p.strip()]
    m = meetings.hold_meeting(db, actor=actor, meeting_id=meeting_id, present=present)
    return see_other(f"/groups/{m.group_id}#meetings")


@router.post("/groups/meetings/{meeting_id}/decisions")
async def record_decision(request: Request, db: WriteDb, actor: FormActor, meeting_id: IdPath) -> Response:
    form = await form_data(request)
    data = validated(DecisionIn, {"text_en": field(form, "text_en"), "text_ru": field(form, "text_ru")})
    d = meetings.record_meeting_decision(db, actor=actor, meeting_id=meeting_id, data=data)
    return see_other(f"/groups/{d.group_id}#decisions")
