"""The hardening headers on every response, and the body caps on reads that frame a body.

Both middlewares skip work on the hot TAXII reads (headers built once; no body wrappers for a
GET or HEAD without Content-Length or Transfer-Encoding): what every response carries, and what a
read that declares a body meets, stay as they were.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from colsec.accounts.roles import SYSTEM, Role
from colsec.db import Database
from colsec.settings import Settings
from colsec.store.service import import_objects
from colsec.taxii import service as taxii
from colsec.web.middleware import CSP, SecurityHeaders

TAXII = "application/taxii+json;version=2.1"
INDICATOR = {
    "type": "indicator", "spec_version": "2.1", "id": "indicator--0f7c3a54-6b1e-4b6e-9f4c-8f5b8a1f2e11",
    "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z", "name": "x",
    "pattern": "[ipv4-addr:value = '198.51.100.7']", "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
}  # fmt: skip
EXPECTED = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}


@pytest.fixture
def small_client(settings: Settings, database: Database) -> Iterator[TestClient]:
    """An app whose body cap is 1 KiB, so a declared body over it is cheap to send."""
    from colsec.web.app import create_app

    with TestClient(create_app(settings.model_copy(update={"max_body_bytes": 1024}), database=database)) as c:
        yield c


def _collection(database: Database) -> str:
    with database.unit_of_work() as s:
        cid = taxii.create_collection(s, actor=SYSTEM, title="shared", can_read=("*",)).id
        import_objects(s, actor=SYSTEM, objects=[INDICATOR], collection_ids=[cid])
    return cid


def _assert_hardened(r: Any) -> None:
    for name, value in EXPECTED.items():
        assert r.headers.get_list(name) == [value], (r.request.url, name, r.headers.get_list(name))


def test_every_response_carries_each_header_once(
    small_client: TestClient, make_account: Callable[..., Any], database: Database
) -> None:
    acc = make_account(Role.ANALYST, "ORG-A")
    cid = _collection(database)
    objects = f"/taxii2/root/collections/{cid}/objects/"
    taxii_headers = {**acc.headers, "Accept": TAXII}
    cases = [
        (small_client.get(f"{objects}{INDICATOR['id']}/", headers=taxii_headers), 200),
        (small_client.head(f"{objects}{INDICATOR['id']}/", headers=taxii_headers), 200),
        (small_client.get(objects, headers=taxii_headers), 200),
        (small_client.get(f"{objects}indicator--00000000-0000-4000-8000-000000000000/", headers=taxii_headers), 404),
        (small_client.get(f"{objects}{INDICATOR['id']}/", headers={"Accept": TAXII}), 401),
        (small_client.get(f"{objects}{INDICATOR['id']}/", headers={**acc.headers, "Accept": "text/html"}), 406),
        (small_client.get("/api/v1/no-such-route", headers=acc.headers), 404),
        (small_client.get("/api/openapi.json"), 200),
    ]  # fmt: skip
    for r, status in cases:
        assert r.status_code == status, (r.request.url, r.status_code, r.text[:200])
        _assert_hardened(r)


def test_a_read_that_declares_a_body_over_the_cap_is_refused(
    small_client: TestClient, make_account: Callable[..., Any], database: Database
) -> None:
    acc = make_account(Role.ANALYST, "ORG-A")
    cid = _collection(database)
    url = f"/taxii2/root/collections/{cid}/objects/{INDICATOR['id']}/"
    r = small_client.request("GET", url, content=b"x" * 2048, headers={**acc.headers, "Accept": TAXII})
    assert r.status_code == 413, r.text
    assert r.json()["http_status"] == "413"
    _assert_hardened(r)  # the cap's refusal carries the headers like every other answer
    # Without a body the same read answers.
    assert small_client.get(url, headers={**acc.headers, "Accept": TAXII}).status_code == 200


def test_a_response_that_sets_one_of_the_headers_keeps_its_own() -> None:
    async def own_frame_policy(scope: Any, receive: Any, send: Any) -> None:
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"X-Frame-Options", b"SAMEORIGIN")]}
        )
        await send({"type": "http.response.body", "body": b""})

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(
        SecurityHeaders(own_frame_policy)({"type": "http", "method": "GET", "headers": []}, None, send)
    )
    headers = sent[0]["headers"]
    assert (b"X-Frame-Options", b"SAMEORIGIN") in headers
    assert [n for n, _ in headers if n.lower() == b"x-frame-options"] == [b"X-Frame-Options"]
    assert {n.decode(): v.decode() for n, v in headers if n != b"X-Frame-Options"} == {
        k: v for k, v in EXPECTED.items() if k != "x-frame-options"
    }
