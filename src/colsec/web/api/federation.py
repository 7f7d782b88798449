"""Peers and sharing groups over the JSON API (node operators manage peers; analysts attach groups)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI

from colsec.accounts.roles import Actor, Role
from colsec.federation import service, views
from colsec.federation.schemas import (
    AttachIn,
    MemberIn,
    PeerIn,
    PeerOut,
    PeerPatch,
    SharingGroupIn,
    SharingGroupOut,
)
from colsec.jobs import queue as jobs_queue
from colsec.web.deps import ActorDep, DbDep, require_operator, require_role

router = APIRouter(tags=["federation"])
Admin = Annotated[Actor, Depends(require_operator)]
Manager = Annotated[Actor, Depends(require_role(Role.COORDINATOR))]
Writer = Annotated[Actor, Depends(require_role(Role.ANALYST, Role.COORDINATOR))]


@router.get("/api/v1/peers", response_model=list[PeerOut])
def list_peers(db: DbDep, actor: Admin) -> list[dict[str, Any]]:
    return views.peer_rows(db)


@router.post("/api/v1/peers", response_model=PeerOut, status_code=201)
def create_peer(db: DbDep, actor: Admin, data: PeerIn) -> dict[str, Any]:
    peer = service.create_peer(db, actor=actor, **data.model_dump())
    return service.peer_status(db, peer)


@router.get("/api/v1/peers/{name}", response_model=PeerOut)
def get_peer(db: DbDep, actor: Admin, name: str) -> dict[str, Any]:
    return service.peer_status(db, service.get_peer(db, name))


@router.patch("/api/v1/peers/{name}", response_model=PeerOut)
def update_peer(db: DbDep, actor: Admin, name: str, data: PeerPatch) -> dict[str, Any]:
    peer = service.update_peer(db, actor=actor, name=name, **data.model_dump(exclude_unset=True))
    return service.peer_status(db, peer)


@router.delete("/api/v1/peers/{name}", status_code=204)
def delete_peer(db: DbDep, actor: Admin, name: str) -> None:
    service.delete_peer(db, actor=actor, name=name)


@router.post("/api/v1/peers/{name}/sync", status_code=202)
def sync_peer(db: DbDep, actor: Admin, name: str) -> dict[str, Any]:
    """Queue a pull from one peer now: the same job the schedule queues (one unfinished pull per peer)."""
    from colsec.federation.jobs import queue_pull

    job = queue_pull(db, service.get_peer(db, name), actor=actor)
    return {**jobs_queue.to_dict(job), "url": f"/api/v1/jobs/{job.id}"}


@router.get("/api/v1/sharing-groups", response_model=list[SharingGroupOut])
def list_groups(db: DbDep, actor: ActorDep) -> list[dict[str, Any]]:
    return [service.sharing_group_out(db, g) for g in service.list_sharing_groups(db)]


@router.post("/api/v1/sharing-groups", response_model=SharingGroupOut, status_code=201)
def create_group(db: DbDep, actor: Manager, data: SharingGroupIn) -> dict[str, Any]:
    g = service.create_sharing_group(db, actor=actor, **data.model_dump())
    return service.sharing_group_out(db, g)


@router.get("/api/v1/sharing-groups/{name}", response_model=SharingGroupOut)
def get_group(db: DbDep, actor: ActorDep, name: str) -> dict[str, Any]:
    return service.sharing_group_out(db, service.get_sharing_group(db, name))


@router.post("/api/v1/sharing-groups/{name}/members", response_model=SharingGroupOut)
def add_member(db: DbDep, actor: Manager, name: str, data: MemberIn) -> dict[str, Any]:
    g = service.add_group_member(db, actor=actor, group=name, organisation=data.organisation)
    return service.sharing_group_out(db, g)


@router.delete("/api/v1/sharing-groups/{name}/members/{organisation}", response_model=SharingGroupOut)
def remove_member(db: DbDep, actor: Manager, name: str, organisation: str) -> dict[str, Any]:
    g = service.remove_group_member(db, actor=actor, group=name, organisation=organisation)
    return service.sharing_group_out(db, g)


@router.post("/api/v1/sharing-groups/{name}/objects")
def attach(db: DbDep, actor: Writer, name: str, data: AttachIn) -> dict[str, Any]:
    """Restrict an object to this group: a new version that carries the group to every peer."""
    return service.attach_sharing_group(db, actor=actor, object_id=data.object_id, group=name)


@router.post("/api/v1/peers/push", status_code=202)
def push(db: DbDep, actor: Writer, data: AttachIn) -> list[dict[str, Any]]:
    """Queue the latest version of one of your objects for every peer inbox that may receive it.

    The outbox delivers it (``GET /api/v1/outbox`` shows each row's state); nothing is sent
    inside the request.
    """
    from colsec.federation.push import queue_ids

    return queue_ids(db, actor=actor, object_ids=[data.object_id])


def install(app: FastAPI) -> None:
    """Mount the routes (peers are pulled and pushed by periodic jobs: ``colsec.federation.jobs``)."""
    app.include_router(router)
