"""Published TAXII collections for node operators: define one by a filter, add or remove objects."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from colsec.stix.tlp import TLP
from colsec.taxii import publish
from colsec.taxii.publish import FilterNames
from colsec.web.deps import DbDep
from colsec.web.ui.forms import field, see_other
from colsec.web.ui.render import FormActor, PageActor, WriteDb, form_data, page, require

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


def _list(text: str) -> list[str]:
    return [v.strip() for v in text.replace("\n", ",").split(",") if v.strip()]


@router.get("/admin/collections", response_class=HTMLResponse)
def collections(request: Request, db: DbDep, actor: PageActor) -> HTMLResponse:
    require(actor)
    ctx = {"collections": publish.list_summaries(db, actor=actor), "levels": [t.display for t in TLP]}
    return page(request, "ui/admin_collections.html", ctx, actor=actor)


@router.post("/admin/collections")
async def create_collection(request: Request, db: WriteDb, actor: FormActor) -> Response:
    require(actor)
    form = await form_data(request)
    names = FilterNames(
        types=_list(field(form, "types")), owners=_list(field(form, "owners")),
        labels=_list(field(form, "labels")), tlp=field(form, "tlp") or None, group=field(form, "group") or None,
    )  # fmt: skip
    publish.publish_collection(
        db, actor=actor, title=field(form, "title"), description=field(form, "description"),
        can_read=_list(field(form, "can_read")) or ["*"],
        filter_names=names if field(form, "by_filter") else None,
        include_existing=bool(field(form, "include_existing")),
    )  # fmt: skip
    return see_other("/admin/collections")


@router.post("/admin/collections/objects")
async def change_objects(request: Request, db: WriteDb, actor: FormActor) -> Response:
    require(actor)
    form = await form_data(request)
    cid, ids = field(form, "collection"), _list(field(form, "ids"))
    if field(form, "action") == "remove":
        publish.remove_objects(db, actor=actor, collection_id=cid, object_ids=ids)
    else:
        publish.add_objects(db, actor=actor, collection_id=cid, object_ids=ids)
    return see_other("/admin/collections")
