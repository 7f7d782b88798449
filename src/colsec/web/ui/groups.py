"""Working group pages: the list with the decisions search, and one group's page with role-aware actions.

Each person sees only the buttons they may use: the owner organisation moves its action items,
the chair verifies them and approves minutes, the secretary drafts minutes, a representative (or a
deputy under an active delegation) answers written procedures.  The domain checks again on every post.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from colsec.accounts.roles import Actor
from colsec.crisis.access import allows, require_centre
from colsec.crisis.states import aware, now
from colsec.errors import InvalidInput
from colsec.groups import actions, meetings, minutes, papers, procedure, service, views
from colsec.groups.models import Delegation, Person, ProcedureAnswer
from colsec.groups.schemas import AgendaIn, AnswerIn, GroupIn, MeetingIn, ProcedureIn, Stance
from colsec.web.deps import DbDep
from colsec.web.params import IdPath
from colsec.web.ui.forms import field, see_other, validated
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
    local = {
        m.id: format_datetime(aware(m.starts_at), "medium", tzinfo=ZoneInfo(m.tz), locale=lang)
        for m in pg.meetings
    }
    answered: set[int] = set()
    if actor.org_id is not None and pg.procedures:
        answered = set(db.execute(select(ProcedureAnswer.procedure_id).where(
            ProcedureAnswer.organisation_id == actor.org_id,
            ProcedureAnswer.procedure_id.in_([p.id for p in pg.procedures])
        )).scalars())  # fmt: skip
    ctx: dict[str, Any] = {
        "pg": pg, "g": pg.group, "lang": lang, "local": local, "answered": answered,
        "may_answer": _voice(db, actor, pg.group.id, pg.my_kind), "my_org": actor.org_id,
        "now": now(),
    }  # fmt: skip
    return page(request, "ui/group.html", ctx, actor=actor, lang=lang)


@router.post("/groups/procedures/{procedure_id}/answer")
async def answer(request: Request, db: WriteDb, actor: FormActor, procedure_id: IdPath) -> Response:
    form = await form_data(request)
    try:
        stance = Stance(field(form, "stance"))
    except ValueError:
        raise InvalidInput("choose agree, object or abstain") from None
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
    form = await form_data(request)
    agenda = [
        AgendaIn(title=line.strip()[:300], presenter="")
        for line in field(form, "agenda").splitlines()
        if line.strip()
    ]
    data = validated(MeetingIn, {"title": field(form, "title"), "starts_at": _local(field(form, "starts_at")),
                                  "tz": field(form, "tz") or "UTC", "place": field(form, "place"), "agenda": agenda})  # fmt: skip
    meetings.create_meeting(db, actor=actor, group_id=group_id, data=data)
    return see_other(f"/groups/{group_id}#meetings")


@router.post("/groups/{group_id}/procedures")
async def open_procedure(request: Request, db: WriteDb, actor: FormActor, group_id: IdPath) -> Response:
    form = await form_data(request)
    deadline = _local(field(form, "deadline"))
    data = validated(ProcedureIn, {"question": field(form, "question"), "text_en": field(form, "text_en"),
                                    "text_ru": field(form, "text_ru"), "rule": field(form, "rule") or "consensus",
                                    "deadline": deadline + "Z" if deadline and deadline[-1].isdigit() else deadline})  # fmt: skip
    procedure.open_procedure(db, actor=actor, group_id=group_id, data=data)
    return see_other(f"/groups/{group_id}#procedures")


@router.post("/groups/{group_id}/papers")
async def table_paper(request: Request, db: WriteDb, actor: FormActor, group_id: IdPath) -> Response:
    from starlette.datastructures import UploadFile

    form = await form_data(request)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise InvalidInput("choose a file to upload")
    content = await upload.read(papers.MAX_PAPER_BYTES + 1)
    recipients = [r.strip() for r in field(form, "recipients").split(",") if r.strip()]
    papers.upload_paper(db, actor=actor, group_id=group_id, title=field(form, "title"), language=field(form, "language") or "en",
                         tlp=field(form, "tlp") or None, filename=upload.filename, content=content, recipients=recipients or None)  # fmt: skip
    return see_other(f"/groups/{group_id}#papers")
