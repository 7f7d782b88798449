"""Published TAXII collections over the JSON API: the node operator only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from colsec.accounts.roles import Actor
from colsec.taxii import publish
from colsec.taxii.schemas import CollectionFilterIn, CollectionIn, CollectionObjectsIn, CollectionOut
from colsec.web.deps import DbDep, require_operator

router = APIRouter(prefix="/api/v1/collections", tags=["collections"])
Admin = Annotated[Actor, Depends(require_operator)]


@router.get("", response_model=list[CollectionOut])
def list_collections(db: DbDep, actor: Admin) -> list[Any]:
    return publish.list_summaries(db, actor=actor)


@router.post("", response_model=CollectionOut, status_code=201)
def create_collection(db: DbDep, actor: Admin, data: CollectionIn) -> Any:
    return publish.publish_collection(
        db, actor=actor, title=data.title, api_root=data.api_root, description=data.description,
        alias=data.alias, can_read=data.can_read, can_write=data.can_write, collection_id=data.id,
        filter_names=data.filter.names() if data.filter is not None else None,
        include_existing=data.include_existing,
    )  # fmt: skip


@router.get("/{collection_id}", response_model=CollectionOut)
def get_collection(db: DbDep, actor: Admin, collection_id: str) -> Any:
    return publish.get_summary(db, actor=actor, collection_id=collection_id)


@router.put("/{collection_id}/filter", response_model=CollectionOut)
def set_filter(db: DbDep, actor: Admin, collection_id: str, data: CollectionFilterIn) -> Any:
    return publish.set_collection_filter(
        db, actor=actor, collection_id=collection_id,
        filter_names=data.filter.names() if data.filter is not None else None,
        include_existing=data.include_existing,
    )  # fmt: skip


@router.post("/{collection_id}/objects")
def add_objects(db: DbDep, actor: Admin, collection_id: str, data: CollectionObjectsIn) -> dict[str, int]:
    return {"added": publish.add_objects(db, actor=actor, collection_id=collection_id, object_ids=data.ids)}


@router.post("/{collection_id}/objects/remove")
def remove_objects(db: DbDep, actor: Admin, collection_id: str, data: CollectionObjectsIn) -> dict[str, int]:
    return {
        "removed": publish.remove_objects(db, actor=actor, collection_id=collection_id, object_ids=data.ids)
    }
