"""The whole path from an incident to lessons learned, through the HTTP API, as each role."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

SOON = (datetime.now(UTC) + timedelta(hours=4)).isoformat()


def _ok(resp: Any, status: int = 200) -> Any:
    assert resp.status_code == status, resp.text
    return resp.json()


def test_incident_to_lessons_learned(client: TestClient, alliance: Any) -> None:
    nm_an, nm_rep = alliance.analysts["NM"].headers, alliance.reps["NM"].headers
    coord = alliance.coordinator.headers
    base = "/api/v1/crisis"

    inc = _ok(client.post(f"{base}/incidents", headers=nm_an, json={
        "title": "Wiper on hospital network", "category": "cyber", "severity": 5, "sector": "health",
        "critical_infrastructure": True}), 201)  # fmt: skip
    assert inc["status"] == "reported" and inc["stix_id"].startswith("incident--")
    # the STIX incident is shared like any intelligence object
    obj = _ok(client.get(f"/api/v1/objects/{inc['stix_id']}", headers=nm_an))
    assert "incident" in str(obj)
    # wrong org cannot see or act; skipping a state is refused with no change
    r = client.post(f"{base}/incidents/{inc['id']}/triage", headers=alliance.analysts["EV"].headers)
    assert r.status_code == 404
    r = client.post(f"{base}/incidents/{inc['id']}/escalate", headers=nm_an)
    assert r.status_code == 409 and r.json()["error"] == "invalid_transition"
    _ok(client.post(f"{base}/incidents/{inc['id']}/triage", headers=nm_an, json={"note": "confirmed wiper"}))
    _ok(client.post(f"{base}/incidents/{inc['id']}/escalate", headers=nm_rep))

    # only the crisis centre opens crises
    r = client.post(f"{base}/crises", headers=nm_rep, json={"title": "x", "incident_ids": [inc["id"]]})
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
    crisis = _ok(client.post(f"{base}/crises", headers=coord, json={
        "title": "Health sector wiper", "alert_level": 4, "incident_ids": [inc["id"]]}), 201)  # fmt: skip
    cid = crisis["id"]
    _ok(client.post(f"{base}/crises/{cid}/transition", headers=coord, json={"to": "active"}))
    assert (
        _ok(
            client.post(
                f"{base}/crises/{cid}/alert-level", headers=coord, json={"level": 5, "note": "spreading"}
            )
        )["alert_level"]
        == 5
    )
    assert (
        client.post(f"{base}/crises/{cid}/alert-level", headers=nm_rep, json={"level": 1}).status_code == 403
    )
    _ok(client.post(f"{base}/crises/{cid}/sitreps", headers=coord, json={"summary": "3 hospitals offline", "needs": "forensics",
        "next_report_due": (datetime.now(UTC) + timedelta(hours=6)).isoformat()}), 201)  # fmt: skip

    req = _ok(client.post(f"{base}/crises/{cid}/requests", headers=nm_rep, json={
        "capability": "forensics", "quantity": 4, "location": "Northmark", "needed_by": SOON}), 201)  # fmt: skip
    r = client.post(
        f"{base}/requests/{req['id']}/consultations", headers=coord, json={"question": "q", "deadline": SOON}
    )
    assert r.status_code == 409  # still a draft
    _ok(client.post(f"{base}/requests/{req['id']}/submit", headers=nm_rep))
    cons = _ok(client.post(f"{base}/requests/{req['id']}/consultations", headers=coord, json={
        "question": "Send forensic teams to Northmark?", "deadline": SOON, "rule": "consensus", "quorum": 3}), 201)  # fmt: skip
    assert cons["eligible_count"] == 4 and cons["status"] == "open"
    # a viewer and an analyst cannot answer
    r = client.post(
        f"{base}/consultations/{cons['id']}/positions",
        headers=alliance.viewer.headers,
        json={"stance": "agree"},
    )
    assert r.status_code == 403
    r = client.post(
        f"{base}/consultations/{cons['id']}/positions",
        headers=alliance.analysts["EV"].headers,
        json={"stance": "agree"},
    )
    assert r.status_code == 403
    for m, stance in (("NM", "agree"), ("EV", "agree"), ("SD", "abstain"), ("WH", "agree")):
        _ok(client.post(f"{base}/consultations/{cons['id']}/positions", headers=alliance.reps[m].headers,
                        json={"stance": stance, "comment": f"{m} view"}), 201)  # fmt: skip
    cons = _ok(client.get(f"{base}/consultations/{cons['id']}", headers=coord))
    assert (cons["status"], cons["outcome"]) == ("closed", "approved") and len(cons["positions"]) == 4
    assert _ok(client.get(f"{base}/requests/{req['id']}", headers=nm_rep))["status"] == "approved"

    res = _ok(client.post(f"{base}/resources", headers=alliance.reps["EV"].headers, json={
        "kind": "team", "name": "EV forensic team", "capability": "forensics", "size": 3, "readiness_hours": 8}), 201)  # fmt: skip
    offer = _ok(client.post(f"{base}/requests/{req['id']}/offers", headers=alliance.reps["EV"].headers,
                            json={"resource_id": res["id"], "quantity": 3}), 201)  # fmt: skip
    r = client.post(f"{base}/offers/{offer['id']}/committed", headers=alliance.reps["EV"].headers)
    assert r.status_code == 409
    _ok(client.post(f"{base}/offers/{offer['id']}/accepted", headers=coord))
    _ok(client.post(f"{base}/offers/{offer['id']}/committed", headers=alliance.reps["EV"].headers))
    _ok(client.post(f"{base}/offers/{offer['id']}/deployed", headers=alliance.reps["EV"].headers))
    cov = _ok(client.get(f"{base}/requests/{req['id']}/coverage", headers=coord))
    assert cov["missing"] == 1 and cov["deployed"] == 3
    whole = _ok(client.get(f"{base}/crises/{cid}/coverage", headers=coord))
    assert whole["by_capability"]["forensics"] == {"needed": 4, "covered": 3, "deployed": 3, "missing": 1}
    assert [m["request_id"] for m in whole["missing"]] == [req["id"]]
    metrics = _ok(client.get(f"{base}/metrics", headers=coord, params={"crisis_id": cid}))
    assert metrics["time_to_decision"]["count"] == 1 and metrics["decision_to_first_deployment"]["count"] == 1
    assert metrics["requests"][0]["time_to_decision_s"] >= 0
    _ok(client.post(f"{base}/offers/{offer['id']}/demobilised", headers=coord))

    for to in ("stabilising", "closed"):
        _ok(client.post(f"{base}/crises/{cid}/transition", headers=coord, json={"to": to}))
    _ok(
        client.post(
            f"{base}/crises/{cid}/lessons",
            headers=coord,
            json={"kind": "failed", "text": "Hospital backups were online and wiped"},
        ),
        201,
    )
    _ok(client.post(f"{base}/crises/{cid}/lessons", headers=coord, json={
        "kind": "recommendation", "text": "Offline backups for every hospital", "owner": "Health ministries"}), 201)  # fmt: skip
    done = _ok(client.post(f"{base}/crises/{cid}/transition", headers=coord, json={"to": "reviewed"}))
    assert done["status"] == "reviewed" and done["reviewed_at"]
    found = _ok(
        client.get(f"{base}/lessons", headers=alliance.viewer.headers, params={"q": "offline backups"})
    )
    assert [x["kind"] for x in found] == ["recommendation"]
    timeline = _ok(client.get(f"{base}/crises/{cid}/timeline", headers=nm_rep))
    assert timeline[0]["kind"] == "opened" and timeline[-1]["kind"] == "reviewed"
    inbox = _ok(client.get(f"{base}/notifications", headers=alliance.reps["WH"].headers))
    assert any(n["kind"] == "consultation.opened" for n in inbox)
    # reviewed is terminal
    r = client.post(f"{base}/crises/{cid}/transition", headers=coord, json={"to": "active"})
    assert r.status_code == 409


def test_unauthenticated_and_unknown(client: TestClient, alliance: Any, make_account: Any) -> None:
    assert client.get("/api/v1/crisis/crises").status_code == 401
    peer = make_account("peer", org="PEER-NODE")
    r = client.get("/api/v1/crisis/crises", headers=peer.headers)
    assert r.status_code == 403 and "peer" in r.json()["detail"]
    r = client.get("/api/v1/crisis/crises/999", headers=alliance.viewer.headers)
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    r = client.post("/api/v1/crisis/incidents", headers=alliance.viewer.headers,
                    json={"title": "x", "category": "cyber", "severity": 2})  # fmt: skip
    assert r.status_code == 403
    r = client.post("/api/v1/crisis/incidents", headers=alliance.analysts["NM"].headers,
                    json={"title": "x", "category": "nuclear", "severity": 9})  # fmt: skip
    assert r.status_code == 422


def test_delegation_over_http(client: TestClient, alliance: Any) -> None:
    base, coord = "/api/v1/crisis", alliance.coordinator.headers
    an = alliance.analysts["WH"].headers
    inc = _ok(
        client.post(
            f"{base}/incidents", headers=an, json={"title": "Grid", "category": "emergency", "severity": 3}
        ),
        201,
    )
    _ok(client.post(f"{base}/incidents/{inc['id']}/triage", headers=an))
    _ok(client.post(f"{base}/incidents/{inc['id']}/escalate", headers=an))
    cid = _ok(
        client.post(f"{base}/crises", headers=coord, json={"title": "Grid", "incident_ids": [inc["id"]]}), 201
    )["id"]
    wh = alliance.reps["WH"].headers
    rid = _ok(client.post(f"{base}/crises/{cid}/requests", headers=wh, json={
        "capability": "power-equipment", "quantity": 2, "location": "Westholm", "needed_by": SOON}), 201)["id"]  # fmt: skip
    _ok(client.post(f"{base}/requests/{rid}/submit", headers=wh))
    cons = _ok(client.post(f"{base}/requests/{rid}/consultations", headers=coord,
                           json={"question": "Generators?", "deadline": SOON, "rule": "majority", "quorum": 2}), 201)  # fmt: skip
    # SD's representative hands SD's voice to SD's analyst
    r = client.post(f"{base}/consultations/{cons['id']}/delegations", headers=alliance.reps["SD"].headers,
                    json={"delegate_username": alliance.analysts["SD"].user.username})  # fmt: skip
    assert r.status_code == 201, r.text
    r = client.post(f"{base}/consultations/{cons['id']}/delegations", headers=alliance.reps["SD"].headers,
                    json={"delegate_username": alliance.analysts["SD"].user.username})  # fmt: skip
    assert r.status_code == 409
    r = client.post(
        f"{base}/consultations/{cons['id']}/positions",
        headers=alliance.reps["SD"].headers,
        json={"stance": "object"},
    )
    assert r.status_code == 403
    _ok(client.post(f"{base}/consultations/{cons['id']}/positions", headers=alliance.analysts["SD"].headers,
                    json={"stance": "agree", "comment": "on behalf of SD"}), 201)  # fmt: skip
    for m in ("NM", "EV"):
        _ok(
            client.post(
                f"{base}/consultations/{cons['id']}/positions",
                headers=alliance.reps[m].headers,
                json={"stance": "agree"},
            ),
            201,
        )
    got = _ok(client.get(f"{base}/consultations/{cons['id']}", headers=coord))
    assert (got["status"], got["outcome"]) == ("closed", "approved")  # 3 agree of 4: WH cannot overturn
    sd = [p for p in got["positions"] if p["organisation_id"] == alliance.reps["SD"].org.id][0]
    assert sd["delegated"] and sd["cast_by"] == alliance.analysts["SD"].user.username
