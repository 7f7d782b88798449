"""TAXII 2.1 HTTP endpoints under ``/taxii2/``: parse, check media types, call ``taxii.service``, render.

Errors are ``ColsecError``s; the app renders them under ``/taxii2`` as TAXII error
messages.  Reads run in one worker-thread hop each (``_read``: caller, checks and query
in one read transaction); POST parses the body
off the event loop; a large envelope is stored by a durable job (``taxii.jobs``), so it
never blocks other requests and its status survives a restart.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from colsec.accounts.roles import Actor
from colsec.errors import BadRequest, InvalidInput, NotAcceptable, NotFound, TooLarge, UnsupportedMediaType
from colsec.jsonutil import loads
from colsec.stix.tlp import TLP_BY_NAME
from colsec.store.gate import WriteLimits
from colsec.store.policy import Recipient
from colsec.taxii import jobs as taxii_jobs
from colsec.taxii import service
from colsec.taxii.media import TAXII_MEDIA
from colsec.taxii.service import CollectionRef, Filters
from colsec.web.deps import ActorDep, DbDep, caller_in, get_actor, get_database, get_settings

__all__ = ["SYNC_MAX_OBJECTS", "router"]

log = logging.getLogger(__name__)

# Envelopes up to this many objects are stored before answering (status "complete");
# larger ones answer at once with a pending status and are stored by a durable job.
SYNC_MAX_OBJECTS = 2000


def _media(value: str) -> tuple[str, dict[str, str]]:
    kind, *params = value.split(";")
    parsed = {}
    for p in params:
        k, _, v = p.partition("=")
        parsed[k.strip().lower()] = v.strip().strip('"')
    return kind.strip().lower(), parsed


def _is_taxii21(kind: str, params: dict[str, str]) -> bool:
    return kind == "application/taxii+json" and params.get("version", "2.1") == "2.1"


async def check_accept(request: Request) -> None:
    """406 unless the client accepts the TAXII 2.1 media type (or anything)."""
    header = request.headers.get("accept")
    if not header:
        return
    for part in header.split(","):
        kind, params = _media(part)
        if params.get("q", "1") in ("0", "0.0", "0.00", "0.000"):
            continue
        if kind in ("*/*", "application/*") or _is_taxii21(kind, params):
            return
    raise NotAcceptable(f"this server produces {TAXII_MEDIA}; the request accepts only {header!r}")


router = APIRouter(prefix="/taxii2", tags=["taxii"], dependencies=[Depends(check_accept)])


def _taxii(
    body: dict[str, Any] | bytes, *, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return Response(content=content, status_code=status, media_type=TAXII_MEDIA, headers=headers)


def _filters(request: Request) -> Filters:
    settings = get_settings(request)
    return Filters.parse(
        request.query_params.multi_items(),
        default_limit=settings.taxii_default_page,
        max_limit=settings.taxii_max_page,
    )


def _base_url(request: Request) -> str:
    public = get_settings(request).public_url
    if public:
        return public.rstrip("/") + "/"
    return str(request.base_url)


def _read(request: Request, work: Callable[[Session, Actor], Response]) -> Awaitable[Response]:
    """Run a read in one worker-thread hop: the caller, the checks and the query share one read transaction.

    A dependency per concern (session, caller) would cost a thread hop and a transaction
    each; a TAXII client pays that on every page and every object.  The caller resolves
    in the same session (``caller_in``); anything else (no or bad credentials) takes
    ``get_actor``, which answers and counts exactly as every other route.
    """
    database = get_database(request)

    def run() -> Response:
        with database.unit_of_work(write=False) as db:
            actor = caller_in(request, db)
            if actor is not None:
                return work(db, actor)
        actor = get_actor(request)  # raises 401 (a failed token is counted in its own unit)
        with database.unit_of_work(write=False) as db:
            return work(db, actor)

    return run_in_threadpool(run)


@router.get("/")
async def get_discovery(request: Request) -> Response:
    settings = get_settings(request)
    base_url = _base_url(request)
    return await _read(
        request, lambda db, _: _taxii(service.discovery(db, base_url=base_url, node_name=settings.node_name))
    )


@router.get("/{api_root}/")
async def get_api_root(request: Request, api_root: str) -> Response:
    max_body = get_settings(request).max_body_bytes

    def work(db: Session, actor: Actor) -> Response:
        info = service.get_api_root(db, api_root, max_body=max_body)
        return _taxii(
            {
                "title": info.title,
                "description": info.description,
                "versions": [TAXII_MEDIA],
                "max_content_length": info.max_content_length,
            }
        )

    return await _read(request, work)


@router.get("/{api_root}/status/{status_id}/")
@router.get("/{api_root}/status/{status_id}", include_in_schema=False)
async def get_status(request: Request, api_root: str, status_id: str) -> Response:
    def work(db: Session, actor: Actor) -> Response:
        row = service.get_status(db, actor=actor, api_root=api_root, status_id=status_id)
        return _taxii(taxii_jobs.status_body(db, row))

    return await _read(request, work)


@router.get("/{api_root}/collections/")
async def get_collections(request: Request, api_root: str) -> Response:
    max_body = get_settings(request).max_body_bytes

    def work(db: Session, actor: Actor) -> Response:
        service.get_api_root(db, api_root, max_body=max_body)
        colls = service.visible_collections(db, actor=actor, api_root=api_root)
        if not colls:
            return _taxii({})
        return _taxii({"collections": [service.collection_resource(c, actor) for c in colls]})

    return await _read(request, work)


@router.get("/{api_root}/collections/{collection_id}/")
async def get_collection(request: Request, api_root: str, collection_id: str) -> Response:
    def work(db: Session, actor: Actor) -> Response:
        coll = service.get_collection(db, actor=actor, api_root=api_root, collection_id=collection_id)
        return _taxii(service.collection_resource(coll, actor))

    return await _read(request, work)


@router.get("/{api_root}/collections/{collection_id}/objects/")
async def get_objects(request: Request, api_root: str, collection_id: str) -> Response:
    def work(db: Session, actor: Actor) -> Response:
        coll, viewer = service.read_access(db, actor=actor, api_root=api_root, collection_id=collection_id)
        page = service.read_page(db, actor=actor, collection=coll, filters=_filters(request), viewer=viewer)
        return _taxii(page.envelope(), headers=page.headers)

    return await _read(request, work)


@router.get("/{api_root}/collections/{collection_id}/manifest/")
async def get_manifest(request: Request, api_root: str, collection_id: str) -> Response:
    def work(db: Session, actor: Actor) -> Response:
        coll, viewer = service.read_access(db, actor=actor, api_root=api_root, collection_id=collection_id)
        page = service.read_page(db, actor=actor, collection=coll, filters=_filters(request), viewer=viewer)
        return _taxii(page.manifest(), headers=page.headers)

    return await _read(request, work)


@router.get("/{api_root}/collections/{collection_id}/objects/{object_id}/")
async def get_object(request: Request, api_root: str, collection_id: str, object_id: str) -> Response:
    def work(db: Session, actor: Actor) -> Response:
        coll, viewer = service.read_access(db, actor=actor, api_root=api_root, collection_id=collection_id)
        filters = _filters(request)
        page = service.read_page(
            db, actor=actor, collection=coll, filters=filters, object_id=object_id, viewer=viewer
        )
        if not page.rows and filters.next is None:
            return _nothing_matched(db, actor, coll, object_id, viewer)
        return _taxii(page.envelope(), headers=page.headers)

    return await _read(request, work)


@router.get("/{api_root}/collections/{collection_id}/objects/{object_id}/versions/")
async def get_versions(request: Request, api_root: str, collection_id: str, object_id: str) -> Response:
    def work(db: Session, actor: Actor) -> Response:
        coll, viewer = service.read_access(db, actor=actor, api_root=api_root, collection_id=collection_id)
        filters = _filters(request)
        filters.versions = ["all"]
        page = service.read_page(
            db, actor=actor, collection=coll, filters=filters, object_id=object_id, viewer=viewer
        )
        if not page.rows and filters.next is None:
            return _nothing_matched(db, actor, coll, object_id, viewer)
        return _taxii(page.versions(), headers=page.headers)

    return await _read(request, work)


def _nothing_matched(
    db: Session, actor: Actor, coll: CollectionRef, object_id: str, viewer: Recipient
) -> Response:
    """An object here whose versions the filters all excluded: an empty resource, as the reference answers."""
    if not service.has_object(db, actor=actor, collection=coll, object_id=object_id, viewer=viewer):
        raise NotFound(f"object {object_id} not found in collection {coll.id}")
    return _taxii({})


@router.delete("/{api_root}/collections/{collection_id}/objects/{object_id}/")
def delete_object(
    request: Request, db: DbDep, actor: ActorDep, api_root: str, collection_id: str, object_id: str
) -> Response:
    # The session dependency commits when this returns, before the response is sent: a client
    # reading right after the answer no longer sees the object.
    coll = service.get_collection(
        db, actor=actor, api_root=api_root, collection_id=collection_id, need="write"
    )
    service.delete_object(db, actor=actor, collection=coll, object_id=object_id, filters=_filters(request))
    return _taxii({})


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
        raise InvalidInput("the envelope has no 'objects' list")
    objects = data["objects"]
    if not isinstance(objects, list):
        raise BadRequest("the envelope's 'objects' must be a list")
    return objects


@router.post("/{api_root}/collections/{collection_id}/objects/")
async def add_objects(request: Request, actor: ActorDep, api_root: str, collection_id: str) -> Response:
    settings = get_settings(request)
    database = get_database(request)
    kind, params = _media(request.headers.get("content-type", ""))
    if not _is_taxii21(kind, params):
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

    return _taxii(await run_in_threadpool(status), status=202)


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
