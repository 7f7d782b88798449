"""Replay pages over HTTP on the demo data: a crisis at a chosen minute, an exercise run's crises,
the links to them, and a refused instant."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from colsec.accounts.models import User
from colsec.accounts.service import actor_for
from colsec.crisis.demo import DEMO_CRISIS_TITLE
from colsec.crisis.models import Crisis
from colsec.db import Database
from colsec.exercises import delivery
from colsec.exercises import run as runs
from colsec.exercises.demo import DEMO_SCENARIO
from colsec.exercises.models import ExerciseScenario


def _demo_crisis(database: Database) -> int:
    with database.session() as s:
        return int(s.execute(select(Crisis.id).where(Crisis.title == DEMO_CRISIS_TITLE)).scalar_one())


def test_crisis_replay_page_at_a_chosen_minute(
    ui_client: Callable[..., Any], demo_database: Database
) -> None:
    crisis_id = _demo_crisis(demo_database)
    c = ui_client("ev-rep")
    assert f"/crisis/{crisis_id}/replay" in c.get(f"/crisis/{crisis_id}").text
    times = c.get(f"/api/v1/crisis/crises/{crisis_id}/replay").json()["instants"]
    opened = datetime.fromisoformat(times[0])
    # the minute field names a minute: every change made during it counts
    page = c.get(f"/crisis/{crisis_id}/replay", params={"at": opened.strftime("%Y-%m-%dT%H:%M")})
    assert page.status_code == 200
    assert 'data-status="opened"' in page.text and 'data-testid="replay-alert-level">3<' in page.text
    assert 'data-testid="replay-no-deployment"' in page.text and 'id="replay-slider"' in page.text
    now = c.get(f"/crisis/{crisis_id}/replay").text
    assert 'data-status="active"' in now and 'data-testid="replay-alert-level">4<' in now
    assert 'data-testid="replay-deployments"' in now and '<script src="/static/replay.js" defer>' in now
    bad = c.get(f"/crisis/{crisis_id}/replay", params={"at": "soon"})
    assert bad.status_code == 422 and "soon" in bad.text


def test_run_replay_page_lists_the_runs_crisis(
    ui_client: Callable[..., Any], demo_database: Database
) -> None:
    t0 = datetime.now(UTC) - timedelta(minutes=40)
    with demo_database.unit_of_work() as s:
        coord = actor_for(s, s.execute(select(User).where(User.username == "coordinator")).scalar_one())
        sc = s.execute(select(ExerciseScenario.id).where(ExerciseScenario.name == DEMO_SCENARIO)).scalar_one()
        run = runs.create_run(s, actor=coord, scenario_id=sc, name="Replay drill")
        runs.move(s, actor=coord, run_id=run.id, to="running", now=t0)
        run_id = run.id
    # up to the consultation (30 min in); its deadline runs from delivery, so it is still open now
    delivery.deliver_pass(demo_database, node_name="test-node", now=t0 + timedelta(minutes=35))
    c = ui_client("coordinator")
    assert f"/exercises/runs/{run_id}/replay" in c.get(f"/exercises/runs/{run_id}").text
    page = c.get(f"/exercises/runs/{run_id}/replay")
    assert page.status_code == 200
    assert (
        page.text.count('data-testid="replay-crisis"') == 1 and 'data-testid="exercise-banner"' in page.text
    )
    assert 'data-testid="replay-consultations"' in page.text
