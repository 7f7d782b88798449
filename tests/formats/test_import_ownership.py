"""Imports in every format go through the store's write gate: owner, markings, facts, caps, clock.

Everything runs through ``POST /api/v1/imports`` (the job runs before the test client
returns), ``POST /api/v1/objects`` and TAXII ``POST objects``, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from colsec.accounts.roles import SYSTEM
from colsec.db import Database
from colsec.federation import service as fed
from colsec.settings import Settings
from colsec.stix.tlp import TLP, marking_id
from colsec.store.models import AuditEntry, StixObject

Make = Callable[..., Any]
CREATED = "2026-10-01T00:00:00.000Z"


def _indicator(
    oid: str, *, name: str, tlp: TLP, modified: str, value: str = "198.51.100.7"
) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": oid,
        "created": CREATED,
        "modified": modified,
        "name": name,
        "pattern": f"[ipv4-addr:value = '{value}']",
        "pattern_type": "stix",
        "valid_from": CREATED,
        "object_marking_refs": [marking_id(tlp)],
    }


def _bundle(*objects: dict[str, Any]) -> bytes:
    return orjson.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": list(objects)})


def _misp(attr_uuid: str, *, value: str, tlp: str, timestamp: int) -> bytes:
    return orjson.dumps(
        {
            "Event": {
                "uuid": "5f1e2d3c-4b5a-4678-9abc-def012345678",
                "info": "gate test",
                "date": "2026-10-01",
                "timestamp": str(timestamp),
                "threat_level_id": "2",
                "analysis": "1",
                "distribution": "1",
                "Tag": [{"name": f"tlp:{tlp}"}],
                "Attribute": [
                    {
                        "uuid": attr_uuid,
                        "type": "ip-dst",
                        "category": "Network activity",
                        "value": value,
                        "to_ids": True,
                        "timestamp": str(timestamp),
                    }
                ],
            }
        }
    )


def _run(client: TestClient, who: Any, data: bytes, **params: Any) -> dict[str, Any]:
    resp = client.post("/api/v1/imports", content=data, params=params, headers=who.headers)
    assert resp.status_code == 202, resp.text
    client.app.state.node.job_runner(schedules=()).run_once()  # type: ignore[attr-defined]  # the node's worker, by hand
    status: dict[str, Any] = client.get(resp.json()["url"], headers=who.headers).json()
    assert status["status"] in ("succeeded", "failed"), status
    return status


def _latest(database: Database, oid: str) -> StixObject:
    with database.unit_of_work(write=False) as s:
        row = s.execute(select(StixObject).where(StixObject.id == oid, StixObject.is_latest)).scalar_one()
        s.expunge(row)
        return row


def _versions(database: Database, oid: str) -> int:
    with database.unit_of_work(write=False) as s:
        return int(s.execute(select(func.count()).where(StixObject.id == oid)).scalar_one())


# -- finding 2: an import cannot version another organisation's object ----------------------


@pytest.mark.parametrize("fmt", ["stix", "misp"])
def test_finding_02_import_cannot_version_another_orgs_object(
    client: TestClient, make_account: Make, database: Database, fmt: str
) -> None:
    a, b = make_account(org="ORG-A"), make_account(org="ORG-B")
    if fmt == "stix":
        oid = f"indicator--{uuid.uuid4()}"
        mine = _bundle(_indicator(oid, name="A's red", tlp=TLP.RED, modified="2026-10-02T00:00:00.000Z"))
        theirs = _bundle(_indicator(oid, name="renamed", tlp=TLP.CLEAR, modified="2026-10-03T00:00:00.000Z"))
    else:
        attr = str(uuid.uuid4())
        oid = f"indicator--{attr}"
        mine = _misp(attr, value="198.51.100.7", tlp="red", timestamp=1790000000)
        theirs = _misp(attr, value="203.0.113.9", tlp="clear", timestamp=1790000600)
    assert _run(client, a, mine)["status"] == "succeeded"
    before = _latest(database, oid)
    assert before.tlp == int(TLP.RED)
    status = _run(client, b, theirs)
    assert status["status"] == "failed", status
    assert status["error"]["error"] == "forbidden"
    assert "only its holder may publish versions" in status["error"]["detail"]
    after = _latest(database, oid)
    assert (after.seq, after.tlp, after.owner_org_id, after.body) == (
        before.seq,
        before.tlp,
        before.owner_org_id,
        before.body,
    )
    assert _versions(database, oid) == 1


def test_finding_02_csv_import_of_a_value_another_org_holds_is_its_own_object(
    client: TestClient, make_account: Make, database: Database
) -> None:
    a, b = make_account(org="ORG-A"), make_account(org="ORG-B")
    csv = b"type,value\nip,198.51.100.7\n"
    assert _run(client, a, csv, tlp="red")["result"]["inserted"] == 1
    assert _run(client, b, csv, tlp="clear")["result"]["inserted"] == 1
    with database.unit_of_work(write=False) as s:
        rows = dict(
            s.execute(
                select(StixObject.owner_org_id, StixObject.tlp).where(StixObject.type == "indicator")
            ).all()
        )
    assert set(rows) == {a.org.id, b.org.id} and rows[a.org.id] == int(TLP.RED)


# -- markings never widen silently ---------------------------------------------------------


def test_markings_never_widen_silently(client: TestClient, make_account: Make, database: Database) -> None:
    a = make_account(org="ORG-A")
    oid = f"indicator--{uuid.uuid4()}"
    v1 = _indicator(oid, name="red", tlp=TLP.RED, modified="2026-10-02T00:00:00.000Z")
    v2 = _indicator(oid, name="clear", tlp=TLP.CLEAR, modified="2026-10-03T00:00:00.000Z")
    assert _run(client, a, _bundle(v1))["status"] == "succeeded"
    status = _run(client, a, _bundle(v2))
    assert status["status"] == "failed" and "TLP:RED to TLP:CLEAR" in status["error"]["detail"]
    assert _latest(database, oid).tlp == int(TLP.RED)
    # The owner may declassify, explicitly; the gate audits it.
    assert _run(client, a, _bundle(v2), declassify="true")["status"] == "succeeded"
    assert _latest(database, oid).tlp == int(TLP.CLEAR)
    with database.unit_of_work(write=False) as s:
        audited = s.execute(select(AuditEntry.target).where(AuditEntry.action == "stix.declassify")).scalars()
        assert list(audited) == [oid]


def test_markings_never_widen_silently_sharing_group_dropped(
    client: TestClient, make_account: Make, database: Database
) -> None:
    a = make_account(org="ORG-A")
    make_account(org="ORG-B")
    oid = f"indicator--{uuid.uuid4()}"
    v1 = _indicator(oid, name="amber", tlp=TLP.AMBER, modified="2026-10-02T00:00:00.000Z")
    assert _run(client, a, _bundle(v1))["status"] == "succeeded"
    with database.unit_of_work() as s:
        fed.create_sharing_group(s, actor=SYSTEM, name="pair", members=["ORG-A", "ORG-B"])
        grouped = fed.attach_sharing_group(s, actor=a.actor, object_id=oid, group="pair")
    assert _latest(database, oid).sharing_group_id is not None
    # A later version without the group would make it readable by the whole alliance.
    v3 = {k: v for k, v in grouped.items() if k != "x_colsec_sharing_group"}
    v3["modified"] = "2026-10-04T00:00:00.000Z"
    status = _run(client, a, _bundle(v3))
    assert status["status"] == "failed" and "without its sharing group" in status["error"]["detail"]
    # A version that still names the group keeps it.
    kept = {**grouped, "modified": "2026-10-05T00:00:00.000Z", "name": "renamed"}
    assert _run(client, a, _bundle(kept))["status"] == "succeeded"
    assert _latest(database, oid).sharing_group_id is not None


# -- finding 10: writes are no existence oracle --------------------------------------------


SCO_NAMESPACE = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")  # STIX 2.1, section 2.9


def _sco(value: str, **extra: Any) -> dict[str, Any]:
    """An ipv4-addr with the id every STIX producer derives from its value."""
    oid = f"ipv4-addr--{uuid.uuid5(SCO_NAMESPACE, orjson.dumps({'value': value}).decode())}"
    return {"type": "ipv4-addr", "spec_version": "2.1", "id": oid, "value": value, **extra}


def test_finding_10_sco_write_answers_like_a_fresh_write(
    client: TestClient, make_account: Make, database: Database
) -> None:
    a, b = make_account(org="ORG-A"), make_account(org="ORG-B")
    held = _sco("198.51.100.66", object_marking_refs=[marking_id(TLP.RED)])
    assert client.post("/api/v1/objects", json=held, headers=a.headers).status_code == 201
    before = _latest(database, held["id"])

    def write(obj: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        resp = client.post("/api/v1/objects", json=obj, headers=b.headers)
        return resp.status_code, resp.json()

    first = [write(_sco("198.51.100.67")), write(_sco("198.51.100.66"))]
    assert first[0] == first[1] and first[0][0] == 201 and first[0][1]["inserted"] == 1
    again = [write(_sco("198.51.100.67")), write(_sco("198.51.100.66"))]
    assert again[0] == again[1] and again[0][1]["unchanged"] == 1
    # The holder's row is untouched; the writer is recorded as a co-holder and may read it.
    after = _latest(database, held["id"])
    assert (after.seq, after.owner_org_id, after.tlp, after.body) == (
        before.seq,
        before.owner_org_id,
        before.tlp,
        before.body,
    )
    assert client.get(f"/api/v1/objects/{held['id']}", headers=b.headers).status_code == 200
    # Other content under a held id is answered the same way and changes nothing.
    code, body = write(_sco("198.51.100.66", x_note="mine"))
    assert (code, body["inserted"]) == (201, 1) and _latest(database, held["id"]).body == before.body


def test_finding_10_sdo_write_same_answer_visible_or_not(client: TestClient, make_account: Make) -> None:
    a, b = make_account(org="ORG-A"), make_account(org="ORG-B")
    answers = []
    for tlp in (TLP.RED, TLP.GREEN):
        oid = f"indicator--{uuid.uuid4()}"
        v1 = _indicator(oid, name="a", tlp=tlp, modified="2026-10-02T00:00:00.000Z")
        assert client.post("/api/v1/objects", json=v1, headers=a.headers).status_code == 201
        v2 = {**v1, "modified": "2026-10-03T00:00:00.000Z", "name": "b"}
        resp = client.post("/api/v1/objects", json=v2, headers=b.headers)
        answers.append((resp.status_code, resp.json()["detail"].replace(oid, "ID")))
    assert answers[0] == answers[1] and answers[0][0] == 403


# -- finding 15: caps and clock ------------------------------------------------------------


@pytest.fixture
def small_client(tmp_path: Path, database: Database) -> Iterator[TestClient]:
    from colsec.web.app import create_app

    settings = Settings(
        data_dir=tmp_path / "small",
        database_url=database.url,
        secret_key="test-secret-key-not-for-production",
        max_object_bytes=4096,
        max_string_length=512,
        max_objects_per_unit=3,
    )
    with TestClient(create_app(settings, database=database)) as c:
        yield c


def _count(database: Database) -> int:
    with database.unit_of_work(write=False) as s:
        return int(
            s.execute(
                select(func.count()).select_from(StixObject).where(StixObject.type != "identity")
            ).scalar_one()
        )


def test_finding_15_object_and_string_size_caps(
    small_client: TestClient, make_account: Make, database: Database
) -> None:
    a = make_account(org="ORG-A")
    ok = _indicator(
        f"indicator--{uuid.uuid4()}", name="ok", tlp=TLP.GREEN, modified="2026-10-02T00:00:00.000Z"
    )
    big = {**_indicator(f"indicator--{uuid.uuid4()}", name="big", tlp=TLP.GREEN, modified="2026-10-02T00:00:00.000Z"),
           "labels": ["x" * 400] * 12}  # fmt: skip
    long = {**_indicator(f"indicator--{uuid.uuid4()}", name="long", tlp=TLP.GREEN, modified="2026-10-02T00:00:00.000Z"),
            "description": "d" * 600}  # fmt: skip
    for bad, words in (
        (big, "bytes, over the limit of 4096 bytes"),
        (long, "over the limit of 512 characters"),
    ):
        resp = small_client.post("/api/v1/objects", content=_bundle(ok, bad), headers=a.headers)
        assert resp.status_code == 422, resp.text
        assert bad["id"] in resp.json()["detail"] and words in resp.json()["detail"]
        status = _run(small_client, a, _bundle(ok, bad))
        assert status["status"] == "failed" and words in status["error"]["detail"]
    csv = b"type,value\nurl,https://example.com/" + b"c" * 600 + b"\n"
    status = _run(small_client, a, csv)
    assert status["status"] == "failed" and "over the limit of 512 characters" in status["error"]["detail"]
    four = [
        _indicator(f"indicator--{uuid.uuid4()}", name=str(n), tlp=TLP.GREEN, modified=CREATED)
        for n in range(4)
    ]
    resp = small_client.post("/api/v1/objects", content=_bundle(*four), headers=a.headers)
    assert resp.status_code == 413 and "more than 3 objects" in resp.json()["detail"]
    assert _count(database) == 0


def test_finding_15_future_modified_refused(
    client: TestClient, make_account: Make, database: Database
) -> None:
    a = make_account(org="ORG-A")
    oid = f"indicator--{uuid.uuid4()}"
    pinned = _indicator(oid, name="poisoned", tlp=TLP.CLEAR, modified="2099-01-01T00:00:00.000Z")
    resp = client.post("/api/v1/objects", json=pinned, headers=a.headers)
    assert resp.status_code == 422
    assert (
        oid in resp.json()["detail"]
        and "ahead of this node's clock by more than 300 seconds" in resp.json()["detail"]
    )
    status = _run(client, a, _bundle(pinned))
    assert status["status"] == "failed" and "'modified' 2099-01-01" in status["error"]["detail"]
    early = {**pinned, "created": "2099-01-01T00:00:00.000Z"}
    assert "'created' 2099" in client.post("/api/v1/objects", json=early, headers=a.headers).json()["detail"]
    # TAXII POST: the object is reported failed, nothing stored.
    with database.unit_of_work() as s:
        from colsec.taxii import service as taxii

        cid = taxii.create_collection(s, actor=SYSTEM, title="gate", can_write=["*"]).id
    resp = client.post(
        f"/taxii2/root/collections/{cid}/objects/",
        content=orjson.dumps({"objects": [pinned]}),
        headers={**a.headers, "Content-Type": "application/taxii+json;version=2.1",
                 "Accept": "application/taxii+json;version=2.1"},
    )  # fmt: skip
    assert resp.status_code == 202, resp.text
    body = resp.json()
    assert body["failure_count"] == 1 and "ahead of this node's clock" in body["failures"][0]["message"]
    assert _count(database) == 0


def test_misp_events_of_one_creator_import_for_several_organisations(
    client: TestClient, make_account: Make, database: Database, shared_data: Path
) -> None:
    """Each MISP event restates its creator's identity with the event's date: not a new version."""
    a, b = make_account(org="ORG-A"), make_account(org="ORG-B")
    events = shared_data / "misp" / "events"
    xorist = (events / "pymisp_circl_xorist_57c4445b.json").read_bytes()
    sednit = (events / "pymisp_existing_event_sednit.json").read_bytes()
    assert _run(client, a, xorist)["status"] == "succeeded"
    assert _run(client, b, sednit)["status"] == "succeeded"  # CIRCL's identity, dated a year later
    assert _run(client, a, sednit)["status"] == "succeeded"
    circl = "identity--55f6ea5e-2c60-40e5-964f-47a8950d210f"
    assert _versions(database, circl) == 1 and _latest(database, circl).owner_org_id == a.org.id
