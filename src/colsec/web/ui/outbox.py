"""The admin page of outgoing deliveries: dead and waiting e-mails and webhooks, with a retry button."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from colsec.outbox import Status, list_messages, retry
from colsec.web.deps import DbDep
from colsec.web.params import IdPath
from colsec.web.ui.forms import see_other
from colsec.web.ui.render import FormActor, PageActor, WriteDb, page, require

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
SHOWN = (Status.DEAD, Status.PENDING, Status.SENDING)


@router.get("/admin/outbox", response_class=HTMLResponse)
def outbox_page(request: Request, db: DbDep, actor: PageActor) -> HTMLResponse:
    require(actor)
    groups = [(s.value, list_messages(db, actor=actor, status=s.value, limit=200)) for s in SHOWN]
    return page(request, "ui/admin_outbox.html", {"groups": groups}, actor=actor)


@router.post("/admin/outbox/{message_id}/retry")
def outbox_retry(message_id: IdPath, db: WriteDb, actor: FormActor) -> Response:
    require(actor)
    retry(db, actor=actor, message_id=message_id)
    return see_other("/admin/outbox")
