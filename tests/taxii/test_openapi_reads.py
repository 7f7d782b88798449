"""The plain-route TAXII reads (objects, an object by id) are in the OpenAPI document and still served plain.

The document is fetched from a running node over HTTP; each documented query parameter is
sent malformed to check the route reads it (400), and the documented statuses are the ones
the node answers.  In-process, the route that matches those GETs is the plain Starlette
route, not a FastAPI one: documenting them did not move them off the fast path.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from starlette.routing import Match, Route

from colsec.web.api import taxii_reads
from taxii.nodes import BACKENDS, start_node
from taxii.server import Node
from taxii.stixdata import indicator

TAXII = "application/taxii+json;version=2.1"
OBJECTS = "/taxii2/{api_root}/collections/{collection_id}/objects/"
OBJECT = OBJECTS + "{object_id}/"
MALFORMED = {"added_after": "yesterday", "limit": "0", "next": "not-a-cursor", "match[version]": "newest"}


@pytest.fixture(scope="module", params=BACKENDS)
def node(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    for n in start_node(request, tmp_path_factory):
        n.add_account("other", org="ORG-B")
        yield n


@pytest.fixture(scope="module")
def document(node: Node) -> dict[str, Any]:
    r = httpx.get(f"{node.base_url}api/openapi.json", timeout=30)
    assert r.status_code == 200
    body: dict[str, Any] = r.json()
    return body


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/")
    out: Any = doc
    for part in ref[2:].split("/"):
        out = out[part]
    return out


@pytest.mark.parametrize("path", [OBJECTS, OBJECT])
def test_the_get_operations_are_documented(document: dict[str, Any], path: str) -> None:
    item = document["paths"][path]
    assert "get" in item, sorted(item)
    op = item["get"]
    names = {p["name"]: p for p in op["parameters"]}
    path_names = {"api_root", "collection_id"} | ({"object_id"} if path == OBJECT else set())
    assert {n for n, p in names.items() if p["in"] == "path" and p["required"]} == path_names
    assert set(MALFORMED) | {"match[spec_version]"} <= {n for n, p in names.items() if p["in"] == "query"}
    assert ("match[id]" in names) is (path == OBJECTS)
    assert {"200", "400", "401", "403", "404", "406"} <= set(op["responses"])
    ok = op["responses"]["200"]
    assert set(ok["headers"]) == {"X-TAXII-Date-Added-First", "X-TAXII-Date-Added-Last"}
    envelope = _resolve(document, ok["content"][TAXII]["schema"]["$ref"])
    assert set(envelope["properties"]) == {"more", "next", "objects"}
    for status in ("401", "404", "406"):
        assert (
            "title"
            in _resolve(document, op["responses"][status]["content"][TAXII]["schema"]["$ref"])["required"]
        )
    # The other methods on the same paths stay FastAPI's generated operations.
    assert ("post" in item) is (path == OBJECTS) and ("delete" in item) is (path == OBJECT)
    ids = [o["operationId"] for p in document["paths"].values() for o in p.values()]
    assert len(ids) == len(set(ids))


def test_the_documented_parameters_and_statuses_are_what_the_routes_answer(node: Node) -> None:
    obj = indicator(1, tag="openapi")
    url = node.collection_url()
    r = httpx.post(url + "objects/", auth=node.accounts["analyst"].auth, content=orjson.dumps({"objects": [obj]}),
                   headers={"Accept": TAXII, "Content-Type": TAXII}, timeout=60)  # fmt: skip
    assert r.status_code == 202, r.text
    one = f"{url}objects/{obj['id']}/"
    auth, accept = node.accounts["analyst"].auth, {"Accept": TAXII}
    got = httpx.get(one, auth=auth, headers=accept)
    assert got.status_code == 200 and got.headers["content-type"] == TAXII
    assert got.json()["objects"][0]["id"] == obj["id"] and got.headers["X-TAXII-Date-Added-First"]
    for target in (url + "objects/", one):
        for name, value in MALFORMED.items():
            bad = httpx.get(target, auth=auth, headers=accept, params={name: value})
            assert bad.status_code == 400 and name.split("[")[0] in bad.json()["description"], (
                name,
                bad.text,
            )
        assert httpx.get(target, headers=accept).status_code == 401
        assert httpx.get(target, auth=auth, headers={"Accept": "text/html"}).status_code == 406
    assert httpx.get(f"{url}objects/indicator--00000000-0000-4000-8000-000000000000/", auth=auth,
                     headers=accept).status_code == 404  # fmt: skip
    assert httpx.get(one.replace(node.collections["shared"], "no-such-collection"), auth=auth,
                     headers=accept).status_code == 404  # fmt: skip


@pytest.mark.parametrize(
    ("path", "endpoint"), [(OBJECTS, taxii_reads.get_objects), (OBJECT, taxii_reads.get_object)]
)
def test_the_documented_gets_are_still_served_by_the_plain_routes(path: str, endpoint: Any) -> None:
    from colsec.settings import Settings
    from colsec.web.app import create_app

    app = create_app(Settings(data_dir=tempfile.mkdtemp(prefix="colsec-openapi-"), secret_key="x" * 32))
    concrete = path.format(api_root="root", collection_id="c1", object_id="indicator--x")
    scope = {"type": "http", "method": "GET", "path": concrete, "root_path": ""}
    first = next(r for r in app.router.routes if r.matches(scope)[0] == Match.FULL)
    assert type(first) is Route and first.endpoint.read is endpoint
    # Matched ahead of every other route (FastAPI's own OpenAPI route included): one try for an object.
    hot = [r.endpoint.read for r in app.router.routes[:2]]  # type: ignore[attr-defined]
    assert hot == [taxii_reads.get_object, taxii_reads.get_objects]
    assert path in app.openapi()["paths"]
