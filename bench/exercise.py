"""Exercise benchmark: 30 organisations, 500 injects, 5,000 responses, clock ×60.

Delivery runs as the node runs it: the node's job runner (every schedule, the outbox poller)
runs in real time, and the lag of each inject is the time from its due moment to the end of
the job whose pass delivered it (after that pass committed).  Then 5,000 responses
(acknowledgements through the domain, each an audit entry), a full scoring of the run, the
after-action report as HTML, PDF and CSV annex through the web app, and a check that no run
object is visible outside it.  Each figure is printed beside its target and a reference
measured in the same run: the delivery passes' own duration, the raw SQL read of the audit
rows scoring judges, WeasyPrint on a plain table as long as the printed report's tables.

    python bench/exercise.py [--orgs 30] [--injects 500] [--responses 5000] [--speed 60] [--pg URL]
"""

from __future__ import annotations

import argparse
import bisect
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select, text

from colsec.accounts import service as accounts
from colsec.accounts.roles import SYSTEM, Role
from colsec.crisis.states import aware
from colsec.db import Database
from colsec.exercises import clock, delivery, views
from colsec.exercises import run as runs
from colsec.exercises.models import ExerciseInject
from colsec.exercises.scenario import create_scenario, parse_scenario
from colsec.exercises.scoring import summary
from colsec.job_wiring import build_runner
from colsec.jobs.models import Job
from colsec.migrations import upgrade
from colsec.settings import Settings
from colsec.store.models import StixObject
from colsec.store.queries import list_objects, recipient_for_org
from colsec.web.ui.exercises import report_document, report_pdf


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--orgs", type=int, default=30)
    ap.add_argument("--injects", type=int, default=500)
    ap.add_argument("--responses", type=int, default=5000)
    ap.add_argument("--speed", type=float, default=60.0)
    ap.add_argument("--span", type=int, default=3600, help="scenario seconds over which injects are spread")
    ap.add_argument("--pg", default=None)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="colsec-bench-exercise-"))
    url = args.pg or f"sqlite:///{tmp / 'bench.db'}"
    database = Database(url)
    upgrade(database.engine)

    per_inject = max(1, args.responses // args.injects)
    with database.unit_of_work() as s:
        centre = accounts.create_organisation(
            s, actor=SYSTEM, name="Centre", short_name="ACC", kind="crisis_centre"
        )
        co = accounts.create_user(
            s, actor=SYSTEM, username="co", password=None, role=Role.COORDINATOR, org=centre
        )
        token = accounts.create_token(s, actor=SYSTEM, user=co)
        controller = accounts.actor_for(s, co)
        reps = []
        for i in range(args.orgs):
            org = accounts.create_organisation(s, actor=SYSTEM, name=f"Member {i}", short_name=f"M{i:03d}")
            user = accounts.create_user(
                s, actor=SYSTEM, username=f"rep{i:03d}", password=None, role=Role.REPRESENTATIVE, org=org
            )
            reps.append(accounts.actor_for(s, user))
        injects = []
        expectation = 0
        for n in range(1, args.injects + 1):
            expects = []
            for k in range(per_inject):
                expectation += 1
                org = f"M{(n + k) % args.orgs:03d}"
                expects.append(
                    {
                        "number": expectation,
                        "event": "exercise.inject.acknowledge",
                        "org": org,
                        "within": 600,
                        "objective": "ack",
                    }
                )
            injects.append({
                "number": n, "offset": (n - 1) * args.span // args.injects, "target": {"org": "*"}, "channel": "message",
                "title": f"Inject {n}", "content": "Situation update", "expects": expects,
            })  # fmt: skip
        doc = {
            "name": "bench", "title": {"en": "Benchmark", "ru": "Нагрузочный тест"},
            "objectives": [{"key": "ack", "title": {"en": "Acknowledge", "ru": "Подтвердить"}}],
            "participants": [{"org": f"M{i:03d}"} for i in range(args.orgs)], "injects": injects,
        }  # fmt: skip
        scenario = create_scenario(s, actor=controller, scenario=parse_scenario(doc))
        run = runs.create_run(s, actor=controller, scenario_id=scenario.id, speed=args.speed)
        run_id = run.id
    print(
        f"setup: {args.orgs} organisations, {args.injects} injects, {expectation} expected actions, ×{args.speed:g}"
    )

    # delivery through the node's own job runner (every schedule and the outbox poller), in real time
    settings = Settings(
        data_dir=tmp / "data", database_url=url, secret_key="bench-secret-key-not-for-production"
    )
    runner = build_runner(database, settings, worker_id="bench")
    started = time.perf_counter()
    limit = started + args.span / args.speed + 120
    runner.start()
    with database.unit_of_work() as s:  # the controller starts the run while the node runs
        runs.move(s, actor=controller, run_id=run_id, to="running")
    try:
        while time.perf_counter() < limit:
            time.sleep(0.5)
            with database.unit_of_work(write=False) as s:
                left = s.execute(
                    select(ExerciseInject.id)
                    .where(ExerciseInject.run_id == run_id, ExerciseInject.status == "pending")
                    .limit(1)
                ).first()
            if left is None:
                break
    finally:
        runner.stop()
    wall = time.perf_counter() - started
    with database.unit_of_work(write=False) as s:
        injected = s.execute(
            select(ExerciseInject.due_at, ExerciseInject.delivered_at).where(
                ExerciseInject.run_id == run_id, ExerciseInject.status == "delivered"
            )
        ).all()
        passes = sorted(
            (aware(a), aware(b))
            for a, b, result in s.execute(
                select(Job.started_at, Job.finished_at, Job.result).where(
                    Job.kind == clock.DELIVER_KIND, Job.finished_at.is_not(None)
                )
            )
            if a is not None and b is not None and (result or {}).get("delivered")
        )
    # an inject is visible once the pass that delivered it committed: the job's finish bounds that
    starts = [p[0] for p in passes]
    lags = []
    for due, delivered in injected:
        job = passes[bisect.bisect_right(starts, aware(delivered)) - 1]
        lags.append((job[1] - aware(due)).total_seconds())
    took = [(b - a).total_seconds() for a, b in passes]
    print(f"delivery: {len(lags)} of {args.injects} injects in {wall:.1f} s through the job runner; lag p50 {_pct(lags, 0.5):.3f} s, "
          f"p99 {_pct(lags, 0.99):.3f} s, max {max(lags):.3f} s (target p99 < 1 s); reference: the {len(took)} passes "
          f"themselves p50 {_pct(took, 0.5):.3f} s, p99 {_pct(took, 0.99):.3f} s, runner poll {settings.jobs_poll_seconds:g} s")  # fmt: skip

    # 5,000 responses: acknowledgements by the expected organisations, each an audit entry
    t0 = time.perf_counter()
    by_org = {r.org_short_name: r for r in reps}
    with database.unit_of_work() as s:
        count = 0
        for inj in injects:
            for e in inj["expects"]:
                delivery.acknowledge(s, actor=by_org[e["org"]], run_id=run_id, number=inj["number"])
                count += 1
    print(f"responses: {count} in {time.perf_counter() - t0:.1f} s")

    t0 = time.perf_counter()
    with database.unit_of_work(write=False) as s:
        figures = summary(s, runs.get_run(s, run_id=run_id))
    scoring_s = time.perf_counter() - t0
    # reference: the bare read of the audit rows scoring judges (same filter, raw SQL, no objects)
    with database.unit_of_work(write=False) as s:
        since = aware(runs.get_run(s, run_id=run_id).started_at).strftime("%Y-%m-%dT%H:%M:%S")  # type: ignore[arg-type]
    t0 = time.perf_counter()
    with database.engine.connect() as conn:
        audit_rows = conn.execute(
            text(
                "SELECT id, at, actor, organisation, action, target FROM audit_log "
                "WHERE action = 'exercise.inject.acknowledge' AND at >= :since AND actor NOT LIKE 'exercise-%' ORDER BY id"
            ),
            {"since": since},
        ).fetchall()
    raw_s = time.perf_counter() - t0
    print(f"scoring: {len(figures['actions'])} actions in {scoring_s:.2f} s (target < 5 s); reference: raw SQL read of "
          f"its {len(audit_rows)} audit rows {raw_s:.2f} s; run score {figures['score']}, counts {figures['counts']}")  # fmt: skip

    from colsec.web.app import create_app

    # reference first: WeasyPrint alone on a plain table of as many rows as the printed report's
    # tables (this first call also pays WeasyPrint's one-off start-up, as a node's first PDF does)
    with database.unit_of_work(write=False) as s:
        doc = report_document(views.report(s, runs.get_run(s, run_id=run_id)), "en")
    rows = doc.count("<tr")
    plain = "".join(f"<tr><td>{i}</td><td>row {i}</td>" + "<td>0</td>" * 6 + "</tr>" for i in range(rows))
    t0 = time.perf_counter()
    report_pdf(f"<!doctype html><html><body><table>{plain}</table></body></html>")
    plain_s = time.perf_counter() - t0
    with TestClient(create_app(settings, database=database)) as client:
        headers = {"Authorization": f"Bearer {token}"}
        t0 = time.perf_counter()
        html = client.get(f"/exercises/runs/{run_id}/report", headers=headers)
        html_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        pdf = client.get(f"/exercises/runs/{run_id}/report?format=pdf", headers=headers)
        pdf_s = time.perf_counter() - t0
        api = client.get(f"/api/v1/exercises/runs/{run_id}/scores", headers=headers).json()
        csv_ = client.get(f"/exercises/runs/{run_id}/report?format=csv", headers=headers)
    print(f"report: HTML {html.status_code} {len(html.content) // 1024} KiB in {html_s:.2f} s; "
          f"PDF {pdf.status_code} {len(pdf.content) // 1024} KiB in {pdf_s:.2f} s, scoring included (target < 10 s; "
          f"{rows} table rows); reference: WeasyPrint on a plain {rows}-row table {plain_s:.2f} s (cold); "
          f"CSV annex {csv_.status_code} {len(csv_.content) // 1024} KiB, {csv_.text.count(chr(10)) - 1} actions")  # fmt: skip
    assert api["score"] == figures["score"], "the API and the scoring disagree"

    with database.unit_of_work(write=False) as s:
        leaked = 0
        for actor in [controller, *reps[:5]]:
            rows = list_objects(s, viewer=recipient_for_org(s, actor.org_id), limit=100_000).rows
            leaked += sum(1 for r in rows if r.exercise_run_id is not None)
        mine = s.execute(select(StixObject.seq).where(StixObject.exercise_run_id == run_id)).all()
    print(f"isolation: {leaked} run objects visible outside the run ({len(mine)} run objects in the store)")


if __name__ == "__main__":
    main()
