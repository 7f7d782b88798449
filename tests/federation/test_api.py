"""Peers and sharing groups over the JSON API: roles, validation, status shape, group attachment."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from colsec.accounts.roles import Role
from colsec.federation.service import GROUP_PROPERTY
from federation.stixgen import indicator


def test_peer_crud_and_status(
    client: TestClient, make_account: Callable[..., Any], run_jobs: Callable[[], int]
) -> None:
    admin = make_account(Role.ADMIN, org="NODE-A", operator=True)
    analyst = make_account(Role.ANALYST, org="NODE-A")
    make_account(Role.PEER, org="NODE-B")
    body = {
        "name": "b",
        "url": "http://127.0.0.1:9/taxii2/",
        "organisation": "NODE-B",
        "token": "secret",
        "collections": ["c1"],
    }
    assert client.post("/api/v1/peers", json=body, headers=analyst.headers).status_code == 403
    org_admin = make_account(Role.ADMIN, org="NODE-A")  # an organisation's admin is not the node operator
    assert client.post("/api/v1/peers", json=body, headers=org_admin.headers).status_code == 403
    r = client.post("/api/v1/peers", json=body, headers=admin.headers)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["organisation"] == "NODE-B" and out["collections"] == ["c1"] and "token" not in out
    assert out["last_success_at"] is None and out["error_count"] == 0
    assert client.post("/api/v1/peers", json=body, headers=admin.headers).status_code == 409
    bad = {**body, "name": "x", "url": "ftp://host/"}
    assert client.post("/api/v1/peers", json=bad, headers=admin.headers).status_code == 422
    r = client.patch(
        "/api/v1/peers/b", json={"pull_interval_seconds": 5, "enabled": False}, headers=admin.headers
    )
    assert r.status_code == 200 and r.json()["pull_interval_seconds"] == 5 and r.json()["enabled"] is False
    assert client.patch("/api/v1/peers/b", json={"enabled": True}, headers=admin.headers).status_code == 200
    # "Sync now" queues the pull job; a loopback peer is refused unless allow-listed: reported, not raised.
    r = client.post("/api/v1/peers/b/sync", headers=admin.headers)
    assert r.status_code == 202 and r.json()["kind"] == "federation.pull", r.text
    assert client.post("/api/v1/peers/b/sync", headers=admin.headers).json()["id"] == r.json()["id"]
    assert run_jobs() >= 1
    job = client.get(r.json()["url"], headers=admin.headers).json()
    assert job["status"] == "succeeded" and job["result"]["error"], job
    st = client.get("/api/v1/peers/b", headers=admin.headers).json()
    assert st["error_count"] == 1 and st["last_error_kind"] == "ssrf"
    assert [p["name"] for p in client.get("/api/v1/peers", headers=admin.headers).json()] == ["b"]
    assert client.delete("/api/v1/peers/b", headers=admin.headers).status_code == 204
    assert client.get("/api/v1/peers/b", headers=admin.headers).status_code == 404


def test_sharing_groups_and_attach(client: TestClient, make_account: Callable[..., Any]) -> None:
    coord = make_account(Role.COORDINATOR, org="NODE-A")
    analyst = make_account(Role.ANALYST, org="NODE-A")
    other = make_account(Role.ANALYST, org="NODE-C")
    make_account(Role.VIEWER, org="NODE-B")
    r = client.post(
        "/api/v1/sharing-groups", json={"name": "g1", "members": ["NODE-B"]}, headers=analyst.headers
    )
    assert r.status_code == 403
    r = client.post(
        "/api/v1/sharing-groups", json={"name": "g1", "members": ["NODE-B"]}, headers=coord.headers
    )
    assert r.status_code == 201 and r.json()["members"] == ["NODE-B"]
    r = client.post(
        "/api/v1/sharing-groups/g1/members", json={"organisation": "NODE-A"}, headers=coord.headers
    )
    assert r.json()["members"] == ["NODE-A", "NODE-B"]
    assert (
        client.post(
            "/api/v1/sharing-groups/g1/members", json={"organisation": "NOPE"}, headers=coord.headers
        ).status_code
        == 404
    )
    from colsec.stix.tlp import TLP

    obj = indicator(1, tlp=TLP.AMBER, tag="attach")
    assert client.post("/api/v1/objects", json=obj, headers=analyst.headers).status_code == 201
    # Visible to NODE-C while AMBER without a group; not after the group is attached.
    assert client.get(f"/api/v1/objects/{obj['id']}", headers=other.headers).status_code == 200
    r = client.post("/api/v1/sharing-groups/g1/objects", json={"object_id": obj["id"]}, headers=other.headers)
    assert r.status_code == 403
    r = client.post(
        "/api/v1/sharing-groups/g1/objects", json={"object_id": obj["id"]}, headers=analyst.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()[GROUP_PROPERTY]["name"] == "g1" and len(r.json()[GROUP_PROPERTY]["members"]) == 2
    assert client.get(f"/api/v1/objects/{obj['id']}", headers=other.headers).status_code == 404
    assert (
        client.get(f"/api/v1/objects/{obj['id']}", headers=analyst.headers).json()["modified"]
        != obj["modified"]
    )
    groups = client.get("/api/v1/sharing-groups", headers=other.headers).json()
    assert groups == [{"name": "g1", "description": "", "members": ["NODE-A", "NODE-B"], "owner": "NODE-A"}]
