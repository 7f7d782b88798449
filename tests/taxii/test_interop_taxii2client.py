"""The OASIS taxii2-client, as an outside client, against a real colsec uvicorn process."""

from __future__ import annotations

import pytest
import requests
from taxii2client.v21 import ApiRoot, Collection, Server, as_pages

from colsec.stix.tlp import TLP
from colsec.web.api.taxii import SYNC_MAX_OBJECTS
from taxii.server import Node
from taxii.stixdata import indicator, indicators


def _collection(node: Node, title: str) -> Collection:
    node.add_collection(title)
    a = node.accounts["analyst"]
    return Collection(node.collection_url(title), user=a.username, password=a.token)


def test_discovery_api_root_and_collections(taxii_node: Node) -> None:
    a = taxii_node.accounts["analyst"]
    server = Server(taxii_node.discovery_url, user=a.username, password=a.token)
    assert server.title
    assert [r.url for r in server.api_roots] == [taxii_node.root_url()]
    assert server.default is not None and server.default.url == taxii_node.root_url()
    root = server.api_roots[0]
    assert root.versions == ["application/taxii+json;version=2.1"]
    assert root.max_content_length > 0
    titles = {c.title: c for c in root.collections}
    assert titles["shared"].can_read and titles["shared"].can_write
    assert titles["shared"].id == taxii_node.collections["shared"]


def test_add_page_get_versions_manifest_delete(taxii_node: Node) -> None:
    coll = _collection(taxii_node, "interop")
    good = indicators(25, tag="interop")
    bad = {"type": "indicator", "spec_version": "2.1", "id": "indicator--not-a-uuid"}
    status = coll.add_objects({"objects": [*good[:12], bad, *good[12:]]})
    assert status.status == "complete"
    assert (status.total_count, status.success_count, status.failure_count) == (26, 25, 1)
    assert status.failures[0]["id"] == "indicator--not-a-uuid" and status.failures[0]["message"]
    assert {s["id"] for s in status.successes} == {o["id"] for o in good}

    # status polling through the API root, as a client that lost the response would do it
    a = taxii_node.accounts["analyst"]
    root = ApiRoot(taxii_node.root_url(), user=a.username, password=a.token)
    again = root.get_status(status.id)
    assert again.status == "complete" and again.success_count == 25

    pages = list(as_pages(coll.get_objects, per_request=10))
    assert [len(p.get("objects", [])) for p in pages] == [10, 10, 5]
    seen = [o["id"] for p in pages for o in p["objects"]]
    assert seen == [o["id"] for o in good]  # sorted by date_added = order of arrival

    one = coll.get_object(good[3]["id"])
    assert [o["id"] for o in one["objects"]] == [good[3]["id"]]

    newer = indicator(3, tag="interop", modified="2026-02-01T00:00:00.000Z")
    assert coll.add_objects({"objects": [newer]}).success_count == 1
    versions = coll.object_versions(good[3]["id"])
    assert versions["versions"] == [
        "2026-01-01T00:00:00.000Z",
        "2026-02-01T00:00:00.000Z",
    ]  # as the objects state them
    latest = coll.get_object(good[3]["id"])
    assert [o["modified"] for o in latest["objects"]] == ["2026-02-01T00:00:00.000Z"]
    both = coll.get_object(good[3]["id"], version="all")
    assert len(both["objects"]) == 2
    first = coll.get_object(good[3]["id"], version="first")
    assert [o["modified"] for o in first["objects"]] == ["2026-01-01T00:00:00.000Z"]

    manifest_pages = list(as_pages(coll.get_manifest, per_request=20))
    entries = [m for p in manifest_pages for m in p["objects"]]
    assert len(entries) == 25  # latest versions only
    assert all(m["media_type"] == "application/stix+json;version=2.1" and m["date_added"] for m in entries)
    assert [m["date_added"] for m in entries] == sorted(m["date_added"] for m in entries)

    typed = coll.get_objects(type="malware")
    assert "objects" not in typed and typed["more"] is False

    coll.delete_object(good[0]["id"])
    with pytest.raises(requests.HTTPError) as err:
        coll.get_object(good[0]["id"])
    assert err.value.response.status_code == 404
    assert len(coll.get_objects()["objects"]) == 24


def test_large_envelope_is_pending_then_complete(taxii_node: Node) -> None:
    coll = _collection(taxii_node, "bulk")
    objs = indicators(SYNC_MAX_OBJECTS + 500, tag="bulk", tlp=TLP.CLEAR)
    status = coll.add_objects({"objects": objs}, wait_for_completion=False)
    assert status.status == "pending"
    assert status.pending_count == len(objs) and len(status.pendings) == len(objs)
    status.wait_until_final(poll_interval=0.2, timeout=120)
    assert status.status == "complete"
    assert status.success_count == len(objs) and status.failure_count == 0
    got = sum(len(p.get("objects", [])) for p in as_pages(coll.get_objects, per_request=1000))
    assert got == len(objs)
