"""Published TAXII collections for node operators: define one by a filter, add or remove objects."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from colsec.stix.tlp import TLP
from colsec.taxii import publish
from colsec.taxii.publish import FilterNames
from colsec.web.deps import DbDep
from colsec.web.ui.render import FormActor, PageActor, WriteDb, form_data, page, require

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


def _field(form: object, name: str) -> str:
    value = form.get(name) if hasattr(form, "get") else None
    return value.strip() if isinstance(value, str) else ""


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
        types=_list(_field(form, "types")), owners=_list(_field(form, "owners")),
        labels=_list(_field(form, "labels")), tlp=_field(form, "tlp") or None, group=_field(form, "group") or None,
    )  # fmt: skip
    publish.publish_collection(
        db, actor=actor, title=_field(form, "title"), description=_field(form, "description"),
        can_read=_list(_field(form, "can_read")) or ["*"],
        filter_names=names if _field(form, "by_filter") else None,
        include_existing=bool(_field(form, "include_existing")),
    )  # fmt: skip
    return RedirectResponse("/admin/collections", status_code=303)


@router.post("/admin/collections/objects")
async def change_objects(request: Request, db: WriteDb, actor: FormActor) -> Response:
    require(actor)
    form = await form_data(request)
    cid, ids = _field(form, "collection"), _list(_field(form, "ids"))
    if _field(form, "action") == "remove":
        publish.remove_objects(db, actor=actor, collection_id=cid, object_ids=ids)
    else:
        publish.add_objects(db, actor=actor, collection_id=cid, object_ids=ids)
    return RedirectResponse("/admin/collections", status_code=303)
