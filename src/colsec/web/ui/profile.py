"""The signed-in user's profile: who they are and the e-mail address notifications go to."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from colsec.accounts.email import set_email
from colsec.accounts.models import User
from colsec.errors import NotFound
from colsec.web.deps import DbDep
from colsec.web.ui.forms import back_on_error, field, see_other
from colsec.web.ui.render import FormActor, PageActor, WriteDb, form_data, page

router = APIRouter(include_in_schema=False)


@router.get("/profile", response_class=HTMLResponse)
def profile(request: Request, db: DbDep, actor: PageActor) -> HTMLResponse:
    user = db.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None:
        raise NotFound("no user account behind this session")
    saved = request.query_params.get("saved") == "1"
    return page(request, "ui/profile.html", {"user": user, "saved": saved}, actor=actor)


@router.post("/profile")
async def update_profile(request: Request, db: WriteDb, actor: FormActor) -> Response:
    back_on_error(request, "/profile")  # a refused address leads back to this form
    form = await form_data(request)
    user = db.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None:
        raise NotFound("no user account behind this session")
    set_email(db, actor=actor, user=user, email=field(form, "email"))
    return see_other("/profile?saved=1")
