"""Finding 15e: numbers beyond 64 bits in paths, queries and cursors answer 4xx JSON, never 500."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from colsec.accounts.roles import Role

HUGE = str(2**63)
HUGER = "9" * 40


def _int_params(route: APIRoute) -> tuple[list[str], list[str]]:
    def is_int(field: Any) -> bool:
        return "int" in repr(field.field_info.annotation) and "str" not in repr(field.field_info.annotation)

    paths = [f.name for f in route.dependant.path_params if is_int(f)]
    queries = [f.name for f in route.dependant.query_params if is_int(f)]
    return paths, queries


def _api_routes(routes: list[Any]) -> list[tuple[str, APIRoute]]:
    """(full path, route) of every route; included routers are flattened (FastAPI >= 0.160 keeps
    them as included-router entries)."""
    found = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append((route.path, route))
        elif hasattr(route, "effective_route_contexts"):
            for ctx in route.effective_route_contexts():
                if isinstance(ctx.original_route, APIRoute):
                    found.append((ctx.path, ctx.original_route))
    return found


def _routes(client: TestClient) -> list[tuple[str, str, list[str], list[str]]]:
    out = []
    for path, route in _api_routes(client.app.routes):  # type: ignore[attr-defined]
        paths, queries = _int_params(route)
        if not paths and not queries:
            continue
        for method in sorted(route.methods):
            out.append((method, path, paths, queries))
    return out


@pytest.fixture
def admin_client(client: TestClient, make_account: Callable[..., Any]) -> TestClient:
    admin = make_account(Role.ADMIN, "ORG-A")
    client.headers.update(admin.headers)
    client.cookies.clear()
    return client


def test_finding_15e_huge_integer_parameters_answer_422(admin_client: TestClient) -> None:
    routes = _routes(admin_client)
    assert len(routes) >= 30  # API and UI routes with numeric ids are all covered
    failures = []
    for method, path, paths, queries in routes:
        for value in (HUGE, HUGER, "-1"):
            url = path
            for name in paths:
                url = url.replace("{" + name + "}", value)
            url = re.sub(r"\{[^}]+\}", "x", url)  # other path parameters
            params = {name: value for name in queries}
            r = admin_client.request(method, url, params=params, json={})
            if r.status_code >= 500 or (paths and r.status_code not in (401, 403, 404, 405, 422)):
                failures.append((method, url, params, r.status_code, r.text[:120]))
            elif r.status_code == 422 and r.headers.get("content-type", "").startswith("application/json"):
                assert r.json()["error"] == "invalid_input"
    assert not failures, failures


@pytest.mark.parametrize(
    "url",
    [
        f"/api/v1/objects?cursor=2026-01-01T00:00:00.000Z_{HUGER}",
        f"/api/v1/objects?limit={HUGER}",
        f"/intel?owner={HUGE}",
        f"/intel?cursor=2026-01-01T00:00:00.000Z_{HUGER}",
        f"/api/v1/alerts/stream?once=true&after={HUGE}",
        "/api/v1/alerts/stream?once=true&poll=nan",
        f"/taxii2/api1/collections/x/objects/?limit={HUGER}",
        f"/taxii2/api1/collections/x/objects/?next={HUGER}",
    ],
)
def test_finding_15e_huge_numbers_in_other_parameters(admin_client: TestClient, url: str) -> None:
    r = admin_client.get(url)
    assert r.status_code < 500, (r.status_code, r.text[:200])
