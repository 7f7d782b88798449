"""Objects API: auth, add, list with the sharing policy, size and shape limits."""

from __future__ import annotations

import uuid

from colsec.accounts.roles import Role
from colsec.stix.tlp import TLP, marking_id


def _indicator(value: str, level: TLP = TLP.AMBER) -> dict[str, object]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid4()}",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "pattern": f"[ipv4-addr:value = '{value}']",
        "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z",
        "object_marking_refs": [marking_id(level)],
    }


def test_requires_authentication(client) -> None:
    r = client.get("/api/v1/objects")
    assert r.status_code == 401
    assert r.json()["error"] == "unauthorized"
    assert "WWW-Authenticate" in r.headers


def test_add_and_read_back(client, make_account) -> None:
    a = make_account(Role.ANALYST, "ORG-A")
    ind = _indicator("198.51.100.1")
    r = client.post("/api/v1/objects", json=ind, headers=a.headers)
    assert r.status_code == 201, r.text
    assert r.json()["inserted"] == 1
    r = client.get(f"/api/v1/objects/{ind['id']}", headers=a.headers)
    assert r.status_code == 200
    assert r.json()["pattern"] == ind["pattern"]


def test_red_object_invisible_to_other_org(client, make_account) -> None:
    a = make_account(Role.ANALYST, "ORG-A")
    b = make_account(Role.ANALYST, "ORG-B")
    red = _indicator("198.51.100.2", TLP.RED)
    green = _indicator("198.51.100.3", TLP.GREEN)
    client.post(
        "/api/v1/objects",
        json={"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": [red, green]},
        headers=a.headers,
    )
    ids_b = {
        o["id"] for o in client.get("/api/v1/objects?type=indicator", headers=b.headers).json()["objects"]
    }
    assert green["id"] in ids_b and red["id"] not in ids_b
    assert client.get(f"/api/v1/objects/{red['id']}", headers=b.headers).status_code == 404
    ids_a = {
        o["id"] for o in client.get("/api/v1/objects?type=indicator", headers=a.headers).json()["objects"]
    }
    assert {red["id"], green["id"]} <= ids_a


def test_viewer_cannot_write(client, make_account) -> None:
    v = make_account(Role.VIEWER, "ORG-A")
    r = client.post("/api/v1/objects", json=_indicator("198.51.100.4"), headers=v.headers)
    assert r.status_code == 403
    assert r.json()["error"] == "forbidden"


def test_oversized_body_refused(client, make_account) -> None:
    a = make_account(Role.ANALYST, "ORG-A")
    r = client.post(
        "/api/v1/objects",
        content=b"x" * (200 * 1024 * 1024 + 1),
        headers={**a.headers, "content-type": "application/json"},
    )
    assert r.status_code == 413
    assert r.json()["error"] == "too_large"


def test_deeply_nested_json_refused(client, make_account) -> None:
    a = make_account(Role.ANALYST, "ORG-A")
    body = "[" * 5000 + "]" * 5000
    r = client.post(
        "/api/v1/objects", content=body, headers={**a.headers, "content-type": "application/json"}
    )
    assert r.status_code == 422
    assert r.json()["error"] == "invalid_input"


def test_streamed_body_without_length_is_capped(settings, database, make_account) -> None:
    from fastapi.testclient import TestClient

    from colsec.web.app import create_app

    a = make_account(Role.ANALYST, "ORG-A")
    settings.max_body_bytes = 64 * 1024
    small = create_app(settings, database=database)

    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(100):
            yield b"x" * 1024

    with TestClient(small) as c:
        r = c.post(
            "/api/v1/objects", content=chunks(), headers={**a.headers, "content-type": "application/json"}
        )
        assert "content-length" not in {k.lower() for k in r.request.headers}
        assert r.status_code == 413
        assert r.json()["error"] == "too_large"
        ok = c.post("/api/v1/objects", json=_indicator("198.51.100.200"), headers=a.headers)
        assert ok.status_code == 201


def test_keyset_paging_sees_every_object_once(client, make_account) -> None:
    a = make_account(Role.ANALYST, "ORG-A")
    objs = [_indicator(f"198.51.100.{i}") for i in range(1, 26)]
    client.post(
        "/api/v1/objects",
        json={"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objs},
        headers=a.headers,
    )
    seen: list[str] = []
    cursor = None
    while True:
        params = {"type": "indicator", "limit": 7, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/objects", params=params, headers=a.headers).json()
        seen += [o["id"] for o in page["objects"]]
        if not page["more"]:
            break
        cursor = page["next"]
    assert sorted(seen) == sorted(o["id"] for o in objs)
    assert client.get("/api/v1/objects", params={"cursor": "garbage"}, headers=a.headers).status_code == 422


def test_revocation_by_owner_only(client, make_account) -> None:
    a = make_account(Role.ANALYST, "ORG-A")
    b = make_account(Role.ANALYST, "ORG-B")
    ind = _indicator("198.51.100.99", TLP.GREEN)
    client.post("/api/v1/objects", json=ind, headers=a.headers)
    assert client.post(f"/api/v1/objects/{ind['id']}/revoke", headers=b.headers).status_code == 403
    r = client.post(f"/api/v1/objects/{ind['id']}/revoke", headers=a.headers)
    assert r.status_code == 200 and r.json()["revoked"] is True
    latest = client.get(f"/api/v1/objects/{ind['id']}", headers=b.headers).json()
    assert latest["revoked"] is True and latest["modified"] > ind["modified"]  # type: ignore[operator]
    versions = client.get(
        "/api/v1/objects", params={"id": ind["id"], "version": "all"}, headers=a.headers
    ).json()
    assert len(versions["objects"]) == 2


def test_unknown_route_and_bad_params_are_json(client, make_account) -> None:
    a = make_account(Role.ANALYST, "ORG-A")
    r = client.get("/api/v1/nope", headers=a.headers)
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    r = client.get("/api/v1/objects", params={"limit": 100000}, headers=a.headers)
    assert r.status_code == 422 and r.json()["error"] == "invalid_input"
    r = client.get("/api/v1/objects", params={"added_after": "yesterday"}, headers=a.headers)
    assert r.status_code == 422 and "added_after" in r.json()["detail"]


def test_revoking_an_invisible_object_does_not_reveal_it(client, make_account) -> None:
    """403 would confirm that a TLP:RED object with this id exists; the answer is 404 as for no object."""
    a = make_account(Role.ANALYST, "ORG-A")
    b = make_account(Role.ANALYST, "ORG-B")
    red = _indicator("198.51.100.98", TLP.RED)
    client.post("/api/v1/objects", json=red, headers=a.headers)
    hidden = client.post(f"/api/v1/objects/{red['id']}/revoke", headers=b.headers)
    missing = client.post(f"/api/v1/objects/indicator--{uuid.uuid4()}/revoke", headers=b.headers)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["error"] == "not_found"
    assert client.get(f"/api/v1/objects/{red['id']}", headers=a.headers).json().get("revoked") is not True
