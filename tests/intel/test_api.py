"""Intel API through the HTTP client: leak cases per endpoint, assets CSV, alert feed and SSE stream."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from colsec.accounts.roles import Role
from colsec.db import Database
from colsec.intel.hooks import IntelConfig
from colsec.settings import Settings
from colsec.stix.tlp import TLP

from .conftest import app_with, indicator


@pytest.fixture
def app(settings: Settings, database: Database) -> FastAPI:
    """Two members holding a value are enough for a cross-member alert."""
    return app_with(settings, database, IntelConfig(cross_member_threshold=2))


def _post(client: TestClient, acc: Any, objs: list[dict[str, Any]]) -> None:
    r = client.post(
        "/api/v1/objects",
        json={"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", "objects": objs},
        headers=acc.headers,
    )
    assert r.status_code == 201, r.text


def test_correlations_related_and_alerts_do_not_leak(
    client: TestClient, make_account: Callable[..., Any]
) -> None:
    a = make_account(Role.ANALYST, org="A")
    b = make_account(Role.ANALYST, org="B")
    c = make_account(Role.ANALYST, org="C")
    admin = make_account(Role.ADMIN, org="ACC", kind="crisis_centre")
    red = indicator("api-red", "ipv4", "198.51.100.201", tlp=TLP.RED)
    green = indicator("api-green", "ipv4", "198.51.100.201", tlp=TLP.GREEN)
    _post(client, a, [red])
    _post(client, b, [green])
    # B and C see one object stating the value: no correlation, no count of A's RED one
    for acc in (b, c, admin):
        rows = client.get("/api/v1/intel/correlations", headers=acc.headers).json()["correlations"]
        assert rows == []
    rows = client.get("/api/v1/intel/correlations", headers=a.headers).json()["correlations"]
    assert [(r["value"], r["n_objects"], r["n_owners"]) for r in rows] == [("198.51.100.201", 2, 2)]
    # related: A sees B's object; B does not see A's RED one
    rel_a = client.get(f"/api/v1/intel/objects/{red['id']}/related", headers=a.headers).json()["related"]
    assert [r["id"] for r in rel_a] == [green["id"]]
    assert (
        client.get(f"/api/v1/intel/objects/{green['id']}/related", headers=b.headers).json()["related"] == []
    )
    assert client.get(f"/api/v1/intel/objects/{red['id']}/related", headers=c.headers).status_code == 404
    # cross-member alert: only A sees two members' reports; B and C are not told A holds it
    for acc in (b, c):
        assert client.get("/api/v1/intel/alerts", headers=acc.headers).json()["alerts"] == []
    feed_a = client.get("/api/v1/intel/alerts", headers=a.headers).json()["alerts"]
    assert len(feed_a) == 1 and {o["id"] for o in feed_a[0]["objects"]} == {red["id"], green["id"]}
    # SSE stream carries the same rendering
    with client.stream("GET", "/api/v1/intel/alerts/stream?once=true", headers=c.headers) as resp:
        assert "event: alert" not in "".join(resp.iter_text())
    with client.stream("GET", "/api/v1/intel/alerts/stream?once=true", headers=a.headers) as resp:
        text = "".join(resp.iter_text())
    assert "event: alert" in text and green["id"] in text and red["id"] in text
    alert_id = feed_a[0]["id"]
    assert client.post(f"/api/v1/intel/alerts/{alert_id}/read", headers=c.headers).status_code == 404
    assert client.post(f"/api/v1/intel/alerts/{alert_id}/read", headers=a.headers).status_code == 204
    assert client.get("/api/v1/intel/alerts?unread=true", headers=a.headers).json()["alerts"] == []
    # score of an invisible indicator is 404, of a visible one is served
    assert client.get(f"/api/v1/intel/indicators/{red['id']}/score", headers=c.headers).status_code == 404
    s = client.get(f"/api/v1/intel/indicators/{green['id']}/score", headers=c.headers).json()
    assert s["kind"] == "ipv4" and s["base_score"] == 80


def test_assets_csv_and_visibility(client: TestClient, make_account: Callable[..., Any]) -> None:
    a = make_account(Role.ANALYST, org="A")
    b = make_account(Role.ANALYST, org="B")
    viewer = make_account(Role.VIEWER, org="A")
    body = (
        "name,sector,criticality,ip_ranges,domains,cpes\nplant,energy,high,192.0.2.0/28,plant.example.org,\n"
    )
    r = client.post(
        "/api/v1/intel/assets/import", content=body, headers={**a.headers, "Content-Type": "text/csv"}
    )
    assert r.status_code == 201, r.text
    assert r.json()[0]["criticality"] == "high" and r.json()[0]["ip_ranges"] == ["192.0.2.0/28"]
    assert (
        client.post(
            "/api/v1/intel/assets/import",
            content=body,
            headers={**viewer.headers, "Content-Type": "text/csv"},
        ).status_code
        == 403
    )
    assert [x["name"] for x in client.get("/api/v1/intel/assets", headers=a.headers).json()] == ["plant"]
    assert client.get("/api/v1/intel/assets", headers=b.headers).json() == []
    asset_id = r.json()[0]["id"]
    assert client.get(f"/api/v1/intel/assets/{asset_id}", headers=b.headers).status_code == 404
    bad = client.post(
        "/api/v1/intel/assets",
        json={"name": "x", "sector": "e", "criticality": "high", "ip_ranges": ["nope"]},
        headers=a.headers,
    )
    assert bad.status_code == 422 and "invalid IP range" in bad.json()["detail"]
