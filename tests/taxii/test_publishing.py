"""Publishing over TAXII: filter collections fill in the write gate; operators add and remove objects.

Regression tests for issue 17 (imported intelligence could not be put in a TAXII collection).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from colsec.accounts import service as accounts
from colsec.accounts.roles import Actor, Role
from colsec.errors import Forbidden, InvalidInput, NotFound
from colsec.stix.tlp import TLP, marking_id
from colsec.store.models import CollectionObject, StixObject
from colsec.store.service import import_objects
from colsec.taxii import publish
from colsec.taxii.publish import FilterNames


def obj(kind: str = "indicator", *, tlp: TLP = TLP.GREEN, labels: list[str] | None = None,
        oid: str | None = None, modified: str = "2026-01-01T00:00:00.000Z") -> dict[str, Any]:  # fmt: skip
    body: dict[str, Any] = {
        "type": kind,
        "spec_version": "2.1",
        "id": oid or f"{kind}--{uuid.uuid4()}",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": modified,
        "object_marking_refs": [marking_id(tlp)],
    }
    if kind == "indicator":
        body |= {"pattern": "[ipv4-addr:value = '198.51.100.7']", "pattern_type": "stix",
                 "valid_from": "2026-01-01T00:00:00Z"}  # fmt: skip
    else:
        body |= {"name": "Poison Ivy", "is_family": True}
    if labels:
        body["labels"] = labels
    return body


def _org_actor(db: Session, short: str, role: Role = Role.ANALYST) -> Actor:
    org = accounts.create_organisation(db, actor=_admin(), name=f"{short} agency", short_name=short)
    user = accounts.create_user(
        db, actor=_admin(), username=f"{short.lower()}-{role.value}", password=None, role=role, org=org
    )
    return accounts.actor_for(db, user)


def _admin() -> Actor:
    from colsec.accounts.roles import SYSTEM

    return SYSTEM


def members(db: Session, cid: str) -> set[tuple[str, str]]:
    rows = db.execute(
        select(StixObject.id, StixObject.modified)
        .join(CollectionObject, CollectionObject.object_seq == StixObject.seq)
        .where(CollectionObject.collection_id == cid)
    ).all()
    return {(i, m[:10]) for i, m in rows}


def test_filter_collection_fills_as_objects_arrive(db: Session) -> None:
    a, b = _org_actor(db, "ORG-A"), _org_actor(db, "ORG-B")
    before = obj()
    import_objects(db, actor=a, objects=[before])
    coll = publish.publish_collection(
        db, actor=_admin(), title="Green indicators of ORG-A",
        filter_names=FilterNames.from_terms(["type=indicator", "owner=ORG-A", "tlp=green"]),
    )  # fmt: skip
    assert coll.filter == {
        "types": ["indicator"],
        "owners": ["ORG-A"],
        "labels": [],
        "tlp": "green",
        "group": None,
    }
    green, amber, malware, other = obj(), obj(tlp=TLP.AMBER), obj("malware"), obj()
    import_objects(db, actor=a, objects=[green, amber, malware])
    import_objects(db, actor=b, objects=[other])
    assert {i for i, _ in members(db, coll.id)} == {green["id"]}  # as they arrive, not what was there

    # a new version above the ceiling does not follow its predecessor into the collection
    red = {**green, "modified": "2026-02-01T00:00:00.000Z", "object_marking_refs": [marking_id(TLP.RED)]}
    import_objects(db, actor=a, objects=[red])
    assert members(db, coll.id) == {(green["id"], "2026-01-01")}

    assert publish.set_collection_filter(
        db, actor=_admin(), collection_id=coll.id, filter_names=FilterNames(types=["indicator"], tlp="green"),
        include_existing=True,
    ).versions == 3  # fmt: skip
    assert {i for i, _ in members(db, coll.id)} == {green["id"], before["id"], other["id"]}


def test_labels_and_sharing_group_filters(db: Session) -> None:
    from colsec.federation import service as federation

    a = _org_actor(db, "ORG-A")
    group = federation.create_sharing_group(db, actor=_admin(), name="Baltic", description="")
    by_label = publish.publish_collection(
        db, actor=_admin(), title="APT", filter_names=FilterNames(labels=["apt", "ransomware"])
    )
    by_group = publish.publish_collection(
        db, actor=_admin(), title="Baltic", filter_names=FilterNames(group="Baltic")
    )
    tagged, plain, grouped = obj(labels=["ransomware"]), obj(labels=["benign"]), obj()
    import_objects(db, actor=a, objects=[tagged, plain])
    import_objects(db, actor=a, objects=[grouped], sharing_group_id=group.id)
    assert {i for i, _ in members(db, by_label.id)} == {tagged["id"]}
    assert {i for i, _ in members(db, by_group.id)} == {grouped["id"]}


def test_explicit_add_and_remove(db: Session) -> None:
    a = _org_actor(db, "ORG-A")
    v1 = obj()
    v2 = {**v1, "modified": "2026-03-01T00:00:00.000Z"}
    red = obj(tlp=TLP.RED)
    import_objects(db, actor=a, objects=[v1, v2, red])
    coll = publish.publish_collection(db, actor=_admin(), title="Hand-picked")
    assert (
        publish.add_objects(db, actor=_admin(), collection_id=coll.id, object_ids=[v1["id"], red["id"]]) == 3
    )
    assert publish.add_objects(db, actor=_admin(), collection_id=coll.id, object_ids=[v1["id"]]) == 0
    assert publish.remove_objects(db, actor=_admin(), collection_id=coll.id, object_ids=[v1["id"]]) == 2
    assert {i for i, _ in members(db, coll.id)} == {red["id"]}
    with pytest.raises(NotFound, match="not in the store"):
        publish.add_objects(
            db, actor=_admin(), collection_id=coll.id, object_ids=["indicator--" + str(uuid.uuid4())]
        )
    capped = publish.publish_collection(
        db, actor=_admin(), title="Capped", filter_names=FilterNames(tlp="amber")
    )
    with pytest.raises(InvalidInput, match="ceiling TLP:AMBER"):
        publish.add_objects(db, actor=_admin(), collection_id=capped.id, object_ids=[red["id"]])
    with pytest.raises(Forbidden):
        publish.add_objects(db, actor=a, collection_id=coll.id, object_ids=[v1["id"]])
    with pytest.raises(Forbidden):
        publish.publish_collection(db, actor=a, title="mine", filter_names=FilterNames(types=["indicator"]))


def test_filter_names_are_checked(db: Session) -> None:
    with pytest.raises(InvalidInput, match="KEY=VALUE"):
        FilterNames.from_terms(["colour=red"])
    with pytest.raises(NotFound, match="organisation 'NOPE'"):
        publish.publish_collection(db, actor=_admin(), title="x", filter_names=FilterNames(owners=["NOPE"]))
    with pytest.raises(InvalidInput, match="unknown TLP"):
        publish.publish_collection(db, actor=_admin(), title="x", filter_names=FilterNames(tlp="purple"))


def test_api_is_for_operators_and_publishes_api_imports(client, make_account) -> None:  # type: ignore[no-untyped-def]
    admin = make_account(Role.ADMIN, "ORG-A", operator=True)
    analyst = make_account(Role.ANALYST, "ORG-A")
    body = {"title": "Published", "filter": {"types": ["indicator"], "tlp": "amber"}}
    assert client.post("/api/v1/collections", json=body, headers=analyst.headers).status_code == 403
    r = client.post("/api/v1/collections", json=body, headers=admin.headers)
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    assert r.json()["filter"]["tlp"] == "amber" and r.json()["versions"] == 0
    amber, red = obj(tlp=TLP.AMBER), obj(tlp=TLP.RED)
    posted = client.post("/api/v1/objects", json={"type": "bundle", "id": f"bundle--{uuid.uuid4()}",
                                                   "objects": [amber, red]}, headers=analyst.headers)  # fmt: skip
    assert posted.status_code == 201, posted.text
    assert client.get(f"/api/v1/collections/{cid}", headers=admin.headers).json()["versions"] == 1
    removed = client.post(f"/api/v1/collections/{cid}/objects/remove", json={"ids": [amber["id"]]},
                          headers=admin.headers)  # fmt: skip
    assert removed.json() == {"removed": 1}
    refused = client.post(
        f"/api/v1/collections/{cid}/objects", json={"ids": [red["id"]]}, headers=admin.headers
    )
    assert refused.status_code == 422 and "ceiling" in refused.json()["detail"]
    cleared = client.put(f"/api/v1/collections/{cid}/filter", json={"filter": None}, headers=admin.headers)
    assert cleared.status_code == 200 and cleared.json()["filter"] is None
    added = client.post(
        f"/api/v1/collections/{cid}/objects", json={"ids": [red["id"]]}, headers=admin.headers
    )
    assert added.json() == {"added": 1}
    listed = client.get("/api/v1/collections", headers=admin.headers).json()
    assert [(c["title"], c["versions"]) for c in listed] == [("Published", 1)]
    assert client.get("/api/v1/collections", headers=analyst.headers).status_code == 403
