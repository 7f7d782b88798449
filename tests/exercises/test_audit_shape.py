"""Exercises write their audit rows as every other domain does (``store.audit.record``), and name
their rows one way (``models.ref``), so scoring reads back exactly what delivery wrote."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import select

from colsec.crisis import service as crisis_service
from colsec.crisis.schemas import IncidentIn
from colsec.db import Database
from colsec.exercises import delivery, scoring
from colsec.exercises import run as runs
from colsec.exercises.models import ExerciseInject, ExerciseRun, ExerciseScenario, ref, ref_id
from colsec.exercises.scenario import create_scenario, parse_scenario
from colsec.store import audit
from colsec.store.models import AuditEntry

from .conftest import scenario_doc

ACTION = re.compile(r"^[a-z_]+(\.[a-z_]+)+$")
TARGET = re.compile(r"^([a-z_]+:\d+|[a-z][a-z0-9-]*--[0-9a-f-]{36})$")  # a row, or a STIX object
EXERCISE_TABLES = {t.__tablename__ for t in (ExerciseScenario, ExerciseRun, ExerciseInject)}


def _shape(row: AuditEntry) -> dict[str, Any]:
    """What a row looks like, whatever it says: which columns are filled and how."""
    details = orjson.loads(row.details)
    return {
        "filled": sorted(c for c in ("at", "actor", "organisation", "action", "target", "hash") if getattr(row, c)),
        "action": bool(ACTION.match(row.action)),
        "target": bool(TARGET.match(row.target)),
        "details": isinstance(details, dict) and row.details == orjson.dumps(details, option=orjson.OPT_SORT_KEYS).decode(),
        "at": bool(datetime.fromisoformat(row.at.replace("Z", "+00:00"))),
    }  # fmt: skip


def test_exercise_audit_rows_have_the_shape_of_the_other_domains(database: Database, alliance: Any) -> None:
    ctl = alliance.controller.actor
    t0 = datetime.now(UTC) - timedelta(minutes=10)
    with database.unit_of_work() as s:
        sc = create_scenario(s, actor=ctl, scenario=parse_scenario(scenario_doc("shape")))
        run_id = runs.create_run(s, actor=ctl, scenario_id=sc.id, name="Shape").id
        runs.move(s, actor=ctl, run_id=run_id, to="running", now=t0)
    assert delivery.deliver_pass(database, node_name="test-node", now=t0 + timedelta(seconds=60)) == 2
    with database.unit_of_work() as s:
        delivery.deliver_now(s, actor=ctl, run_id=run_id, number=3)
        acked = delivery.acknowledge(s, actor=alliance.reps["EV"].actor, run_id=run_id, number=2).id
        runs.set_speed(s, actor=ctl, run_id=run_id, speed=2.0)
        scoring.override(s, actor=ctl, run_id=run_id, number=1, status="met", reason="seen on the call")
        data = IncidentIn(title="Outage at a port", category="cyber", severity=2)
        crisis_service.report_incident(s, actor=alliance.analysts["SD"].actor, data=data)

    with database.unit_of_work(write=False) as s:
        rows = list(s.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars())
        assert audit.verify(s).ok
        figures = scoring.summary(s, s.get_one(ExerciseRun, run_id))
    ours = [r for r in rows if r.action.startswith("exercise.")]
    others = [r for r in rows if r.action.startswith("crisis.")]
    assert {r.action for r in ours} >= {
        "exercise.scenario.save", "exercise.run.create", "exercise.run.running", "exercise.inject.deliver_now",
        "exercise.inject.acknowledge", "exercise.run.speed", "exercise.expectation.override",
    }  # fmt: skip
    assert others, "the injects and the member's report write crisis rows to compare with"
    reference = _shape(others[0])
    assert all(v is True for k, v in reference.items() if k != "filled"), others[0].target
    for row in ours + others:
        assert _shape(row) == reference, (row.action, row.target, row.details)
    assert {r.target.split(":")[0] for r in ours} <= EXERCISE_TABLES  # and every one a row named by ``ref``

    ack = next(r for r in ours if r.action == "exercise.inject.acknowledge")
    assert ack.target == ref(ExerciseInject, acked) and ref_id(ack.target) == acked
    ev = next(o for o in figures["organisations"] if o["org"] == "EV")
    assert ev["time_to_acknowledge_s"] is not None  # scoring found the row delivery wrote
