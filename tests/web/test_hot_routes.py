"""The hot TAXII reads dispatched by ``HotRoutes`` answer exactly as through the framework's router.

``HotRoutes`` sends a GET of an objects page or an object by id past the exception layer and
the router; the route renders its own errors.  Every answer (status, headers, body) must be
the one the app gives without it, for each outcome a TAXII read can have.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.responses import Response
from starlette.routing import Route

from colsec.accounts.roles import SYSTEM, Role
from colsec.db import Database
from colsec.settings import Settings
from colsec.stix.tlp import TLP
from colsec.store.service import import_objects
from colsec.taxii import service as taxii
from colsec.taxii.media import TAXII_MEDIA
from colsec.web.api.taxii_reads import TaxiiResponse
from colsec.web.middleware import HotRoutes

OTHER_ORG_ID = "indicator--5a3c1b2e-7d4f-4e8a-9b6c-1f2e3d4c5b6a"


def _indicator(oid: str, modified: str = "2026-01-01T00:00:00.000Z") -> dict[str, Any]:
    return {
        "type": "indicator", "spec_version": "2.1", "id": oid, "created": "2026-01-01T00:00:00.000Z",
        "modified": modified, "name": "x", "pattern": "[ipv4-addr:value = '198.51.100.7']",
        "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
    }  # fmt: skip


SHARED = "indicator--0f7c3a54-6b1e-4b6e-9f4c-8f5b8a1f2e11"
SECOND = "indicator--2b7d9e41-3c5a-4f6b-8d7e-9a0b1c2d3e4f"


@pytest.fixture
def clients(settings: Settings, database: Database) -> Iterator[tuple[TestClient, TestClient]]:
    """The app as served, and the same app without ``HotRoutes`` (every read through the router)."""
    from colsec.web.app import create_app

    fast = create_app(settings, database=database)
    reference = create_app(settings, database=database)
    assert any(m.cls is HotRoutes for m in reference.user_middleware)
    reference.user_middleware = [m for m in reference.user_middleware if m.cls is not HotRoutes]
    with TestClient(fast) as f, TestClient(reference) as r:
        yield f, r


def _same(fast: Any, reference: Any) -> None:
    assert fast.status_code == reference.status_code, (fast.request.url, fast.text, reference.text)
    assert fast.content == reference.content, fast.request.url
    assert sorted(fast.headers.multi_items()) == sorted(reference.headers.multi_items()), fast.request.url


def test_every_outcome_of_a_hot_read_matches_the_router(
    clients: tuple[TestClient, TestClient], make_account: Callable[..., Any], database: Database
) -> None:
    fast, reference = clients
    acc = make_account(Role.ANALYST, "ORG-A")
    peer = make_account(Role.ANALYST, "ORG-B")
    with database.unit_of_work() as s:
        open_ = taxii.create_collection(s, actor=SYSTEM, title="open", can_read=("*",)).id
        write_only = taxii.create_collection(
            s, actor=SYSTEM, title="w", can_read=("ORG-B",), can_write=("ORG-A",)
        ).id
        import_objects(
            s,
            actor=SYSTEM,
            objects=[_indicator(SHARED), _indicator(SECOND)],
            collection_ids=[open_],
            default_tlp=TLP.GREEN,
        )
        import_objects(
            s,
            actor=SYSTEM,
            objects=[_indicator(SHARED, "2026-02-01T00:00:00.000Z")],
            collection_ids=[open_],
            default_tlp=TLP.GREEN,
        )
        import_objects(
            s,
            actor=peer.actor,
            objects=[_indicator(OTHER_ORG_ID)],
            collection_ids=[open_],
            default_tlp=TLP.RED,
        )
    # fmt: skip
    taxii_headers = {**acc.headers, "Accept": TAXII_MEDIA}
    objects = f"/taxii2/root/collections/{open_}/objects/"
    bad_basic = {"Authorization": "Basic " + base64.b64encode(b"nobody").decode(), "Accept": TAXII_MEDIA}
    cases: list[tuple[str, dict[str, str]]] = [
        (f"{objects}{SHARED}/", taxii_headers),  # the latest version
        (f"{objects}{SHARED}/?match[version]=all", taxii_headers),
        (f"{objects}{SHARED}/?match[version]=first&limit=1", taxii_headers),
        (f"{objects}{SHARED}/?match[spec_version]=2.0", taxii_headers),  # filtered out: an empty resource
        (f"{objects}{SHARED}/?added_after=nonsense", taxii_headers),  # 400
        (f"{objects}{OTHER_ORG_ID}/", taxii_headers),  # another organisation's TLP:RED: 404
        (f"{objects}{OTHER_ORG_ID}/", {**peer.headers, "Accept": TAXII_MEDIA}),  # its owner sees it
        (f"{objects}indicator--00000000-0000-4000-8000-000000000000/", taxii_headers),
        (f"/taxii2/root/collections/{write_only}/objects/{SHARED}/", taxii_headers),  # 403
        (f"/taxii2/root/collections/no-such-collection/objects/{SHARED}/", taxii_headers),  # 404
        (f"/taxii2/other-root/collections/{open_}/objects/{SHARED}/", taxii_headers),  # 404
        (f"{objects}{SHARED}/", {"Accept": TAXII_MEDIA}),  # 401, no credentials
        (f"{objects}{SHARED}/", {"Authorization": "Bearer csk_wrong", "Accept": TAXII_MEDIA}),  # 401
        (f"{objects}{SHARED}/", bad_basic),  # 401, malformed Basic
        (f"{objects}{SHARED}/", {**acc.headers, "Accept": "text/html"}),  # 406
        (f"{objects}{SHARED}/", {**acc.headers, "Accept": "text/html;q=0.5, application/taxii+json"}),
        (objects, taxii_headers),
        (f"{objects}?limit=1", taxii_headers),
        (f"{objects}?limit=0", taxii_headers),  # 400
        (f"{objects}?match[type]=indicator&match[id]={SHARED}", taxii_headers),
        (objects, {"Accept": TAXII_MEDIA}),  # 401
        (f"/taxii2/root/collections/{open_}/", taxii_headers),  # not a hot route: the router's as before
    ]
    statuses = set()
    for path, headers in cases:
        f, r = fast.get(path, headers=headers), reference.get(path, headers=headers)
        _same(f, r)
        statuses.add(f.status_code)
    assert statuses == {200, 400, 401, 403, 404, 406}  # every outcome was met
    paged = fast.get(f"{objects}?limit=1", headers=taxii_headers).json()
    assert paged["more"] is True
    _same(
        fast.get(objects, params={"limit": 1, "next": paged["next"]}, headers=taxii_headers),
        reference.get(objects, params={"limit": 1, "next": paged["next"]}, headers=taxii_headers),
    )
    _same(  # HEAD is not dispatched: both take the router
        fast.head(f"{objects}{SHARED}/", headers=taxii_headers),
        reference.head(f"{objects}{SHARED}/", headers=taxii_headers),
    )


def test_only_a_get_of_a_hot_route_is_dispatched() -> None:
    seen: list[str] = []

    class Hot:  # an ASGI app (a plain function would be taken for a request handler)
        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            seen.append(f"hot {scope['path_params']['name']}")
            await Response(b"hot")(scope, receive, send)

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        seen.append(f"inner {scope['method']} {scope['path']}")
        await Response(b"inner")(scope, receive, send)

    app = HotRoutes(inner, [Route("/taxii2/{name}/", Hot(), methods=["GET"])])

    async def call(method: str, path: str) -> None:
        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            pass

        scope = {
            "type": "http",
            "method": method,
            "path": path,
            "root_path": "",
            "headers": [],
            "query_string": b"",
        }
        await app(scope, receive, send)

    for method, path in [("GET", "/taxii2/a/"), ("HEAD", "/taxii2/a/"), ("POST", "/taxii2/a/"),
                         ("GET", "/taxii2/a/b/"), ("GET", "/api/a/")]:  # fmt: skip
        asyncio.run(call(method, path))
    assert seen == ["hot a", "inner HEAD /taxii2/a/", "inner POST /taxii2/a/", "inner GET /taxii2/a/b/",
                    "inner GET /api/a/"]  # fmt: skip


@pytest.mark.parametrize("headers", [None, {"X-TAXII-Date-Added-First": "2026-01-01T00:00:00.000000Z"}])
@pytest.mark.parametrize("status", [200, 404])
def test_a_taxii_response_carries_the_headers_starlette_would_give(
    headers: dict[str, str] | None, status: int
) -> None:
    body = b'{"more":false}'
    ours = TaxiiResponse(body, status, headers)
    theirs = Response(content=body, status_code=status, media_type=TAXII_MEDIA, headers=headers)
    assert ours.status_code == theirs.status_code and ours.body == theirs.body
    assert sorted(ours.raw_headers) == sorted(theirs.raw_headers)
