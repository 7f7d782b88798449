"""A run with three member organisations through the API on a controlled clock.

The run starts ten minutes in the past (``now=``), so deliveries happen at exact offsets on
the controlled clock while the members answer through the API in the present; expectations
are judged against the audit log at chosen instants.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from colsec.accounts.roles import Role
from colsec.db import Database
from colsec.exercises import delivery
from colsec.exercises import run as runs
from colsec.exercises.models import ExerciseRun
from colsec.exercises.scoring import evaluate, summary

from .conftest import scenario_doc

API = "/api/v1/exercises"


def _ok(resp: Any, status: int = 200) -> Any:
    assert resp.status_code == status, resp.text
    return resp.json()


def _deliver(database: Database, at: datetime) -> int:
    return delivery.deliver_pass(database, node_name="test-node", now=at)


def _results(database: Database, run_id: int, at: datetime) -> dict[int, str]:
    with database.unit_of_work() as s:
        return {r.number: r.status for r in evaluate(s, s.get(ExerciseRun, run_id), now=at)}  # type: ignore[arg-type]


def test_three_members_injects_responses_and_scores(
    client: TestClient, database: Database, alliance: Any, make_account: Callable[..., Any]
) -> None:
    ctl = alliance.controller.headers
    sc = _ok(client.post(f"{API}/scenarios", headers=ctl, json=scenario_doc()), 201)
    # members do not write scenarios or control runs
    assert (
        client.post(
            f"{API}/scenarios", headers=alliance.reps["NM"].headers, json=scenario_doc("x")
        ).status_code
        == 403
    )
    run = _ok(client.post(f"{API}/runs", headers=ctl, json={"scenario_id": sc["id"], "name": "Grid 1"}), 201)
    t0 = datetime.now(UTC) - timedelta(minutes=10)
    with database.unit_of_work() as s:
        runs.move(s, actor=alliance.controller.actor, run_id=run["id"], to="running", now=t0)

    # t0: inject 1 (incident to NM) only
    assert _deliver(database, t0) == 1
    nm_inbox = _ok(client.get(f"{API}/runs/{run['id']}/inbox", headers=alliance.analysts["NM"].headers))
    assert [i["number"] for i in nm_inbox] == [1]
    assert _ok(client.get(f"{API}/runs/{run['id']}/inbox", headers=alliance.reps["EV"].headers)) == []
    notes = _ok(client.get("/api/v1/crisis/notifications", headers=alliance.analysts["NM"].headers))
    assert notes and all(n["subject"].startswith("[EXERCISE Grid 1]") for n in notes)
    # t0+59s: nothing new; t0+60s: inject 2 to EV
    assert _deliver(database, t0 + timedelta(seconds=59)) == 0
    assert _deliver(database, t0 + timedelta(seconds=60)) == 1
    ev_inbox = _ok(client.get(f"{API}/runs/{run['id']}/inbox", headers=alliance.reps["EV"].headers))
    assert [i["number"] for i in ev_inbox] == [2]
    # t0+120s: the consultation reaches every participant
    assert _deliver(database, t0 + timedelta(seconds=120)) == 1
    for m in ("NM", "EV", "SD"):
        got = _ok(client.get(f"{API}/runs/{run['id']}/inbox", headers=alliance.reps[m].headers))
        assert 3 in [i["number"] for i in got]
    detail = _ok(client.get(f"{API}/runs/{run['id']}", headers=ctl))
    delivered = {i["number"]: i for i in detail["injects"]}
    assert delivered[3]["status"] == "delivered"
    consultation = int(delivered[3]["refs"].split()[0].split(":")[1])
    incident = int(delivered[1]["refs"].split()[1].split(":")[1])

    # members respond through the ordinary API: NM triages, EV acknowledges and answers; SD stays silent
    _ok(
        client.post(
            f"/api/v1/crisis/incidents/{incident}/triage",
            headers=alliance.analysts["NM"].headers,
            json={"note": "x"},
        )
    )
    _ok(client.post(f"{API}/runs/{run['id']}/injects/2/acknowledge", headers=alliance.reps["EV"].headers))
    _ok(
        client.post(
            f"/api/v1/crisis/consultations/{consultation}/positions",
            headers=alliance.reps["EV"].headers,
            json={"stance": "agree"},
        ),
        201,
    )

    now = datetime.now(UTC)
    res = _results(database, run["id"], now)
    assert res[1] == "met"  # triaged within 30 minutes of delivery
    assert res[2] == "late"  # acknowledged ~9 minutes after delivery, 5 allowed
    assert res[3] == "met"
    assert res[4] == "pending"  # SD has until the deadline
    deadline = t0 + timedelta(seconds=120 + 900)
    assert _results(database, run["id"], deadline - timedelta(seconds=1))[4] == "pending"
    assert _results(database, run["id"], deadline + timedelta(seconds=1))[4] == "missed"

    # dependency: inject 2 was answered, so inject 4 fires; expectation 1 was met, so inject 5 never does
    assert _deliver(database, now) == 1
    sd_inbox = _ok(client.get(f"{API}/runs/{run['id']}/inbox", headers=alliance.reps["SD"].headers))
    assert 4 in [i["number"] for i in sd_inbox]
    detail = {i["number"]: i for i in _ok(client.get(f"{API}/runs/{run['id']}", headers=ctl))["injects"]}
    assert detail[5]["status"] == "skipped"

    # scores through the API equal the domain's; umpire override with a reason
    api = _ok(client.get(f"{API}/runs/{run['id']}/scores", headers=ctl))
    assert (
        client.get(f"{API}/runs/{run['id']}/scores", headers=alliance.reps["NM"].headers).status_code == 403
    )
    assert {a["number"]: a["status"] for a in api["actions"]}[2] == "late"
    assert (
        client.post(
            f"{API}/runs/{run['id']}/expectations/2/override", headers=ctl, json={"status": "met"}
        ).status_code
        == 422
    )
    _ok(
        client.post(
            f"{API}/runs/{run['id']}/expectations/2/override",
            headers=ctl,
            json={"status": "met", "reason": "radio outage"},
        )
    )
    api = _ok(client.get(f"{API}/runs/{run['id']}/scores", headers=ctl))
    assert {a["number"]: a["status"] for a in api["actions"]}[2] == "met"
    ev = next(o for o in api["organisations"] if o["org"] == "EV")
    assert ev["time_to_acknowledge_s"] is not None and 500 < ev["time_to_acknowledge_s"] < 700
    with database.unit_of_work() as s:
        mine = summary(s, s.get(ExerciseRun, run["id"]))  # type: ignore[arg-type]
    assert mine["score"] == api["score"] and mine["organisations"] == api["organisations"]
    # a participant sees the run; an organisation outside it gets what an absent run gets
    assert client.get(f"{API}/runs/{run['id']}", headers=alliance.analysts["NM"].headers).status_code == 200
    outsider = make_account(Role.REPRESENTATIVE, org="WH").headers
    for path in ("", "/inbox", "/objects"):
        theirs = client.get(f"{API}/runs/{run['id']}{path}", headers=outsider)
        absent = client.get(f"{API}/runs/999999{path}", headers=outsider)
        assert theirs.status_code == absent.status_code == 404
    r = client.post(f"{API}/runs/{run['id']}/injects/2/acknowledge", headers=outsider)
    assert r.status_code == 404


def test_pause_shifts_and_deliver_now(client: TestClient, database: Database, alliance: Any) -> None:
    ctl = alliance.controller.headers
    sc = _ok(client.post(f"{API}/scenarios", headers=ctl, json=scenario_doc("pause")), 201)
    run = _ok(client.post(f"{API}/runs", headers=ctl, json={"scenario_id": sc["id"], "speed": 2}), 201)
    t0 = datetime.now(UTC) - timedelta(hours=1)
    actor = alliance.controller.actor
    with database.unit_of_work() as s:
        runs.move(s, actor=actor, run_id=run["id"], to="running", now=t0)
    # ×2: inject 2 (offset 60 s) is due at t0+30 s
    assert _deliver(database, t0) == 1
    with database.unit_of_work() as s:
        runs.move(s, actor=actor, run_id=run["id"], to="paused", now=t0 + timedelta(seconds=10))
    assert _deliver(database, t0 + timedelta(seconds=40)) == 0  # paused: nothing leaves
    with database.unit_of_work() as s:
        runs.move(s, actor=actor, run_id=run["id"], to="running", now=t0 + timedelta(seconds=110))
    # 100 s of pause: inject 2 now due at t0+130 s
    assert _deliver(database, t0 + timedelta(seconds=129)) == 0
    assert _deliver(database, t0 + timedelta(seconds=130)) == 1
    # deliver-now ignores the clock (inject 3 is due at t0+160 s)
    with database.unit_of_work() as s:
        runs.move(s, actor=actor, run_id=run["id"], to="paused", now=t0 + timedelta(seconds=131))
    got = _ok(client.post(f"{API}/runs/{run['id']}/injects/3/deliver", headers=ctl))
    assert got["status"] == "delivered" and got["refs"][0].startswith("consultation:")
    assert client.post(f"{API}/runs/{run['id']}/injects/3/deliver", headers=ctl).status_code == 422
    # in the browser, a stale page's Deliver button on it leads back to the run, not to an error
    from tests.ui.conftest import login

    ui = login(TestClient(client.app), alliance.controller.user.username, alliance.controller.password)
    page = ui.get(f"/exercises/runs/{run['id']}")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    r = ui.post(
        f"/exercises/runs/{run['id']}/injects/3/deliver", data={"csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == f"/exercises/runs/{run['id']}", r.text[:300]
    # an invalid move is refused
    assert (
        client.post(f"{API}/runs/{run['id']}/state", headers=ctl, json={"to": "reviewed"}).status_code == 409
    )
    _ok(client.post(f"{API}/runs/{run['id']}/state", headers=ctl, json={"to": "ended"}))


def test_a_controller_schedules_and_starts_a_run_in_the_browser(
    client: TestClient, database: Database, alliance: Any
) -> None:
    """The exercises page listed scenarios with export links only: a run could be made through the
    API alone. Its row now schedules one, and the run's page starts it."""
    from tests.ui.conftest import login

    sc = _ok(client.post(f"{API}/scenarios", headers=alliance.controller.headers, json=scenario_doc()), 201)
    ui = login(TestClient(client.app), alliance.controller.user.username, alliance.controller.password)
    page = ui.get("/exercises").text
    assert f'data-testid="schedule-run-{sc["id"]}"' in page
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    form = {"csrf_token": token, "scenario_id": str(sc["id"]), "name": "Browser drill", "speed": "60"}
    r = ui.post("/exercises/runs", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text[:300]
    run_id = int(r.headers["location"].rsplit("/", 1)[1])
    with database.unit_of_work() as s:
        run = s.get(ExerciseRun, run_id)
        assert run is not None and (run.name, run.status, run.speed) == ("Browser drill", "scheduled", 60)
    r = ui.post(
        f"/exercises/runs/{run_id}/state", data={"csrf_token": token, "to": "running"}, follow_redirects=False
    )
    assert r.status_code == 303
    with database.unit_of_work() as s:
        assert s.get(ExerciseRun, run_id).status == "running"  # type: ignore[union-attr]
    bad = ui.post("/exercises/runs", data={**form, "speed": "fast"}, follow_redirects=False)
    assert bad.status_code == 422 and "speed as a number" in bad.text
    member = login(TestClient(client.app), alliance.reps["EV"].user.username, alliance.reps["EV"].password)
    refused = member.post(
        "/exercises/runs", data={**form, "csrf_token": csrf(member)}, follow_redirects=False
    )
    assert refused.status_code == 403  # only the crisis centre runs exercises


def csrf(c: TestClient) -> str:
    return c.get("/exercises").text.split('name="csrf_token" value="')[1].split('"')[0]
