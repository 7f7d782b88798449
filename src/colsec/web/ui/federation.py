"""Federation pages: the peers this node syncs with and their state (node operators only)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from colsec.federation import views
from colsec.web.deps import DbDep
from colsec.web.ui.admin import require_operator
from colsec.web.ui.render import PageActor, page

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/admin/peers", response_class=HTMLResponse)
def peers(request: Request, db: DbDep, actor: PageActor) -> HTMLResponse:
    """URLs and sync errors are node configuration: operators only."""
    require_operator(actor)
    return page(request, "ui/admin_peers.html", {"peers": views.peer_rows(db)}, actor=actor)
