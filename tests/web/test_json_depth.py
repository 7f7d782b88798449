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


def test_finding_15_huge_string_refused_while_the_body_streams(
    settings: Any, database: Database, make_account: Callable[..., Any]
) -> None:
    """A string longer than the gate could ever store is refused before the body is held (422)."""
    from colsec.web.app import create_app

    small = settings.model_copy(update={"max_string_length": 256})
    acc = make_account(Role.ANALYST, "ORG-A")
    obj = {"type": "malware", "spec_version": "2.1", "id": "malware--0b1d2c3e-4f50-4a6b-8c7d-9e0f1a2b3c4d",
           "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z", "is_family": False,
           "name": "x"}  # fmt: skip
    import orjson

    with TestClient(create_app(small, database=database)) as c:
        big = orjson.dumps({**obj, "description": "A" * 2_000_000})
        r = c.post(
            "/api/v1/objects",
            content=_chunks(big),
            headers={**acc.headers, "Content-Type": "application/json"},
        )
        assert r.status_code == 422 and "string longer than 1,536 bytes" in r.json()["detail"], r.text
        # escapes count as the bytes they take, so a string the gate accepts always passes the scan
        ok = orjson.dumps({**obj, "description": "\u00e9" * 250}, option=orjson.OPT_NON_STR_KEYS)
        r = c.post(
            "/api/v1/objects",
            content=ok.replace(b"\xc3\xa9", b"\\u00e9"),
            headers={**acc.headers, "Content-Type": "application/json"},
        )
        assert r.status_code == 201, r.text


def test_string_scan_agrees_with_the_parser_across_chunks() -> None:
    """However the text is cut, the scanner's verdict on string length is the parser's."""
    import re

    import orjson
    from hypothesis import given
    from hypothesis import settings as hsettings
    from hypothesis import strategies as st

    from colsec.errors import InvalidInput
    from colsec.jsonutil import DepthScanner

    values = st.recursive(
        st.text(alphabet=st.sampled_from('ab"\\\u00e9{}[]:,'), max_size=40),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
        max_leaves=12,
    )

    @hsettings(max_examples=300, deadline=None)
    @given(values, st.integers(1, 60), st.integers(1, 17))
    def check(value: Any, limit: int, cut: int) -> None:
        text = orjson.dumps(value)
        longest = 0

        def walk(v: Any) -> None:
            nonlocal longest
            if isinstance(v, str):  # counted as the scanner does: escape pairs dropped
                longest = max(longest, len(re.sub(rb"\\.", b"", orjson.dumps(v)[1:-1], flags=re.DOTALL)))
            elif isinstance(v, dict):
                for k, x in v.items():
                    walk(k)
                    walk(x)
            elif isinstance(v, list):
                for x in v:
                    walk(x)

        walk(value)
        scanner = DepthScanner(1000, max_string_bytes=limit)
        try:
            for i in range(0, len(text), cut):
                scanner._feed(text[i : i + cut])
            refused = False
        except InvalidInput:
            refused = True
        assert refused == (longest > limit)

    check()
