"""Forbidden transitions and wrong roles or organisations: a clear error and no change at all."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from colsec.db import Database
from colsec.store.models import AuditEntry

B = "/api/v1/crisis"
SOON = (datetime.now(UTC) + timedelta(hours=5)).isoformat()
PAST = (datetime.now(UTC) - timedelta(days=1)).isoformat()


def _ok(r: Any, code: int = 200) -> Any:
    assert r.status_code == code, r.text
    return r.json()


@pytest.fixture
def world(client: TestClient, alliance: Any) -> dict[str, Any]:
    """An active crisis; NM's request approved by a consultation of EV and SD; EV offered a team."""
    al, c = alliance, client
    nm_an, nm_rep, ev_rep, coord = (
        al.analysts["NM"].headers,
        al.reps["NM"].headers,
        al.reps["EV"].headers,
        al.coordinator.headers,
    )
    inc = _ok(
        c.post(f"{B}/incidents", headers=nm_an, json={"title": "t", "category": "cyber", "severity": 3}), 201
    )
    fresh = _ok(
        c.post(f"{B}/incidents", headers=nm_an, json={"title": "fresh", "category": "other", "severity": 1}),
        201,
    )
    _ok(c.post(f"{B}/incidents/{inc['id']}/triage", headers=nm_an))
    _ok(c.post(f"{B}/incidents/{inc['id']}/escalate", headers=nm_an))
    crisis = _ok(c.post(f"{B}/crises", headers=coord, json={"title": "c", "incident_ids": [inc["id"]]}), 201)
    _ok(c.post(f"{B}/crises/{crisis['id']}/transition", headers=coord, json={"to": "active"}))
    body = {"capability": "forensics", "quantity": 2, "location": "NM", "needed_by": SOON}
    req = _ok(c.post(f"{B}/crises/{crisis['id']}/requests", headers=nm_rep, json=body), 201)
    draft = _ok(c.post(f"{B}/crises/{crisis['id']}/requests", headers=nm_rep, json=body), 201)
    _ok(c.post(f"{B}/requests/{req['id']}/submit", headers=nm_rep))
    eligible = [al.reps["EV"].org.id, al.reps["SD"].org.id]
    cons = _ok(c.post(f"{B}/requests/{req['id']}/consultations", headers=coord,
                      json={"question": "q", "deadline": SOON, "eligible_org_ids": eligible, "quorum": 2}), 201)  # fmt: skip
    _ok(c.post(f"{B}/consultations/{cons['id']}/positions", headers=ev_rep, json={"stance": "agree"}), 201)
    _ok(
        c.post(
            f"{B}/consultations/{cons['id']}/positions",
            headers=al.reps["SD"].headers,
            json={"stance": "agree"},
        ),
        201,
    )
    res = _ok(
        c.post(
            f"{B}/resources",
            headers=ev_rep,
            json={"kind": "team", "name": "t", "capability": "forensics", "size": 2, "readiness_hours": 4},
        ),
        201,
    )
    offer = _ok(
        c.post(
            f"{B}/requests/{req['id']}/offers", headers=ev_rep, json={"resource_id": res["id"], "quantity": 2}
        ),
        201,
    )
    return {
        "inc": inc,
        "fresh": fresh,
        "crisis": crisis,
        "req": req,
        "draft": draft,
        "cons": cons,
        "res": res,
        "offer": offer,
    }


# (description, who, method path template, json, expected status, expected error code)
CASES: list[tuple[str, Callable[[Any], str], str, dict[str, Any] | None, int, str]] = [
    ("other member triages", lambda a: "analysts.EV", "/incidents/{fresh}/triage", None, 404, "not_found"),
    (
        "coordinator triages a national incident",
        lambda a: "coordinator",
        "/incidents/{fresh}/triage",
        None,
        403,
        "forbidden",
    ),
    ("viewer triages", lambda a: "viewer", "/incidents/{fresh}/triage", None, 403, "forbidden"),
    (
        "escalate skips triage",
        lambda a: "analysts.NM",
        "/incidents/{fresh}/escalate",
        None,
        409,
        "invalid_transition",
    ),
    (
        "member opens a crisis",
        lambda a: "reps.NM",
        "/crises",
        {"title": "x", "incident_ids": [1]},
        403,
        "forbidden",
    ),
    (
        "crisis jumps to closed",
        lambda a: "coordinator",
        "/crises/{crisis}/transition",
        {"to": "closed"},
        409,
        "invalid_transition",
    ),
    (
        "member moves a crisis",
        lambda a: "reps.EV",
        "/crises/{crisis}/transition",
        {"to": "stabilising"},
        403,
        "forbidden",
    ),
    (
        "lesson during the crisis",
        lambda a: "coordinator",
        "/crises/{crisis}/lessons",
        {"kind": "worked", "text": "x"},
        409,
        "invalid_transition",
    ),
    (
        "another member submits NM's draft",
        lambda a: "reps.EV",
        "/requests/{draft}/submit",
        None,
        403,
        "forbidden",
    ),
    ("analyst submits", lambda a: "analysts.NM", "/requests/{draft}/submit", None, 403, "forbidden"),
    (
        "consultation on a draft",
        lambda a: "coordinator",
        "/requests/{draft}/consultations",
        {"question": "q", "deadline": SOON},
        409,
        "invalid_transition",
    ),
    (
        "member opens a consultation",
        lambda a: "reps.NM",
        "/requests/{draft}/consultations",
        {"question": "q", "deadline": SOON},
        403,
        "forbidden",
    ),
    (
        "second consultation on a decided request",
        lambda a: "coordinator",
        "/requests/{req}/consultations",
        {"question": "q", "deadline": SOON},
        409,
        "invalid_transition",
    ),
    (
        "position after the decision",
        lambda a: "reps.WH",
        "/consultations/{cons}/positions",
        {"stance": "object"},
        409,
        "consultation_closed",
    ),
    (
        "withdraw an approved request",
        lambda a: "reps.NM",
        "/requests/{req}/withdraw",
        None,
        409,
        "invalid_transition",
    ),
    (
        "coordinator withdraws a member's request",
        lambda a: "coordinator",
        "/requests/{draft}/withdraw",
        None,
        403,
        "forbidden",
    ),
    (
        "offer against a draft",
        lambda a: "reps.EV",
        "/requests/{draft}/offers",
        {"resource_id": "{res}", "quantity": 1},
        409,
        "invalid_transition",
    ),
    (
        "offer someone else's resource",
        lambda a: "reps.SD",
        "/requests/{req}/offers",
        {"resource_id": "{res}", "quantity": 1},
        403,
        "forbidden",
    ),
    (
        "offer more than the resource holds",
        lambda a: "reps.EV",
        "/requests/{req}/offers",
        {"resource_id": "{res}", "quantity": 9},
        422,
        "invalid_input",
    ),
    (
        "request help needed by a time already past",
        lambda a: "reps.NM",
        "/crises/{crisis}/requests",
        {"capability": "forensics", "quantity": 1, "location": "NM", "needed_by": PAST},
        422,
        "invalid_input",
    ),
    ("member accepts its own offer", lambda a: "reps.EV", "/offers/{offer}/accepted", None, 403, "forbidden"),
    (
        "deploy before acceptance",
        lambda a: "reps.EV",
        "/offers/{offer}/deployed",
        None,
        409,
        "invalid_transition",
    ),
    (
        "another member commits EV's offer",
        lambda a: "reps.SD",
        "/offers/{offer}/committed",
        None,
        403,
        "forbidden",
    ),
    (
        "sitrep by a member",
        lambda a: "reps.NM",
        "/crises/{crisis}/sitreps",
        {"summary": "x"},
        403,
        "forbidden",
    ),
    ("CAP alert by a member", lambda a: "reps.NM", "/crises/{crisis}/alerts", None, 403, "forbidden"),
]


def _who(alliance: Any, path: str) -> dict[str, str]:
    obj: Any = alliance
    for part in path.split("."):
        obj = obj[part] if isinstance(obj, dict) else getattr(obj, part)
    return dict(obj.headers)


def _fill(template: Any, world: dict[str, Any]) -> Any:
    if isinstance(template, str):
        for k, v in world.items():
            template = template.replace("{" + k + "}", str(v["id"]))
        return int(template) if template.isdigit() else template
    if isinstance(template, dict):
        return {k: _fill(v, world) for k, v in template.items()}
    return template


def _audit_rows(database: Database) -> int:
    with database.unit_of_work(write=False) as s:
        return int(s.execute(select(func.count()).select_from(AuditEntry)).scalar_one())


def _snapshot(client: TestClient, alliance: Any, world: dict[str, Any]) -> dict[str, Any]:
    h = alliance.coordinator.headers
    return {
        "inc": client.get(f"{B}/incidents/{world['fresh']['id']}", headers=h).json(),
        "crisis": client.get(f"{B}/crises/{world['crisis']['id']}", headers=h).json(),
        "requests": client.get(f"{B}/requests", headers=h).json(),
        "cons": client.get(f"{B}/consultations/{world['cons']['id']}", headers=h).json(),
        "offers": client.get(f"{B}/requests/{world['req']['id']}/offers", headers=h).json(),
    }


def test_every_refusal_is_clear_and_changes_nothing(
    client: TestClient, alliance: Any, world: dict[str, Any], database: Database
) -> None:
    before_rows = _audit_rows(database)
    before = _snapshot(client, alliance, world)
    for what, who, path, body, status, code in CASES:
        r = client.post(
            B + _fill(path, world), headers=_who(alliance, who(alliance)), json=_fill(body, world)
        )
        assert (r.status_code, r.json().get("error")) == (status, code), f"{what}: {r.status_code} {r.text}"
        assert r.json()["detail"], what
    assert _audit_rows(database) == before_rows
    assert _snapshot(client, alliance, world) == before


def test_incident_lists_do_not_leak_between_members(
    client: TestClient, alliance: Any, world: dict[str, Any]
) -> None:
    ev = client.get(f"{B}/incidents", headers=alliance.analysts["EV"].headers).json()
    assert ev == []
    nm = client.get(f"{B}/incidents", headers=alliance.analysts["NM"].headers).json()
    assert {i["id"] for i in nm} == {world["inc"]["id"], world["fresh"]["id"]}
    centre = client.get(f"{B}/incidents", headers=alliance.viewer.headers).json()
    assert len(centre) == 2
