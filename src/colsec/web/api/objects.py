"""STIX objects over the JSON API; every read applies the sharing policy for the caller."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from colsec.accounts.roles import Actor, Role
from colsec.errors import InvalidInput
from colsec.jsonutil import loads
from colsec.stix.tlp import TLP_BY_NAME
from colsec.store import queries, service, versions
from colsec.web.deps import ActorDep, DbDep, get_settings, require_role

router = APIRouter(prefix="/api/v1/objects", tags=["objects"])
Writer = Annotated[Actor, Depends(require_role(Role.ANALYST, Role.COORDINATOR, Role.PEER))]


@router.get("")
def list_objects(
    db: DbDep,
    actor: ActorDep,
    type: Annotated[list[str] | None, Query()] = None,
    id: Annotated[list[str] | None, Query()] = None,
    version: str = "last",
    added_after: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    tlp_max: str | None = None,
) -> dict[str, Any]:
    max_tlp = None
    if tlp_max is not None:
        if tlp_max.lower() not in TLP_BY_NAME:
            raise InvalidInput(f"unknown TLP {tlp_max!r}")
        max_tlp = int(TLP_BY_NAME[tlp_max.lower()])
    page = queries.list_objects(
        db,
        viewer=queries.recipient_for_org(db, actor.org_id),
        types=type or (),
        ids=id or (),
        versions=version.split(","),
        added_after=added_after,
        cursor=queries.decode_cursor(cursor) if cursor else None,
        limit=limit,
        max_tlp=max_tlp,
    )
    return {
        "objects": page.objects(),
        "more": page.more,
        "next": queries.encode_cursor(page.next) if page.next else None,
    }


@router.get("/{object_id}")
def get_object(db: DbDep, actor: ActorDep, object_id: str, version: str = "last") -> dict[str, Any]:
    return queries.get_object(
        db, viewer=queries.recipient_for_org(db, actor.org_id), object_id=object_id, version=version
    )


@router.post("", status_code=201)
async def add_objects(request: Request, db: DbDep, actor: Writer) -> dict[str, Any]:
    """Add one STIX object or a bundle; all-or-nothing."""
    settings = get_settings(request)
    data = loads(await request.body(), max_depth=settings.max_json_depth, what="request body")
    if isinstance(data, dict) and data.get("type") == "bundle":
        objs = data.get("objects")
        if not isinstance(objs, list):
            raise InvalidInput("bundle has no 'objects' list")
    elif isinstance(data, dict):
        objs = [data]
    else:
        raise InvalidInput("expected a STIX object or bundle")
    from starlette.concurrency import run_in_threadpool

    from colsec.stix.tlp import TLP_BY_NAME as names

    result = await run_in_threadpool(
        service.import_objects,
        db,
        actor=actor,
        objects=objs,
        default_tlp=names[settings.default_tlp],
        limits=service.WriteLimits.from_settings(settings),
    )
    return result.to_dict()


@router.post("/{object_id}/revoke")
def revoke(db: DbDep, actor: Writer, object_id: str) -> dict[str, Any]:
    return versions.revoke_object(db, actor=actor, object_id=object_id)
