"""Finding 15a over HTTP: JSON bodies nested past the limit are refused as they stream in."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from colsec.accounts.roles import SYSTEM, Role
from colsec.db import Database
from colsec.taxii import service as taxii

DEEP = b'{"name": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"


def _chunks(data: bytes, size: int = 4096) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


@pytest.mark.parametrize(
    ("path", "media"),
    [
        ("/api/v1/objects", "application/json"),
        ("/api/v1/crisis/incidents", "application/json"),  # body parsed by FastAPI itself
        ("/taxii2/root/collections/{cid}/objects/", "application/taxii+json;version=2.1"),
    ],
)
def test_finding_15a_deep_json_body_refused_naming_the_limit(
    client: TestClient, make_account: Callable[..., Any], database: Database, path: str, media: str
) -> None:
    acc = make_account(Role.ADMIN, "ORG-A")
    with database.unit_of_work() as s:
        cid = taxii.create_collection(s, actor=SYSTEM, title="shared", can_write=("*",)).id
    path = path.replace("{cid}", cid)
    for body, ctype in ((DEEP, media), (_chunks(DEEP), media), (DEEP, None)):  # streamed; untyped
        started = time.perf_counter()
        headers = {**acc.headers, "content-type": ctype} if ctype else acc.headers
        r = client.post(path, content=body, headers=headers)
        assert time.perf_counter() - started < 2
        if ctype is None and r.status_code == 415:
            continue  # TAXII refuses an untyped envelope before reading it
        assert r.status_code == (400 if path.startswith("/taxii2") else 422), (r.status_code, r.text[:200])
        assert "nested deeper than 64 levels" in r.text, r.text[:300]


def test_finding_15a_ordinary_json_still_accepted(
    client: TestClient, make_account: Callable[..., Any]
) -> None:
    acc = make_account(Role.ANALYST, "ORG-A")
    body = b'{"type": "bundle", "id": "bundle--5e0e2f4c-6c3b-4a3b-9d59-1a2b3c4d5e6f", "objects": []}'
    r = client.post(
        "/api/v1/objects", content=body, headers={**acc.headers, "content-type": "application/json"}
    )
    assert r.status_code < 300, r.text
