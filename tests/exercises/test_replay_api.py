"""Replay over the API: a run's crisis and a real crisis, at chosen instants, for those who may read them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from colsec.accounts.roles import Role
from colsec.crisis import service
from colsec.crisis.replay import live_state
from colsec.crisis.schemas import CrisisIn, IncidentIn, TransitionIn
from colsec.crisis.states import clock
from colsec.db import Database
from colsec.exercises import delivery
from colsec.exercises import run as runs

from .conftest import scenario_doc

API = "/api/v1/exercises"


def _ok(resp: Any, status: int = 200) -> Any:
    assert resp.status_code == status, resp.text
    return resp.json()


def _iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_a_run_replays_its_crisis_for_participants_only(
    client: TestClient, database: Database, alliance: Any, make_account: Callable[..., Any]
) -> None:
    ctl = alliance.controller.headers
    sc = _ok(client.post(f"{API}/scenarios", headers=ctl, json=scenario_doc()), 201)
    run = _ok(
        client.post(f"{API}/runs", headers=ctl, json={"scenario_id": sc["id"], "name": "Replay 1"}), 201
    )
    t0 = datetime.now(UTC) - timedelta(minutes=10)
    with database.unit_of_work() as s:
        runs.move(s, actor=alliance.controller.actor, run_id=run["id"], to="running", now=t0)
    # before any inject there is nothing to replay
    empty = _ok(client.get(f"{API}/runs/{run['id']}/replay", headers=ctl))
    assert empty["crises"] == [] and empty["instants"] == []
    for seconds in (0, 60, 120):  # the third inject is a consultation: the run's crisis opens
        delivery.deliver_pass(database, node_name="test-node", now=t0 + timedelta(seconds=seconds))
    before_answer = _ok(client.get(f"{API}/runs/{run['id']}/replay", headers=ctl))
    crisis_id = before_answer["crises"][0]["crisis"]["id"]
    cons = before_answer["crises"][0]["consultations"][0]
    assert cons["status"] == "open" and cons["answers"] == []
    assert before_answer["crises"][0]["crisis"]["exercise_run_id"] == run["id"]

    _ok(
        client.post(
            f"/api/v1/crisis/consultations/{cons['id']}/positions",
            headers=alliance.reps["EV"].headers,
            json={"stance": "agree"},
        ),
        201,
    )
    now = _ok(client.get(f"{API}/runs/{run['id']}/replay", headers=alliance.reps["SD"].headers))
    assert [a["stance"] for a in now["crises"][0]["consultations"][0]["answers"]] == ["agree"]
    assert len(now["instants"]) == len(before_answer["instants"]) + 1
    with database.unit_of_work() as s:
        assert now["crises"][0] == _jsonish(live_state(s, crisis_id=crisis_id))
    # at the instant before the answer, the consultation stands as it was
    then = _ok(client.get(f"{API}/runs/{run['id']}/replay", headers=ctl, params={"at": now["instants"][-2]}))
    assert then["crises"] == before_answer["crises"]
    # the crisis route gives the same state for the same instant
    one = _ok(
        client.get(
            f"/api/v1/crisis/crises/{crisis_id}/replay",
            headers=alliance.reps["NM"].headers,
            params={"at": now["instants"][-2]},
        )
    )
    assert one["state"] == then["crises"][0] and one["instants"] == now["instants"]

    # an organisation outside the run sees neither the run nor its crisis
    outsider = make_account(Role.REPRESENTATIVE, org="XX").headers
    assert client.get(f"{API}/runs/{run['id']}/replay", headers=outsider).status_code == 404
    r = client.get(f"/api/v1/crisis/crises/{crisis_id}/replay", headers=outsider)
    assert r.status_code == 404 and f"crisis {crisis_id} not found" in r.text
    # a bad instant is refused, naming the parameter
    r = client.get(f"{API}/runs/{run['id']}/replay", headers=ctl, params={"at": "yesterday"})
    assert r.status_code == 422 and "at" in r.text


def _jsonish(state: dict[str, Any]) -> Any:
    """The state as the API renders it (JSON types)."""
    import orjson

    return orjson.loads(orjson.dumps(state))


def test_a_real_crisis_replays_at_each_minute(client: TestClient, database: Database, alliance: Any) -> None:
    start = datetime(2025, 2, 3, 9, 0, tzinfo=UTC)
    ev = alliance.reps["EV"]
    with database.unit_of_work() as s, clock(start):
        inc = service.report_incident(
            s,
            actor=alliance.analysts["EV"].actor,
            data=IncidentIn(title="Outage", category="cyber", severity=3),
        )
        service.triage_incident(
            s, actor=alliance.analysts["EV"].actor, incident_id=inc.id, data=TransitionIn()
        )
        service.escalate_incident(s, actor=ev.actor, incident_id=inc.id, data=TransitionIn())
        crisis = service.open_crisis(
            s,
            actor=alliance.controller.actor,
            data=CrisisIn(title="Grid", incident_ids=[inc.id], alert_level=2),
        )
        crisis_id = crisis.id
    with database.unit_of_work() as s, clock(start + timedelta(minutes=7)):
        service.set_alert_level(s, actor=alliance.controller.actor, crisis_id=crisis_id, level=5)
    url = f"/api/v1/crisis/crises/{crisis_id}/replay"
    latest = _ok(client.get(url, headers=ev.headers))
    assert [_iso(t) for t in latest["instants"]] == [start, start + timedelta(minutes=7)]
    assert latest["state"]["crisis"]["alert_level"] == 5
    at_six = _ok(client.get(url, headers=ev.headers, params={"at": "2025-02-03T09:06:00Z"}))
    assert at_six["state"]["crisis"]["alert_level"] == 2 and at_six["state"]["crisis"]["status"] == "opened"
    assert [i["id"] for i in at_six["state"]["incidents"]] == [inc.id]
    earlier = _ok(client.get(url, headers=ev.headers, params={"at": "2025-02-03T08:59:00+00:00"}))
    assert earlier["state"]["crisis"]["status"] is None and earlier["state"]["incidents"] == []
    assert client.get("/api/v1/crisis/crises/999999/replay", headers=ev.headers).status_code == 404
