"""Batched scoring (one read of the audit log and of the condition facts per run) equals the scoring
that asked one query per expectation, on generated runs: channels, targets, roles, conditions and
responses drawn from a seed, judged at several instants and after the run ended."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from colsec.db import Database
from colsec.exercises import delivery
from colsec.exercises import run as runs
from colsec.exercises.conditions import CONDITIONS
from colsec.exercises.models import ExerciseExpectation, ExerciseRun
from colsec.exercises.scoring import evaluate

from . import reference_scoring

API = "/api/v1/exercises"
MEMBERS = ("NM", "EV", "SD")


def _doc(rnd: random.Random, name: str) -> dict[str, Any]:
    injects, x = [], 0
    for n in range(1, 9):
        channel = rnd.choice(("message", "message", "consultation"))
        expects = []
        if channel == "consultation":  # every member's answer is expected, most with a condition
            for m in MEMBERS:
                x += 1
                expects.append({
                    "number": x, "event": "crisis.consultation.position", "org": m, "within": 900,
                    "objective": "decide", "condition": rnd.choice(("consultation_answered", "decision_reached", "")),
                })  # fmt: skip
        for _ in range(rnd.randint(1, 3)):
            x += 1
            e: dict[str, Any] = {
                "number": x,
                "event": rnd.choice(("exercise.inject.acknowledge", "crisis.consultation.position")),
                "org": rnd.choice(MEMBERS),
                "within": rnd.choice((60, 900, 7200)),
                "objective": rnd.choice(("detect", "decide")),
            }
            if rnd.random() < 0.3:
                e["role"] = rnd.choice(("analyst", "representative"))
            if rnd.random() < 0.4:
                e["condition"] = rnd.choice(CONDITIONS[1:])
            expects.append(e)
        inject: dict[str, Any] = {
            "number": n, "offset": rnd.randint(0, 600), "channel": channel, "title": f"Inject {n}",
            "target": {"org": rnd.choice(("*", *MEMBERS)) if channel == "message" else "*"}, "expects": expects,
        }  # fmt: skip
        if channel == "consultation":
            inject["params"] = {"from": rnd.choice(MEMBERS), "deadline": 7200, "options": []}
        injects.append(inject)
    return {
        "name": name,
        "title": {"en": "Generated", "ru": "Сгенерированный"},
        "objectives": [
            {"key": "detect", "title": {"en": "Detect", "ru": "Обнаружить"}},
            {"key": "decide", "title": {"en": "Decide", "ru": "Решить"}, "weight": 2},
        ],
        "participants": [{"org": m} for m in MEMBERS],
        "injects": injects,
    }


def _same(database: Database, run_id: int, at: datetime) -> list[tuple[Any, ...]]:
    with database.unit_of_work(write=False) as s:
        run = s.get(ExerciseRun, run_id)
        assert run is not None
        fast = evaluate(s, run, now=at)
        slow = reference_scoring.evaluate(s, run, now=at)
    assert [r.to_dict() for r in fast] == [r.to_dict() for r in slow]
    return [(r.number, r.status) for r in fast]


@pytest.mark.slow
@pytest.mark.parametrize("seed", [3, 11])
def test_batched_scoring_equals_per_expectation_scoring(
    client: TestClient, database: Database, alliance: Any, seed: int
) -> None:
    rnd = random.Random(seed)
    ctl = alliance.controller.headers
    r = client.post(f"{API}/scenarios", headers=ctl, json=_doc(rnd, f"gen-{seed}"))
    assert r.status_code == 201, r.text
    run = client.post(f"{API}/runs", headers=ctl, json={"scenario_id": r.json()["id"]}).json()
    t0 = datetime.now(UTC) - timedelta(minutes=20)
    with database.unit_of_work() as s:
        runs.move(s, actor=alliance.controller.actor, run_id=run["id"], to="running", now=t0)
    delivery.deliver_pass(database, node_name="n", now=t0 + timedelta(seconds=300))  # about half are due
    _same(database, run["id"], datetime.now(UTC))
    delivery.deliver_pass(database, node_name="n", now=t0 + timedelta(seconds=700))
    detail = client.get(f"{API}/runs/{run['id']}", headers=ctl).json()
    for inj in detail["injects"]:
        for m in MEMBERS:
            who = rnd.choice((alliance.reps[m], alliance.analysts[m], None))
            if who is None:
                continue
            client.post(f"{API}/runs/{run['id']}/injects/{inj['number']}/acknowledge", headers=who.headers)
            if inj["channel"] == "consultation" and inj["status"] == "delivered" and rnd.random() < 0.7:
                consultation = inj["refs"].split()[0].split(":")[1]
                client.post(
                    f"/api/v1/crisis/consultations/{consultation}/positions",
                    headers=alliance.reps[m].headers,
                    json={"stance": rnd.choice(("agree", "object", "abstain"))},
                )
    now = datetime.now(UTC)
    statuses = set()
    for at in (now, now + timedelta(minutes=30), now + timedelta(hours=3)):
        statuses |= {status for _, status in _same(database, run["id"], at)}
    with database.unit_of_work() as s:
        runs.move(s, actor=alliance.controller.actor, run_id=run["id"], to="ended", now=now)
    judged = _same(database, run["id"], now)
    statuses |= {status for _, status in judged}
    assert {"met", "missed"} <= statuses  # the generated runs judge both ways
    with database.unit_of_work(write=False) as s:  # and conditions that held, not only ones that failed
        conditional = set(
            s.execute(
                select(ExerciseExpectation.number).where(
                    ExerciseExpectation.run_id == run["id"], ExerciseExpectation.condition != ""
                )
            ).scalars()
        )
    assert any(number in conditional and status in ("met", "late") for number, status in judged)
