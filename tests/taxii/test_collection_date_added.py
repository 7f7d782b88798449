"""``date_added`` is a collection's own (TAXII 2.1 §3.2): the time an object was added to *that* collection.

A TAXII client polls a collection with ``added_after`` set to the last ``date_added`` it saw.
Before, the store kept one ``date_added`` per version, so an object stored earlier and added to
a collection later (by hand, by a filter's backfill, or posted there again) kept its old time
and its collection's pollers never received it.  Each read path of a collection (objects,
manifest, the page headers, the object by id) now names the collection's own time, a stored
version that joins a collection joins it now, and re-publishing a member changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from colsec.accounts.roles import SYSTEM, Role
from colsec.db import Database
from colsec.migrations import alembic_config, upgrade
from colsec.stix.tlp import TLP, marking_id
from colsec.store import publishing
from colsec.store.models import CollectionObject
from colsec.store.publishing import FilterSpec
from colsec.taxii.media import TAXII_MEDIA

from .test_collection_versions import Node as TwoCollections

ROOT = "/taxii2/root/collections"


def _indicator(name: str) -> dict[str, Any]:
    return {
        "type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}",
        "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z", "name": name,
        "pattern": "[domain-name:value = 'late.example.org']", "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z", "labels": [name],
        "object_marking_refs": [marking_id(TLP.GREEN)],
    }  # fmt: skip


class Node(TwoCollections):
    """Two collections ``a`` and ``b`` (``test_collection_versions``'s), read as a poller reads them."""

    def post(self, cid: str, *objects: dict[str, Any]) -> None:
        r = self.client.post(
            f"{ROOT}/{cid}/objects/", json={"objects": list(objects)},
            headers={**self.headers, "Content-Type": TAXII_MEDIA},
        )  # fmt: skip
        assert r.status_code == 202, r.text
        assert r.json()["status"] == "complete" and r.json()["success_count"] == len(objects), r.text

    def poll(self, cid: str, added_after: str | None = None) -> tuple[list[str], str | None]:
        """The ids an ``added_after`` poller of ``cid`` receives, and the page's last date_added."""
        params = {"added_after": added_after} if added_after else {}
        r = self.client.get(f"{ROOT}/{cid}/objects/", params=params, headers=self.headers)
        assert r.status_code == 200, r.text
        return [o["id"] for o in r.json().get("objects", [])], r.headers.get("X-TAXII-Date-Added-Last")

    def added(self, cid: str, oid: str) -> str:
        """The object's date_added in ``cid``'s manifest, checked against its by-id headers."""
        r = self.client.get(f"{ROOT}/{cid}/manifest/", params={"match[id]": oid}, headers=self.headers)
        assert r.status_code == 200, r.text
        (entry,) = r.json()["objects"]
        one = self.client.get(f"{ROOT}/{cid}/objects/{oid}/", headers=self.headers)
        assert one.status_code == 200, one.text
        assert one.headers["X-TAXII-Date-Added-First"] == entry["date_added"]
        return str(entry["date_added"])


@pytest.fixture
def node(client: TestClient, database: Database, make_account: Callable[..., Any]) -> Node:
    owner = make_account(Role.ANALYST, "ORG-A")
    return Node(client, database, owner.headers, owner.org.id)


def _seen_b(node: Node) -> tuple[dict[str, Any], str]:
    """An object stored in ``a``, then one in ``b`` that ``b``'s poller has read (its cursor returned)."""
    early = _indicator("early")
    node.store(early, node.a)
    seen = _indicator("seen")
    node.store(seen, node.b)
    ids, last = node.poll(node.b)
    assert ids == [seen["id"]] and last is not None
    return early, last


def test_an_object_added_to_a_collection_later_reaches_its_pollers(node: Node) -> None:
    early, cursor = _seen_b(node)
    in_a = node.added(node.a, early["id"])
    _, a_cursor = node.poll(node.a)
    with node.database.unit_of_work() as s:
        assert publishing.add_objects(s, actor=SYSTEM, collection_id=node.b, object_ids=[early["id"]]) == 1
    assert node.poll(node.b, cursor)[0] == [early["id"]]
    assert node.added(node.b, early["id"]) > cursor > in_a
    # the first collection's time and its pollers are untouched
    assert node.added(node.a, early["id"]) == in_a
    assert node.poll(node.a, a_cursor)[0] == []
    # adding it again is no news to anyone
    _, b_cursor = node.poll(node.b, cursor)
    with node.database.unit_of_work() as s:
        assert publishing.add_objects(s, actor=SYSTEM, collection_id=node.b, object_ids=[early["id"]]) == 0
    assert node.poll(node.b, b_cursor)[0] == []


def test_a_filter_backfill_adds_stored_objects_as_of_now(node: Node) -> None:
    early, cursor = _seen_b(node)
    with node.database.unit_of_work() as s:
        publishing.set_filter(s, actor=SYSTEM, collection_id=node.b, spec=FilterSpec(labels=("early",)))
        assert publishing.include_existing(s, actor=SYSTEM, collection_id=node.b) == 1
    assert node.poll(node.b, cursor)[0] == [early["id"]]
    # a new object the filter takes in joins at its own time, after the backfill's
    late = _indicator("early")
    node.store(late)
    assert node.poll(node.b, node.added(node.b, early["id"]))[0] == [late["id"]]


def test_posting_a_stored_object_into_another_collection_leaves_the_first_alone(node: Node) -> None:
    early, cursor = _seen_b(node)
    _, a_cursor = node.poll(node.a)
    in_a = node.added(node.a, early["id"])
    node.post(node.b, early)
    assert node.poll(node.b, cursor)[0] == [early["id"]]
    assert node.poll(node.a, a_cursor)[0] == []
    assert node.added(node.a, early["id"]) == in_a
    # posted again where it already is: the same time, no second delivery
    in_b = node.added(node.b, early["id"])
    node.post(node.b, early)
    assert node.added(node.b, early["id"]) == in_b
    assert node.poll(node.b, in_b)[0] == []


def test_a_new_version_joins_its_collections_at_its_own_time(node: Node) -> None:
    early, cursor = _seen_b(node)
    with node.database.unit_of_work() as s:
        publishing.add_objects(s, actor=SYSTEM, collection_id=node.b, object_ids=[early["id"]])
    _, b_cursor = node.poll(node.b, cursor)
    _, a_cursor = node.poll(node.a)
    newer = {**early, "modified": "2026-02-01T00:00:00.000Z", "name": "early, revised"}
    node.store(newer)  # no collection named: it joins those of its earlier version
    for cid, since in ((node.a, a_cursor), (node.b, b_cursor)):
        assert node.poll(cid, since)[0] == [early["id"]]
        assert node.added(cid, early["id"]) > str(since)
    with node.database.unit_of_work(write=False) as s:
        stamps = s.execute(
            select(CollectionObject.date_added).where(CollectionObject.collection_id == node.a)
        ).scalars()
        assert len(set(stamps)) == 2  # each version its own time


def test_a_version_posted_into_one_collection_reaches_the_others_that_hold_the_object(node: Node) -> None:
    early, cursor = _seen_b(node)
    with node.database.unit_of_work() as s:
        publishing.add_objects(s, actor=SYSTEM, collection_id=node.b, object_ids=[early["id"]])
    _, b_cursor = node.poll(node.b, cursor)
    revoked = {**early, "modified": "2026-02-01T00:00:00.000Z", "revoked": True}
    node.post(node.a, revoked)
    assert node.poll(node.b, b_cursor)[0] == [early["id"]]
    r = node.client.get(f"{ROOT}/{node.b}/objects/{early['id']}/", headers=node.headers)
    assert [o.get("revoked") for o in r.json()["objects"]] == [True]


def test_an_sco_is_selected_by_the_version_its_collection_names(node: Node) -> None:
    """An SCO states no version; TAXII names its date_added in the collection, and takes it back."""
    sco = {
        "type": "ipv4-addr",
        "spec_version": "2.1",
        "id": f"ipv4-addr--{uuid.uuid4()}",
        "value": "203.0.113.9",
    }
    node.post(node.a, sco)
    node.post(node.b, sco)
    version_a, version_b = node.added(node.a, sco["id"]), node.added(node.b, sco["id"])
    assert version_a < version_b
    for cid, version in ((node.a, version_a), (node.b, version_b)):
        r = node.client.get(f"{ROOT}/{cid}/manifest/", params={"match[id]": sco["id"]}, headers=node.headers)
        assert [m["version"] for m in r.json()["objects"]] == [version]
        r = node.client.get(
            f"{ROOT}/{cid}/objects/", params={"match[id]": sco["id"], "match[version]": version},
            headers=node.headers,
        )  # fmt: skip
        assert [o["id"] for o in r.json().get("objects", [])] == [sco["id"]], r.text
    # the other collection's version names nothing here
    r = node.client.get(
        f"{ROOT}/{node.a}/objects/", params={"match[id]": sco["id"], "match[version]": version_b},
        headers=node.headers,
    )  # fmt: skip
    assert "objects" not in r.json()
    r = node.client.delete(
        f"{ROOT}/{node.b}/objects/{sco['id']}/", params={"match[version]": version_b}, headers=node.headers
    )
    assert r.status_code == 200, r.text
    assert node.poll(node.b)[0] == [] and sco["id"] in node.poll(node.a)[0]


def test_migration_gives_existing_members_their_versions_time(tmp_path: Path) -> None:
    """Members stored before the migration keep the time TAXII served them with: no poller sees them again."""
    database = Database(f"sqlite:///{tmp_path / 'old.db'}")
    cfg = alembic_config(database.url)
    with database.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")
        command.downgrade(cfg, "object_body_lz4")  # the schema just before this migration
        conn.execute(
            text(
                "INSERT INTO collection (id, api_root, title, description, media_types, can_read, can_write, "
                "created_at) VALUES ('c1', 'root', 'c', '', '[]', '[]', '[]', '2026-01-01 00:00:00')"
            )
        )
        for seq, added in ((1, "2026-03-01T00:00:00.000001Z"), (2, "2026-03-01T00:00:00.000002Z")):
            conn.execute(
                text(
                    "INSERT INTO stix_object (seq, id, type, spec_version, created, modified, tlp, revoked, "
                    "is_latest, date_added, body) VALUES (:seq, :id, 'indicator', '2.1', :c, :c, 1, 0, 1, "
                    ":added, '{}')"
                ),
                {
                    "seq": seq,
                    "id": f"indicator--{uuid.uuid4()}",
                    "c": "2026-01-01T00:00:00.000Z",
                    "added": added,
                },
            )
            conn.execute(text("INSERT INTO collection_object (collection_id, object_seq) VALUES ('c1', :seq)"),
                         {"seq": seq})  # fmt: skip
    upgrade(database.engine)
    with database.unit_of_work(write=False) as s:
        got = s.execute(
            select(CollectionObject.object_seq, CollectionObject.date_added).order_by(
                CollectionObject.object_seq
            )
        ).all()
        assert [tuple(r) for r in got] == [
            (1, "2026-03-01T00:00:00.000001Z"),
            (2, "2026-03-01T00:00:00.000002Z"),
        ]
    database.dispose()
