"""Roles on a crisis over the API: the crisis page's verbs and checks, with list and removal."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from colsec.accounts.roles import Role

BASE = "/api/v1/crisis"


def _crisis(client: TestClient, alliance: Any) -> int:
    nm_an, nm_rep, coord = (
        alliance.analysts["NM"].headers,
        alliance.reps["NM"].headers,
        alliance.coordinator.headers,
    )
    inc = client.post(
        f"{BASE}/incidents", headers=nm_an, json={"title": "Outage", "category": "cyber", "severity": 4}
    )
    iid = inc.json()["id"]
    assert client.post(f"{BASE}/incidents/{iid}/triage", headers=nm_an, json={}).status_code == 200
    assert client.post(f"{BASE}/incidents/{iid}/escalate", headers=nm_rep, json={}).status_code == 200
    r = client.post(f"{BASE}/crises", headers=coord, json={"title": "Grid", "incident_ids": [iid]})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def test_roles_assign_list_remove_with_the_pages_checks(
    client: TestClient, alliance: Any, make_account: Any
) -> None:
    cid = _crisis(client, alliance)
    coord = alliance.coordinator.headers
    ev_rep = alliance.reps["EV"]
    url = f"{BASE}/crises/{cid}/roles"
    assert client.get(url, headers=coord).json() == []

    r = client.post(url, headers=coord, json={"username": ev_rep.user.username, "role": "liaison"})
    assert r.status_code == 201, r.text
    got = r.json()
    assert (got["role"], got["username"], got["organisation_id"]) == (
        "liaison",
        ev_rep.user.username,
        ev_rep.org.id,
    )
    assert got["assigned_by"] == alliance.coordinator.user.username
    # every member sees the roles, as on the crisis page; the timeline records the step
    listed = client.get(url, headers=alliance.analysts["SD"].headers).json()
    assert [(x["role"], x["username"]) for x in listed] == [("liaison", ev_rep.user.username)]
    timeline = client.get(f"{BASE}/crises/{cid}/timeline", headers=coord).json()
    assert timeline[-1]["kind"] == "role"

    # the page's refusals: twice the same role, a lead who is no coordinator, a liaison who is one
    again = client.post(url, headers=coord, json={"username": ev_rep.user.username, "role": "liaison"})
    assert again.status_code == 409 and again.json()["error"] == "conflict"
    lead = client.post(url, headers=coord, json={"username": ev_rep.user.username, "role": "lead"})
    assert lead.status_code == 422 and "coordinator" in lead.json()["detail"], lead.text
    assert client.post(url, headers=coord, json={"username": "x", "role": "chair"}).status_code == 422
    # an unknown user, an unknown crisis, a role nobody holds: 404
    r = client.post(url, headers=coord, json={"username": "nobody-here", "role": "scribe"})
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    assert client.get(f"{BASE}/crises/987654/roles", headers=coord).status_code == 404
    assert client.post(f"{BASE}/crises/987654/roles", headers=coord,
                       json={"username": ev_rep.user.username, "role": "scribe"}).status_code == 404  # fmt: skip
    r = client.delete(url, headers=coord, params={"username": ev_rep.user.username, "role": "scribe"})
    assert r.status_code == 404 and r.json()["error"] == "not_found"

    # only the crisis centre's coordinators assign or remove: members (any role) and a member's coordinator
    member_coord = make_account(Role.COORDINATOR, org="NM")
    for who in (alliance.reps["NM"], alliance.analysts["EV"], alliance.viewer, member_coord):
        r = client.post(
            url, headers=who.headers, json={"username": alliance.reps["SD"].user.username, "role": "liaison"}
        )
        assert r.status_code == 403 and r.json()["error"] == "forbidden", (who.user.role, r.text)
        r = client.delete(
            url, headers=who.headers, params={"username": ev_rep.user.username, "role": "liaison"}
        )
        assert r.status_code == 403, (who.user.role, r.text)
    assert len(client.get(url, headers=coord).json()) == 1

    # the lead is handed over, never removed
    new_lead = make_account(Role.COORDINATOR, org="ACC", kind="crisis_centre")
    assert (
        client.post(url, headers=coord, json={"username": new_lead.user.username, "role": "lead"}).status_code
        == 201
    )
    assert client.get(f"{BASE}/crises/{cid}", headers=coord).json()["lead_username"] == new_lead.user.username
    r = client.delete(url, headers=coord, params={"username": new_lead.user.username, "role": "lead"})
    assert r.status_code == 409

    r = client.delete(url, headers=coord, params={"username": ev_rep.user.username, "role": "liaison"})
    assert r.status_code == 204
    assert [x["role"] for x in client.get(url, headers=coord).json()] == ["lead"]
    assert client.get(f"{BASE}/crises/{cid}/timeline", headers=coord).json()[-1]["kind"] == "role.removed"


def test_roles_routes_are_documented(client: TestClient) -> None:
    paths = client.get("/api/openapi.json").json()["paths"]
    ops = paths["/api/v1/crisis/crises/{crisis_id}/roles"]
    assert set(ops) == {"get", "post", "delete"}
    assert {p["name"] for p in ops["delete"]["parameters"]} >= {"crisis_id", "username", "role"}
    assert "RoleIn" in str(ops["post"]["requestBody"])
