"""Issue 17: a user's e-mail address through the API: their own profile, their org's admins, nobody else."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from colsec.accounts.roles import Role

Account = Any  # tests/conftest.py Account


def test_own_profile_and_org_admin_set_email(
    client: TestClient, make_account: Callable[..., Account]
) -> None:
    analyst = make_account(org="ORG-A")
    admin = make_account(Role.ADMIN, org="ORG-A")
    colleague = make_account(org="ORG-A")
    other_admin = make_account(Role.ADMIN, org="ORG-B")

    me = client.get("/api/v1/me", headers=analyst.headers)
    assert me.status_code == 200 and me.json()["email"] is None and me.json()["organisation"] == "ORG-A"
    r = client.patch("/api/v1/me", json={"email": "soc@Org-A.example"}, headers=analyst.headers)
    assert r.status_code == 200 and r.json()["email"] == "soc@org-a.example"
    for bad in ("soc", "soc@localhost", "a b@example.org", "x@example.org, y@example.org", "x@-bad.example"):
        r = client.patch("/api/v1/me", json={"email": bad}, headers=analyst.headers)
        assert r.status_code == 422 and "not an e-mail address" in r.json()["detail"], bad

    name = analyst.user.username
    r = client.patch(f"/api/v1/users/{name}", json={"email": "lead@org-a.example"}, headers=admin.headers)
    assert r.status_code == 200 and r.json()["email"] == "lead@org-a.example"
    r = client.patch(f"/api/v1/users/{name}", json={"email": "x@org-b.example"}, headers=other_admin.headers)
    assert r.status_code == 404  # another organisation's users are not even named
    r = client.patch(f"/api/v1/users/{name}", json={"email": "x@org-a.example"}, headers=colleague.headers)
    assert r.status_code == 403
    r = client.patch("/api/v1/me", json={"email": ""}, headers=analyst.headers)
    assert r.status_code == 200 and r.json()["email"] is None
    assert client.patch("/api/v1/me", json={"email": "a@b.example"}).status_code == 401
