"""Finding 6: nothing the intel domain derives reveals a holder its reader may not see.

Through the REST API with several members: correlations (list, counts, owners, status,
containment), related objects, cross-member alerts, scores and exposure alerts are computed
only from the objects each reader may see.
"""

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

from .conftest import app_with, indicator, sighting

Account = Any


def _post(client: TestClient, acc: Account, objs: list[dict[str, Any]]) -> None:
    r = client.post(
        "/api/v1/objects",
        json={"type": "bundle", "id": "bundle--6f1a8a36-2d35-4b69-9c3e-0d1cf3b1d5a1", "objects": objs},
        headers=acc.headers,
    )
    assert r.status_code == 201, r.text


def _correlations(client: TestClient, acc: Account, **params: Any) -> dict[str, dict[str, Any]]:
    r = client.get("/api/v1/intel/correlations", params=params, headers=acc.headers)
    assert r.status_code == 200, r.text
    return {row["value"]: row for row in r.json()["correlations"]}


def _alerts(client: TestClient, acc: Account) -> list[dict[str, Any]]:
    r = client.get("/api/v1/intel/alerts", headers=acc.headers)
    assert r.status_code == 200, r.text
    return list(r.json()["alerts"])


@pytest.fixture
def members(client: TestClient, make_account: Callable[..., Account]) -> dict[str, Account]:
    """Four members and a crisis-centre admin (the app: threshold 2, cap 2)."""
    accounts = {m: make_account(Role.ANALYST, org=m) for m in ("A", "B", "C", "D")}
    accounts["ADMIN"] = make_account(Role.ADMIN, org="ACC", kind="crisis_centre")
    return accounts


@pytest.fixture
def app(settings: Settings, database: Database) -> FastAPI:
    return app_with(settings, database, IntelConfig(cross_member_threshold=2, cap=2))


def test_finding_06_correlation_exists_only_for_readers_of_two_holders(
    client: TestClient, members: dict[str, Account]
) -> None:
    a, b, c, admin = members["A"], members["B"], members["C"], members["ADMIN"]
    value = "198.51.100.61"
    _post(client, a, [indicator("f6-red", "ipv4", value, tlp=TLP.RED)])
    _post(client, b, [indicator("f6-green", "ipv4", value, tlp=TLP.GREEN)])
    for reader in (b, c, admin):  # one visible holder: the entry would exist only because of A's RED one
        for status in ("active", "capped", "warninglisted"):
            assert value not in _correlations(client, reader, status=status)
    row = _correlations(client, a)[value]
    assert (row["n_objects"], row["n_owners"], row["visible_objects"]) == (2, 2, 2)
    assert value in _correlations(client, a, min_owners=2)
    assert value not in _correlations(client, b, min_owners=2)


def test_finding_06_capped_status_and_counts_are_per_reader(
    client: TestClient, members: dict[str, Account]
) -> None:
    a, b, c = members["A"], members["B"], members["C"]
    value = "198.51.100.62"
    _post(client, a, [indicator(f"f6-cap-a{i}", "ipv4", value, tlp=TLP.RED) for i in range(2)])
    _post(client, b, [indicator("f6-cap-b", "ipv4", value)])
    _post(client, c, [indicator("f6-cap-c", "ipv4", value)])
    # four holders overall (over the cap of 2), two of them visible to B: active for B, capped for A
    seen_b = _correlations(client, b)
    assert value in seen_b and (seen_b[value]["n_objects"], seen_b[value]["n_owners"]) == (2, 2)
    assert value not in _correlations(client, b, status="capped")
    assert _correlations(client, a, status="capped")[value]["n_objects"] == 4
    assert value not in _correlations(client, a)


def test_finding_06_containment_hides_hidden_children(
    client: TestClient, members: dict[str, Account]
) -> None:
    a, b, c = members["A"], members["B"], members["C"]
    net, inner = "203.0.113.0/24", "203.0.113.9"
    _post(client, a, [indicator("f6-child", "ipv4", inner, tlp=TLP.RED)])
    _post(client, b, [indicator("f6-net-b", "cidr4", net)])
    _post(client, c, [indicator("f6-net-c", "cidr4", net)])
    row_b = _correlations(client, b)[net]
    assert (row_b["contains"], row_b["n_objects"]) == (False, 2)
    row_a = _correlations(client, a, status="capped")[net]  # three holders over the cap of 2
    assert (row_a["contains"], row_a["n_objects"]) == (True, 3)
    rel = client.get(
        f"/api/v1/intel/objects/{indicator('f6-net-b', 'cidr4', net)['id']}/related", headers=b.headers
    )
    assert inner not in rel.text and indicator("f6-child", "ipv4", inner)["id"] not in rel.text


def test_finding_06_cross_member_alert_counts_only_visible_reports(
    client: TestClient, members: dict[str, Account]
) -> None:
    a, b, c, d = members["A"], members["B"], members["C"], members["D"]
    value = "malicious.example.com"
    red = indicator("f6-x-red", "domain", value, tlp=TLP.RED)
    _post(client, a, [red])
    _post(client, b, [indicator("f6-x-b", "domain", value, tlp=TLP.GREEN)])
    _post(client, c, [indicator("f6-x-c", "domain", value, tlp=TLP.GREEN)])
    for reader in (b, c, d):
        (alert,) = _alerts(client, reader)
        assert alert["details"]["members"] == ["B", "C"], reader.org.short_name
        assert red["id"] not in str(alert) and {o["owner"] for o in alert["objects"]} == {"B", "C"}
    (alert_a,) = _alerts(client, a)  # raised at A+B; with C's report A sees the value over the cap of 2
    assert alert_a["details"]["members"] == ["A", "B"]
    # two RED reports alone alert nobody: each member sees one report
    other = "hidden.example.com"
    _post(client, a, [indicator("f6-y-a", "domain", other, tlp=TLP.RED)])
    _post(client, b, [indicator("f6-y-b", "domain", other, tlp=TLP.RED)])
    for reader in (a, b, c, d):
        assert all(other not in x["title"] for x in _alerts(client, reader))


def test_finding_06_score_ignores_hidden_sightings(client: TestClient, members: dict[str, Account]) -> None:
    a, b, c = members["A"], members["B"], members["C"]
    green = indicator("f6-score", "ipv4", "192.0.2.61", tlp=TLP.GREEN, created="2026-12-01T10:00:00.000Z")
    _post(client, b, [green])
    red_sighting = sighting(
        "f6-score-s", green["id"], created="2026-12-02T10:00:00.000Z", tlp=TLP.RED, count=5
    )
    _post(client, a, [red_sighting])
    url = f"/api/v1/intel/indicators/{green['id']}/score"
    seen_c, seen_a = client.get(url, headers=c.headers).json(), client.get(url, headers=a.headers).json()
    assert (seen_c["sightings"], seen_c["base_score"]) == (0, 80)
    assert seen_c["ref_time"].startswith("2026-12-01")
    assert (seen_a["sightings"], seen_a["base_score"]) == (5, 100)


def test_finding_06_exposure_alert_needs_every_source(
    client: TestClient, members: dict[str, Account]
) -> None:
    a, b, c = members["A"], members["B"], members["C"]
    r = client.post(
        "/api/v1/intel/assets",
        json={
            "name": "water plant",
            "sector": "water",
            "criticality": "medium",
            "ip_ranges": ["192.0.2.0/28"],
        },
        headers=c.headers,
    )
    assert r.status_code == 201, r.text
    red = indicator("f6-exp", "ipv4", "192.0.2.10", tlp=TLP.RED)
    _post(client, a, [red])
    # B's GREEN sighting of A's RED indicator touches C's asset through a value C may not read
    _post(client, b, [sighting("f6-exp-s", red["id"], created="2026-12-02T10:00:00.000Z")])
    alerts_c = _alerts(client, c)
    assert all(x["kind"] != "exposure" for x in alerts_c), alerts_c
    assert "192.0.2.10" not in str(alerts_c)
