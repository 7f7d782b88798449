"""On both databases: the dashboard's crisis metrics (per open crisis and the last 30 days) are the
numbers of ``GET /api/v1/crisis/metrics``, and ``since`` keeps the recent requests only."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from ui.test_dashboard_metrics import _cells, _expected

BASE = "/api/v1/crisis"
SOON = (datetime.now(UTC) + timedelta(hours=4)).isoformat()


def _ok(resp: Any, status: int = 200) -> Any:
    assert resp.status_code == status, resp.text
    return resp.json()


def _decided_and_deployed(client: TestClient, alliance: Any) -> int:
    nm_an, nm_rep, coord = (
        alliance.analysts["NM"].headers,
        alliance.reps["NM"].headers,
        alliance.coordinator.headers,
    )
    iid = _ok(
        client.post(
            f"{BASE}/incidents", headers=nm_an, json={"title": "t", "category": "cyber", "severity": 4}
        ),
        201,
    )["id"]
    _ok(client.post(f"{BASE}/incidents/{iid}/triage", headers=nm_an, json={}))
    _ok(client.post(f"{BASE}/incidents/{iid}/escalate", headers=nm_rep, json={}))
    cid = _ok(
        client.post(f"{BASE}/crises", headers=coord, json={"title": "Grid", "incident_ids": [iid]}), 201
    )["id"]
    req = _ok(client.post(f"{BASE}/crises/{cid}/requests", headers=nm_rep, json={
        "capability": "forensics", "quantity": 4, "location": "Northmark", "needed_by": SOON}), 201)  # fmt: skip
    _ok(client.post(f"{BASE}/requests/{req['id']}/submit", headers=nm_rep))
    cons = _ok(client.post(f"{BASE}/requests/{req['id']}/consultations", headers=coord,
                           json={"question": "Send teams?", "deadline": SOON, "rule": "consensus", "quorum": 3}), 201)  # fmt: skip
    for m in ("NM", "EV", "SD", "WH"):
        _ok(client.post(f"{BASE}/consultations/{cons['id']}/positions", headers=alliance.reps[m].headers,
                        json={"stance": "agree"}), 201)  # fmt: skip
    ev = alliance.reps["EV"].headers
    res = _ok(client.post(f"{BASE}/resources", headers=ev, json={
        "kind": "team", "name": "EV team", "capability": "forensics", "size": 3, "readiness_hours": 8}), 201)  # fmt: skip
    offer = _ok(
        client.post(
            f"{BASE}/requests/{req['id']}/offers", headers=ev, json={"resource_id": res["id"], "quantity": 3}
        ),
        201,
    )
    _ok(client.post(f"{BASE}/offers/{offer['id']}/accepted", headers=coord))
    _ok(client.post(f"{BASE}/offers/{offer['id']}/committed", headers=ev))
    _ok(client.post(f"{BASE}/offers/{offer['id']}/deployed", headers=ev))
    return int(cid)


def _login(app: Any, account: Any) -> TestClient:
    c = TestClient(app)
    page = c.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    r = c.post("/login", data={"csrf_token": token, "username": account.user.username,
                               "password": account.password, "next": "/"}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text[:300]
    return c


def test_dashboard_shows_the_apis_crisis_metrics(app: Any, client: TestClient, alliance: Any) -> None:
    cid = _decided_and_deployed(client, alliance)
    coord = alliance.coordinator.headers
    per_crisis = _ok(client.get(f"{BASE}/metrics", headers=coord, params={"crisis_id": cid}))
    assert per_crisis["time_to_decision"]["count"] == 1 and per_crisis["coverage"]["covered"] == 3
    since = (datetime.now(UTC) - timedelta(days=30)).isoformat()
    recent = _ok(client.get(f"{BASE}/metrics", headers=coord, params={"since": since}))
    assert [r["request_id"] for r in recent["requests"]] == [r["request_id"] for r in per_crisis["requests"]]
    future = _ok(client.get(f"{BASE}/metrics", headers=coord, params={"since": "2999-01-01T00:00:00Z"}))
    assert future["requests"] == [] and future["coverage"]["ratio"] is None
    home = _login(app, alliance.reps["WH"]).get("/").text
    assert _cells(home, f"metrics-crisis-{cid}") == _expected(per_crisis, "en")
    assert _cells(home, "metrics-recent") == _expected(recent, "en")
    assert _expected(per_crisis, "en")["coverage"] == "75 % (3 / 4)"
