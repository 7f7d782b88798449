"""TAXII 2.1 HTTP endpoints under ``/taxii2/``: parse, check media types, call ``taxii.service``, render.

Errors are ``ColsecError``s; the app renders them under ``/taxii2`` as TAXII error
messages.  Reads run in one worker-thread hop each (``deps.run_read``: caller, checks and
query in one read transaction); the two hottest, objects pages and an object by id, are
plain Starlette routes ahead of this router (``taxii_reads``).  POST parses the body
off the event loop; a large envelope is stored by a durable job (``taxii.jobs``), so it
never blocks other requests and its status survives a restart.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from colsec.accounts.roles import Actor
from colsec.errors import BadRequest, InvalidInput, TooLarge, UnsupportedMediaType
from colsec.jsonutil import loads
from colsec.stix.tlp import TLP_BY_NAME
from colsec.store.limits import WriteLimits
from colsec.taxii import jobs as taxii_jobs
from colsec.taxii import service
from colsec.taxii.media import TAXII_MEDIA
from colsec.web.api.taxii_reads import (
    check_accept,
    filters_of,
    is_taxii21,
    media,
    nothing_matched,
    taxii_response,
)
from colsec.web.deps import ActorDep, DbDep, get_database, get_settings, run_read

__all__ = ["SYNC_MAX_OBJECTS", "router"]

log = logging.getLogger(__name__)

# Envelopes up to this many objects are stored before answering (status "complete");
# larger ones answer at once with a pending status and are stored by a durable job.
SYNC_MAX_OBJECTS = 2000


router = APIRouter(prefix="/taxii2", tags=["taxii"], dependencies=[Depends(check_accept)])


def _base_url(request: Request) -> str:
    public = get_settings(request).public_url
    if public:
        return public.rstrip("/") + "/"
    return str(request.base_url)


@router.get("/")
async def get_discovery(request: Request) -> Response:
    settings = get_settings(request)
    base_url = _base_url(request)
    return await run_read(
        request,
        lambda db, _: taxii_response(service.discovery(db, base_url=base_url, node_name=settings.node_name)),
    )


@router.get("/{api_root}/")
async def get_api_root(request: Request, api_root: str) -> Response:
    max_body = get_settings(request).max_body_bytes

    def work(db: Session, actor: Actor) -> Response:
        info = service.get_api_root(db, api_root, max_body=max_body)
        return taxii_response(
            {
                "title": info.title,
                "description": info.description,
                "versions": [TAXII_MEDIA],
                "max_content_length": info.max_content_length,
            }
        )

    return await run_read(request, work)


@router.get("/{api_root}/status/{status_id}/")
@router.get("/{api_root}/status/{status_id}", include_in_schema=False)
async def get_status(request: Request, api_root: str, status_id: str) -> Response:
    def work(db: Session, actor: Actor) -> Response:
        row = service.get_status(db, actor=actor, api_root=api_root, status_id=status_id)
        return taxii_response(taxii_jobs.status_body(db, row))

    return await run_read(request, work)


@router.get("/{api_root}/collections/")
async def get_collections(request: Request, api_root: str) -> Response:
    max_body = get_settings(request).max_body_bytes

    def work(db: Session, actor: Actor) -> Response:
        service.get_api_root(db, api_root, max_body=max_body)
        colls = service.visible_collections(db, actor=actor, api_root=api_root)
        if not colls:
            return taxii_response({})
        return taxii_response({"collections": [service.collection_resource(c, actor) for c in colls]})

    return await run_read(request, work)


@router.get("/{api_root}/collections/{collection_id}/")
async def get_collection(request: Request, api_root: str, collection_id: str) -> Response:
    def work(db: Session, actor: Actor) -> Response:
        coll = service.get_collection(db, actor=actor, api_root=api_root, collection_id=collection_id)
        return taxii_response(service.collection_resource(coll, actor))

    return await run_read(request, work)


@router.get("/{api_root}/collections/{collection_id}/manifest/")
async def get_manifest(request: Request, api_root: str, collection_id: str) -> Response:
    def work(db: Session, actor: Actor) -> Response:
        coll, viewer = service.read_access(db, actor=actor, api_root=api_root, collection_id=collection_id)
        page = service.read_page(db, actor=actor, collection=coll, filters=filters_of(request), viewer=viewer)
        return taxii_response(page.manifest(), headers=page.headers)

    return await run_read(request, work)


@router.get("/{api_root}/collections/{collection_id}/objects/{object_id}/versions/")
async def get_versions(request: Request, api_root: str, collection_id: str, object_id: str) -> Response:
    def work(db: Session, actor: Actor) -> Response:
        coll, viewer = service.read_access(db, actor=actor, api_root=api_root, collection_id=collection_id)
        filters = filters_of(request)
        filters.versions = ["all"]
        page = service.read_page(
            db, actor=actor, collection=coll, filters=filters, object_id=object_id, viewer=viewer
        )
        if not page.rows:  # a 404 unless the object is here, paged past its end or not
            empty = nothing_matched(db, actor, coll, object_id, viewer)
            if filters.next is None:
                return empty
        return taxii_response(page.versions(), headers=page.headers)

    return await run_read(request, work)


@router.delete("/{api_root}/collections/{collection_id}/objects/{object_id}/")
def delete_object(
    request: Request, db: DbDep, actor: ActorDep, api_root: str, collection_id: str, object_id: str
) -> Response:
    # The session dependency commits when this returns, before the response is sent: a client
    # reading right after the answer no longer sees the object.
    coll = service.get_collection(
        db, actor=actor, api_root=api_root, collection_id=collection_id, need="write"
    )
    service.delete_object(db, actor=actor, collection=coll, object_id=object_id, filters=filters_of(request))
    return taxii_response({})


def _envelope_objects(raw: bytes, max_depth: int) -> list[Any]:
    try:
        data = loads(raw, max_depth=max_depth, what="envelope")
    except InvalidInput as exc:
        raise BadRequest(exc.message) from None
    if not isinstance(data, dict):
        raise BadRequest("the body must be a TAXII envelope (a JSON object with an 'objects' list)")
    if "objects" not in data:
        if "type" in data or "id" in data:
            raise InvalidInput(
                'the body is a bare STIX object, not a TAXII envelope: send {"objects": [...]}'
            )
        return []  # TAXII 2.1 (3.7): 'objects' is optional in an envelope; none is an empty add
    objects = data["objects"]
    if not isinstance(objects, list):
        raise BadRequest("the envelope's 'objects' must be a list")
    return objects


@router.post("/{api_root}/collections/{collection_id}/objects/")
async def add_objects(request: Request, actor: ActorDep, api_root: str, collection_id: str) -> Response:
    settings = get_settings(request)
    database = get_database(request)
    kind, params = media(request.headers.get("content-type", ""))
    if not is_taxii21(kind, params):
        raise UnsupportedMediaType(f"send the envelope as {TAXII_MEDIA}")

    def prepare() -> int:
        with database.unit_of_work(write=False) as db:
            info = service.get_api_root(db, api_root, max_body=settings.max_body_bytes)
            service.get_collection(
                db, actor=actor, api_root=api_root, collection_id=collection_id, need="write"
            )
            return info.max_content_length

    max_length = await run_in_threadpool(prepare)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_length:
        raise TooLarge(f"envelope larger than this API root's max_content_length ({max_length} bytes)")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_length:
            raise TooLarge(f"envelope larger than this API root's max_content_length ({max_length} bytes)")
        chunks.append(chunk)
    objects = await run_in_threadpool(_envelope_objects, b"".join(chunks), settings.max_json_depth)

    default_tlp = TLP_BY_NAME[settings.default_tlp]
    background = len(objects) > SYNC_MAX_OBJECTS

    def start() -> str:
        # The pending status and, for a large envelope, the job that completes it: one transaction.
        with database.unit_of_work() as db:
            status_id = service.create_pending_status(db, actor=actor, api_root=api_root, objects=objects).id
            if background:
                taxii_jobs.enqueue_add(
                    db, actor=actor, status_id=status_id, collection_id=collection_id, objects=objects,
                    default_tlp=default_tlp,
                )  # fmt: skip
            return status_id

    status_id = await run_in_threadpool(start)
    if not background:
        await run_in_threadpool(
            _store_now,
            database,
            actor,
            collection_id,
            status_id,
            objects,
            default_tlp,
            WriteLimits.from_settings(settings),
        )

    def status() -> dict[str, Any]:
        with database.unit_of_work(write=False) as db:
            return taxii_jobs.status_body(
                db, service.get_status(db, actor=actor, api_root=api_root, status_id=status_id)
            )

    return taxii_response(await run_in_threadpool(status), status=202)


def _store_now(
    database: Any,
    actor: Actor,
    collection_id: str,
    status_id: str,
    objects: Sequence[Any],
    tlp: Any,
    limits: WriteLimits,
) -> None:
    """Store a small envelope before answering; on an unexpected error, complete the status with every object failed."""
    try:
        service.add_objects(
            database, actor=actor, collection_id=collection_id, status_id=status_id, objects=objects,
            default_tlp=tlp, limits=limits,
        )  # fmt: skip
    except Exception:
        log.exception("TAXII add_objects failed for status %s", status_id)
        service.fail_status(database, status_id=status_id, objects=objects)
