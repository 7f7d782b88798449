"""The runner on SQLite and PostgreSQL: claims, results, refusals, retries with backoff, leases, schedules."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from colsec.accounts.roles import SYSTEM, Actor, Role
from colsec.db import Database
from colsec.errors import InvalidInput, NotFound
from colsec.jobs import queue
from colsec.jobs.models import Job, JobBlob
from colsec.jobs.runner import JobContext, JobRunner, Schedule

ORG_A = Actor(username="alice", role=Role.ANALYST, org_id=1, user_id=1)
ORG_B = Actor(username="bob", role=Role.ANALYST, org_id=2, user_id=2)


def _enqueue(database: Database, kind: str = "echo", **kw: Any) -> str:
    with database.unit_of_work() as s:
        return queue.enqueue(
            s, kind=kind, payload=kw.pop("payload", {}), actor=kw.pop("actor", ORG_A), **kw
        ).id


def _job(database: Database, job_id: str) -> Job:
    with database.unit_of_work(write=False) as s:
        job = s.get(Job, job_id)
        assert job is not None
        return job


def _runner(database: Database, handlers: dict[str, Callable[[JobContext], Any]], **kw: Any) -> JobRunner:
    kw.setdefault("lease_seconds", 5)
    kw.setdefault("retry_base_seconds", 0.2)
    return JobRunner(database, handlers, worker_id=kw.pop("worker_id", "w1"), **kw)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def test_job_exists_only_if_its_cause_committed(database: Database) -> None:
    with pytest.raises(RuntimeError), database.unit_of_work() as s:
        queue.enqueue(s, kind="echo", payload={}, actor=ORG_A, data=b"upload")
        raise RuntimeError("the request failed after queueing")
    with database.unit_of_work(write=False) as s:
        assert s.execute(select(Job)).first() is None and s.execute(select(JobBlob)).first() is None


def test_handler_result_progress_and_blob(database: Database) -> None:
    seen: dict[str, Any] = {}

    def handler(ctx: JobContext) -> dict[str, Any]:
        ctx.report(5, 10, force=True)
        seen["progress"] = (_job(database, ctx.job_id).processed, _job(database, ctx.job_id).total)
        seen["actor"], seen["blob"] = ctx.actor, ctx.blob()
        return {"n": ctx.payload["n"] * 2}

    job_id = _enqueue(database, payload={"n": 21}, data=b"input bytes")
    assert _runner(database, {"echo": handler}).run_once() == 1
    job = _job(database, job_id)
    assert (job.status, job.result, job.attempts, job.lease_owner) == ("succeeded", {"n": 42}, 1, "w1")
    assert seen == {"progress": (5, 10), "actor": ORG_A, "blob": b"input bytes"}
    assert job.processed == 10 and job.started_at is not None and job.finished_at is not None
    with database.unit_of_work(write=False) as s:
        assert s.get(JobBlob, job_id) is None  # the input goes with the job's end


def test_refused_input_fails_at_once_with_the_message(database: Database) -> None:
    def handler(ctx: JobContext) -> None:
        raise InvalidInput("unknown CSV layout")

    job_id = _enqueue(database)
    _runner(database, {"echo": handler}).run_once()
    job = _job(database, job_id)
    assert job.status == "failed" and job.attempts == 1
    assert job.error == {
        "reason": "unknown CSV layout",
        "error": "invalid_input",
        "detail": "unknown CSV layout",
    }


def test_crashing_handler_is_retried_with_backoff_then_failed_with_the_message(database: Database) -> None:
    calls: list[float] = []

    def handler(ctx: JobContext) -> None:
        calls.append(time.monotonic())
        raise RuntimeError("disk on fire")

    job_id = _enqueue(database, max_attempts=3)
    runner = _runner(database, {"echo": handler}, retry_base_seconds=0.2)
    runner.run_once()
    job = _job(database, job_id)
    assert job.status == "queued" and job.attempts == 1
    assert job.error == {"reason": "attempt 1 failed: RuntimeError: disk on fire; retrying"}
    delay = (_aware(job.run_after) - datetime.now(UTC)).total_seconds()
    assert 0.05 < delay <= 0.2
    assert runner.run_once() == 0  # not due yet: the backoff holds
    while len(calls) < 3:
        runner.run_once()
        time.sleep(0.02)
    assert calls[2] - calls[1] >= 0.4 > calls[1] - calls[0] >= 0.2  # doubling
    job = _job(database, job_id)
    assert job.status == "failed" and job.attempts == 3
    assert job.error == {"reason": "failed after 3 attempts: RuntimeError: disk on fire"}


def test_expired_lease_is_taken_over_then_failed_with_its_reason(database: Database) -> None:
    job_id = _enqueue(database, max_attempts=2)
    past = datetime.now(UTC) - timedelta(seconds=1)

    def lose_worker() -> None:  # as a worker that claimed the job and died (kill -9) leaves it
        with database.unit_of_work() as s:
            s.execute(
                update(Job)
                .where(Job.id == job_id)
                .values(status="running", lease_owner="dead", lease_until=past, attempts=Job.attempts + 1)
            )

    ran: list[str] = []
    # a backoff long enough that the requeued job is not claimed again in the same round on a loaded machine
    runner = _runner(database, {"echo": lambda ctx: ran.append(ctx.job_id)}, retry_base_seconds=60.0)
    lose_worker()
    runner.run_once()
    job = _job(database, job_id)
    assert job.status == "queued" and job.error == {
        "reason": "worker dead lost: lease expired (attempt 1 of 2); retrying"
    }
    lose_worker()
    runner.run_once()
    job = _job(database, job_id)
    assert job.status == "failed" and ran == []
    assert job.error == {"reason": "worker dead lost: lease expired after 2 attempts"}


def test_heartbeat_keeps_a_long_job_from_being_taken_over(database: Database) -> None:
    other = _runner(database, {"echo": lambda ctx: None}, worker_id="w2", lease_seconds=0.3)
    takeovers: list[int] = []

    def handler(ctx: JobContext) -> str:
        deadline = time.monotonic() + 1.0  # three leases long
        while time.monotonic() < deadline:
            takeovers.append(other._reap_expired())
            time.sleep(0.1)
        return "done"

    job_id = _enqueue(database)
    _runner(database, {"echo": lambda ctx: {"r": handler(ctx)}}, lease_seconds=0.3).run_once()
    assert sum(takeovers) == 0 and _job(database, job_id).status == "succeeded"


def test_dedupe_key_holds_one_unfinished_job(database: Database) -> None:
    first = _enqueue(database, dedupe_key="push")
    assert _enqueue(database, dedupe_key="push") == first
    _runner(database, {"echo": lambda ctx: None}).run_once()
    assert _enqueue(database, dedupe_key="push") != first  # finished: the key is free again


def test_schedule_enqueues_once_per_period_and_pollers_run_each_round(database: Database) -> None:
    ticks: list[str] = []
    polled: list[int] = []

    def poller() -> int:
        polled.append(1)
        return 0

    runners = [
        _runner(
            database,
            {"tick": lambda ctx: ticks.append(ctx.job_id)},
            worker_id=w,
            schedules=[Schedule("tick", 3600)],
            pollers=[poller],
        )  # fmt: skip
        for w in ("w1", "w2")
    ]
    for _ in range(3):
        for r in runners:
            r.run_once()
    assert len(ticks) == 1 and len(polled) == 6
    assert _job(database, ticks[0]).username == "system"


def test_a_failing_poller_does_not_stop_the_jobs(database: Database) -> None:
    def broken() -> int:
        raise RuntimeError("outbox down")

    _enqueue(database)
    assert _runner(database, {"echo": lambda ctx: None}, pollers=[broken]).run_once() == 1


def test_jobs_are_visible_to_their_organisation_and_the_operator(database: Database) -> None:
    job_id = _enqueue(database, actor=ORG_A)
    with database.unit_of_work(write=False) as s:
        assert queue.get(s, job_id, ORG_A).id == job_id
        assert queue.get(s, job_id, SYSTEM).id == job_id
        with pytest.raises(NotFound):
            queue.get(s, job_id, ORG_B)
        assert [j.id for j in queue.list_jobs(s, actor=ORG_A)] == [job_id]
        assert queue.list_jobs(s, actor=ORG_B) == []


def test_embedded_runner_starts_and_stops(database: Database) -> None:
    done = threading.Event()
    runner = _runner(database, {"echo": lambda ctx: done.set()}, poll_seconds=0.02)
    runner.start()
    try:
        _enqueue(database)
        assert done.wait(5)
    finally:
        runner.stop(5)
    assert runner._thread is None


def test_progress_reported_under_the_handlers_own_write_lock_is_held_live(database: Database) -> None:
    """On SQLite the import's transaction holds the write lock: progress lives on the runner until its end."""
    seen: dict[str, Any] = {}

    def handler(ctx: JobContext) -> None:
        with ctx.database.unit_of_work() as s:
            s.execute(select(1))  # a write transaction: on SQLite, BEGIN IMMEDIATE holds the lock
            started = time.monotonic()
            ctx.report(7, 10, force=True)
            seen["waited"] = time.monotonic() - started
            seen["view"] = queue.to_dict(_job(database, ctx.job_id), runner.live_progress(ctx.job_id))

    runner = _runner(database, {"echo": handler})
    job_id = _enqueue(database)
    runner.run_once()
    assert (seen["view"]["processed"], seen["view"]["total"]) == (7, 10)
    assert seen["waited"] < 1.0  # the report never waits out the lock
    assert runner.live_progress(job_id) is None and _job(database, job_id).status == "succeeded"
