"""The hot TAXII reads (objects pages, an object by id) as plain Starlette routes, ahead of FastAPI's router.

A TAXII client pays the fixed cost of a request on every page and every object.  These two
routes take no FastAPI dependency, no pydantic parameter validation and no match against
every included router: the path holds only strings, the query is parsed by ``Filters``, and
the checks are those of every TAXII route (``check_accept``; the caller, the collection's
rights and the sharing policy in one read unit), run as raw statements compiled once
(``run_raw_read``: a token caller's read needs no ORM session; the token's statement also
reads the collection's access row, so a page is two statements, and an object by id with no
query one: ``taxii.by_id`` reads the object in the caller's statement).  The app's middleware
(body and depth caps, security headers, legacy root paths) applies as to any route; a GET
then goes straight to its route (``web.middleware.HotRoutes``), which renders a ``ColsecError``
as a TAXII error message with the app's own handler (``web.errors``).  Their OpenAPI
operations are written out here (``document``), as FastAPI sees no plain route.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from colsec.accounts.roles import Actor
from colsec.db import ReadUnit
from colsec.errors import ColsecError, NotAcceptable, NotFound
from colsec.store.policy import Recipient
from colsec.taxii import by_id, reads
from colsec.taxii.access import AccessRow, CollectionRef, caller_access, read_access
from colsec.taxii.media import TAXII_MEDIA
from colsec.taxii.reads import Filters
from colsec.web.deps import get_settings, header_of, run_raw_read
from colsec.web.errors import colsec_error_response

__all__ = [
    "OPENAPI_PATHS",
    "TaxiiResponse",
    "check_accept",
    "document",
    "filters_of",
    "is_taxii21",
    "media",
    "routes",
    "taxii_response",
]

OBJECTS = "/taxii2/{api_root}/collections/{collection_id}/objects/"
OBJECT = OBJECTS + "{object_id}/"


def media(value: str) -> tuple[str, dict[str, str]]:
    kind, *params = value.split(";")
    parsed = {}
    for p in params:
        k, _, v = p.partition("=")
        parsed[k.strip().lower()] = v.strip().strip('"')
    return kind.strip().lower(), parsed


def is_taxii21(kind: str, params: dict[str, str]) -> bool:
    return kind == "application/taxii+json" and params.get("version", "2.1") == "2.1"


_TAXII_ACCEPT = frozenset({TAXII_MEDIA, "application/taxii+json", "*/*"})


async def check_accept(request: Request) -> None:
    """406 unless the client accepts the TAXII 2.1 media type (or anything)."""
    header = header_of(request, b"accept")
    if not header or header in _TAXII_ACCEPT:  # what TAXII clients send: no parsing needed
        return
    for part in header.split(","):
        kind, params = media(part)
        if params.get("q", "1") in ("0", "0.0", "0.00", "0.000"):
            continue
        if kind in ("*/*", "application/*") or is_taxii21(kind, params):
            return
    raise NotAcceptable(f"this server produces {TAXII_MEDIA}; the request accepts only {header!r}")


class TaxiiResponse(Response):
    """A TAXII body: Starlette's ``Response`` with its header list built directly.

    The same headers as ``Response(content, media_type=TAXII_MEDIA, headers=...)`` (the media
    type has no charset to add), without its generic pass over them: every page and every
    object by id is answered here.
    """

    media_type = TAXII_MEDIA

    def __init__(self, content: bytes, status_code: int = 200, headers: dict[str, str] | None = None) -> None:
        self.status_code = status_code
        self.body = content
        self.background = None
        raw = [(b"content-length", str(len(content)).encode()), (b"content-type", _TAXII_TYPE)]
        if headers:
            raw[:0] = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        self.raw_headers = raw


_TAXII_TYPE = TAXII_MEDIA.encode("latin-1")


def taxii_response(
    body: dict[str, Any] | bytes, *, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return TaxiiResponse(content, status, headers)


def filters_of(request: Request) -> Filters:
    settings = get_settings(request)
    # No query string (an object by id, a first page): no multi-dict to build for nothing.
    params = request.query_params.multi_items() if request.scope.get("query_string") else ()
    return Filters.parse(
        params,
        default_limit=settings.taxii_default_page,
        max_limit=settings.taxii_max_page,
    )


class _Access:
    """The collection's access row, read by the token caller's own statement (``access.caller_access``).

    A browser session or a failed token takes the ORM path, where ``read_access`` reads it.
    ``object_id``: an object by id with no query, whose token caller's statement also reads
    the object (``by_id``); ``rows`` holds them when they were read for the caller's viewer.
    """

    __slots__ = ("api_root", "collection_id", "found", "lim", "object_id", "read", "rows")

    def __init__(self, api_root: str, collection_id: str, object_id: str | None = None, lim: int = 0) -> None:
        self.api_root, self.collection_id = api_root, collection_id
        self.object_id, self.lim = object_id, lim
        self.read = False
        self.found: AccessRow | None = None
        self.rows: list[tuple[Any, ...]] | None = None

    def caller(self, unit: ReadUnit, token: str, username: str | None) -> Actor | None:
        if self.object_id is not None:
            hit = by_id.caller_and_object(
                unit, token=token, username=username, collection_id=self.collection_id,
                object_id=self.object_id, lim=self.lim,
            )  # fmt: skip
            if hit is None:
                return None
            self.read, self.found, self.rows = True, hit.access, hit.rows
            return hit.actor
        found = caller_access(unit, token=token, username=username, collection_id=self.collection_id)
        if found is None:
            return None
        self.read, self.found = True, found[1]
        return found[0]

    def check(self, db: Session | ReadUnit, actor: Actor) -> tuple[CollectionRef, Recipient]:
        """The collection's rights and the caller's viewer (403/404 as on every TAXII route)."""
        if self.read:
            return read_access(
                db, actor=actor, api_root=self.api_root, collection_id=self.collection_id, found=self.found
            )
        return read_access(db, actor=actor, api_root=self.api_root, collection_id=self.collection_id)


async def get_objects(request: Request) -> Response:
    await check_accept(request)
    access = _Access(request.path_params["api_root"], request.path_params["collection_id"])

    def work(db: Session | ReadUnit, actor: Actor) -> Response:
        filters = filters_of(request)  # after the caller (401 before 400), as on every TAXII route
        coll, viewer = access.check(db, actor)
        page = reads.read_page(
            db, actor=actor, collection=coll, filters=filters, viewer=viewer, envelope_only=True
        )
        return taxii_response(page.envelope(), headers=page.headers)

    # On SQLite the token caller's page runs on the event loop too, as the raw ceiling's does: with 4
    # clients the worker-thread hop put the loop and the reading thread in a GIL queue, and the page
    # p99 went from 1.2-1.4x the ceiling's to 0.7-0.9x (``bench/taxii.py --phases pages``, A/B).
    return await run_raw_read(request, work, caller=access.caller, small=True)


async def get_object(request: Request) -> Response:
    await check_accept(request)
    path = request.path_params
    object_id = path["object_id"]
    # No query: the latest version, what TAXII clients ask most, read with the caller (``by_id``).
    plain = not request.scope.get("query_string")
    lim = get_settings(request).taxii_default_page + 1
    access = _Access(path["api_root"], path["collection_id"], object_id if plain else None, lim)

    def work(db: Session | ReadUnit, actor: Actor) -> Response:
        filters = filters_of(request)  # after the caller, as on every TAXII route
        coll, viewer = access.check(db, actor)
        if access.rows is not None and filters.unfiltered and filters.limit + 1 == lim:
            page = reads.page_of(access.rows, filters.limit)
        else:
            page = reads.read_page(
                db, actor=actor, collection=coll, filters=filters, object_id=object_id, viewer=viewer,
                envelope_only=True,
            )  # fmt: skip
        if not page.rows:  # a 404 unless the object is here, paged past its end or not
            empty = nothing_matched(db, actor, coll, object_id, viewer)
            if filters.next is None:
                return empty
        return taxii_response(page.envelope(), headers=page.headers)

    return await run_raw_read(request, work, caller=access.caller, small=True)


def nothing_matched(
    db: Session | ReadUnit, actor: Actor, coll: CollectionRef, object_id: str, viewer: Recipient
) -> Response:
    """An object here whose versions the filters all excluded: an empty resource, as the reference answers."""
    if not reads.has_object(db, actor=actor, collection=coll, object_id=object_id, viewer=viewer):
        raise NotFound(f"object {object_id} not found in collection {coll.id}")
    return taxii_response({})


# --- OpenAPI ------------------------------------------------------------------------------------
# Plain routes are not in FastAPI's generated document; these operations describe them there,
# merged by ``document`` (``create_app`` wires it as ``app.openapi``).


def _param(name: str, where: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": where, "required": where == "path", "description": description,
            "schema": schema or {"type": "string"}}  # fmt: skip


_PATH = [
    _param("api_root", "path", "The API root's name."),
    _param("collection_id", "path", "The collection's id."),
]
_COMMON = [
    _param("added_after", "query", "Only versions added after this RFC 3339 timestamp.", {"type": "string", "format": "date-time"}),
    _param("limit", "query", "The page size (capped at the server's maximum).", {"type": "integer", "minimum": 1}),
    _param("next", "query", "The `next` value of the previous page."),
    _param("match[version]", "query", "Comma-separated: `first`, `last` (default), `all` or version timestamps."),
    _param("match[spec_version]", "query", "Comma-separated STIX spec versions."),
]  # fmt: skip
_LISTS = [
    _param("match[id]", "query", "Comma-separated STIX ids."),
    _param("match[type]", "query", "Comma-separated STIX object types."),
]
_ERROR = {"content": {TAXII_MEDIA: {"schema": {"$ref": "#/components/schemas/TaxiiError"}}}}
_NO_COLLECTION = "No such API root or collection visible to the caller."
_ERRORS = {
    "400": {"description": "A query parameter is malformed.", **_ERROR},
    "401": {"description": "No valid credentials.", **_ERROR},
    "403": {"description": "The caller may not read this collection.", **_ERROR},
    "404": {"description": _NO_COLLECTION, **_ERROR},
    "406": {"description": f"The request does not accept {TAXII_MEDIA}.", **_ERROR},
}
_DATE_HEADERS = {
    name: {"description": f"The date_added of the {which} object on the page.", "schema": {"type": "string"}}
    for name, which in (("X-TAXII-Date-Added-First", "first"), ("X-TAXII-Date-Added-Last", "last"))
}
_ENVELOPE = {
    "type": "object",
    "properties": {
        "more": {"type": "boolean"},
        "next": {"type": "string"},
        "objects": {"type": "array", "items": {"type": "object", "description": "A STIX 2.1 object."}},
    },
}
_TAXII_ERROR = {
    "type": "object",
    "required": ["title"],
    "properties": {
        "title": {"type": "string"},
        "description": {"type": "string"},
        "http_status": {"type": "string"},
    },
}


def _operation(op_id: str, summary: str, params: list[dict[str, Any]], not_found: str) -> dict[str, Any]:
    ok = {"description": "The envelope, as the caller's sharing policy lets it see the collection.",
          "headers": _DATE_HEADERS, "content": {TAXII_MEDIA: {"schema": {"$ref": "#/components/schemas/TaxiiEnvelope"}}}}  # fmt: skip
    return {
        "tags": ["taxii"],
        "summary": summary,
        "operationId": op_id,
        "parameters": params,
        "responses": {"200": ok, **_ERRORS, "404": {"description": not_found, **_ERROR}},
    }


OPENAPI_PATHS = {
    OBJECTS: _operation("taxii_get_objects", "Get Objects", _PATH + _COMMON + _LISTS, _NO_COLLECTION),
    OBJECT: _operation(
        "taxii_get_object", "Get An Object", _PATH + [_param("object_id", "path", "The STIX id.")] + _COMMON,
        "No such object (or collection) visible to the caller.",
    ),
}  # fmt: skip


def document(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` (FastAPI's generated document) with the GET operations of these plain routes merged in."""
    for path, operation in OPENAPI_PATHS.items():
        schema.setdefault("paths", {}).setdefault(path, {})["get"] = operation
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas["TaxiiEnvelope"], schemas["TaxiiError"] = _ENVELOPE, _TAXII_ERROR
    return schema


class _Read:
    """A read as a plain ASGI app, so Starlette wraps no per-route exception handler around it.

    It renders a ``ColsecError`` itself, with the app's handler's function: a GET reaches it from
    ``HotRoutes``, past the app's exception middleware.  Any other error goes on up, to the
    server-error layer, as from any route.
    """

    __slots__ = ("read",)

    def __init__(self, read: Callable[[Request], Awaitable[Response]]) -> None:
        self.read = read

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        try:
            response: Response = await self.read(request)
        except ColsecError as exc:  # rendered as the app's handler renders it (``HotRoutes`` skips it)
            response = colsec_error_response(request, exc)
        await response(scope, receive, send)


routes = [
    Route(OBJECT, _Read(get_object), methods=["GET"], name="taxii_get_object"),
    Route(OBJECTS, _Read(get_objects), methods=["GET"], name="taxii_get_objects"),
]
