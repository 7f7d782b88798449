"""``first`` and ``last`` are a collection's own (TAXII 2.1 §3.4.2), on every TAXII read path.

A version removed from a collection (DELETE with ``match[version]``), or never published into
it, leaves the one before as that collection's latest: the default view, ``last``, the
manifest, the object by id and a second DELETE all name it, as ``all`` and ``/versions/``
already did.  Before, ``last`` was the store's newest version and the object vanished.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from colsec.accounts.roles import SYSTEM, Role
from colsec.db import Database
from colsec.stix.tlp import TLP, marking_id
from colsec.store.service import import_objects
from colsec.taxii import service as taxii
from colsec.taxii.media import TAXII_MEDIA

ROOT = "/taxii2/root/collections"
V1, V2, V3 = "2026-01-01T00:00:00.000Z", "2026-02-01T00:00:00.000Z", "2026-03-01T00:00:00.000Z"


def _version(oid: str, modified: str) -> dict[str, Any]:
    return {
        "type": "indicator", "spec_version": "2.1", "id": oid, "created": V1, "modified": modified,
        "name": f"watch {modified[:7]}", "pattern": "[ipv4-addr:value = '198.51.100.7']",
        "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
        "object_marking_refs": [marking_id(TLP.GREEN)],
    }  # fmt: skip


class Node:
    def __init__(self, client: TestClient, database: Database, headers: dict[str, str], org_id: int) -> None:
        self.client, self.database, self.org_id = client, database, org_id
        self.headers = {**headers, "Accept": TAXII_MEDIA}
        with database.unit_of_work() as s:
            self.a = taxii.create_collection(s, actor=SYSTEM, title="a", can_read=["*"], can_write=["*"]).id
            self.b = taxii.create_collection(s, actor=SYSTEM, title="b", can_read=["*"], can_write=["*"]).id

    def store(self, obj: dict[str, Any], *collections: str) -> None:
        with self.database.unit_of_work() as s:
            import_objects(
                s, actor=SYSTEM, objects=[obj], owner_org_id=self.org_id, collection_ids=list(collections)
            )

    def versions(self, cid: str, oid: str, version: str | None = None) -> dict[str, list[str]]:
        """The versions of ``oid`` each TAXII read path of collection ``cid`` names."""
        q = {"match[version]": version} if version else {}
        c, h, coll = self.client, self.headers, f"{ROOT}/{cid}"
        out: dict[str, list[str]] = {}
        r = c.get(f"{coll}/objects/", params={"match[id]": oid, **q}, headers=h)
        assert r.status_code == 200, r.text
        out["objects"] = [o["modified"] for o in r.json().get("objects", [])]
        r = c.get(f"{coll}/objects/{oid}/", params=q, headers=h)
        assert r.status_code == 200, r.text
        out["by id"] = [o["modified"] for o in r.json().get("objects", [])]
        r = c.get(f"{coll}/manifest/", params={"match[id]": oid, **q}, headers=h)
        assert r.status_code == 200, r.text
        out["manifest"] = [m["version"] for m in r.json().get("objects", [])]
        return out

    def delete(self, cid: str, oid: str, version: str) -> None:
        r = self.client.delete(
            f"{ROOT}/{cid}/objects/{oid}/", params={"match[version]": version}, headers=self.headers
        )
        assert r.status_code == 200, r.text


@pytest.fixture
def node(client: TestClient, database: Database, make_account: Callable[..., Any]) -> Node:
    owner = make_account(Role.ANALYST, "ORG-A")
    return Node(client, database, owner.headers, owner.org.id)


def _same(got: dict[str, list[str]], want: list[str]) -> None:
    assert got == {path: want for path in got}, got


def test_removing_the_latest_version_leaves_the_one_before(node: Node) -> None:
    oid = f"indicator--{uuid.uuid4()}"
    for modified in (V1, V2, V3):
        node.store(_version(oid, modified), node.a)
    _same(node.versions(node.a, oid), [V3])
    node.delete(node.a, oid, "last")
    _same(node.versions(node.a, oid), [V2])  # the store's newest is V3, the collection's V2
    _same(node.versions(node.a, oid, "last"), [V2])
    _same(node.versions(node.a, oid, "first"), [V1])
    _same(node.versions(node.a, oid, "first,last"), [V1, V2])
    _same(node.versions(node.a, oid, "all"), [V1, V2])
    node.delete(node.a, oid, "last")  # a second DELETE of the latest removes V2
    _same(node.versions(node.a, oid), [V1])


def test_removing_the_first_version_makes_the_next_one_first(node: Node) -> None:
    oid = f"indicator--{uuid.uuid4()}"
    for modified in (V1, V2, V3):
        node.store(_version(oid, modified), node.a)
    node.delete(node.a, oid, "first")
    _same(node.versions(node.a, oid, "first"), [V2])
    _same(node.versions(node.a, oid), [V3])


def test_a_collection_holding_older_versions_only_serves_its_latest(node: Node) -> None:
    """Published into ``b`` up to V2 (V3, posted to ``a``, joined ``b`` as a new version of what
    it holds, and was then taken out of ``b``): ``b`` serves V2 as the latest."""
    oid = f"indicator--{uuid.uuid4()}"
    node.store(_version(oid, V1), node.a, node.b)
    node.store(_version(oid, V2), node.a, node.b)
    node.store(_version(oid, V3), node.a)
    _same(node.versions(node.b, oid), [V3])
    node.delete(node.b, oid, V3)
    _same(node.versions(node.b, oid), [V2])
    _same(node.versions(node.b, oid, "first"), [V1])
    _same(node.versions(node.a, oid), [V3])
    r = node.client.get(f"{ROOT}/{node.b}/objects/", headers=node.headers)  # the whole collection
    assert [(o["id"], o["modified"]) for o in r.json()["objects"]] == [(oid, V2)]
