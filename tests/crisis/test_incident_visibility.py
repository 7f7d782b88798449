"""The STIX ``incident`` of a national incident is visible to exactly those the crisis API shows it to.

The reporting member and the crisis centre read it (every version, every link); other
members see neither the incident nor its STIX object, before or after escalation.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from colsec.accounts.roles import SYSTEM
from colsec.db import Database
from colsec.federation.service import create_sharing_group
from colsec.stix.ids import now_timestamp
from colsec.stix.tlp import TLP, marking_id
from colsec.store.service import import_objects

BASE = "/api/v1/crisis"
TAXII = "application/taxii+json;version=2.1"


def _indicator(value: str, tlp: TLP) -> dict[str, Any]:
    now = now_timestamp()
    return {
        "type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}", "created": now,
        "modified": now, "pattern": f"[ipv4-addr:value = '{value}']", "pattern_type": "stix",
        "valid_from": now, "object_marking_refs": [marking_id(tlp)],
    }  # fmt: skip


def _ids(client: TestClient, headers: dict[str, str], typ: str) -> set[str]:
    r = client.get(f"/api/v1/objects?type={typ}&version=all", headers=headers)
    assert r.status_code == 200, r.text
    return {o["id"] for o in r.json()["objects"]}


def test_finding_03_incident_object_visible_only_to_crisis_api_audience(
    client: TestClient, database: Database, alliance: Any
) -> None:
    nm, ev, sd = alliance.analysts["NM"], alliance.analysts["EV"], alliance.analysts["SD"]
    centre = alliance.coordinator
    own, hidden, grouped = (
        _indicator("198.51.100.1", TLP.AMBER),
        _indicator("198.51.100.2", TLP.RED),
        _indicator("198.51.100.3", TLP.AMBER),
    )
    with database.unit_of_work() as s:
        group = create_sharing_group(s, actor=SYSTEM, name="nm-ev", members=["NM", "EV"])
        import_objects(s, actor=nm.actor, objects=[own])
        import_objects(s, actor=ev.actor, objects=[hidden])
        import_objects(s, actor=ev.actor, objects=[grouped], sharing_group_id=group.id)
    refs = [own["id"], hidden["id"], grouped["id"]]
    r = client.post(
        f"{BASE}/incidents",
        headers=nm.headers,
        json={"title": "Wiper at the grid operator", "category": "cyber", "severity": 4, "stix_refs": refs},
    )
    assert r.status_code == 201, r.text
    inc = r.json()

    def check(stage: str) -> None:
        for outsider in (ev, sd):
            assert client.get(f"{BASE}/incidents/{inc['id']}", headers=outsider.headers).status_code == 404
            got = client.get(f"/api/v1/objects/{inc['stix_id']}?version=all", headers=outsider.headers)
            assert got.status_code == 404, (stage, got.text)
            assert inc["stix_id"] not in _ids(client, outsider.headers, "incident"), stage
            rels = client.get("/api/v1/objects?type=relationship&version=all", headers=outsider.headers)
            assert inc["stix_id"] not in rels.text, stage
        for reader in (nm, centre):
            assert client.get(f"{BASE}/incidents/{inc['id']}", headers=reader.headers).status_code == 200
            assert inc["stix_id"] in _ids(client, reader.headers, "incident"), stage
        links = client.get("/api/v1/objects?type=relationship", headers=nm.headers).json()["objects"]
        assert {o["target_ref"] for o in links} == set(refs), stage
        # the centre reads the links to what it may see, not the one into the NM+EV group
        centre_links = client.get("/api/v1/objects?type=relationship", headers=centre.headers).json()[
            "objects"
        ]
        assert {o["target_ref"] for o in centre_links} == {own["id"], hidden["id"]}, stage

    check("reported")
    assert client.post(f"{BASE}/incidents/{inc['id']}/triage", headers=nm.headers).status_code == 200
    assert client.post(f"{BASE}/incidents/{inc['id']}/escalate", headers=nm.headers).status_code == 200
    check("escalated")
    versions = client.get(f"/api/v1/objects/{inc['stix_id']}?version=all", headers=centre.headers)
    assert versions.status_code == 200, versions.text
    body = versions.json()
    objs = body.get("objects", [body])
    assert all(o["object_marking_refs"] == [marking_id(TLP.AMBER_STRICT)] for o in objs)


def test_finding_08_member_admin_sees_no_other_members_incident(
    client: TestClient, alliance: Any, make_account: Any
) -> None:
    """An admin of one member is no node operator: another member's incident answers as an absent one."""
    from colsec.accounts.roles import Role

    nm = alliance.analysts["NM"]
    ev_admin = make_account(Role.ADMIN, org="EV")
    r = client.post(
        f"{BASE}/incidents",
        headers=nm.headers,
        json={"title": "Phishing wave", "category": "cyber", "severity": 2, "stix_refs": []},
    )
    assert r.status_code == 201, r.text
    inc_id = r.json()["id"]
    listed = client.get(f"{BASE}/incidents", headers=ev_admin.headers)
    assert listed.status_code == 200
    assert inc_id not in {i["id"] for i in listed.json()}
    one = client.get(f"{BASE}/incidents/{inc_id}", headers=ev_admin.headers)
    absent = client.get(f"{BASE}/incidents/{inc_id + 10_000}", headers=ev_admin.headers)
    assert (
        (one.status_code, one.json()["error"])
        == (absent.status_code, absent.json()["error"])
        == (404, "not_found")
    )
    operator = make_account(Role.ADMIN, org="ACC", kind="crisis_centre", operator=True)
    assert client.get(f"{BASE}/incidents/{inc_id}", headers=operator.headers).status_code == 200
