"""The one webhook register over HTTP: topics chosen per endpoint, managed by the organisation's admin."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from colsec.accounts.roles import Role
from colsec.db import Database
from colsec.settings import Settings
from loopback import LOOPBACK_ALLOW


@pytest.fixture
def client(settings: Settings, database: Database) -> Iterator[TestClient]:
    """The node with the loopback receiver allow-listed (no name resolves here)."""
    from colsec.web.app import create_app

    app = create_app(settings.model_copy(update={"outbound_allow": LOOPBACK_ALLOW}), database=database)
    with TestClient(app) as c:
        yield c


def test_register_list_and_delete_with_topics(client: TestClient, make_account: Callable[..., Any]) -> None:
    admin = make_account(Role.ADMIN, org="WH")
    analyst = make_account(Role.ANALYST, org="WH")
    other = make_account(Role.ADMIN, org="OTHER")
    body = {"url": "http://127.0.0.1:9/in", "secret": "s" * 20, "topics": ["crisis"]}
    assert client.post("/api/v1/webhooks", json=body, headers=analyst.headers).status_code == 403
    r = client.post("/api/v1/webhooks", json={**body, "topics": ["weather"]}, headers=admin.headers)
    assert r.status_code == 422 and "topics" in r.text
    r = client.post("/api/v1/webhooks", json={**body, "topics": []}, headers=admin.headers)
    assert r.status_code == 422
    r = client.post("/api/v1/webhooks", json=body, headers=admin.headers)
    assert r.status_code == 201, r.text
    hook = r.json()
    assert hook["topics"] == ["crisis"] and "secret" not in hook
    both = client.post(
        "/api/v1/webhooks", json={k: v for k, v in body.items() if k != "topics"}, headers=admin.headers
    )
    assert both.json()["topics"] == ["alerts", "crisis"]
    # The alert API's register is the same register, with the alerts topic.
    r = client.post(
        "/api/v1/intel/webhooks", json={"url": body["url"], "secret": body["secret"]}, headers=admin.headers
    )
    assert r.status_code == 201 and r.json()["topics"] == ["alerts"]
    listed = client.get("/api/v1/webhooks", headers=admin.headers).json()
    assert [h["topics"] for h in listed] == [["crisis"], ["alerts", "crisis"], ["alerts"]]
    assert client.get("/api/v1/webhooks", headers=other.headers).json() == []
    assert client.delete(f"/api/v1/webhooks/{hook['id']}", headers=other.headers).status_code == 404
    assert client.delete(f"/api/v1/webhooks/{hook['id']}", headers=admin.headers).status_code == 204
    assert len(client.get("/api/v1/webhooks", headers=admin.headers).json()) == 2


def test_a_private_address_is_refused_unless_allow_listed(
    settings: Settings, database: Database, make_account: Callable[..., Any]
) -> None:
    from colsec.web.app import create_app

    admin = make_account(Role.ADMIN, org="WH")
    with TestClient(create_app(settings, database=database)) as c:
        r = c.post(
            "/api/v1/webhooks", json={"url": "http://10.0.0.5/in", "secret": "s" * 20}, headers=admin.headers
        )
    assert r.status_code == 422 and r.json()["error"] == "outbound_refused"
