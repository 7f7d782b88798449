"""Federation pages: the peers this node syncs with and their state (node operators only), and the
sharing groups (read by coordinators and admins, changed by their owner organisation)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from colsec.accounts.roles import Role
from colsec.errors import InvalidInput
from colsec.federation import service, views
from colsec.web.deps import DbDep
from colsec.web.ui.admin import require_operator
from colsec.web.ui.forms import field, see_other
from colsec.web.ui.render import FormActor, PageActor, WriteDb, form_data, page, require

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/admin/peers", response_class=HTMLResponse)
def peers(request: Request, db: DbDep, actor: PageActor) -> HTMLResponse:
    """URLs and sync errors are node configuration: operators only."""
    require_operator(actor)
    return page(request, "ui/admin_peers.html", {"peers": views.peer_rows(db)}, actor=actor)


@router.get("/admin/sharing-groups", response_class=HTMLResponse)
def sharing_groups(request: Request, db: DbDep, actor: PageActor) -> HTMLResponse:
    """Every sharing group with its members; its owner organisation's coordinators and admins
    (and the node operator) change them, as the API lets them."""
    require(actor, Role.COORDINATOR)
    rows = [service.sharing_group_out(db, g) for g in service.list_sharing_groups(db)]
    mine = {r["name"] for r in rows if actor.is_operator or r["owner"] == actor.org_short_name}
    return page(request, "ui/admin_sharing_groups.html", {"groups": rows, "mine": mine}, actor=actor)


@router.post("/admin/sharing-groups")
async def create_sharing_group(request: Request, db: WriteDb, actor: FormActor) -> Response:
    require(actor, Role.COORDINATOR)
    form = await form_data(request)
    members = [m.strip() for m in field(form, "members").split(",") if m.strip()]
    service.create_sharing_group(
        db, actor=actor, name=field(form, "name"), description=field(form, "description"), members=members
    )
    return see_other("/admin/sharing-groups")


@router.post("/admin/sharing-groups/{name}/members")
async def change_member(request: Request, db: WriteDb, actor: FormActor, name: str) -> Response:
    """Add an organisation to a group, or remove it (``remove=1``): the group's objects are
    published to it, or withdrawn, as through the API."""
    require(actor, Role.COORDINATOR)
    form = await form_data(request)
    org = field(form, "organisation")
    if not org:
        raise InvalidInput("name the organisation (its short name)", kind="name_the_organisation")
    if field(form, "remove") == "1":
        service.remove_group_member(db, actor=actor, group=name, organisation=org)
    else:
        service.add_group_member(db, actor=actor, group=name, organisation=org)
    return see_other("/admin/sharing-groups")
