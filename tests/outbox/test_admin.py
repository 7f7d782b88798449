"""Admins see their organisation's dead deliveries (API, page, CLI) and retry them; nobody else does."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from colsec.accounts.models import User
from colsec.accounts.roles import Role
from colsec.crisis.notify import notify
from colsec.db import Database
from colsec.outbox import OutboxMessage, Status
from outbox.conftest import add_endpoint
from outbox.receivers import WebhookReceiver
from ui.test_i18n import untranslated


@pytest.fixture
def dead(database: Database, make_account: Callable[..., Any], hooks: WebhookReceiver) -> dict[str, Any]:
    """One dead webhook delivery for each of two organisations."""
    accounts = {org: make_account(Role.ADMIN, org=org) for org in ("NM", "SD")}
    for acc in accounts.values():
        add_endpoint(database, acc.org.id, hooks.url)
    with database.unit_of_work() as s:
        notify(
            s, kind="incident.reported", subject="x", webhook_org_ids=[a.org.id for a in accounts.values()]
        )
        s.execute(update(OutboxMessage).values(status=Status.DEAD, attempts=8, last_error="HTTP 503"))
    return accounts


def test_admin_lists_own_dead_rows_only_and_retries_one(
    client: TestClient,
    dead: dict[str, Any],
    make_account: Callable[..., Any],
    hooks: WebhookReceiver,
    deliver: Callable[..., int],
) -> None:
    nm = dead["NM"]
    rows = client.get("/api/v1/outbox?status=dead", headers=nm.headers).json()
    assert [(r["org_id"], r["status"], r["last_error"]) for r in rows] == [(nm.org.id, "dead", "HTTP 503")]
    assert client.get("/api/v1/outbox?status=pending", headers=nm.headers).json() == []
    analyst = make_account(Role.ANALYST, org="NM")
    r = client.get("/api/v1/outbox?status=dead", headers=analyst.headers)
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
    assert client.post(f"/api/v1/outbox/{rows[0]['id']}/retry", headers=analyst.headers).status_code == 403
    other = client.get("/api/v1/outbox", headers=dead["SD"].headers).json()
    assert len(other) == 1 and other[0]["id"] != rows[0]["id"]
    r = client.post(f"/api/v1/outbox/{other[0]['id']}/retry", headers=nm.headers)
    assert r.status_code == 404  # another organisation's row does not exist for this admin
    operator = make_account(Role.ADMIN, org="NODE", operator=True)
    assert len(client.get("/api/v1/outbox?status=dead", headers=operator.headers).json()) == 2
    r = client.get("/api/v1/outbox?status=lost", headers=nm.headers)
    assert r.status_code == 422 and "unknown status" in r.json()["detail"]

    r = client.post(f"/api/v1/outbox/{rows[0]['id']}/retry", headers=nm.headers)
    assert r.status_code == 200 and (r.json()["status"], r.json()["attempts"]) == ("pending", 0)
    assert hooks.attempts == {}  # queued again, not sent by the request
    assert deliver() == 1 and len(hooks.effects) == 1
    r = client.post(f"/api/v1/outbox/{rows[0]['id']}/retry", headers=nm.headers)
    assert r.status_code == 409 and "delivered" in r.json()["detail"]


def _login(client: TestClient, username: str, password: str) -> str:
    csrf = re.compile(r'name="csrf_token" value="([^"]+)"')
    token = csrf.search(client.get("/login").text)
    assert token
    r = client.post(
        "/login",
        data={"csrf_token": token.group(1), "username": username, "password": password, "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get("/admin/outbox")
    assert page.status_code == 200
    found = csrf.search(page.text)
    assert found
    return found.group(1)


def test_the_admin_page_lists_dead_rows_and_retries(
    client: TestClient, dead: dict[str, Any], database: Database
) -> None:
    nm = dead["NM"]
    csrf = _login(client, nm.user.username, nm.password)
    html = client.get("/admin/outbox").text
    assert "HTTP 503" in html and html.count('/retry"') == 1  # the other organisation's row is not shown
    row_id = int(re.search(r"/admin/outbox/(\d+)/retry", html).group(1))  # type: ignore[union-attr]
    assert client.post(f"/admin/outbox/{row_id}/retry", data={}, follow_redirects=False).status_code == 403
    r = client.post(f"/admin/outbox/{row_id}/retry", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    with database.unit_of_work(write=False) as s:
        assert s.get(OutboxMessage, row_id).status == Status.PENDING  # type: ignore[union-attr]
    with database.unit_of_work() as s:
        s.execute(update(User).where(User.id == nm.user.id).values(language="ru"))
    ru = client.get("/admin/outbox").text
    assert "Outgoing deliveries" in html and "Исходящие доставки" in ru
    assert untranslated(ru, "ru") == []
